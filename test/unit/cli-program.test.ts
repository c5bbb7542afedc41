/**
 * The CLI run in-process: parsing, usage errors and exit codes. The built CLI in real
 * processes is covered by test/integration/cli.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/in-process-cli.js';

let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'ledgerclaw-cli-'));
});

afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string> = {}) => runCliCaptured(args, { cwd, env });

describe('help', () => {
  it('lists every command, global option and env variable, and exits 0', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    for (const text of ['start', 'events streams', 'events read', 'events tail', 'events verify', 'actors list', 'replay [options] <stream>', 'trace [options] <correlationId>', '--data <dir>', '--config <file>', 'LEDGERCLAW_SQLITE_SYNCHRONOUS']) {
      expect(stdout).toContain(text);
    }
  });

  it('shows a subcommand’s options', async () => {
    const { code, stdout } = await cli(['events', 'tail', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--follow');
    expect(stdout).toContain('--type <type>');
  });
});

describe('usage errors exit 2 with a message and a pointer to --help', () => {
  it.each([
    [['bogus'], "unknown command 'bogus'", "see 'ledgerclaw --help'"],
    [['events', 'raed', 'runtime'], "unknown command 'raed'", "see 'ledgerclaw events --help'"],
    [['events', 'streams', '--nope'], "unknown option '--nope'", "see 'ledgerclaw events streams --help'"],
    [['events', 'read'], "missing required argument 'stream'", "see 'ledgerclaw events read --help'"],
    [['events', 'read', 'runtime', '--from', 'abc'], "option '--from <revision>' argument 'abc' is invalid", 'non-negative integer'],
    [['events', 'read', 'runtime', '--from', '-1'], "'--from <revision>'", 'non-negative integer'],
    [['events', 'read', 'runtime', '--limit', '0'], "'--limit <count>'", 'positive integer'],
    [['events', 'read', 'Not A Stream'], "'Not A Stream' is invalid for argument 'stream'", '<kind>'],
    [['events', 'tail', '--type', 'Runtime'], "option '--type <type>' argument 'Runtime' is invalid", '<kind>.<past_tense>'],
    [['events', 'verify', 'extra'], 'too many arguments', "see 'ledgerclaw events verify --help'"],
  ])('%j', async (args, problem, hint) => {
    const { code, stdout, stderr } = await cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^ledgerclaw: /);
    expect(stderr).toContain(problem);
    expect(stderr).toContain(hint);
  });

  it('treats a missing command as a usage error', async () => {
    const { code, stderr } = await cli([]);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: ledgerclaw');
  });

  it('reports invalid configuration naming the key and its source', async () => {
    const { code, stderr } = await cli(['events', 'streams'], { LEDGERCLAW_SQLITE_SYNCHRONOUS: 'fast' });
    expect(code).toBe(2);
    expect(stderr).toContain('eventStore.sqlite.synchronous = "fast" (from LEDGERCLAW_SQLITE_SYNCHRONOUS)');
  });
});

describe('read-only commands on a data directory with no store yet', () => {
  it('streams prints (no streams)', async () => {
    expect(await cli(['events', 'streams', '--data', 'fresh'])).toEqual({ code: 0, stdout: '(no streams)\n', stderr: '' });
  });

  it('tail prints nothing', async () => {
    expect(await cli(['events', 'tail', '--data', 'fresh'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('verify is an error: there is nothing to verify (defect 7, issue 16)', async () => {
    const { code, stdout, stderr } = await cli(['--data', 'fresh', 'events', 'verify']);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(/^ledgerclaw: there is no event store at .*fresh\/events\.db: nothing to verify \(is --data right\?\)\n$/);
  });

  it('read says the stream has no events and exits 1', async () => {
    expect(await cli(['events', 'read', 'runtime', '--data', 'fresh'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ledgerclaw: stream runtime has no events\n',
    });
  });
});
