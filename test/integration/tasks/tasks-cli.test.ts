/**
 * `ledgerclaw tasks …` end to end, in-process, on a real data directory with the runtime
 * stopped: the CLI takes the directory, the task actor decides, and the tasks read model
 * is brought up to date before the command ends. Each invalid flag value is refused naming
 * the flag (exit 2) and schedules nothing; refusals by the actor are exit 1 with its reason.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actorKinds } from '../../../actors/index.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { tasksProjection } from '../../../projections/tasks.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { runCliCaptured, type CliOutcome } from '../../support/in-process-cli.js';
import { temporaryDir } from '../projections/fixture.js';

let dir: { path: string; remove: () => Promise<void> };

beforeEach(async () => {
  dir = await temporaryDir('tasks-cli');
});

afterEach(async () => {
  await dir.remove();
});

const cli = (...args: string[]): Promise<CliOutcome> => runCliCaptured(['tasks', ...args, '--data', dir.path], { cwd: dir.path, env: { LEDGERCLAW_LOG_LEVEL: 'silent' } });

/** Opens the data directory's store as its writer, for what the CLI cannot do (fire a task, record a run). */
async function withStore<T>(use: (store: EventStore) => Promise<T>): Promise<T> {
  const backend = await openSqliteBackend({ path: join(dir.path, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

async function taskStreams(): Promise<string[]> {
  return withStore(async (store) => (await store.listStreams({ prefix: 'task-' })).map((stream) => stream.streamId));
}

async function added(...args: string[]): Promise<string> {
  const outcome = await cli('add', '--group', 'T1.CSALES', '--prompt', 'Summarise the open deals', ...args);
  expect(outcome, outcome.stderr).toMatchObject({ code: 0, stderr: '' });
  expect(outcome.stdout).toMatch(/^t-[0-9a-f]{12}\n$/);
  return outcome.stdout.trim();
}

describe('tasks add', () => {
  it('schedules a task through the task actor, signed by the cli, and prints its id', async () => {
    const taskId = await added('--every', '1h30m', '--context', 'isolated', '--catch-up', 'skip', '--max-failures', '5', '--gate-script', 'test -s inbox.txt', '--gate-timeout', '10s');
    const [scheduled, ...rest] = await withStore((store) => store.readStream(`task-${taskId}`));
    expect(rest).toEqual([]);
    expect(scheduled?.type).toBe('task.scheduled');
    expect(scheduled?.metadata.actor).toBe('cli');
    expect(scheduled?.data).toMatchObject({
      groupId: 'T1.CSALES',
      prompt: 'Summarise the open deals',
      schedule: { kind: 'interval', everyMs: 5_400_000 },
      contextMode: 'isolated',
      catchUp: 'skip',
      maxConsecutiveFailures: 5,
      gate: { kind: 'script', command: 'test -s inbox.txt', timeoutMs: 10_000 },
    });
  });

  it('takes a cron expression in a zone, a one-off time with an offset, and each kind of wake gate', async () => {
    const cron = await added('--cron', '0 9 * * 1-5', '--tz', 'Europe/Paris', '--gate-new-messages', 'T1.CSUPPORT');
    const once = await added('--at', '2099-03-01T10:00:00+01:00', '--gate-heartbeat');
    const utc = await added('--cron', '*/5 * * * *');
    const data = async (taskId: string) => (await withStore((store) => store.readStream(`task-${taskId}`)))[0]?.data;
    expect(await data(cron)).toMatchObject({ schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' }, gate: { kind: 'new_messages', groupId: 'T1.CSUPPORT' }, contextMode: 'group', catchUp: 'fire_once' });
    expect(await data(once)).toMatchObject({ schedule: { kind: 'once', at: '2099-03-01T09:00:00.000Z' }, gate: { kind: 'heartbeat' } });
    expect(await data(utc)).toMatchObject({ schedule: { kind: 'cron', expression: '*/5 * * * *', timezone: 'UTC' }, gate: null });
  });

  it('round-trips --deliver silent: stored on the task, listed and shown as silent; a task added without it delivers to its group', async () => {
    const silent = await added('--every', '1h', '--deliver', 'silent');
    const plain = await added('--every', '1h');
    const data = async (taskId: string) => (await withStore((store) => store.readStream(`task-${taskId}`)))[0]?.data;
    expect(await data(silent)).toMatchObject({ deliver: 'silent' });
    expect(await data(plain)).toMatchObject({ deliver: 'group' });
    const rows = (await cli('list', '--json')).stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { taskId: string; deliver: string });
    expect(Object.fromEntries(rows.map((row) => [row.taskId, row.deliver]))).toEqual({ [silent]: 'silent', [plain]: 'group' });
    expect((await cli('list')).stdout).toMatch(new RegExp(`${silent}\\s+T1\\.CSALES\\s+active\\s+every 1 h\\s+silent\\s`));
    expect((await cli('runs', silent)).stdout).toContain(`task ${silent} (active, every 1 h, group T1.CSALES, deliver silent)`);

    expect(await cli('deliver', plain, 'silent')).toMatchObject({ code: 0, stdout: `task ${plain} set to deliver silent; it is now scheduled.active\n` });
    expect((await cli('list', '--json', '--group', 'T1.CSALES')).stdout).not.toContain('"deliver":"group"');
    expect(await cli('deliver', plain, 'silent')).toMatchObject({ code: 1, stderr: `ledgerclaw: task ${plain} was not set to deliver silent: the task's answers already go nowhere (silent)\n` });
    const bad = await cli('deliver', plain, 'dm');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("where 'dm': expected group or silent");
  });

  const schedule = ['--group', 'T1.CSALES', '--prompt', 'p'];
  const refusals: [string, string[], RegExp][] = [
    ['a cron expression of the wrong shape', [...schedule, '--cron', 'every monday'], /option '--cron <expr>' argument 'every monday' is invalid.*five or six fields/],
    ['a cron expression croner cannot read', [...schedule, '--cron', '61 * * * *'], /not scheduled: --cron: '61 \* \* \* \*' is not a valid cron expression/],
    ['a time zone that does not exist', [...schedule, '--cron', '0 9 * * *', '--tz', 'Mars/Olympus_Mons'], /not scheduled: --tz: unknown IANA time zone 'Mars\/Olympus_Mons'/],
    ['a time zone of the wrong shape', [...schedule, '--cron', '0 9 * * *', '--tz', 'Paris time'], /option '--tz <zone>' argument 'Paris time' is invalid/],
    ['an interval that is not a duration', [...schedule, '--every', '5 minutes'], /option '--every <duration>' argument '5 minutes' is invalid.*such as 90s, 15m, 2h/],
    ['an interval under a second', [...schedule, '--every', '500ms'], /not scheduled: --every: an interval must be at least 1000 ms, got 500/],
    ['a time in the past', [...schedule, '--at', '2020-01-01T00:00:00Z'], /not scheduled: --at: 2020-01-01T00:00:00\.000Z is not in the future/],
    ['a time without its zone', [...schedule, '--at', '2099-01-01T09:00:00'], /option '--at <time>' argument '2099-01-01T09:00:00' is invalid.*with its zone/],
    ['no schedule', [...schedule], /exactly one of --cron, --every or --at/],
    ['two schedules', [...schedule, '--cron', '0 9 * * *', '--every', '1h'], /exactly one of --cron, --every or --at \(got --cron and --every\)/],
    ['a zone without a cron expression', [...schedule, '--every', '1h', '--tz', 'UTC'], /--tz goes with --cron/],
    ['an unknown context mode', [...schedule, '--every', '1h', '--context', 'shared'], /option '--context <mode>' argument 'shared' is invalid/],
    ['an unknown catch-up policy', [...schedule, '--every', '1h', '--catch-up', 'all'], /option '--catch-up <policy>' argument 'all' is invalid/],
    ['an unknown delivery', [...schedule, '--every', '1h', '--deliver', 'dm'], /option '--deliver <where>' argument 'dm' is invalid.*"group"\|"silent"/],
    ['a failure limit of zero', [...schedule, '--every', '1h', '--max-failures', '0'], /option '--max-failures <n>' argument '0' is invalid/],
    ['a gate timeout without a gate script', [...schedule, '--every', '1h', '--gate-timeout', '5s'], /--gate-timeout goes with --gate-script/],
    ['a gate timeout over five minutes', [...schedule, '--every', '1h', '--gate-script', 'true', '--gate-timeout', '6m'], /option '--gate-timeout <duration>' argument '6m' is invalid/],
    ['two wake gates', [...schedule, '--every', '1h', '--gate-heartbeat', '--gate-new-messages', 'T1.C2'], /one wake gate: --gate-new-messages and --gate-heartbeat/],
    ['a group id with a space', ['--group', 'T1 C1', '--prompt', 'p', '--every', '1h'], /option '--group <id>' argument 'T1 C1' is invalid/],
    ['no group', ['--prompt', 'p', '--every', '1h'], /required option '--group <id>' not specified/],
  ];
  it.each(refusals)('refuses %s naming the flag, exit 2, and schedules nothing', async (_what, args, message) => {
    const outcome = await cli('add', ...args);
    expect(outcome.stderr).toMatch(message);
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(await taskStreams()).toEqual([]);
  });
});

describe('tasks list, pause, resume, cancel', () => {
  it('lists tasks with their schedule in words and next due time, and shows each change right after it', async () => {
    const sales = await added('--every', '2h', '--gate-heartbeat');
    const support = (await cli('add', '--group', 'T1.CSUPPORT', '--prompt', 'Triage the queue', '--cron', '0 9 * * 1', '--tz', 'Europe/Paris')).stdout.trim();

    const listed = await cli('list');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+GROUP\s+STATUS\s+SCHEDULE\s+DELIVER\s+NEXT DUE\s+LAST RESULT\s+PROMPT$/);
    expect(lines.slice(1).find((line) => line.startsWith(sales))).toMatch(/T1\.CSALES\s+active\s+every 2 h\s+group\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\s+-\s+"Summarise the open deals"/);
    expect(lines.slice(1).find((line) => line.startsWith(support))).toMatch(/T1\.CSUPPORT\s+active\s+cron "0 9 \* \* 1" \(Europe\/Paris\)\s+group\s+\d{4}-\d\d-\d\dT0[78]:00:00Z/);

    const onlySupport = await cli('list', '--group', 'T1.CSUPPORT', '--json');
    const rows = onlySupport.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ taskId: support, groupId: 'T1.CSUPPORT', status: 'active', schedule: { kind: 'cron', expression: '0 9 * * 1', timezone: 'Europe/Paris' }, gate: null, lastFire: null });
    expect(await cli('list', '--group', 'T9.CNONE')).toMatchObject({ code: 0, stdout: 'no tasks for group T9.CNONE\n' });

    expect(await cli('pause', sales, '--reason', 'holidays')).toMatchObject({ code: 0, stdout: `task ${sales} paused; it is now scheduled.paused\n` });
    expect((await cli('list', '--json', '--group', 'T1.CSALES')).stdout).toContain('"status":"paused","nextDueAt":null');
    expect(await cli('pause', sales)).toMatchObject({ code: 1, stderr: `ledgerclaw: task ${sales} was not paused: the task is already paused\n` });

    expect(await cli('resume', `task-${sales}`)).toMatchObject({ code: 0, stdout: `task ${sales} resumed; it is now scheduled.active\n` });
    expect(await cli('cancel', sales, '--reason', 'deal closed')).toMatchObject({ code: 0, stdout: `task ${sales} cancelled; it is now cancelled\n` });
    expect((await cli('list')).stdout).toMatch(new RegExp(`${sales}\\s+T1\\.CSALES\\s+cancelled\\s+every 2 h\\s+group\\s+-`));
    const resumeCancelled = await cli('resume', sales);
    expect(resumeCancelled.code).toBe(1);
    expect(resumeCancelled.stderr).toContain('a cancelled task cannot be resumed');

    const events = await withStore((store) => store.readStream(`task-${sales}`));
    expect(events.map((event) => event.type)).toEqual(['task.scheduled', 'task.paused', 'task.resumed', 'task.cancelled']);
    expect(events[1]?.data).toMatchObject({ reason: 'holidays' });
    expect(new Set(events.map((event) => event.metadata.actor))).toEqual(new Set(['cli']));
  });

  it('says there is no such task, exit 1, and stores nothing', async () => {
    for (const verb of ['pause', 'resume', 'cancel']) {
      expect(await cli(verb, 't-nothere')).toMatchObject({ code: 1, stderr: 'ledgerclaw: no task t-nothere: `ledgerclaw tasks list` shows the tasks\n' });
    }
    expect(await taskStreams()).toEqual([]);
    expect(await cli('runs', 't-nothere')).toMatchObject({ code: 1 });
  });

  it('says the read model is not built yet when nothing was ever projected', async () => {
    const outcome = await cli('list');
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/the tasks read model is not built yet in .*; `ledgerclaw start` builds it/);
  });
});

describe('tasks runs', () => {
  it("shows each due time: fired or skipped and why, the run, its outcome, how long it took, and the run's tokens and cost", async () => {
    const taskId = await added('--every', '1h', '--gate-heartbeat');
    await withStore(async (store) => {
      const actors = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds, defaultActor: 'runtime' });
      try {
        const due = async () => ((await actors.load('task', taskId)).snapshot.context as { nextDueAt: string }).nextDueAt;
        const firstDue = await due();
        const fired = await actors.send('task', taskId, { type: 'fire', dueAt: firstDue, gate: { wake: true, detail: '2 actionable items' } });
        expect(fired.status).toBe('accepted');
        const runId = fired.status === 'accepted' ? (fired.events[0]!.data as { runId: string }).runId : '';
        const call = (callId: string, input: number, output: number, costUsd: number) => ({
          type: 'run.model_called',
          data: { callId, model: 'claude-sonnet-5-5', tokens: { input, output, cacheRead: 500, cacheWrite: 100 }, costUsd, latencyMs: 900, attempts: 1, stopReason: 'end_turn', output: [], calledAt: new Date().toISOString() },
        });
        await store.append(`run-${runId}`, [call('c1', 1_000, 200, 0.0123), call('c2', 2_000, 300, 0.0201)], { expectedRevision: 'any' });
        expect((await actors.send('task', taskId, { type: 'finishRun', runId, outcome: 'succeeded' })).status).toBe('accepted');
        expect((await actors.send('task', taskId, { type: 'fire', dueAt: await due(), gate: { wake: false, detail: 'HEARTBEAT.md is empty' } })).status).toBe('accepted');
      } finally {
        await actors.stop();
      }
      // What the runtime's projection host would do.
      const projections = new ProjectionHost({ store, projections: [tasksProjection], dataDir: dir.path });
      await projections.start();
      await projections.waitFor(tasksProjection.name, await store.headPosition());
      await projections.stop();
    });

    const shown = await cli('runs', taskId);
    expect(shown, shown.stderr).toMatchObject({ code: 0, stderr: '' });
    const lines = shown.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`task ${taskId} (active, every 1 h, group T1.CSALES, deliver group)`);
    expect(lines[1]).toMatch(/^DUE\s+DECISION\s+RUN\s+OUTCOME\s+DURATION\s+TOKENS\s+COST$/);
    expect(lines[2]).toMatch(/skipped \(gate: HEARTBEAT\.md is empty\)\s+-\s+-\s+-\s+-\s+-$/);
    // Tokens as budgets count them: input, cache writes and output (cache reads are not counted).
    expect(lines[3]).toMatch(/fired \(2 actionable items\)\s+task-t-[0-9a-f]{12}-\d{8}T\d{9}Z\s+succeeded\s+[\d.]+ (ms|s)\s+3700\s+\$0\.0324$/);

    const json = (await cli('runs', taskId, '--json', '--limit', '1')).stdout.trimEnd().split('\n');
    expect(json).toHaveLength(1);
    expect(JSON.parse(json[0]!)).toMatchObject({ taskId, decision: 'skipped', reason: 'gate', detail: 'HEARTBEAT.md is empty', runId: null, tokens: null });
    const both = (await cli('runs', taskId, '--json')).stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(both[1]).toMatchObject({ decision: 'fired', outcome: 'succeeded', tokens: 3_700, detail: '2 actionable items' });
    expect(both[1]!.costUsd as number).toBeCloseTo(0.0324, 6);
    expect(both[1]!.durationMs).toEqual(expect.any(Number));
    expect(await cli('runs', taskId, '--limit', '0')).toMatchObject({ code: 2 });
  });
});
