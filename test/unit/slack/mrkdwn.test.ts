import { describe, expect, it } from 'vitest';
import { splitForSlack, toMrkdwn } from '../../../runtime/channels/slack/mrkdwn.js';

const strip = (text: string) => text.replace(/\u200b/g, '');

describe('toMrkdwn', () => {
  it("turns Markdown into Slack's mrkdwn, leaving Slack's own tokens alone", () => {
    expect(strip(toMrkdwn('# Plan\n**Bold**, *it* and [the doc](https://example.com/doc)\n\n- one\n- two'))).toBe(
      '*Plan*\n\n*Bold*, _it_ and <https://example.com/doc|the doc>\n\n•   one\n•   two',
    );
    expect(toMrkdwn('ping <@U024BE7LH> and <!here>')).toContain('<@U024BE7LH>');
    expect(toMrkdwn('ping <!here>')).toContain('<!here>');
    expect(toMrkdwn('R&D')).toBe('R&amp;D');
  });
});

describe('splitForSlack', () => {
  it('keeps a short text whole', () => {
    expect(splitForSlack('short', 1000)).toEqual(['short']);
  });

  it('cuts at paragraphs first, every part within the limit, nothing lost', () => {
    const paragraphs = Array.from({ length: 10 }, (_, index) => `p${index} ${'x'.repeat(150)}`);
    const parts = splitForSlack(paragraphs.join('\n\n'), 500);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(500);
    expect(parts.join('\n\n')).toBe(paragraphs.join('\n\n'));
  });

  it('cuts a single long line at a word, and a word longer than the limit where it must', () => {
    const words = Array.from({ length: 200 }, (_, index) => `word${index}`).join(' ');
    const parts = splitForSlack(words, 300);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(300);
    expect(parts.join(' ')).toBe(words);
    const blob = 'y'.repeat(1000);
    expect(splitForSlack(blob, 300).join('')).toBe(blob);
  });

  it('closes a code block at a cut and reopens it in the next part', () => {
    const code = Array.from({ length: 60 }, (_, index) => `const line${index} = ${index};`).join('\n');
    const parts = splitForSlack(`Here:\n\`\`\`\n${code}\n\`\`\`\nDone.`, 400);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(400);
      expect((part.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(parts.at(-1)).toContain('Done.');
    expect(parts.join('\n')).toContain('const line59 = 59;');
  });
});
