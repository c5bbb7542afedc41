/**
 * The tasks read model agrees with the task actors: a scripted history of commands to real
 * task actors (schedule, fire, gated and in-flight skips, missed fires, pause, resume,
 * suspension, completion, cancellation) on a real SQLite store, and after every command
 * each task's row says what the actor's context says: its status, next and last due
 * times, failures in a row and run in flight.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { actorKinds } from '../../../actors/index.js';
import type { TaskContext, taskKind } from '../../../actors/task.js';
import type { CommandOf } from '../../../actors/actor-kind.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { openReadModel } from '../../../projections/read-model-files.js';
import { tasksProjection } from '../../../projections/tasks.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { TestClock, temporaryDir } from '../projections/fixture.js';

let dir: { path: string; remove: () => Promise<void> };
let store: EventStore;
let actors: ActorHost;
let projections: ProjectionHost;
let clock: TestClock;

beforeEach(async () => {
  dir = await temporaryDir('tasks-projection-actor');
  clock = new TestClock('2026-01-05T09:00:00.000Z');
  const backend = await openSqliteBackend({ path: join(dir.path, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, catalogue, { now: clock.now });
  actors = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds, now: clock.now, defaultActor: 'test' });
  projections = new ProjectionHost({ store, projections: [tasksProjection], dataDir: dir.path });
  await projections.start();
});

afterEach(async () => {
  await projections.stop();
  await actors.stop();
  await store.close();
  await dir.remove();
});

const STATUS_OF_STATE: Record<string, string> = {
  'scheduled.active': 'active',
  'scheduled.paused': 'paused',
  'scheduled.suspended': 'suspended',
  completed: 'completed',
  cancelled: 'cancelled',
};

/** At `at`, sends the command, which the actor must accept. */
async function send(taskId: string, at: string, command: CommandOf<typeof taskKind>, expectedEvents: readonly string[]): Promise<void> {
  clock.advance(Date.parse(at) - clock.now().getTime());
  const result = await actors.send('task', taskId, command);
  if (result.status !== 'accepted') throw new Error(`task ${taskId} rejected ${command.type} at ${at}: ${result.reason}`);
  expect(result.events.map((event) => event.type)).toEqual(expectedEvents);
}

/** The actor's next due time, for a fire command. */
async function nextDue(taskId: string): Promise<string> {
  const { nextDueAt } = (await actors.load('task', taskId)).snapshot.context as TaskContext;
  if (nextDueAt === null) throw new Error(`task ${taskId} has no next due time`);
  return nextDueAt;
}

const iso = (time: string | null) => (time === null ? null : new Date(time).toISOString());

/** Every task's row beside what its actor says. */
async function expectRowsMatchActors(taskIds: readonly string[]): Promise<void> {
  await projections.waitFor(tasksProjection.name, await store.headPosition());
  const db = await openReadModel(dir.path, tasksProjection.name);
  if (!db) throw new Error('the tasks read model was not built');
  try {
    for (const taskId of taskIds) {
      const view = await actors.load('task', taskId);
      const context = view.snapshot.context as TaskContext;
      const row = await db.get<Record<string, unknown>>('SELECT status, next_due_at, last_due_at, consecutive_failures, run_in_flight FROM tasks WHERE task_id = ?', [taskId]);
      expect({ taskId, ...row }).toEqual({
        taskId,
        status: STATUS_OF_STATE[view.state],
        next_due_at: iso(context.nextDueAt),
        last_due_at: iso(context.lastDueAt),
        consecutive_failures: context.consecutiveFailures,
        run_in_flight: context.runInFlight?.runId ?? null,
      });
    }
  } finally {
    await db.close();
  }
}

const base = { groupId: 'T1.C1', prompt: 'Check the queue', contextMode: 'group' } as const;

