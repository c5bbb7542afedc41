/**
 * The built CLI (`node dist/runtime/cli/main.js`) in real processes on temporary data
 * directories: what an operator does, including two processes on one directory.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { builtFile } from '../support/built-dist.js';
import { killLeftoverProcesses, runProcess, startProcess, type RunningProcess } from '../support/child-process.js';
import { cliEnv } from '../support/cli-env.js';

let cliPath: string;
let workDir: string;
let dataDir: string;

/** The CLI's env (see cli-env.ts), logging at warn. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', ...extra });
}

function cli(args: readonly string[], env: Record<string, string> = {}) {
  return runProcess(process.execPath, [cliPath, ...args], { cwd: workDir, env: cleanEnv(env) });
}

function startCli(args: readonly string[]): RunningProcess {
  return startProcess(process.execPath, [cliPath, ...args], { cwd: workDir, env: cleanEnv() });
}

/** `ledgerclaw start` on the test's data directory, once its banner says it is running. */
async function startRuntime(): Promise<RunningProcess> {
  const runtime = startCli(['start', '--data', dataDir]);
  await runtime.waitForOutput('Stop with Ctrl-C');
  return runtime;
}

interface EventJson {
  streamId: string;
  revision: number;
  position: number;
  type: string;
  version: number;
  data: Record<string, unknown>;
  metadata: { actor: string };
  prevHash: string;
  hashVersion: number;
  hash: string;
}

async function runtimeEvents(): Promise<EventJson[]> {
  const result = await cli(['events', 'read', 'runtime', '--json', '--data', dataDir]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as EventJson);
}

function sqliteRun(path: string, sql: string, params: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, (openError) => {
      if (openError) return reject(openError);
      db.run(sql, params, (runError) => {
        db.close(() => (runError ? reject(runError) : resolve()));
      });
    });
  });
}

beforeAll(() => {
  cliPath = builtFile('runtime/cli/main.js');
});

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), 'ledgerclaw-cli-'));
  dataDir = join(workDir, 'data');
});

afterEach(async () => {
  await killLeftoverProcesses();
  rmSync(workDir, { recursive: true, force: true });
});

