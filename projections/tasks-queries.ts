/**
 * Reading the tasks read model (projections/tasks.ts): the clock's start-up load of every
 * active task's next due time, the task list (the CLI, list_tasks), and a task's due
 * times with what became of each. Rows are checked with zod on the way out: a read model
 * file is a boundary like any other.
 */
import { z } from 'zod';
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import {
  taskCatchUpSchema,
  taskContextModeSchema,
  taskDeliverSchema,
  taskGateSchema,
  taskRunOutcomeSchema,
  taskScheduleSchema,
  taskSkipReasonSchema,
  type TaskCatchUp,
  type TaskContextMode,
  type TaskDeliver,
  type TaskGate,
  type TaskRunOutcome,
  type TaskSchedule,
  type TaskSkipReason,
} from '../events/catalogue/task.js';
import { TASK_STATUSES, type TaskStatus } from './tasks.js';

/** A JSON column, checked against the catalogue's schema of what was stored. */
const jsonText = <T extends z.ZodType>(schema: T) => z.string().transform((text): unknown => JSON.parse(text)).pipe(schema);

/** What the clock needs of an active task to know when it is next due. */
export interface TaskDueTime {
  readonly taskId: string;
  readonly groupId: string;
  readonly nextDueAt: string;
  readonly gate: TaskGate | null;
  readonly lastDueAt: string | null;
  readonly scheduledAt: string;
}

const dueTimeRow = z.object({
  task_id: z.string(),
  group_id: z.string(),
  next_due_at: z.string(),
  gate: jsonText(taskGateSchema).nullable(),
  last_due_at: z.string().nullable(),
  scheduled_at: z.string(),
});

/**
 * The tasks waiting for a run they fired to report back: the only ones whose actors may
 * owe a run request after a restart (actors/task.ts, pendingEffects).
 */
export async function tasksWithRunInFlight(db: SqliteConnection): Promise<string[]> {
  const rows = await db.all<{ task_id: string }>('SELECT task_id FROM tasks WHERE run_in_flight IS NOT NULL ORDER BY task_id');
  return rows.map((row) => row.task_id);
}

/**
 * Every active task that is due again, soonest first: one query over the (status,
 * next_due_at) index, for the clock to fill its timer heap at start.
 */
export async function activeTaskDueTimes(db: SqliteConnection): Promise<TaskDueTime[]> {
  const rows = await db.all<unknown>(
    `SELECT task_id, group_id, next_due_at, gate, last_due_at, scheduled_at FROM tasks
     WHERE status = 'active' AND next_due_at IS NOT NULL ORDER BY next_due_at`,
  );
  return rows.map((raw) => {
    const row = dueTimeRow.parse(raw);
    return { taskId: row.task_id, groupId: row.group_id, nextDueAt: row.next_due_at, gate: row.gate, lastDueAt: row.last_due_at, scheduledAt: row.scheduled_at };
  });
}

/** One due time of a task and what became of it. */
export interface TaskFire {
  readonly dueAt: string;
  readonly decision: 'fired' | 'skipped';
  /** Why it was skipped; null when it fired. */
  readonly reason: TaskSkipReason | null;
  /** What the wake gate said, if one ran. */
  readonly detail: string | null;
  readonly runId: string | null;
  /** How many due times missed while the runtime was down this decision stands for. */
  readonly missedCount: number | null;
  readonly decidedAt: string;
  /** How the fired run ended; null while it runs (or for a skip). */
  readonly outcome: TaskRunOutcome | null;
  readonly runDetail: string | null;
  readonly finishedAt: string | null;
}

const FIRE_COLUMNS = ['due_at', 'decision', 'reason', 'detail', 'run_id', 'missed_count', 'decided_at', 'outcome', 'run_detail', 'finished_at'];
/** A task's last fire comes in the task's row, its columns prefixed `fire_`. */
const LAST_FIRE_PREFIX = 'fire_';
const lastFireColumns = FIRE_COLUMNS.map((column) => `f.${column} AS ${LAST_FIRE_PREFIX}${column}`).join(', ');

const fireRow = z.object({
  due_at: z.string(),
  decision: z.enum(['fired', 'skipped']),
  reason: taskSkipReasonSchema.nullable(),
  detail: z.string().nullable(),
  run_id: z.string().nullable(),
  missed_count: z.number().int().nullable(),
  decided_at: z.string(),
  outcome: taskRunOutcomeSchema.nullable(),
  run_detail: z.string().nullable(),
  finished_at: z.string().nullable(),
});

function fireOf(row: z.output<typeof fireRow>): TaskFire {
  return {
    dueAt: row.due_at,
    decision: row.decision,
    reason: row.reason,
    detail: row.detail,
    runId: row.run_id,
    missedCount: row.missed_count,
    decidedAt: row.decided_at,
    outcome: row.outcome,
    runDetail: row.run_detail,
    finishedAt: row.finished_at,
  };
}

