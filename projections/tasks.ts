/**
 * Tasks: every scheduled task with its definition, its status and its next due time, and
 * one row per due time decided (fired or skipped, and how the fired run ended). The
 * scheduler's clock loads every active task's next due time from it in one query at start
 * (tasks-queries.ts), the `tasks` CLI lists tasks and their runs, and list_tasks answers
 * agents from it.
 *
 * Due times are computed with the task actor's own pure functions (actors/task-schedule.ts)
 * from the events' times, never the clock, so the read model agrees with the actors and a
 * rebuild gives the same rows. Times are stored as `toISOString()` text, so text order is
 * time order.
 */
import { dueAfter, firstDueAt, resumedDueAt } from '../actors/task-schedule.js';
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import {
  taskCancelled,
  taskCompleted,
  taskDeliverChanged,
  taskFired,
  taskFireSkipped,
  taskPaused,
  taskResumed,
  taskRunFinished,
  taskScheduled,
  taskSuspended,
  type TaskSchedule,
} from '../events/catalogue/task.js';
import type { StoredEvent } from '../events/envelope.js';
import { defineProjection } from './projection.js';

export const TASKS_PROJECTION = 'tasks';

export const TASK_STATUSES = ['active', 'paused', 'suspended', 'completed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TASKS_SCHEMA = `
CREATE TABLE tasks (
  task_id TEXT PRIMARY KEY,
  group_id TEXT NOT NULL,
  prompt TEXT NOT NULL,
  schedule TEXT NOT NULL,          -- JSON: the catalogue's TaskSchedule
  context_mode TEXT NOT NULL,
  catch_up TEXT NOT NULL,
  deliver TEXT NOT NULL,           -- where a run's answer goes: group or silent
  gate TEXT,                       -- JSON: the catalogue's TaskGate, or NULL for none
  max_failures INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'suspended', 'completed', 'cancelled')),
  next_due_at TEXT,                -- NULL unless active (and NULL when an active task is never due again)
  last_due_at TEXT,                -- the last due time decided, fired or skipped
  consecutive_failures INTEGER NOT NULL,
  run_in_flight TEXT,              -- the run id of the last firing, until it finishes
  scheduled_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE task_fires (
  task_id TEXT NOT NULL,
  due_at TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('fired', 'skipped')),
  reason TEXT,                     -- why it was skipped: gate, missed, run_in_flight
  detail TEXT,                     -- what the wake gate said
  run_id TEXT,
  missed_count INTEGER,            -- due times this decision stands for, when the runtime was down
  decided_at TEXT NOT NULL,
  outcome TEXT,                    -- from task.run_finished: succeeded or failed
  run_detail TEXT,
  finished_at TEXT,
  PRIMARY KEY (task_id, due_at)
)
`;

/**
 * Indexes only readers use: the clock's one query at start (every active task's next due
 * time), a group's tasks, and a run's fire (the usage join of `tasks runs`).
 */
export const TASKS_READER_SCHEMA = `
CREATE INDEX tasks_by_status_due ON tasks (status, next_due_at);
CREATE INDEX tasks_by_group ON tasks (group_id, task_id);
CREATE INDEX task_fires_by_run ON task_fires (run_id) WHERE run_id IS NOT NULL
`;

/** Task streams are `task-<id>`. */
function taskIdOf(event: StoredEvent): string {
  return event.streamId.slice('task-'.length);
}

/** One text form for every stored time (`2026-01-05T09:00:00.000Z`), so text order is time order. */
function isoTime(time: string): string {
  return new Date(time).toISOString();
}

interface TaskState {
  readonly schedule: TaskSchedule;
  readonly status: TaskStatus;
  readonly scheduledAt: string;
  readonly lastDueAt: string | null;
}

async function taskState(db: SqliteConnection, taskId: string): Promise<TaskState | undefined> {
  const row = await db.get<{ schedule: string; status: TaskStatus; scheduled_at: string; last_due_at: string | null }>(
    'SELECT schedule, status, scheduled_at, last_due_at FROM tasks WHERE task_id = ?',
    [taskId],
  );
  if (!row) return undefined;
  return { schedule: JSON.parse(row.schedule) as TaskSchedule, status: row.status, scheduledAt: row.scheduled_at, lastDueAt: row.last_due_at };
}

/** A due time was decided (fired or skipped): the next one follows it on the schedule. */
async function applyDecided(db: SqliteConnection, event: StoredEvent, dueAt: string, runId: string | null): Promise<void> {
  const taskId = taskIdOf(event);
  const task = await taskState(db, taskId);
  if (!task) return; // the actor never decides for an unscheduled task
  const next = task.status === 'active' ? dueAfter(task.schedule, dueAt) : null;
  await db.run(
    `UPDATE tasks SET last_due_at = ?, next_due_at = ?, run_in_flight = COALESCE(?, run_in_flight), updated_at = ? WHERE task_id = ?`,
    [isoTime(dueAt), next === null ? null : isoTime(next), runId, event.metadata.occurredAt, taskId],
  );
}

/** Leaves `active` (paused, suspended, completed, cancelled): nothing is due until it comes back. */
async function applyStatus(db: SqliteConnection, event: StoredEvent, status: TaskStatus, extra: { consecutiveFailures?: number } = {}): Promise<void> {
  await db.run(
    `UPDATE tasks SET status = ?, next_due_at = NULL, consecutive_failures = COALESCE(?, consecutive_failures), updated_at = ? WHERE task_id = ?`,
    [status, extra.consecutiveFailures ?? null, event.metadata.occurredAt, taskIdOf(event)],
  );
}

export const tasksProjection = defineProjection({
  name: TASKS_PROJECTION,
  // v2: the `deliver` column (task.scheduled v3, task.deliver_changed).
  version: 2,
  eventTypes: [
    taskScheduled.type,
    taskPaused.type,
    taskResumed.type,
    taskFired.type,
    taskFireSkipped.type,
    taskRunFinished.type,
    taskCompleted.type,
    taskCancelled.type,
    taskSuspended.type,
    taskDeliverChanged.type,
  ],
  schema: TASKS_SCHEMA,
  deferredSchema: TASKS_READER_SCHEMA,
  async apply(db, event) {
    const taskId = taskIdOf(event);
    if (taskScheduled.is(event)) {
      const data = event.data;
      const first = firstDueAt(data.schedule, data.scheduledAt);
      await db.run(
        `INSERT INTO tasks (task_id, group_id, prompt, schedule, context_mode, catch_up, deliver, gate, max_failures, status, next_due_at,
           last_due_at, consecutive_failures, run_in_flight, scheduled_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, NULL, 0, NULL, ?, ?)
         ON CONFLICT (task_id) DO NOTHING`,
        [
          taskId,
          data.groupId,
          data.prompt,
          JSON.stringify(data.schedule),
          data.contextMode,
          data.catchUp,
          data.deliver,
          data.gate === null ? null : JSON.stringify(data.gate),
          data.maxConsecutiveFailures,
          first === null ? null : isoTime(first),
          isoTime(data.scheduledAt),
          event.metadata.occurredAt,
        ],
      );
      return;
    }
    if (taskFired.is(event)) {
      const data = event.data;
      await db.run(
        `INSERT INTO task_fires (task_id, due_at, decision, reason, detail, run_id, missed_count, decided_at)
         VALUES (?, ?, 'fired', NULL, ?, ?, ?, ?) ON CONFLICT (task_id, due_at) DO NOTHING`,
        [taskId, isoTime(data.dueAt), data.gateDetail, data.runId, data.missed?.count ?? null, isoTime(data.firedAt)],
      );
      await applyDecided(db, event, data.dueAt, data.runId);
      return;
    }
    if (taskFireSkipped.is(event)) {
      const data = event.data;
      await db.run(
        `INSERT INTO task_fires (task_id, due_at, decision, reason, detail, run_id, missed_count, decided_at)
         VALUES (?, ?, 'skipped', ?, ?, NULL, ?, ?) ON CONFLICT (task_id, due_at) DO NOTHING`,
        [taskId, isoTime(data.dueAt), data.reason, data.detail, data.missed?.count ?? null, isoTime(data.skippedAt)],
      );
      await applyDecided(db, event, data.dueAt, null);
      return;
    }
    if (taskRunFinished.is(event)) {
      const data = event.data;
      // By the fire's key and its run id: a run that is not the fire's changes nothing.
      await db.run(`UPDATE task_fires SET outcome = ?, run_detail = ?, finished_at = ? WHERE task_id = ? AND due_at = ? AND run_id = ?`, [
        data.outcome,
        data.detail,
        isoTime(data.finishedAt),
        taskId,
        isoTime(data.dueAt),
        data.runId,
      ]);
      // As the actor counts: a failure adds one, a success clears the count.
      await db.run(
        `UPDATE tasks SET run_in_flight = NULL, consecutive_failures = CASE WHEN ? = 'failed' THEN consecutive_failures + 1 ELSE 0 END, updated_at = ?
         WHERE task_id = ?`,
        [data.outcome, event.metadata.occurredAt, taskId],
      );
      return;
    }
    if (taskResumed.is(event)) {
      const task = await taskState(db, taskId);
      if (!task) return;
      const next = resumedDueAt(task.schedule, { scheduledAt: task.scheduledAt, lastDueAt: task.lastDueAt }, event.data.resumedAt);
      // Resuming a suspended task clears its count of failures; resuming a paused one keeps it.
      await db.run(
        `UPDATE tasks SET status = 'active', next_due_at = ?, consecutive_failures = CASE WHEN status = 'suspended' THEN 0 ELSE consecutive_failures END,
           updated_at = ? WHERE task_id = ?`,
        [next === null ? null : isoTime(next), event.metadata.occurredAt, taskId],
      );
      return;
    }
    if (taskDeliverChanged.is(event)) {
      await db.run(`UPDATE tasks SET deliver = ?, updated_at = ? WHERE task_id = ?`, [event.data.deliver, event.metadata.occurredAt, taskId]);
      return;
    }
    if (taskPaused.is(event)) return applyStatus(db, event, 'paused');
    if (taskSuspended.is(event)) return applyStatus(db, event, 'suspended', { consecutiveFailures: event.data.consecutiveFailures });
    if (taskCompleted.is(event)) return applyStatus(db, event, 'completed');
    if (taskCancelled.is(event)) return applyStatus(db, event, 'cancelled');
  },
});
