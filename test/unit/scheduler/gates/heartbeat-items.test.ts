/**
 * Which lines of a HEARTBEAT.md ask for the agent: each rule that makes a line
 * not actionable, and what stays actionable around it.
 */
import { describe, expect, it } from 'vitest';
import { actionableHeartbeatItems } from '../../../../runtime/scheduler/gates/heartbeat-items.js';

const items = (...lines: string[]) => actionableHeartbeatItems(lines.join('\n'));

describe('actionableHeartbeatItems: what is not actionable', () => {
  it('an empty file, or one of blank lines, has nothing', () => {
    expect(actionableHeartbeatItems('')).toEqual([]);
    expect(items('', '   ', '\t', '')).toEqual([]);
  });

  it('skips headings, ATX and setext, but not a #hashtag', () => {
    expect(items('# Heartbeat', '## Daily', '###### deep', '#', 'Checks', '======', 'More', '---')).toEqual([]);
    expect(items('#hashtag is text')).toEqual(['#hashtag is text']);
  });

  it('skips an HTML comment on one line and one over many lines', () => {
    expect(items('<!-- keep this list short -->', '<!--', 'Add items below.', '- [ ] like this', '-->')).toEqual([]);
    expect(items('Call Bob <!-- about the invoice --> today')).toEqual(['Call Bob  today']);
  });

  it('an unclosed comment hides the rest of the file', () => {
    expect(items('- [ ] real item', '<!-- template:', '- [ ] hidden')).toEqual(['real item']);
  });

  it('skips YAML and TOML front matter, but only at the top and only when closed', () => {
    expect(items('---', 'title: heartbeat', 'owner: ops', '---', '- [ ] after')).toEqual(['after']);
    expect(items('---', 'title: heartbeat', '...', 'body')).toEqual(['body']);
    expect(items('+++', 'title = "hb"', '+++')).toEqual([]);
    expect(items('intro', '', '---', 'key: value', '', '---')).toEqual(['intro', 'key: value']);
    expect(items('---', 'never closed')).toEqual(['never closed']);
  });

  it('skips horizontal rules of dashes, stars and underscores, spaced or not', () => {
    expect(items('---', '***', '___', '- - -', '* * *', '_ _ _')).toEqual([]);
  });

  it('skips checked items and the lines continuing them, whatever the list marker', () => {
    expect(items('- [x] paid the invoice', '* [X] renewed the cert', '+ [x] done', '1. [x] numbered', '2) [X] also')).toEqual([]);
    expect(items('- [x] deployed', '  notes about the deploy', '  more notes')).toEqual([]);
  });

  it('judges an item nested under a checked one on its own', () => {
    expect(items('- [x] release 1.2', '  - [ ] announce it', '    in #general')).toEqual(['announce it', 'in #general']);
  });

  it('skips unchecked template items: an empty box, or only placeholder text after it', () => {
    expect(
      items('- [ ]', '- [ ] ', '- [ ] ...', '- [ ] …', '- [ ] <task>', '- [ ] {{item}}', '- [ ] {task}', '- [ ] [task]', '- [ ] TODO', '- [ ] _task_', '* [ ] add an item', '1. [ ] your task here'),
    ).toEqual([]);
  });

  it('skips a bare list marker, and fence lines themselves', () => {
    expect(items('-', '*', '1.', '```', '```')).toEqual([]);
  });
});

describe('actionableHeartbeatItems: what is actionable', () => {
  it('keeps unchecked items with real text, without the marker and the box', () => {
    expect(items('- [ ] Check the backup job', '1. [ ] Renew the TLS cert by Friday')).toEqual(['Check the backup job', 'Renew the TLS cert by Friday']);
  });

  it('keeps plain list items and any other non-empty line, trimmed, in file order', () => {
    expect(items('# Heartbeat', 'Watch the status page.', '- ping Alice about Q3', '  | a | b |', '> quoted ask')).toEqual([
      'Watch the status page.',
      'ping Alice about Q3',
      '| a | b |',
      '> quoted ask',
    ]);
  });

  it('keeps what is inside a fenced block: content, not markup', () => {
    expect(items('```sh', '# not a heading here', 'curl status', '```')).toEqual(['# not a heading here', 'curl status']);
  });

  it('finds the one open item in a realistic template', () => {
    const template = [
      '---',
      'updated: 2026-01-05',
      '---',
      '# HEARTBEAT',
      '<!--',
      'Things to check each heartbeat. Tick them off when done.',
      '-->',
      '',
      '## Today',
      '- [x] Post the digest',
      '  (posted at 9:00)',
      '- [ ] Chase the unpaid Globex invoice',
      '- [ ] ...',
      '',
      '---',
      '## Later',
      '- [ ]',
    ].join('\r\n');
    expect(actionableHeartbeatItems(`\uFEFF${template}`)).toEqual(['Chase the unpaid Globex invoice']);
  });
});
