/**
 * The operator's commands on the eventstoredb backend, end to end: the built CLI
 * (`node dist/runtime/cli/main.js`) in real processes, LEDGERCLAW_EVENT_STORE=eventstoredb,
 * LEDGERCLAW_EVENTSTOREDB_URL pointing at the fake EventStoreDB (test/fakes/eventstoredb)
 * started in this process, with a user and password in it. The store is seeded through the
 * CLI's own write path (`tasks add`, `tasks pause`, with no runtime running) and through the
 * EventStore port; tampering goes through the fake's backdoor, as an attacker with access to
 * the server's disk would. No command's output may ever hold the password.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { openEventStore } from '../../runtime/open-store.js';
import { startFakeEventStoreDb, type FakeEventStoreDb } from '../fakes/eventstoredb/index.js';
import { builtFile } from '../support/built-dist.js';
import { killLeftoverProcesses, runProcess, startProcess, type RunningProcess } from '../support/child-process.js';
import { cliEnv } from '../support/cli-env.js';

const USER = 'ledger-operator';
const PASSWORD = 'Xq7-s3cret-P4ss';

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface EventJson {
  id: string;
  streamId: string;
  revision: number;
  position: number;
  type: string;
  data: Record<string, unknown>;
  metadata: { correlationId: string; causationId: string; actor: string };
  hash: string;
}

/** One fake EventStoreDB, a data directory for the CLI, and `ledgerclaw` pointed at both. */
class Setup {
  private readonly dirs: string[] = [];
  readonly dataDir: string;
  private readonly cliPath = builtFile('runtime/cli/main.js');

  constructor(readonly fake: FakeEventStoreDb) {
    this.dataDir = this.tempDir();
  }

  /** The connection string the CLI gets: credentials included, as production may have them. */
  get url(): string {
    return `esdb://${USER}:${PASSWORD}@127.0.0.1:${this.fake.port}?tls=false`;
  }

