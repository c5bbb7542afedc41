/**
 * A scheduled job, on stream `task-<id>`: scheduled for a group with a prompt and a
 * schedule, paused and resumed, fired once per due time (each firing asks for one run),
 * told how each run finished, suspended after too many consecutive failures, completed
 * (a `once` task, after its run) or cancelled.
 *
 * Schedules are checked for their shape only here; the clock and cron parsing come later.
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

export const taskScheduled = defineEvent(
  'task.scheduled',
  1,
  z
    .object({
      groupId: taskGroupIdSchema,
      prompt: taskPromptSchema,
      schedule: taskScheduleSchema,
      contextMode: taskContextModeSchema,
      maxConsecutiveFailures: maxConsecutiveFailuresSchema,
      scheduledAt: timestamp,
    })
    .strict(),
);

export const taskPaused = defineEvent('task.paused', 1, z.object({ reason: reasonSchema, pausedAt: timestamp }).strict());

/** From `paused`, or from `suspended` (which also clears the count of consecutive failures). */
export const taskResumed = defineEvent('task.resumed', 1, z.object({ resumedAt: timestamp }).strict());

/** The task fired for `dueAt` and asked for run `runId` (derived from the task id and `dueAt`). */
export const taskFired = defineEvent(
  'task.fired',
  1,
  z.object({ dueAt: timestamp, runId: taskRunIdSchema, firedAt: timestamp }).strict(),
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
export const taskCompleted = defineEvent(
  'task.completed',
  1,
  z.object({ lastRunId: taskRunIdSchema, completedAt: timestamp }).strict(),
);

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
  taskRunFinished,
  taskCompleted,
  taskCancelled,
  taskSuspended,
];