it("keeps every task's next due time, last due time, failures and run in flight as its actor has them, through a scripted history", async () => {
  const tasks = ['every', 'daily', 'once', 'skipper'];
  await send('every', '2026-01-05T09:00:00.000Z', { type: 'schedule', ...base, schedule: { kind: 'interval', everyMs: 3_600_000 }, maxConsecutiveFailures: 2, gate: { kind: 'heartbeat' } }, ['task.scheduled']);
  await send('daily', '2026-01-05T09:00:00.000Z', { type: 'schedule', ...base, schedule: { kind: 'cron', expression: '30 8 * * *', timezone: 'Europe/Paris' } }, ['task.scheduled']);
  await send('once', '2026-01-05T09:00:00.000Z', { type: 'schedule', ...base, schedule: { kind: 'once', at: '2026-01-05T12:00:00Z' } }, ['task.scheduled']);
  await send('skipper', '2026-01-05T09:00:00.000Z', { type: 'schedule', ...base, schedule: { kind: 'cron', expression: '0 * * * *', timezone: 'UTC' }, catchUp: 'skip' }, ['task.scheduled']);
  await expectRowsMatchActors(tasks);

  // every: fired; the next due time comes while its run is still going, so it is skipped.
  await send('every', '2026-01-05T10:00:00.000Z', { type: 'fire', dueAt: await nextDue('every'), gate: { wake: true, detail: 'two items' } }, ['task.fired']);
  await send('every', '2026-01-05T11:00:00.000Z', { type: 'fire', dueAt: await nextDue('every'), gate: { wake: true } }, ['task.fire_skipped']);
  await expectRowsMatchActors(tasks);
  await send('every', '2026-01-05T11:10:00.000Z', { type: 'finishRun', runId: 'task-every-20260105T100000000Z', outcome: 'failed', detail: 'exit_code: 1' }, ['task.run_finished']);
  // The gate sees nothing: skipped, no run.
  await send('every', '2026-01-05T12:00:00.000Z', { type: 'fire', dueAt: await nextDue('every'), gate: { wake: false, detail: 'nothing actionable' } }, ['task.fire_skipped']);
  await expectRowsMatchActors(tasks);

  // Paused and resumed mid-interval: the next due time is the next on the grid.
  await send('every', '2026-01-05T12:20:00.000Z', { type: 'pause', reason: 'lunch' }, ['task.paused']);
  await expectRowsMatchActors(tasks);
  await send('every', '2026-01-05T14:45:00.000Z', { type: 'resume' }, ['task.resumed']);
  await expectRowsMatchActors(tasks);

  // A second failure in a row suspends it; resuming clears the count.
  await send('every', '2026-01-05T15:00:00.000Z', { type: 'fire', dueAt: await nextDue('every'), gate: { wake: true } }, ['task.fired']);
  await send('every', '2026-01-05T15:03:00.000Z', { type: 'finishRun', runId: 'task-every-20260105T150000000Z', outcome: 'failed' }, ['task.run_finished', 'task.suspended']);
  await expectRowsMatchActors(tasks);
  await send('every', '2026-01-05T17:30:00.000Z', { type: 'resume' }, ['task.resumed']);
  await expectRowsMatchActors(tasks);

  // daily: the runtime was down for two days; fired once, late, for the last missed due time.
  const firstDaily = await nextDue('daily');
  await send('daily', '2026-01-08T10:00:00.000Z', { type: 'fire', dueAt: firstDaily, missed: true }, ['task.fired']);
  await expectRowsMatchActors(tasks);
  await send('daily', '2026-01-08T10:05:00.000Z', { type: 'finishRun', runId: 'task-daily-20260108T073000000Z', outcome: 'succeeded' }, ['task.run_finished']);

  // skipper: missed due times are skipped, as one decision, and the next is after now.
  await send('skipper', '2026-01-05T13:20:00.000Z', { type: 'fire', dueAt: await nextDue('skipper'), missed: true }, ['task.fire_skipped']);
  await expectRowsMatchActors(tasks);

  // once: fired, finished, completed.
  await send('once', '2026-01-05T12:00:00.000Z', { type: 'fire', dueAt: await nextDue('once') }, ['task.fired']);
  await expectRowsMatchActors(tasks);
  await send('once', '2026-01-05T12:02:00.000Z', { type: 'finishRun', runId: 'task-once-20260105T120000000Z', outcome: 'succeeded' }, ['task.run_finished', 'task.completed']);

  await send('daily', '2026-01-08T11:00:00.000Z', { type: 'cancel', reason: 'not needed' }, ['task.cancelled']);
  await expectRowsMatchActors(tasks);

  // The history reached every status the read model knows.
  const db = await openReadModel(dir.path, tasksProjection.name);
  const statuses = await db!.all<{ status: string }>('SELECT DISTINCT status FROM tasks ORDER BY status');
  await db!.close();
  expect(statuses.map((row) => row.status)).toEqual(['active', 'cancelled', 'completed']);
});

it('completes a once task whose only due time was skipped, as the actor does', async () => {
  await send('gated', '2026-01-05T09:00:00.000Z', { type: 'schedule', ...base, schedule: { kind: 'once', at: '2026-01-05T10:00:00.000Z' }, gate: { kind: 'heartbeat' } }, ['task.scheduled']);
  await send('gated', '2026-01-05T10:00:00.000Z', { type: 'fire', dueAt: await nextDue('gated'), gate: { wake: false, detail: 'HEARTBEAT.md is empty' } }, ['task.fire_skipped', 'task.completed']);
  await expectRowsMatchActors(['gated']);
});