  env(): NodeJS.ProcessEnv {
    return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', LEDGERCLAW_EVENT_STORE: 'eventstoredb', LEDGERCLAW_EVENTSTOREDB_URL: this.url });
  }

  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'ledgerclaw-esdb-cli-'));
    this.dirs.push(dir);
    return dir;
  }

  /** `ledgerclaw <args> --data <dataDir>`; fails the test at once if the password shows anywhere. */
  async cli(...args: string[]): Promise<CliRun> {
    const result = await runProcess(process.execPath, [this.cliPath, ...args, '--data', this.dataDir], { cwd: this.dataDir, env: this.env() });
    expectNoPassword(result, args);
    return result;
  }

  start(...args: string[]): RunningProcess {
    return startProcess(process.execPath, [this.cliPath, ...args, '--data', this.dataDir], { cwd: this.dataDir, env: this.env() });
  }

  /** Appends through the EventStore port, as another process on another data directory would. */
  async appendThroughPort(streamId: string, events: Parameters<Awaited<ReturnType<typeof openEventStore>>['store']['append']>[1]): Promise<void> {
    const dataDir = this.tempDir();
    const { config } = loadConfig({ flags: { data: dataDir }, env: { LEDGERCLAW_EVENT_STORE: 'eventstoredb' }, cwd: dataDir });
    const opened = await openEventStore(config, { mode: 'writer', actor: 'test', env: { LEDGERCLAW_EVENTSTOREDB_URL: this.url } });
    try {
      await opened.store.append(streamId, events, { expectedRevision: 'any' });
    } finally {
      await opened.close();
    }
  }

  async events(stream: string): Promise<EventJson[]> {
    const result = await this.cli('events', 'read', stream, '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as EventJson);
  }

  async close(): Promise<void> {
    await this.fake.close();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

function expectNoPassword(result: { stdout: string; stderr: string }, args: readonly string[]): void {
  const where = `ledgerclaw ${args.join(' ')}`;
  expect(result.stdout.includes(PASSWORD), `${where} printed the password on stdout`).toBe(false);
  expect(result.stderr.includes(PASSWORD), `${where} printed the password on stderr`).toBe(false);
}

async function freshSetup(): Promise<Setup> {
  return new Setup(await startFakeEventStoreDb());
}

/** A task.scheduled as the task actor records it (catalogue v3). */
function taskScheduled(groupId: string, prompt: string) {
  return {
    groupId,
    prompt,
    schedule: { kind: 'interval', everyMs: 3_600_000 },
    contextMode: 'group',
    maxConsecutiveFailures: 3,
    scheduledAt: new Date().toISOString(),
    catchUp: 'fire_once',
    gate: null,
    deliver: 'group',
  };
}

/** The task id `tasks add` printed. */
function taskIdIn(result: CliRun): string {
  expect(result.code, result.stderr).toBe(0);
  const id = result.stdout.trim();
  expect(id).toMatch(/^t-[0-9a-f]+$/);
  return id;
}

afterEach(async () => {
  await killLeftoverProcesses();
});

describe('a store seeded through the CLI and the port', () => {
  let setup: Setup;
  let pausedTask: string;
  let activeTask: string;
  const sharedCorrelation = 'corr-esdb-cli-trace';

  beforeAll(async () => {
    setup = await freshSetup();
    pausedTask = taskIdIn(await setup.cli('tasks', 'add', '--group', 'g1', '--prompt', 'summarise the week', '--every', '1h'));
    const paused = await setup.cli('tasks', 'pause', pausedTask, '--reason', 'holiday');
    expect(paused.code, paused.stderr).toBe(0);
    activeTask = taskIdIn(await setup.cli('tasks', 'add', '--group', 'g2', '--prompt', 'check the inbox', '--every', '2h'));
    // Two streams, one correlation: the second caused by the first.
    await setup.appendThroughPort('task-t-port1', [
      { id: '3f0c5a52-6a4e-4b8e-9a51-0d1f3c2b7e01', type: 'task.scheduled', data: taskScheduled('g3', 'first of a pair'), metadata: { correlationId: sharedCorrelation, causationId: 'cmd:pair' } },
    ]);
    await setup.appendThroughPort('task-t-port2', [
      {
        id: '3f0c5a52-6a4e-4b8e-9a51-0d1f3c2b7e02',
        type: 'task.scheduled',
        data: taskScheduled('g3', 'second of a pair'),
        metadata: { correlationId: sharedCorrelation, causationId: '3f0c5a52-6a4e-4b8e-9a51-0d1f3c2b7e01' },
      },
    ]);
  });

  afterAll(async () => {
    await setup?.close();
  });

  it('events streams lists every stream the CLI and the port wrote, and nothing of the server or the lease', async () => {
    const result = await setup.cli('events', 'streams');
    expect(result.code, result.stderr).toBe(0);
    const streams = result.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/)[0]);
    expect(streams.sort()).toEqual([`task-${activeTask}`, `task-${pausedTask}`, 'task-t-port1', 'task-t-port2'].sort());
  });

  it('events read shows a stream as stored, with logical positions 1, 2, 3… and its hash chain links', async () => {
    const events = await setup.events(`task-${pausedTask}`);
    expect(events.map((event) => [event.revision, event.type, event.metadata.actor])).toEqual([
      [0, 'task.scheduled', 'cli'],
      [1, 'task.paused', 'cli'],
    ]);
    expect(events.map((event) => event.position)).toEqual([1, 2]);
    expect((events[1] as unknown as { prevHash: string }).prevHash).toBe(events[0]!.hash);
    expect(events[1]!.data).toMatchObject({ reason: 'holiday' });

    const table = await setup.cli('events', 'read', `task-${pausedTask}`);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^REV\s+POSITION/);
    expect(table.stdout).toMatch(/\n1\s+2\s+\S+\s+task\.paused v1\s+cli/);
  });

  it('events read of a stream with no events is exit 1', async () => {
    const result = await setup.cli('events', 'read', 'task-nothing-here');
    expect(result.code).toBe(1);
  });

  it('events tail prints the newest events of every stream, oldest first, and filters by type', async () => {
    const all = await setup.cli('events', 'tail', '--limit', '3');
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines.map((line) => line.match(/@(\d+)/)?.[1])).toEqual(['3', '4', '5']);
    expect(lines[2]).toContain('task-t-port2@0');

    const paused = await setup.cli('events', 'tail', '--type', 'task.paused');
    expect(paused.stdout.trim().split('\n')).toHaveLength(1);
    expect(paused.stdout).toContain(`task-${pausedTask}@1`);
  });

  it('events tail --follow prints an event another process appends after it started', async () => {
    const follower = setup.start('events', 'tail', '--follow', '--type', 'task.scheduled');
    await follower.waitForOutput('task-t-port2@0');
    await setup.appendThroughPort('task-t-followed', [{ type: 'task.scheduled', data: taskScheduled('g4', 'appended while following') }]);
    await follower.waitForOutput('task-t-followed@0', { timeoutMs: 15_000 });
    follower.kill('SIGINT');
    const exit = await follower.exited;
    expect(exit.code).toBe(0);
    expectNoPassword({ stdout: follower.stdout(), stderr: follower.stderr() }, ['events', 'tail', '--follow']);
  });

  it('events verify walks every chain on the server', async () => {
    const result = await setup.cli('events', 'verify');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^hash chains intact: \d+ events in \d+ streams\n$/);
    expect(result.stdout).toContain('in 5 streams');
  });

  it('trace follows one correlation id across streams, in $all order, naming the cause', async () => {
    const result = await setup.cli('trace', sharedCorrelation);
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('task-t-port1@0');
    expect(rows[0]).toContain('cmd:pair');
    expect(rows[1]).toContain('task-t-port2@0');
    // The cause is in the trace, so it is named by place rather than by id.
    expect(rows[1]).toMatch(/task-t-port1@0\s*$/);

    const json = await setup.cli('trace', sharedCorrelation, '--json');
    const envelopes = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as EventJson);
    expect(envelopes.map((event) => event.streamId)).toEqual(['task-t-port1', 'task-t-port2']);
    expect(envelopes[1]!.metadata.causationId).toBe(envelopes[0]!.id);
  });

  it('trace of a correlation id no event carries is exit 1', async () => {
    const result = await setup.cli('trace', 'corr-nobody-used');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('corr-nobody-used');
  });

  it('replay folds a task stream through its machine, to the end and to a revision', async () => {
    const full = await setup.cli('replay', `task-${pausedTask}`);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toContain('unscheduled → scheduled.active');
    expect(full.stdout).toContain('scheduled.active → scheduled.paused');
    expect(full.stdout).toMatch(new RegExp(`task-${pausedTask} at revision 1 \\(the last\\)\\n  state    scheduled\\.paused`));

    const early = await setup.cli('replay', `task-${pausedTask}`, '--to', '0');
    expect(early.code, early.stderr).toBe(0);
    expect(early.stdout).toMatch(/at revision 0 \(the stream goes on to revision 1\)\n  state    scheduled\.active/);

    const past = await setup.cli('replay', `task-${pausedTask}`, '--to', '7');
    expect(past.code).toBe(1);
  });

  it('actors list shows every task actor with its state, and that no runtime holds it', async () => {
    const result = await setup.cli('actors', 'list', '--kind', 'task');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`task\\s+${pausedTask}\\s+scheduled\\.paused\\s+1\\s`));
    expect(result.stdout).toMatch(new RegExp(`task\\s+${activeTask}\\s+scheduled\\.active\\s+0\\s`));
    expect(result.stdout).toMatch(/task\s+t-port1\s+scheduled\.active\s+0\s/);

    const paused = await setup.cli('actors', 'list', '--state', 'scheduled.paused', '--json');
    const rows = paused.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string });
    expect(rows.map((row) => row.id)).toEqual([pausedTask]);
  });

  it('projections rebuild builds the read models from the server, and tasks list reads them', async () => {
    const rebuild = await setup.cli('projections', 'rebuild', '--all');
    expect(rebuild.code, rebuild.stderr).toBe(0);
    const head = await setup.cli('events', 'tail', '--limit', '1', '--json');
    const headPosition = (JSON.parse(head.stdout.trim()) as EventJson).position;
    expect(rebuild.stdout).toContain(`rebuilt tasks from ${headPosition} events`);
    expect(rebuild.stdout).toContain(`rebuilt audit-log from ${headPosition} events`);

    const list = await setup.cli('projections', 'list');
    expect(list.stdout).toMatch(new RegExp(`\\ntasks\\s+\\d+\\s+${headPosition}\\s+0\\s+live`));

    const tasks = await setup.cli('tasks', 'list', '--json');
    const byId = new Map(
      tasks.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { taskId: string; status: string })
        .map((task) => [task.taskId, task.status]),
    );
    expect(byId.get(pausedTask)).toBe('paused');
    expect(byId.get(activeTask)).toBe('active');
  });

  it('audit lists what was done, in store order, after verifying the chain it prints', async () => {
    const result = await setup.cli('audit', '--group', 'g1');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/hash chain verified: positions 1\.\.\d+ walked/);
    const rows = result.stdout.split('\n').filter((line) => / #\d+ /.test(line));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`#1\\s+g1\\s+cli\\s+task\\.scheduled\\s+scheduled task ${pausedTask}`));
    expect(rows[1]).toMatch(new RegExp(`#2\\s+g1\\s+cli\\s+task\\.paused\\s+task ${pausedTask} paused: holiday`));
  });
});

