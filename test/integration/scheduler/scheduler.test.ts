/**
 * The scheduler on the real SQLite store and the real task actors: due times come from the
 * actors, each due time is decided once (fired or skipped), a restart neither repeats nor
 * loses a fire, missed due times follow the task's catch-up policy, and a wake gate that
 * sees nothing new spends no run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actorKinds } from '../../../actors/index.js';
import type { TaskContext } from '../../../actors/task.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { StoredEvent } from '../../../events/envelope.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import type { EffectContext, EffectExecutors, EffectParams } from '../../../runtime/actor-host/effects.js';
import { actorWiring } from '../../../runtime/actor-wiring.js';
import { TaskScheduler, type ActiveTaskDue, type FireReport, type SchedulerOptions } from '../../../runtime/scheduler/scheduler.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

let dir: string;
let store: EventStore;
let host: ActorHost;
let scheduler: TaskScheduler | undefined;
let reports: FireReport[];

/** Runs finish at once, succeeded, as a container that answered would. */
async function answeringContainer(params: unknown, context: EffectContext): Promise<void> {
  const { runId } = params as { runId: string };
  await context.send('run', runId, { type: 'reportStarted', containerId: `container-${runId}` });
  await context.send('run', runId, { type: 'complete', summary: 'done', tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 } });
}

/** Runs start and never finish. */
async function stuckContainer({ runId }: EffectParams<'run.startContainer'>, context: EffectContext): Promise<void> {
  await context.send('run', runId, { type: 'reportStarted', containerId: `container-${runId}` });
}

async function openHost(container: EffectExecutors['run.startContainer'] = answeringContainer): Promise<void> {
  const backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, catalogue);
  host = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds, effects: { ...actorWiring, 'run.startContainer': container } });
}

/** Every active task's next due time, straight from the actors (the tasks read model's job in the runtime). */
async function activeTasksFromActors(): Promise<ActiveTaskDue[]> {
  const streams = await store.listStreams({ prefix: 'task', limit: 10_000 });
  const due: ActiveTaskDue[] = [];
  for (const { streamId } of streams) {
    const task = (await host.load('task', streamId.slice('task-'.length))).snapshot.context as TaskContext;
    if (task.nextDueAt !== null) due.push({ taskId: task.id, nextDueAt: task.nextDueAt });
  }
  return due;
}

async function startScheduler(options: Partial<SchedulerOptions> = {}): Promise<TaskScheduler> {
  scheduler = new TaskScheduler({
    store,
    actors: host,
    activeTasks: () => activeTasksFromActors(),
    missedAfterMs: 60_000,
    maxConcurrentFires: 8,
    logger: silent,
    onFire: (report) => reports.push(report),
    ...options,
  });
  await scheduler.start();
  return scheduler;
}

async function closeAll(): Promise<void> {
  await scheduler?.stop();
  scheduler = undefined;
  await host.idle();
  await host.stop();
  await store.close();
}

async function taskEvents(taskId: string): Promise<StoredEvent[]> {
  return store.readStream(`task-${taskId}`);
}

async function decisions(taskId: string): Promise<Array<{ type: string; dueAt: string; data: Record<string, unknown> }>> {
  return (await taskEvents(taskId))
    .filter((event) => event.type === 'task.fired' || event.type === 'task.fire_skipped')
    .map((event) => ({ type: event.type, dueAt: (event.data as { dueAt: string }).dueAt, data: event.data as Record<string, unknown> }));
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(25);
  }
}

async function scheduleInterval(taskId: string, everyMs: number, extra: Record<string, unknown> = {}): Promise<void> {
  const result = await host.send('task', taskId, {
    type: 'schedule',
    groupId: 'local.ops',
    prompt: 'check the invoices',
    schedule: { kind: 'interval', everyMs },
    contextMode: 'isolated',
    ...extra,
  });
  expect(result.status).toBe('accepted');
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-scheduler-'));
  reports = [];
  await openHost();
});