describe('usage', () => {
  it('--help lists start and every events subcommand, and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['start', 'events streams', 'events read', 'events tail', 'events verify']) {
      expect(result.stdout).toContain(command);
    }
  });

  it('exits 2 on an unknown command, naming it', async () => {
    const result = await cli(['launch']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'launch'");
    expect(result.stderr).toContain("see 'ledgerclaw --help'");
  });

  it('exits 2 on a bad --from, naming --from', async () => {
    const result = await cli(['events', 'read', 'runtime', '--from', 'abc', '--data', dataDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'--from <revision>' argument 'abc' is invalid");
  });

  it('exits 2 on an invalid config value from env, naming the key and the variable', async () => {
    const result = await cli(['events', 'streams', '--data', dataDir], { LEDGERCLAW_SQLITE_SYNCHRONOUS: 'fast' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'invalid config: eventStore.sqlite.synchronous = "fast" (from LEDGERCLAW_SQLITE_SYNCHRONOUS): expected one of FULL, NORMAL, EXTRA',
    );
  });
});

describe('a fresh data directory', () => {
  it('has no streams, nothing to tail, nothing to verify, and no runtime events', async () => {
    expect(await cli(['events', 'streams', '--data', dataDir])).toMatchObject({ code: 0, stdout: '(no streams)\n' });
    expect(await cli(['events', 'tail', '--data', dataDir])).toMatchObject({ code: 0, stdout: '' });
    // Defect 7 (issue 16): a wrong --data used to pass as "intact: 0 events".
    expect(await cli(['events', 'verify', '--data', dataDir])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `ledgerclaw: there is no event store at ${join(dataDir, 'events.db')}: nothing to verify (is --data right?)\n`,
    });
    expect(await cli(['events', 'read', 'runtime', '--data', dataDir])).toMatchObject({
      code: 1,
      stderr: 'ledgerclaw: stream runtime has no events\n',
    });
  });
});

describe('ledgerclaw start', () => {
  it('records runtime.started, and runtime.stopped on SIGTERM', async () => {
    const runtime = await startRuntime();
    expect(runtime.stdout()).toContain(dataDir);
    expect(runtime.stdout()).toContain('synchronous=FULL');
    expect(runtime.stdout()).toContain(`pid               ${runtime.pid}`);
    expect(runtime.stdout()).toContain('events tail --follow');
    expect(runtime.stdout()).toContain('scheduler         0 active tasks on the clock');

    const [started] = await runtimeEvents();
    expect(started).toMatchObject({
      streamId: 'runtime',
      revision: 0,
      type: 'runtime.started',
      version: 1,
      data: { pid: runtime.pid, eventStore: 'sqlite', previousShutdown: 'first_start' },
      metadata: { actor: 'runtime' },
      prevHash: '0'.repeat(64),
      hashVersion: 2,
    });

    runtime.kill('SIGTERM');
    expect(await runtime.exited).toEqual({ code: 0, signal: null });
    const events = await runtimeEvents();
    expect(events.map((event) => event.type)).toEqual(['runtime.started', 'runtime.stopped']);
    expect(events[1]).toMatchObject({ revision: 1, data: { pid: runtime.pid, reason: 'signal', signal: 'SIGTERM' }, prevHash: started!.hash });

    // The next start finds a clean stop.
    const next = await startRuntime();
    expect(next.stdout()).toContain('stopped cleanly');
    next.kill('SIGINT');
    expect((await next.exited).code).toBe(0);
    expect((await runtimeEvents()).map((event) => [event.type, event.data['previousShutdown'] ?? event.data['signal']])).toEqual([
      ['runtime.started', 'first_start'],
      ['runtime.stopped', 'SIGTERM'],
      ['runtime.started', 'clean'],
      ['runtime.stopped', 'SIGINT'],
    ]);
  });

  it('refuses a second writer on the same data directory, naming the pid', async () => {
    const runtime = await startRuntime();
    const second = await cli(['start', '--data', dataDir]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`ledgerclaw: data directory ${dataDir} in use by pid ${runtime.pid}`);
    expect(second.stdout).toBe('');
    // The refused writer wrote nothing.
    expect((await runtimeEvents()).map((event) => event.type)).toEqual(['runtime.started']);
  });

  it('reports an unclean previous shutdown after a SIGKILL, taking over the stale lock', async () => {
    const killed = await startRuntime();
    killed.kill('SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');

    const next = await startRuntime();
    expect(next.stdout()).toContain('did not stop cleanly');
    const events = await runtimeEvents();
    expect(events.map((event) => [event.type, event.data['previousShutdown'], event.data['pid']])).toEqual([
      ['runtime.started', 'first_start', killed.pid],
      ['runtime.started', 'unclean', next.pid],
    ]);
  });
});

describe('a corrupt event store', () => {
  it('fails start with exit 1 and leaves no writer lock behind; readers fail the same way', async () => {
    // 0700, as the runtime makes it: a looser one would be tightened with a WARN line first.
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(join(dataDir, 'events.db'), 'this is not an SQLite database, just some bytes '.repeat(200));
    const start = await cli(['start', '--data', dataDir]);
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/^ledgerclaw: the event store at .*events\.db is corrupt/);
    expect(existsSync(join(dataDir, 'writer.lock'))).toBe(false);
    const verify = await cli(['events', 'verify', '--data', dataDir]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toContain('is corrupt');
  });
});

describe('read-only commands beside a running runtime', () => {
  it('lists, reads and verifies while start holds the writer lock', async () => {
    await startRuntime();
    const streams = await cli(['events', 'streams', '--data', dataDir]);
    expect(streams.code).toBe(0);
    expect(streams.stdout).toMatch(/^STREAM\s+REVISION\s+LAST EVENT\nruntime\s+0\s+\d{4}-\d\d-\d\dT\S+Z\n$/);

    const read = await cli(['events', 'read', 'runtime', '--data', dataDir]);
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(/^REV\s+POSITION\s+RECORDED AT\s+TYPE\s+ACTOR\s+DATA\n0\s+1\s+\S+Z\s+runtime\.started v1\s+runtime\s+\{.*"previousShutdown":"first_start".*\}\n$/);

    expect(await cli(['events', 'verify', '--data', dataDir])).toMatchObject({ code: 0, stdout: 'hash chains intact: 1 event in 1 stream\n' });
  });

  it('tail --follow prints the runtime.stopped another process appends', async () => {
    const runtime = await startRuntime();
    const follower = startCli(['events', 'tail', '--follow', '--data', dataDir]);
    await follower.waitForOutput('runtime.started v1');

    runtime.kill('SIGTERM');
    expect((await runtime.exited).code).toBe(0);
    const output = await follower.waitForOutput('runtime.stopped v1');
    expect(output).toMatch(/@2 {2}runtime@1 {2}runtime\.stopped v1 {2}runtime {2}\{.*"signal":"SIGTERM".*\}/);
    expect(output.match(/runtime\.started/g)).toHaveLength(1);

    follower.kill('SIGINT');
    expect(await follower.exited).toEqual({ code: 0, signal: null });
  });

  it('tail --follow --type --json prints only matching events as NDJSON', async () => {
    const first = await startRuntime();
    first.kill('SIGTERM');
    await first.exited;
    const follower = startCli(['events', 'tail', '--follow', '--json', '--type', 'runtime.stopped', '--data', dataDir]);
    await follower.waitForOutput('"type":"runtime.stopped"');
    const second = await startRuntime();
    second.kill('SIGTERM');
    await second.exited;
    await follower.waitForOutput(new RegExp(`"pid":${second.pid}`));
    follower.kill('SIGTERM');
    expect((await follower.exited).code).toBe(0);
    const lines = follower
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as EventJson);
    expect(lines.map((event) => [event.type, event.data['pid']])).toEqual([
      ['runtime.stopped', first.pid],
      ['runtime.stopped', second.pid],
    ]);
  });
});