describe('beside a running runtime on the same data directory', () => {
  let setup: Setup;

  beforeAll(async () => {
    setup = await freshSetup();
  });

  afterAll(async () => {
    await setup?.close();
  });

  it('start names the server without its password, and the read commands work while it runs', async () => {
    const runtime = setup.start('start');
    const bannerText = await runtime.waitForOutput('Stop with Ctrl-C', { timeoutMs: 45_000 });
    expect(bannerText).toContain(`event store       esdb://[redacted]@127.0.0.1:${setup.fake.port}?tls=false (eventstoredb;`);
    expect(bannerText).toContain('durability        quorum');

    const started = (await setup.events('runtime')).find((event) => event.type === 'runtime.started');
    expect(started?.data).toMatchObject({ eventStore: 'eventstoredb', pid: runtime.pid });
    const actors = await setup.cli('actors', 'list');
    expect(actors.code, actors.stderr).toBe(0);
    expect(actors.stdout).toContain(`LIVE: in the memory of the runtime, pid ${runtime.pid}`);
    const verify = await setup.cli('events', 'verify');
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^hash chains intact: /);

    runtime.kill('SIGTERM');
    expect((await runtime.exited).code).toBe(0);
    expectNoPassword({ stdout: runtime.stdout(), stderr: runtime.stderr() }, ['start']);
    expect((await setup.events('runtime')).map((event) => event.type)).toEqual(['runtime.started', 'runtime.stopped']);
  });
});

