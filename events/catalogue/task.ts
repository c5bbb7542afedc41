/**
 * A scheduled job, on stream `task-<id>`: scheduled for a group with a prompt and a
 * schedule, paused and resumed, fired once per due time (each firing asks for one run),
 * told how each run finished, suspended after too many consecutive failures, completed
 * (a `once` task, after its run) or cancelled.
 *
 * Every due time of an active task ends in exactly one decision event: `task.fired` (a run
 * is asked for) or `task.fire_skipped` (the wake gate saw nothing new, the fire was missed
 * while the runtime was down and the task skips missed fires, or its last run is still
 * going). Schedules are checked for their shape here; what a cron expression or a time
 * zone means is checked by the task actor (actors/task-schedule.ts).
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';

/** A group id (`T1.C1`): printable ASCII, no spaces. */
export const taskGroupIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII with no spaces');

/** A run id: a task's runs are named `task-<task id>-<due time>` (see actors/task.ts). */
export const taskRunIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII with no spaces');

const timestamp = z.iso.datetime();

/** Five or six whitespace-separated fields (`0 9 * * 1-5`); their meaning is checked later. */
const cronExpression = z
  .string()
  .max(200)
  .regex(/^\S+(\s+\S+){4,5}$/, 'expected a cron expression of five or six fields');

/** An IANA zone name such as `Europe/Paris`, `America/Argentina/Buenos_Aires` or `UTC`. */
const timezone = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/, 'expected an IANA time zone name such as Europe/Paris');

export const taskScheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cron'), expression: cronExpression, timezone }).strict(),
  z.object({ kind: z.literal('interval'), everyMs: z.number().int().positive() }).strict(),
  z.object({ kind: z.literal('once'), at: timestamp }).strict(),
]);
export type TaskSchedule = z.infer<typeof taskScheduleSchema>;

/** `group`: the run sees the group's conversation and memory; `isolated`: a fresh session. */
export const taskContextModeSchema = z.enum(['group', 'isolated']);
export type TaskContextMode = z.infer<typeof taskContextModeSchema>;

export const taskPromptSchema = z.string().min(1).max(20_000);

/** How many failed runs in a row suspend a task unless told otherwise. */
export const DEFAULT_MAX_CONSECUTIVE_FAILURES = 3;
export const maxConsecutiveFailuresSchema = z.number().int().min(1).max(100);

export const taskRunOutcomeSchema = z.enum(['succeeded', 'failed']);
export type TaskRunOutcome = z.infer<typeof taskRunOutcomeSchema>;

/** Why someone paused or cancelled a task, or what went wrong in a run. */
export const taskNoteSchema = z.string().min(1).max(2_000);
const reasonSchema = taskNoteSchema.nullable();

/**
 * Due times missed while the runtime was down: `fire_once` fires once, late, for the last
 * of them; `skip` records them skipped and waits for the next. Either way, one event.
 */
export const taskCatchUpSchema = z.enum(['fire_once', 'skip']);
export type TaskCatchUp = z.infer<typeof taskCatchUpSchema>;
export const DEFAULT_TASK_CATCH_UP: TaskCatchUp = 'fire_once';

/** A wake gate's shell command (run in the sandbox) is at most this long. */
export const GATE_COMMAND_MAX_CHARS = 4_000;

/**
 * A check run before the agent is woken; when it says nothing changed, no run starts and
 * no model token is spent (the fire is still recorded, as skipped).
 * - `script`: a shell command run in the group's sandbox (workspace read-only, no
 *   network); it prints a JSON verdict `{"wake": boolean, "reason"?: string}`.
 * - `new_messages`: a query over the group-activity projection: wake only if group
 *   `groupId` received a message since the task last fired (or was scheduled).
 * - `heartbeat`: wake only if the group's HEARTBEAT.md holds actionable items.
 */
export const taskGateSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('script'),
      command: z.string().min(1).max(GATE_COMMAND_MAX_CHARS),
      timeoutMs: z.number().int().min(100).max(300_000),
    })
    .strict(),
  z.object({ kind: z.literal('new_messages'), groupId: taskGroupIdSchema }).strict(),
  z.object({ kind: z.literal('heartbeat') }).strict(),
]);
export type TaskGate = z.infer<typeof taskGateSchema>;

const scheduledV1 = z
  .object({
    groupId: taskGroupIdSchema,
    prompt: taskPromptSchema,
    schedule: taskScheduleSchema,
    contextMode: taskContextModeSchema,
    maxConsecutiveFailures: maxConsecutiveFailuresSchema,
    scheduledAt: timestamp,
  })
  .strict();

/**
 * Where a run's final answer goes: `group` posts it in the task's group (top level of its
 * channel), once; `silent` keeps it on the run only (the task posts with send_message, or
 * nobody needs to see it). An empty answer or a failed run is never posted.
 */
export const taskDeliverSchema = z.enum(['group', 'silent']);
export type TaskDeliver = z.infer<typeof taskDeliverSchema>;
export const DEFAULT_TASK_DELIVER: TaskDeliver = 'group';

