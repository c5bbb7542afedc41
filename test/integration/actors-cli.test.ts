/**
 * `replay`, `actors list` and `trace`, run in-process through the CLI program on a real
 * data directory whose events an in-process actor host wrote. Only the test's counter kind
 * exists here, so the CLI is handed it (and a catalogue with its events) the way `runCli`
 * allows for tests; the built CLI always uses the registries.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUPERVISOR_ID } from '../../actors/supervisor.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { EventCatalogue } from '../../events/catalogue.js';
import { runtimeStarted, runtimeStopped } from '../../events/catalogue/runtime.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { registeredActors, type ActorSetup } from '../../runtime/cli/command-context.js';
import { LiveActorsFileWriter, liveActorsPath, type LiveActorsFileContent } from '../../runtime/live-actors-file.js';
import { counterEvents, counterIncremented, counterKind, type CounterKind } from '../support/counter-kind.js';
import { runCliCaptured } from '../support/in-process-cli.js';

const catalogue = new EventCatalogue([...counterEvents, runtimeStarted, runtimeStopped]);
const actors: ActorSetup = { kinds: [counterKind], catalogue };

let cwd: string;
let dataDir: string;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'ledgerclaw-actors-cli-'));
  dataDir = join(cwd, 'data');
  await mkdir(dataDir);
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const cli = (args: string[], setup: ActorSetup = actors) =>
  runCliCaptured([...args, '--data', dataDir], { cwd, env: { LEDGERCLAW_LOG_LEVEL: 'silent' }, actors: setup });

/** A writer on the data directory's events.db, as `ledgerclaw start` would open it; closed after `use`. */
async function withWriter<T>(use: (host: ActorHost<CounterKind>, store: EventStore) => Promise<T>): Promise<T> {
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  const host = new ActorHost({ requireAllEffects: false, store, kinds: [counterKind] });
  try {
    return await use(host, store);
  } finally {
    await host.stop();
    await store.close();
  }
}

/** counter-a: +3, +7 (reaching the limit asks for notifyLimit), then closed. */
async function writeCounterA(): Promise<{ contextAtRevision1: unknown }> {
  return withWriter(async (host) => {
    await host.send('counter', 'a', { type: 'increment', by: 3 });
    await host.send('counter', 'a', { type: 'increment', by: 7 });
    const contextAtRevision1 = structuredClone((await host.load('counter', 'a')).snapshot.context);
    await host.send('counter', 'a', { type: 'close', reason: 'full' });
    return { contextAtRevision1 };
  });
}

const lines = (text: string): unknown[] =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);