afterEach(async () => {
  await closeAll().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('the scheduler', () => {
  it('fires an interval task at each due time, anchored to the previous due time', async () => {
    await scheduleInterval('every-second', 1_000);
    await startScheduler();
    await waitUntil(async () => (await decisions('every-second')).length >= 3);
    const fired = await decisions('every-second');
    expect(fired.slice(0, 3).map((decision) => decision.type)).toEqual(['task.fired', 'task.fired', 'task.fired']);
    const dueTimes = fired.map((decision) => Date.parse(decision.dueAt));
    expect(dueTimes[1]! - dueTimes[0]!).toBe(1_000);
    expect(dueTimes[2]! - dueTimes[1]!).toBe(1_000);
    expect(reports.filter((report) => report.decision === 'fired').length).toBeGreaterThanOrEqual(3);
  });

  it('picks up a task scheduled while it runs', async () => {
    await startScheduler();
    expect(scheduler!.size).toBe(0);
    await scheduleInterval('late-comer', 1_000);
    await waitUntil(async () => (await decisions('late-comer')).length >= 1);
  });

  it('does not fire a due time again after a restart, and goes on with the next', async () => {
    await scheduleInterval('survivor', 1_000);
    await startScheduler();
    await waitUntil(async () => (await decisions('survivor')).length >= 1);
    await closeAll();

    await openHost();
    await startScheduler();
    await waitUntil(async () => (await decisions('survivor')).length >= 3);
    const dueTimes = (await decisions('survivor')).map((decision) => decision.dueAt);
    expect(new Set(dueTimes).size).toBe(dueTimes.length);
    expect(dueTimes).toEqual([...dueTimes].sort());
  });

  it('fires missed due times once, late, when the task catches up by firing once', async () => {
    await scheduleInterval('catch-up', 1_000);
    await sleep(3_600); // the runtime was "down" for three due times
    await startScheduler({ missedAfterMs: 1_000 });
    await waitUntil(async () => (await decisions('catch-up')).length >= 1);
    const [first] = await decisions('catch-up');
    expect(first!.type).toBe('task.fired');
    expect(first!.data.missed).toMatchObject({ count: 3 });
  });

  it('records missed due times as one skip when the task skips them', async () => {
    await scheduleInterval('skipper', 1_000, { catchUp: 'skip' });
    await sleep(3_600);
    await startScheduler({ missedAfterMs: 1_000 });
    await waitUntil(async () => (await decisions('skipper')).length >= 1);
    const [first] = await decisions('skipper');
    expect(first).toMatchObject({ type: 'task.fire_skipped', data: { reason: 'missed', missed: { count: 3 } } });
  });

  it('spends no run when the wake gate sees nothing new, and records the skip', async () => {
    await scheduleInterval('watcher', 1_000, { gate: { kind: 'new_messages', groupId: 'local.ops' } });
    const checked: string[] = [];
    await startScheduler({
      checkGate: async (_gate, task) => {
        checked.push(task.taskId);
        return { wake: false, detail: 'no new message in local.ops' };
      },
    });
    await waitUntil(async () => (await decisions('watcher')).length >= 2);
    const gated = await decisions('watcher');
    expect(gated.slice(0, 2).map((decision) => decision.data.reason)).toEqual(['gate', 'gate']);
    expect(checked.length).toBeGreaterThanOrEqual(2);
    expect(await store.listStreams({ prefix: 'run', limit: 10 })).toEqual([]);
  });

  it('skips a due time while the previous run is still going', async () => {
    await closeAll();
    await openHost(stuckContainer);
    await scheduleInterval('slow', 1_000);
    await startScheduler();
    await waitUntil(async () => (await decisions('slow')).length >= 2);
    const [first, second] = await decisions('slow');
    expect(first!.type).toBe('task.fired');
    expect(second).toMatchObject({ type: 'task.fire_skipped', data: { reason: 'run_in_flight' } });
  });

  it('takes a paused task off the clock and puts it back on resume', async () => {
    await scheduleInterval('pausable', 1_000);
    await startScheduler();
    await host.send('task', 'pausable', { type: 'pause' });
    await waitUntil(async () => scheduler!.size === 0);
    await sleep(1_500);
    expect(await decisions('pausable')).toEqual([]);
    await host.send('task', 'pausable', { type: 'resume' });
    await waitUntil(async () => (await decisions('pausable')).length >= 1);
  });
});
