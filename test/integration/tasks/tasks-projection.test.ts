/**
 * The tasks read model on a real SQLite store and the real projection host: next due times
 * after each kind of task event (worked out by hand here, not with the schedule functions
 * the projection uses), the fires and how their runs ended, a rebuild giving the same rows,
 * and the clock's start-up query over 10,000 tasks going through its index.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { openReadModel } from '../../../projections/read-model-files.js';
import { activeTaskDueTimes, getTask, listTasks, taskFires } from '../../../projections/tasks-queries.js';
import { TASKS_READER_SCHEMA, tasksProjection } from '../../../projections/tasks.js';
import { temporaryDir } from '../projections/fixture.js';

let dir: { path: string; remove: () => Promise<void> };
let store: EventStore;
let host: ProjectionHost;

beforeEach(async () => {
  dir = await temporaryDir('tasks-projection');
  const backend = await openSqliteBackend({ path: join(dir.path, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, catalogue);
  host = new ProjectionHost({ store, projections: [tasksProjection], dataDir: dir.path, batchSize: 50 });
  await host.start();
});

afterEach(async () => {
  await host.stop();
  await store.close();
  await dir.remove();
});

async function record(taskId: string, type: string, data: Record<string, unknown>, occurredAt: string): Promise<void> {
  await store.append(`task-${taskId}`, [{ type, data, metadata: { occurredAt, actor: 'test' } }], { expectedRevision: 'any' });
}

/** Waits for the read model to apply everything stored, then runs `use` on it. */
async function readModel<T>(use: (db: SqliteConnection) => Promise<T>): Promise<T> {
  await host.waitFor(tasksProjection.name, await store.headPosition());
  const db = await openReadModel(dir.path, tasksProjection.name);
  if (!db) throw new Error('the tasks read model was not built');
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

const row = (taskId: string) =>
  readModel((db) => db.get<{ status: string; next_due_at: string | null; last_due_at: string | null; consecutive_failures: number; run_in_flight: string | null }>(
    'SELECT status, next_due_at, last_due_at, consecutive_failures, run_in_flight FROM tasks WHERE task_id = ?',
    [taskId],
  ));

const scheduled = (schedule: Record<string, unknown>, scheduledAt: string, extra: Record<string, unknown> = {}) => ({
  groupId: 'T1.C1',
  prompt: 'Check the queue',
  schedule,
  contextMode: 'group',
  maxConsecutiveFailures: 3,
  scheduledAt,
  catchUp: 'fire_once',
  gate: null,
  deliver: 'group',
  ...extra,
});

describe('next due times', () => {
  it('follows an interval task through fire, failure, gated skip, pause, resume, suspension and cancellation', async () => {
    await record('a', 'task.scheduled', scheduled({ kind: 'interval', everyMs: 3_600_000 }, '2026-01-05T09:00:00.000Z'), '2026-01-05T09:00:00.000Z');
    expect(await row('a')).toEqual({ status: 'active', next_due_at: '2026-01-05T10:00:00.000Z', last_due_at: null, consecutive_failures: 0, run_in_flight: null });

    await record('a', 'task.fired', { dueAt: '2026-01-05T10:00:00Z', runId: 'task-a-1', firedAt: '2026-01-05T10:00:01Z', missed: null, gateDetail: null }, '2026-01-05T10:00:01.000Z');
    expect(await row('a')).toMatchObject({ next_due_at: '2026-01-05T11:00:00.000Z', last_due_at: '2026-01-05T10:00:00.000Z', run_in_flight: 'task-a-1' });

    await record('a', 'task.run_finished', { runId: 'task-a-1', dueAt: '2026-01-05T10:00:00Z', outcome: 'failed', detail: 'exit_code: 1', finishedAt: '2026-01-05T10:04:00Z' }, '2026-01-05T10:04:00.000Z');
    expect(await row('a')).toMatchObject({ consecutive_failures: 1, run_in_flight: null, next_due_at: '2026-01-05T11:00:00.000Z' });

    await record('a', 'task.fire_skipped', { dueAt: '2026-01-05T11:00:00.000Z', reason: 'gate', detail: 'no new messages', missed: null, skippedAt: '2026-01-05T11:00:00.200Z' }, '2026-01-05T11:00:00.200Z');
    expect(await row('a')).toMatchObject({ next_due_at: '2026-01-05T12:00:00.000Z', last_due_at: '2026-01-05T11:00:00.000Z' });

    await record('a', 'task.paused', { reason: 'holidays', pausedAt: '2026-01-05T11:30:00.000Z' }, '2026-01-05T11:30:00.000Z');
    expect(await row('a')).toMatchObject({ status: 'paused', next_due_at: null });

    // Resumed between due times: the next one on the grid anchored at the last due time; paused time is not made up for.
    await record('a', 'task.resumed', { resumedAt: '2026-01-05T13:30:00.000Z' }, '2026-01-05T13:30:00.000Z');
    expect(await row('a')).toMatchObject({ status: 'active', next_due_at: '2026-01-05T14:00:00.000Z', consecutive_failures: 1 });

    await record('a', 'task.fired', { dueAt: '2026-01-05T14:00:00.000Z', runId: 'task-a-2', firedAt: '2026-01-05T14:00:00.000Z', missed: null, gateDetail: null }, '2026-01-05T14:00:00.000Z');
    await record('a', 'task.run_finished', { runId: 'task-a-2', dueAt: '2026-01-05T14:00:00.000Z', outcome: 'failed', detail: null, finishedAt: '2026-01-05T14:01:00.000Z' }, '2026-01-05T14:01:00.000Z');
    await record('a', 'task.suspended', { consecutiveFailures: 2, lastRunId: 'task-a-2', suspendedAt: '2026-01-05T14:01:00.000Z' }, '2026-01-05T14:01:00.000Z');
    expect(await row('a')).toMatchObject({ status: 'suspended', next_due_at: null, consecutive_failures: 2 });

    // Resuming a suspended task clears its failures.
    await record('a', 'task.resumed', { resumedAt: '2026-01-05T16:10:00.000Z' }, '2026-01-05T16:10:00.000Z');
    expect(await row('a')).toMatchObject({ status: 'active', next_due_at: '2026-01-05T17:00:00.000Z', consecutive_failures: 0 });

    await record('a', 'task.cancelled', { reason: null, cancelledAt: '2026-01-05T16:20:00.000Z' }, '2026-01-05T16:20:00.000Z');
    expect(await row('a')).toMatchObject({ status: 'cancelled', next_due_at: null });

    const fires = await readModel((db) => taskFires(db, 'a', { limit: 10 }));
    expect(fires).toEqual([
      { dueAt: '2026-01-05T14:00:00.000Z', decision: 'fired', reason: null, detail: null, runId: 'task-a-2', missedCount: null, decidedAt: '2026-01-05T14:00:00.000Z', outcome: 'failed', runDetail: null, finishedAt: '2026-01-05T14:01:00.000Z' },
      { dueAt: '2026-01-05T11:00:00.000Z', decision: 'skipped', reason: 'gate', detail: 'no new messages', runId: null, missedCount: null, decidedAt: '2026-01-05T11:00:00.200Z', outcome: null, runDetail: null, finishedAt: null },
      { dueAt: '2026-01-05T10:00:00.000Z', decision: 'fired', reason: null, detail: null, runId: 'task-a-1', missedCount: null, decidedAt: '2026-01-05T10:00:01.000Z', outcome: 'failed', runDetail: 'exit_code: 1', finishedAt: '2026-01-05T10:04:00.000Z' },
    ]);
    expect(await readModel((db) => taskFires(db, 'a', { limit: 1 }))).toHaveLength(1);
  });

  it('reads a cron schedule in its zone, skips missed due times to the next one, and completes a once task', async () => {
    // 10:00 in Paris on a Monday; weekdays at 09:00 Paris are 08:00 UTC in January.
    await record('c', 'task.scheduled', scheduled({ kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' }, '2026-01-05T09:00:00.000Z', { catchUp: 'skip' }), '2026-01-05T09:00:00.000Z');
    expect(await row('c')).toMatchObject({ next_due_at: '2026-01-06T08:00:00.000Z' });
    // Down from Tuesday to Friday morning: three due times missed, skipped as one decision for the last (Thursday).
    await record('c', 'task.fire_skipped', { dueAt: '2026-01-08T08:00:00.000Z', reason: 'missed', detail: null, missed: { firstDueAt: '2026-01-06T08:00:00.000Z', count: 3 }, skippedAt: '2026-01-09T07:00:00.000Z' }, '2026-01-09T07:00:00.000Z');
    expect(await row('c')).toMatchObject({ next_due_at: '2026-01-09T08:00:00.000Z', last_due_at: '2026-01-08T08:00:00.000Z' });
    // Friday 09:00 Paris, then Monday.
    await record('c', 'task.fire_skipped', { dueAt: '2026-01-09T08:00:00.000Z', reason: 'run_in_flight', detail: null, missed: null, skippedAt: '2026-01-09T08:00:00.000Z' }, '2026-01-09T08:00:00.000Z');
    expect(await row('c')).toMatchObject({ next_due_at: '2026-01-12T08:00:00.000Z' });
    expect((await readModel((db) => taskFires(db, 'c', { limit: 5 })))[1]).toMatchObject({ decision: 'skipped', reason: 'missed', missedCount: 3 });

    await record('o', 'task.scheduled', scheduled({ kind: 'once', at: '2026-01-05T12:00:00Z' }, '2026-01-05T09:00:00.000Z'), '2026-01-05T09:00:00.000Z');
    expect(await row('o')).toMatchObject({ status: 'active', next_due_at: '2026-01-05T12:00:00.000Z' });
    await record('o', 'task.fired', { dueAt: '2026-01-05T12:00:00.000Z', runId: 'task-o-1', firedAt: '2026-01-05T12:30:00.000Z', missed: { firstDueAt: '2026-01-05T12:00:00.000Z', count: 1 }, gateDetail: 'woke: 2 new messages' }, '2026-01-05T12:30:00.000Z');
    // Fired and never due again, yet active until its run finishes.
    expect(await row('o')).toMatchObject({ status: 'active', next_due_at: null, run_in_flight: 'task-o-1' });
    await record('o', 'task.run_finished', { runId: 'task-o-1', dueAt: '2026-01-05T12:00:00.000Z', outcome: 'succeeded', detail: null, finishedAt: '2026-01-05T12:31:00.000Z' }, '2026-01-05T12:31:00.000Z');
    await record('o', 'task.completed', { lastRunId: 'task-o-1', completedAt: '2026-01-05T12:31:00.000Z' }, '2026-01-05T12:31:00.000Z');
    const once = await readModel((db) => getTask(db, 'o'));
    expect(once).toMatchObject({ status: 'completed', nextDueAt: null, runInFlight: null, consecutiveFailures: 0 });
    expect(once?.lastFire).toMatchObject({ decision: 'fired', detail: 'woke: 2 new messages', missedCount: 1, outcome: 'succeeded' });
  });

  it('lists tasks by group and status, and gives the clock only active tasks that are due again, soonest first', async () => {
    await record('x', 'task.scheduled', scheduled({ kind: 'interval', everyMs: 7_200_000 }, '2026-01-05T09:00:00.000Z'), '2026-01-05T09:00:00.000Z');
    await record('y', 'task.scheduled', scheduled({ kind: 'interval', everyMs: 3_600_000 }, '2026-01-05T09:00:00.000Z', { groupId: 'T1.C2', gate: { kind: 'heartbeat' } }), '2026-01-05T09:00:00.000Z');
    await record('z', 'task.scheduled', scheduled({ kind: 'interval', everyMs: 60_000 }, '2026-01-05T09:00:00.000Z'), '2026-01-05T09:00:00.000Z');
    await record('z', 'task.paused', { reason: null, pausedAt: '2026-01-05T09:00:30.000Z' }, '2026-01-05T09:00:30.000Z');

    expect(await readModel(activeTaskDueTimes)).toEqual([
      { taskId: 'y', groupId: 'T1.C2', nextDueAt: '2026-01-05T10:00:00.000Z', gate: { kind: 'heartbeat' }, lastDueAt: null, scheduledAt: '2026-01-05T09:00:00.000Z' },
      { taskId: 'x', groupId: 'T1.C1', nextDueAt: '2026-01-05T11:00:00.000Z', gate: null, lastDueAt: null, scheduledAt: '2026-01-05T09:00:00.000Z' },
    ]);
    expect((await readModel((db) => listTasks(db))).map((task) => task.taskId)).toEqual(['x', 'z', 'y']);
    expect((await readModel((db) => listTasks(db, { groupId: 'T1.C1' }))).map((task) => task.taskId)).toEqual(['x', 'z']);
    expect((await readModel((db) => listTasks(db, { statuses: ['paused'] }))).map((task) => task.taskId)).toEqual(['z']);
    expect(await readModel((db) => listTasks(db, { groupId: 'T1.C9' }))).toEqual([]);
  });
});

describe('rebuild', () => {
  it('gives identical rows when the read model is built again from the events', async () => {
    await record('a', 'task.scheduled', scheduled({ kind: 'interval', everyMs: 3_600_000 }, '2026-01-05T09:00:00.000Z'), '2026-01-05T09:00:00.000Z');
    await record('a', 'task.fired', { dueAt: '2026-01-05T10:00:00.000Z', runId: 'task-a-1', firedAt: '2026-01-05T10:00:00.000Z', missed: null, gateDetail: null }, '2026-01-05T10:00:00.000Z');
    await record('a', 'task.run_finished', { runId: 'task-a-1', dueAt: '2026-01-05T10:00:00.000Z', outcome: 'succeeded', detail: null, finishedAt: '2026-01-05T10:02:00.000Z' }, '2026-01-05T10:02:00.000Z');
    await record('a', 'task.paused', { reason: null, pausedAt: '2026-01-05T10:30:00.000Z' }, '2026-01-05T10:30:00.000Z');
    await record('a', 'task.resumed', { resumedAt: '2026-01-06T08:15:00.000Z' }, '2026-01-06T08:15:00.000Z');
    await record('b', 'task.scheduled', scheduled({ kind: 'cron', expression: '*/15 * * * *', timezone: 'America/New_York' }, '2026-01-05T09:07:00.000Z', { gate: { kind: 'script', command: 'test -s inbox', timeoutMs: 5_000 } }), '2026-01-05T09:07:00.000Z');
    await record('b', 'task.fire_skipped', { dueAt: '2026-01-05T09:15:00.000Z', reason: 'gate', detail: 'empty inbox', missed: null, skippedAt: '2026-01-05T09:15:01.000Z' }, '2026-01-05T09:15:01.000Z');
    await record('b', 'task.cancelled', { reason: 'replaced', cancelledAt: '2026-01-05T09:20:00.000Z' }, '2026-01-05T09:20:00.000Z');

    const dump = () => readModel(async (db) => ({ tasks: await db.all('SELECT * FROM tasks ORDER BY task_id'), fires: await db.all('SELECT * FROM task_fires ORDER BY task_id, due_at') }));
    const before = await dump();
    expect(before.tasks).toHaveLength(2);
    expect(before.fires).toHaveLength(2);
    await host.rebuild(tasksProjection.name);
    expect(await dump()).toEqual(before);
  });
});

describe("the clock's start-up query", () => {
  it('reads every active due time of 10,000 tasks through the (status, next_due_at) index, quickly', async () => {
    const db = await SqliteConnection.open(join(dir.path, 'big.db'), { create: true });
    try {
      await db.exec(`BEGIN; ${tasksProjection.schema}; ${TASKS_READER_SCHEMA}; COMMIT;`);
      await db.exec(`
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
        INSERT INTO tasks SELECT 't-' || i, 'T1.C' || (i % 50), 'prompt ' || i, '{"kind":"interval","everyMs":60000}', 'group', 'fire_once', 'group', NULL, 3,
          CASE WHEN i % 10 = 0 THEN 'paused' ELSE 'active' END,
          CASE WHEN i % 10 = 0 THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-05T09:00:00', '+' || (i * 7 % 10000) || ' seconds') END,
          NULL, 0, NULL, '2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z'
        FROM n`);
      const plan = await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT task_id FROM tasks WHERE status = 'active' AND next_due_at IS NOT NULL ORDER BY next_due_at`);
      expect(plan.map((step) => step.detail).join('\n')).toMatch(/USING INDEX tasks_by_status_due/);
      expect(plan.map((step) => step.detail).join('\n')).not.toMatch(/TEMP B-TREE/);

      const began = performance.now();
      const due = await activeTaskDueTimes(db);
      const tookMs = performance.now() - began;
      expect(due).toHaveLength(9_000);
      expect(due.every((task, index) => index === 0 || task.nextDueAt >= due[index - 1]!.nextDueAt)).toBe(true);
      // Generous for a shared 2-core machine; a scan-and-sort or a per-task query would still pass it only by luck.
      expect(tookMs).toBeLessThan(1_000);
    } finally {
      await db.close();
    }
  });
});