const scheduledV2 = scheduledV1.extend({ catchUp: taskCatchUpSchema, gate: taskGateSchema.nullable() }).strict();

/**
 * v2 adds `catchUp` and `gate`; v3 adds `deliver`. Every task scheduled before v3 reads as
 * `group`: the answer it used to drop is now posted, which is what a task is for.
 */
export const taskScheduled = defineEvent('task.scheduled', 1, scheduledV1)
  .evolve(2, scheduledV2, (v1) => ({ ...v1, catchUp: DEFAULT_TASK_CATCH_UP, gate: null }))
  .evolve(3, scheduledV2.extend({ deliver: taskDeliverSchema }).strict(), (v2) => ({ ...v2, deliver: DEFAULT_TASK_DELIVER }));

/** Due times the runtime was down for, collapsed into one decision: the first and how many. */
export const taskMissedSchema = z.object({ firstDueAt: timestamp, count: z.number().int().min(1) }).strict();
export type TaskMissed = z.infer<typeof taskMissedSchema>;

/** What the wake gate said, in a line (a script's `reason`, or what the query found). */
export const gateDetailSchema = z.string().min(1).max(2_000);

export const taskPaused = defineEvent('task.paused', 1, z.object({ reason: reasonSchema, pausedAt: timestamp }).strict());

/** From `paused`, or from `suspended` (which also clears the count of consecutive failures). */
export const taskResumed = defineEvent('task.resumed', 1, z.object({ resumedAt: timestamp }).strict());

/** The task fired for `dueAt` and asked for run `runId` (derived from the task id and `dueAt`). */
const firedV1 = z.object({ dueAt: timestamp, runId: taskRunIdSchema, firedAt: timestamp }).strict();

/**
 * v2: `missed` when this fire stands for due times the runtime was down for (catch-up
 * `fire_once`; `dueAt` is the last of them); `gateDetail` when a wake gate said to wake.
 */
export const taskFired = defineEvent('task.fired', 1, firedV1).evolve(
  2,
  firedV1.extend({ missed: taskMissedSchema.nullable(), gateDetail: gateDetailSchema.nullable() }).strict(),
  (v1) => ({ ...v1, missed: null, gateDetail: null }),
);

export const taskSkipReasonSchema = z.enum(['gate', 'missed', 'run_in_flight']);
export type TaskSkipReason = z.infer<typeof taskSkipReasonSchema>;

/**
 * The task was due at `dueAt` and did not fire: its wake gate saw nothing new (`gate`),
 * the due times were missed while the runtime was down and the task skips those
 * (`missed`, with how many), or its previous run had not finished (`run_in_flight`).
 */
export const taskFireSkipped = defineEvent(
  'task.fire_skipped',
  1,
  z
    .object({
      dueAt: timestamp,
      reason: taskSkipReasonSchema,
      detail: gateDetailSchema.nullable(),
      missed: taskMissedSchema.nullable(),
      skippedAt: timestamp,
    })
    .strict(),
);

export const taskRunFinished = defineEvent(
  'task.run_finished',
  1,
  z
    .object({
      runId: taskRunIdSchema,
      dueAt: timestamp,
      outcome: taskRunOutcomeSchema,
      /** What went wrong (or a short note); null when there is nothing to say. */
      detail: reasonSchema,
      finishedAt: timestamp,
    })
    .strict(),
);

/** A `once` task, after its only run finished (whatever the outcome). Final. */
const completedV1 = z.object({ lastRunId: taskRunIdSchema, completedAt: timestamp }).strict();

/**
 * v2: `lastRunId` is null when the once task's only due time was skipped (its wake gate saw
 * nothing new, or it was missed and the task skips missed fires), so no run ever ran.
 */
export const taskCompleted = defineEvent('task.completed', 1, completedV1).evolve(
  2,
  completedV1.extend({ lastRunId: taskRunIdSchema.nullable() }).strict(),
  (v1) => v1,
);

/** Where the task's answers go from now on (a run still going reports under the new setting). */
export const taskDeliverChanged = defineEvent('task.deliver_changed', 1, z.object({ deliver: taskDeliverSchema, changedAt: timestamp }).strict());

/** Final. */
export const taskCancelled = defineEvent('task.cancelled', 1, z.object({ reason: reasonSchema, cancelledAt: timestamp }).strict());

/** `consecutiveFailures` runs failed in a row (reaching the task's limit); resumable. */
export const taskSuspended = defineEvent(
  'task.suspended',
  1,
  z
    .object({
      consecutiveFailures: z.number().int().min(1),
      lastRunId: taskRunIdSchema,
      suspendedAt: timestamp,
    })
    .strict(),
);

export const taskEvents = [
  taskScheduled,
  taskPaused,
  taskResumed,
  taskFired,
  taskFireSkipped,
  taskRunFinished,
  taskCompleted,
  taskCancelled,
  taskSuspended,
  taskDeliverChanged,
];