/** A task as the read model holds it, with its last decided due time. */
export interface TaskSummary {
  readonly taskId: string;
  readonly groupId: string;
  readonly prompt: string;
  readonly schedule: TaskSchedule;
  readonly contextMode: TaskContextMode;
  readonly catchUp: TaskCatchUp;
  /** Where a run's answer goes: posted in the group, or kept on the run. */
  readonly deliver: TaskDeliver;
  readonly gate: TaskGate | null;
  readonly maxFailures: number;
  readonly status: TaskStatus;
  readonly nextDueAt: string | null;
  readonly lastDueAt: string | null;
  readonly consecutiveFailures: number;
  readonly runInFlight: string | null;
  readonly scheduledAt: string;
  readonly updatedAt: string;
  /** The latest due time decided, fired or skipped; null before the first. */
  readonly lastFire: TaskFire | null;
}

const taskRow = z.object({
  task_id: z.string(),
  group_id: z.string(),
  prompt: z.string(),
  schedule: jsonText(taskScheduleSchema),
  context_mode: taskContextModeSchema,
  catch_up: taskCatchUpSchema,
  deliver: taskDeliverSchema,
  gate: jsonText(taskGateSchema).nullable(),
  max_failures: z.number().int(),
  status: z.enum(TASK_STATUSES),
  next_due_at: z.string().nullable(),
  last_due_at: z.string().nullable(),
  consecutive_failures: z.number().int(),
  run_in_flight: z.string().nullable(),
  scheduled_at: z.string(),
  updated_at: z.string(),
  fire_due_at: z.string().nullable(),
});

function lastFireOf(raw: Record<string, unknown>): TaskFire {
  return fireOf(fireRow.parse(Object.fromEntries(FIRE_COLUMNS.map((column) => [column, raw[`${LAST_FIRE_PREFIX}${column}`]]))));
}

function summaryOf(raw: Record<string, unknown>): TaskSummary {
  const row = taskRow.parse(raw);
  return {
    taskId: row.task_id,
    groupId: row.group_id,
    prompt: row.prompt,
    schedule: row.schedule,
    contextMode: row.context_mode,
    catchUp: row.catch_up,
    deliver: row.deliver,
    gate: row.gate,
    maxFailures: row.max_failures,
    status: row.status,
    nextDueAt: row.next_due_at,
    lastDueAt: row.last_due_at,
    consecutiveFailures: row.consecutive_failures,
    runInFlight: row.run_in_flight,
    scheduledAt: row.scheduled_at,
    updatedAt: row.updated_at,
    lastFire: row.fire_due_at === null ? null : lastFireOf(raw),
  };
}

export interface ListTasksOptions {
  /** Only this group's tasks. */
  readonly groupId?: string;
  /** Only tasks in these statuses; every status when left out. */
  readonly statuses?: readonly TaskStatus[];
}

/** Tasks by group, then id, each with its last decided due time. */
export async function listTasks(db: SqliteConnection, options: ListTasksOptions = {}): Promise<TaskSummary[]> {
  const where: string[] = [];
  const params: string[] = [];
  if (options.groupId !== undefined) {
    where.push('t.group_id = ?');
    params.push(options.groupId);
  }
  if (options.statuses !== undefined) {
    where.push(`t.status IN (${options.statuses.map(() => '?').join(', ') || 'NULL'})`);
    params.push(...options.statuses);
  }
  // The last fire by the primary key (task_id, due_at): one index step per task.
  const rows = await db.all<Record<string, unknown>>(
    `SELECT t.*, ${lastFireColumns} FROM tasks t
     LEFT JOIN task_fires f ON f.task_id = t.task_id
       AND f.due_at = (SELECT MAX(due_at) FROM task_fires WHERE task_id = t.task_id)
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY t.group_id, t.task_id`,
    params,
  );
  return rows.map(summaryOf);
}

/** One task, or undefined when the read model has none of that id. */
export async function getTask(db: SqliteConnection, taskId: string): Promise<TaskSummary | undefined> {
  const raw = await db.get<Record<string, unknown>>(
    `SELECT t.*, ${lastFireColumns} FROM tasks t
     LEFT JOIN task_fires f ON f.task_id = t.task_id
       AND f.due_at = (SELECT MAX(due_at) FROM task_fires WHERE task_id = t.task_id)
     WHERE t.task_id = ?`,
    [taskId],
  );
  return raw === undefined ? undefined : summaryOf(raw);
}

/** A task's decided due times, newest first, at most `limit`. */
export async function taskFires(db: SqliteConnection, taskId: string, options: { readonly limit: number }): Promise<TaskFire[]> {
  const rows = await db.all<unknown>(`SELECT ${FIRE_COLUMNS.join(', ')} FROM task_fires WHERE task_id = ? ORDER BY due_at DESC LIMIT ?`, [taskId, options.limit]);
  return rows.map((raw) => fireOf(fireRow.parse(raw)));
}