describe('a store changed behind the runtime’s back', () => {
  let setup: Setup;

  beforeAll(async () => {
    setup = await freshSetup();
  });

  afterAll(async () => {
    await setup?.close();
  });

  it('events verify and audit fail naming the stream, revision and position of the tampered event', async () => {
    const taskId = taskIdIn(await setup.cli('tasks', 'add', '--group', 'g1', '--prompt', 'pay the invoices', '--every', '1h'));
    expect((await setup.cli('tasks', 'pause', taskId)).code).toBe(0);
    expect((await setup.cli('events', 'verify')).stdout).toBe('hash chains intact: 2 events in 1 stream\n');
    // The audit log as the runtime would have built it before the change.
    expect((await setup.cli('projections', 'rebuild', 'audit-log')).code).toBe(0);

    // Someone with the server's disk changes the prompt of the first event.
    const record = setup.fake.backdoor.records().find((candidate) => candidate.stream === `task-${taskId}` && candidate.revision === 0n);
    expect(record, 'the task.scheduled record in the fake').toBeDefined();
    const data = JSON.parse(new TextDecoder().decode(record!.data)) as Record<string, unknown>;
    expect(data['prompt']).toBe('pay the invoices');
    setup.fake.backdoor.replaceData(record!.position, new TextEncoder().encode(JSON.stringify({ ...data, prompt: 'pay the attacker' })));

    const verify = await setup.cli('events', 'verify');
    expect(verify.code).toBe(1);
    // The verdict is the command's answer, on stdout, as on SQLite.
    expect(verify.stdout).toMatch(new RegExp(`^hash chain broken in stream task-${taskId} at revision 0 \\(position 1\\): its hash does not match .+\\n$`));

    const audit = await setup.cli('audit');
    expect(audit.code).toBe(1);
    expect(audit.stdout + audit.stderr).toContain(`hash chain broken in stream task-${taskId} at revision 0 (position 1)`);
    expect(audit.stdout).not.toContain('pay the attacker');
  });
});

describe('a server that does not answer', () => {
  it('every read command is exit 1 naming the store without its password', async () => {
    const setup = await freshSetup();
    try {
      await setup.fake.goOffline();
      for (const args of [['events', 'verify'], ['events', 'tail'], ['actors', 'list'], ['trace', 'anything']]) {
        const result = await setup.cli(...args);
        expect(result.code, `ledgerclaw ${args.join(' ')}`).toBe(1);
        expect(result.stderr).toContain(`esdb://[redacted]@127.0.0.1:${setup.fake.port}`);
      }
    } finally {
      await setup.close();
    }
  });

  it('a connection string with an option the client would only warn about is refused, without the password', async () => {
    const setup = await freshSetup();
    try {
      const env = { ...setup.env(), LEDGERCLAW_EVENTSTOREDB_URL: `${setup.url}&tlsverifycert=false` };
      const result = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'events', 'verify', '--data', setup.dataDir], { env });
      expectNoPassword(result, ['events', 'verify']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('tlsVerifyCert=false has no effect');
    } finally {
      await setup.close();
    }
  });
});