describe('ledgerclaw replay', () => {
  it('prints one block per event with the state and context changes it caused, then the final state', async () => {
    await writeCounterA();
    const { code, stdout, stderr } = await cli(['replay', 'counter-a']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const time = /\d{4}-\d\d-\d\dT[\d:.]+Z/g;
    expect(stdout.replace(time, '<time>')).toBe(
      [
        'counter-a@0  counter.incremented v1  <time>  runtime',
        '  data     {"by":3}',
        '  state    open → open',
        '  context  count: 0 → 3',
        '',
        'counter-a@1  counter.incremented v1  <time>  runtime',
        '  data     {"by":7}',
        '  state    open → open',
        '  context  count: 3 → 10',
        '  effect   notifyLimit {"id":"a","count":10}',
        '',
        'counter-a@2  counter.closed v1  <time>  runtime',
        '  data     {"reason":"full"}',
        '  state    open → closed',
        '  context  (unchanged)',
        '',
        'counter-a at revision 2 (the last)',
        '  state    closed',
        '  context  {"id":"a","count":10,"limit":10}',
        '',
      ].join('\n'),
    );
  });

  it('--to shows the actor exactly as the live host had it at that revision', async () => {
    const { contextAtRevision1 } = await writeCounterA();
    const { code, stdout } = await cli(['replay', 'counter-a', '--to', '1', '--json']);
    expect(code).toBe(0);
    const entries = lines(stdout) as Record<string, unknown>[];
    expect(entries).toHaveLength(3);
    expect(entries[2]).toEqual({
      entry: 'final',
      kind: 'counter',
      id: 'a',
      streamId: 'counter-a',
      revision: 1,
      lastRevision: 2,
      state: 'open',
      value: 'open',
      context: contextAtRevision1,
    });
    const human = await cli(['replay', 'counter-a', '--to', '1']);
    expect(human.stdout).toContain('counter-a at revision 1 (the stream goes on to revision 2)\n  state    open\n');
    expect(human.stdout).not.toContain('counter-a@2');
  });

  it('--json prints one object a step, with the full event, then the final one', async () => {
    await writeCounterA();
    const { code, stdout } = await cli(['replay', 'counter-a', '--json']);
    expect(code).toBe(0);
    const entries = lines(stdout) as Record<string, unknown>[];
    expect(entries.map((entry) => entry['entry'])).toEqual(['step', 'step', 'step', 'final']);
    expect(entries[1]).toMatchObject({
      entry: 'step',
      event: { streamId: 'counter-a', revision: 1, type: 'counter.incremented', data: { by: 7 }, metadata: { actor: 'runtime' } },
      stateBefore: 'open',
      stateAfter: 'open',
      contextChanges: [{ path: 'count', before: 3, after: 10 }],
      effects: [{ type: 'notifyLimit', params: { id: 'a', count: 10 } }],
    });
    expect((entries[1]!['event'] as Record<string, unknown>)['hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(entries[3]).toMatchObject({ entry: 'final', revision: 2, lastRevision: 2, state: 'closed' });
  });

  it('exits 1 for a stream of no known kind, naming the kinds', async () => {
    await writeCounterA();
    expect(await cli(['replay', 'task-1'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ledgerclaw: stream task-1 belongs to no actor kind (known kinds: counter)\n',
    });
    const none = await cli(['replay', 'task-1'], { kinds: [], catalogue });
    expect(none.stderr).toBe('ledgerclaw: stream task-1 belongs to no actor kind (no actor kinds are registered)\n');
  });

  it('exits 1 for a stream with no events, also before any store exists', async () => {
    expect(await cli(['replay', 'counter-a'])).toEqual({ code: 1, stdout: '', stderr: 'ledgerclaw: stream counter-a has no events\n' });
    await writeCounterA();
    expect(await cli(['replay', 'counter-zz'])).toEqual({ code: 1, stdout: '', stderr: 'ledgerclaw: stream counter-zz has no events\n' });
  });

  it('exits 1 for --to beyond the last revision, naming the last', async () => {
    await writeCounterA();
    expect(await cli(['replay', 'counter-a', '--to', '3'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ledgerclaw: stream counter-a has no revision 3 (its last is 2)\n',
    });
  });

  it('exits 2 for a malformed --to or stream name', async () => {
    const bad = await cli(['replay', 'counter-a', '--to', 'last']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--to <revision>' argument 'last' is invalid");
    expect(bad.stderr).toContain("see 'ledgerclaw replay --help'");
    expect((await cli(['replay', 'Counter A'])).code).toBe(2);
  });
});

describe('ledgerclaw trace', () => {
  /** Two actors reached by one trigger; the second caused by the first's event. */
  async function writeTrace(): Promise<{ firstEventId: string }> {
    return withWriter(async (host) => {
      await host.send('counter', 'x', { type: 'increment', by: 1 }, { correlationId: 'trigger-1', causationId: 'slack-msg-1' });
      const first = await host.send('counter', 'a', { type: 'increment', by: 2 }, { correlationId: 'trigger-1', causationId: 'slack-msg-1' });
      if (first.status !== 'accepted') throw new Error('expected an accepted command');
      const firstEventId = first.events[0]!.id;
      await host.send('counter', 'b', { type: 'increment', by: 3 }, { correlationId: 'trigger-1', causationId: firstEventId });
      await host.send('counter', 'b', { type: 'reset' }, { correlationId: 'another' });
      return { firstEventId };
    });
  }

  it('shows every event of the correlation in $all order with stream@revision, type, actor, cause and time', async () => {
    await writeTrace();
    const { code, stdout, stderr } = await cli(['trace', 'trigger-1']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const rows = stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^RECORDED AT\s+EVENT\s+TYPE\s+ACTOR\s+CAUSED BY$/);
    expect(rows.slice(1).map((row) => row.split(/\s{2,}/).slice(1))).toEqual([
      ['counter-x@0', 'counter.incremented v1', 'runtime', 'slack-msg-1'],
      ['counter-a@0', 'counter.incremented v1', 'runtime', 'slack-msg-1'],
      // Caused by an event of the same trace: shown by where it is.
      ['counter-b@0', 'counter.incremented v1', 'runtime', 'counter-a@0'],
    ]);
  });

  it('--json prints the full envelopes', async () => {
    const { firstEventId } = await writeTrace();
    const { code, stdout } = await cli(['trace', 'trigger-1', '--json']);
    expect(code).toBe(0);
    const events = lines(stdout) as { streamId: string; position: number; metadata: { correlationId: string; causationId: string } }[];
    expect(events.map((event) => event.streamId)).toEqual(['counter-x', 'counter-a', 'counter-b']);
    expect(events.every((event) => event.metadata.correlationId === 'trigger-1')).toBe(true);
    expect(events[2]!.metadata.causationId).toBe(firstEventId);
    expect(events.map((event) => event.position)).toEqual([...events.map((event) => event.position)].sort((a, b) => a - b));
  });

  it('exits 1 when no event carries the id', async () => {
    await writeTrace();
    expect(await cli(['trace', 'nobody'])).toEqual({ code: 1, stdout: '', stderr: 'ledgerclaw: no event carries correlation id nobody\n' });
    await rm(dataDir, { recursive: true });
    expect((await cli(['trace', 'trigger-1'])).code).toBe(1);
  });
});

describe('ledgerclaw actors list', () => {
  /** a closed, b at 5, c at 1; plus streams whose names only start like a counter's. */
  async function writeActors(): Promise<void> {
    await withWriter(async (host, store) => {
      await host.send('counter', 'a', { type: 'close', reason: 'done' });
      await host.send('counter', 'b', { type: 'increment', by: 5 });
      await host.send('counter', 'c', { type: 'increment', by: 1 });
      await store.append('counterfeit-1', [counterIncremented.create({ by: 1 })], { expectedRevision: 'no_stream' });
      await store.append('runtime', [runtimeStopped.create({ pid: 1, reason: 'signal', signal: 'SIGTERM', uptimeMs: 1 })], {
        expectedRevision: 'no_stream',
      });
    });
  }

  async function writeLiveFile(content: LiveActorsFileContent): Promise<void> {
    await mkdir(join(dataDir, 'runtime'), { recursive: true });
    await writeFile(liveActorsPath(dataDir), JSON.stringify(content));
  }

  const table = (stdout: string) =>
    stdout
      .trimEnd()
      .split('\n')
      .slice(0, -1)
      .map((row) => row.split(/\s{2,}/).filter((cell, index) => index !== 4));

  it('lists every actor of every kind with state, revision, last event time and liveness', async () => {
    await writeActors();
    const { code, stdout, stderr } = await cli(['actors', 'list']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(table(stdout)).toEqual([
      ['KIND', 'ID', 'STATE', 'REVISION', 'LIVE'],
      ['counter', 'a', 'closed', '0', 'no'],
      ['counter', 'b', 'open', '0', 'no'],
      ['counter', 'c', 'open', '0', 'no'],
    ]);
    expect(stdout).toMatch(/^counter +a +closed +0 +\d{4}-\d\d-\d\dT[\d:.]+Z +no$/m);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('LIVE: no runtime is running on this data directory');
  });

  it('filters by --kind and by --state', async () => {
    await writeActors();
    expect(table((await cli(['actors', 'list', '--kind', 'counter', '--state', 'closed'])).stdout)).toEqual([
      ['KIND', 'ID', 'STATE', 'REVISION', 'LIVE'],
      ['counter', 'a', 'closed', '0', 'no'],
    ]);
    expect((await cli(['actors', 'list', '--state', 'open'])).stdout).not.toContain('closed');
  });

  it('--json prints one object an actor', async () => {
    await writeActors();
    const { code, stdout } = await cli(['actors', 'list', '--json']);
    expect(code).toBe(0);
    const listed = lines(stdout);
    expect(listed).toHaveLength(3);
    expect(listed[1]).toMatchObject({ kind: 'counter', id: 'b', streamId: 'counter-b', state: 'open', revision: 0, live: false });
    expect((listed[1] as { lastRecordedAt: string }).lastRecordedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('exits 2 on an unknown --kind, naming the known kinds, and on a state no kind has, naming the states', async () => {
    const kind = await cli(['actors', 'list', '--kind', 'task']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain("option '--kind <kind>' argument 'task' is invalid. expected one of the actor kinds: counter");
    expect(kind.stderr).toContain("see 'ledgerclaw actors list --help'");
    const state = await cli(['actors', 'list', '--state', 'running']);
    expect(state.code).toBe(2);
    expect(state.stderr).toContain("argument 'running' is invalid. no actor kind listed has that state (counter: open, closed)");
    expect(state.stderr).toContain("see 'ledgerclaw actors list --help'");
  });

  it('prints (no actors) on a data directory with no store yet', async () => {
    expect(await cli(['actors', 'list'])).toEqual({ code: 0, stdout: '(no actors)\nLIVE: no runtime is running on this data directory\n', stderr: '' });
  });

  it('marks the actors a running runtime holds in memory, from the file it writes', async () => {
    await writeActors();
    // The runtime's writer, fed by a host that has loaded only b: this test process plays the runtime.
    await withWriter(async (host) => {
      await host.load('counter', 'b');
      const writer = await LiveActorsFileWriter.start({ dataDir, source: host });
      try {
        const { stdout } = await cli(['actors', 'list']);
        expect(table(stdout).map((row) => row[4])).toEqual(['LIVE', 'no', 'yes', 'no']);
        expect(stdout).toContain(`LIVE: in the memory of the runtime, pid ${process.pid} on ${hostname()}, as of `);
        const json = lines((await cli(['actors', 'list', '--json'])).stdout) as { id: string; live: boolean }[];
        expect(json.filter((actor) => actor.live).map((actor) => actor.id)).toEqual(['b']);
      } finally {
        await writer.stop();
      }
    });
  });

  it('ignores a live-actors file left by a process that has exited', async () => {
    await writeActors();
    // A process that has run and exited: its pid is free (reuse within the test is not a real risk).
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(exited.stdout);
    expect(Number.isInteger(pid) && pid > 0).toBe(true);
    await writeLiveFile({ pid, hostname: hostname(), updatedAt: new Date().toISOString(), actors: [{ streamId: 'counter-b', state: 'open', revision: 0 }] });
    const { stdout } = await cli(['actors', 'list']);
    expect(table(stdout).map((row) => row[4])).toEqual(['LIVE', 'no', 'no', 'no']);
    expect(stdout).toContain('LIVE: no runtime is running on this data directory');
  });

  it('warns about a live-actors file it cannot read, and lists the actors anyway', async () => {
    await writeActors();
    await mkdir(join(dataDir, 'runtime'), { recursive: true });
    await writeFile(liveActorsPath(dataDir), '{"pid":"me"}');
    const { code, stdout, stderr } = await cli(['actors', 'list']);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^ledgerclaw: ignoring .*live-actors\.json: pid: /);
    expect(table(stdout)).toHaveLength(4);
  });
});

describe('with the registered kinds (what the built CLI uses)', () => {
  /** The supervisor: r1 gets the group's one slot, r2 waits, r1's release hands the slot to r2. */
  async function writeSupervisor(): Promise<void> {
    const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
    const store = createEventStore(backend, registeredActors.catalogue);
    const host = new ActorHost({ requireAllEffects: false, store, kinds: registeredActors.kinds });
    try {
      // The CLI's kinds are erased to AnyActorKind, so commands go by name, checked at run time.
      await host.sendUnchecked('supervisor', SUPERVISOR_ID, { type: 'requestRun', runId: 'r1', groupId: 'g1' });
      await host.sendUnchecked('supervisor', SUPERVISOR_ID, { type: 'requestRun', runId: 'r2', groupId: 'g1' });
      await host.sendUnchecked('supervisor', SUPERVISOR_ID, { type: 'releaseRun', runId: 'r1' });
      await store.append('runtime', [runtimeStopped.create({ pid: 1, reason: 'signal', signal: 'SIGTERM', uptimeMs: 1 })], {
        expectedRevision: 'no_stream',
      });
    } finally {
      await host.stop();
      await store.close();
    }
  }

  it('replays the supervisor, showing queue and slot changes by path and the effects asked for', async () => {
    await writeSupervisor();
    const { code, stdout, stderr } = await cli(['replay', 'supervisor', '--json'], registeredActors);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const entries = lines(stdout) as { entry: string; event?: { type: string }; contextChanges?: unknown[]; effects?: unknown[] }[];
    expect(entries.map((entry) => entry.event?.type ?? entry.entry)).toEqual([
      'supervisor.run_queued',
      'supervisor.run_dispatched',
      'supervisor.run_queued',
      'supervisor.run_released',
      'supervisor.run_dispatched',
      'final',
    ]);
    expect(entries[1]).toMatchObject({
      contextChanges: [
        { path: 'queue[0]', before: { runId: 'r1', groupId: 'g1' } },
        { path: 'active[0]', after: { runId: 'r1', groupId: 'g1' } },
      ],
      effects: [{ type: 'grantSlot', params: { runId: 'r1', groupId: 'g1' } }],
    });
    expect(entries[4]).toMatchObject({
      contextChanges: [
        { path: 'queue[0]', before: { runId: 'r2' } },
        { path: 'active[0]', after: { runId: 'r2' } },
      ],
    });
    expect(entries[5]).toMatchObject({ entry: 'final', kind: 'supervisor', id: '', state: 'supervising', context: { queue: [], active: [{ runId: 'r2' }] } });
  });

  it('lists the supervisor as a singleton, and never the runtime stream as a run', async () => {
    await writeSupervisor();
    const { code, stdout } = await cli(['actors', 'list'], registeredActors);
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(0, 3)).toEqual([
      expect.stringMatching(/^KIND +ID +STATE +REVISION +LAST EVENT +LIVE$/),
      expect.stringMatching(/^supervisor +- +supervising +4 +\S+ +no$/),
      'LIVE: no runtime is running on this data directory',
    ]);
    expect((await cli(['actors', 'list', '--kind', 'run'], registeredActors)).stdout).toMatch(/^\(no actors\)\n/);
  });

  it('names every registered kind for an unknown --kind', async () => {
    const { code, stderr } = await cli(['actors', 'list', '--kind', 'counter'], registeredActors);
    expect(code).toBe(2);
    expect(stderr).toContain(`expected one of the actor kinds: ${registeredActors.kinds.map((kind) => kind.kind).join(', ')}`);
    expect(registeredActors.kinds.map((kind) => kind.kind)).toEqual(expect.arrayContaining(['group', 'task', 'memory', 'approval', 'run', 'supervisor']));
  });
});