describe('ledgerclaw events verify', () => {
  it('exits 1 naming the stream and revision of an event changed behind the store’s back', async () => {
    const first = await startRuntime();
    first.kill('SIGTERM');
    await first.exited;
    const second = await startRuntime();
    second.kill('SIGTERM');
    await second.exited;
    expect(await cli(['events', 'verify', '--data', dataDir])).toMatchObject({ code: 0, stdout: 'hash chains intact: 4 events in 1 stream\n' });

    // Rewrite history: the third event (runtime@2) claims a different pid.
    const [, , third] = await runtimeEvents();
    await sqliteRun(join(dataDir, 'events.db'), 'UPDATE events SET data = ? WHERE position = ?', [
      JSON.stringify({ ...third!.data, pid: 1 }),
      third!.position,
    ]);

    const verify = await cli(['events', 'verify', '--data', dataDir]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^hash chain broken in stream runtime at revision 2 \(position 3\): .+\n$/);
  });
});

describe('defect 7 (issue 16): position and recording time are in the hash, and start checks the chain', () => {
  const eventsDb = () => join(dataDir, 'events.db');
  const checkpointFile = () => join(dataDir, 'chain-verified.json');
  const verifiedPosition = () => (JSON.parse(readFileSync(checkpointFile(), 'utf8')) as { position: string }).position;

  async function startAndStop(args: readonly string[] = []): Promise<RunningProcess> {
    const runtime = startCli(['start', '--data', dataDir, ...args]);
    await runtime.waitForOutput('Stop with Ctrl-C');
    runtime.kill('SIGTERM');
    expect((await runtime.exited).code).toBe(0);
    return runtime;
  }

  async function expectStartRefused(where: string): Promise<void> {
    const refused = await cli(['start', '--data', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`ledgerclaw: the event store at ${eventsDb()} failed its hash-chain check, so nothing was appended: hash chain broken ${where}: `);
    expect(refused.stderr).toContain('--skip-verify');
    expect(existsSync(join(dataDir, 'writer.lock'))).toBe(false);
  }

  it('remembers how far start verified: only what was written since is read at the next start', async () => {
    await startAndStop();
    expect(verifiedPosition()).toBe('0');
    await startAndStop();
    expect(verifiedPosition()).toBe('2');
  });

  it('an edited recording time fails events verify and stops start, which appends nothing', async () => {
    await startAndStop();
    await sqliteRun(eventsDb(), 'UPDATE events SET recorded_at = ? WHERE position = 2', ['2020-01-01T00:00:00.000Z']);
    const verify = await cli(['events', 'verify', '--data', dataDir]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^hash chain broken in stream runtime at revision 1 \(position 2\): .+\n$/);
    await expectStartRefused('in stream runtime at revision 1 (position 2)');
    expect((await runtimeEvents()).map((event) => event.type)).toEqual(['runtime.started', 'runtime.stopped']);
  });

  it('an event moved to another position fails events verify and stops start', async () => {
    await startAndStop();
    await sqliteRun(eventsDb(), 'UPDATE events SET position = 7 WHERE position = 2', []);
    // Its stream still reads in order: only its place in $all changed.
    expect((await runtimeEvents()).map((event) => [event.revision, event.position])).toEqual([[0, 1], [1, 7]]);
    const verify = await cli(['events', 'verify', '--data', dataDir]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^hash chain broken in stream runtime at revision 1 \(position 7\): .+\n$/);
    await expectStartRefused('in stream runtime at revision 1 (position 7)');
  });

  it('start --skip-verify starts a tampered store with a loud warning, and does not count it as verified', async () => {
    await startAndStop();
    await sqliteRun(eventsDb(), 'UPDATE events SET recorded_at = ? WHERE position = 2', ['2020-01-01T00:00:00.000Z']);
    const skipped = await startAndStop(['--skip-verify']);
    expect(skipped.stderr()).toContain('WARNING: HASH-CHAIN VERIFICATION SKIPPED (--skip-verify)');
    expect(verifiedPosition()).toBe('0');
    // What it appended on top does not launder the tampering.
    await expectStartRefused('in stream runtime at revision 1 (position 2)');
  });

  it('with its checkpoint deleted, start verifies the whole store again', async () => {
    await startAndStop();
    await startAndStop();
    expect(verifiedPosition()).toBe('2');
    // Position 1 was verified already: a start reads only what came after, until the checkpoint is gone.
    await sqliteRun(eventsDb(), 'UPDATE events SET recorded_at = ? WHERE position = 1', ['2020-01-01T00:00:00.000Z']);
    rmSync(checkpointFile());
    await expectStartRefused('in stream runtime at revision 0 (position 1)');
  });

  it('a store cut short below the verified position stops start and fails events verify', async () => {
    await startAndStop();
    await startAndStop();
    expect(verifiedPosition()).toBe('2');
    // Remove the last two events and make the stream index agree, so every remaining link holds.
    await sqliteRun(eventsDb(), 'DELETE FROM events WHERE position >= 2', []);
    await sqliteRun(eventsDb(), "UPDATE streams SET revision = 0, last_position = 1, last_hash = (SELECT hash FROM events WHERE position = 1) WHERE stream_id = 'runtime'", []);
    await expectStartRefused('at position 2');
    const verify = await cli(['events', 'verify', '--data', dataDir]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^hash chain broken at position 2: the event at position 2, verified before, is gone/);
  });
});

describe('tail --follow before the first start', () => {
  it('waits for the runtime to create the store, then prints its events', async () => {
    const follower = startCli(['events', 'tail', '--follow', '--data', dataDir]);
    const runtime = await startRuntime();
    await follower.waitForOutput(new RegExp(`runtime\\.started v1 {2}runtime {2}\\{.*"pid":${runtime.pid}`));
    follower.kill('SIGINT');
    expect((await follower.exited).code).toBe(0);
  });
});
