/**
 * The task actor, on stream `task-<id>`: one scheduled job of a group.
 *
 *   unscheduled             ─schedule─►  scheduled.active
 *   scheduled.active        ─pause─►     scheduled.paused  ─resume─►  scheduled.active
 *   scheduled.active/paused ─the Nth failed run in a row─►  scheduled.suspended  ─resume─►  scheduled.active
 *   scheduled.*             ─cancel─►    cancelled (final)
 *   a `once` task, once its run finished, whatever the outcome ─►  completed (final)
 *
 * The task is the one authority on its due times: its context holds `nextDueAt`, computed
 * from its schedule (actors/task-schedule.ts) as events are folded, and the scheduler's
 * clock may fire it for that time only. Every due time ends in exactly one decision event:
 * `task.fired` (one run asked for, named from the task id and the due time) or
 * `task.fire_skipped` (the wake gate saw nothing new, the due times were missed while the
 * runtime was down and the task skips them, or its previous run is still going). Since a
 * decision moves `nextDueAt` on, and the host appends at the revision it decided on, a
 * second fire for the same due time is rejected: each due time fires at most once.
 *
 * The run reports back with `finishRun`; failures in a row are counted (a success clears
 * the count), and at the task's `maxConsecutiveFailures` the task is suspended and the
 * group's admins are told. A paused task does not fire, but a run fired before the pause
 * still finishes and counts; a resumed task is next due at the first due time after it
 * resumed (time spent paused is not made up for).
 *
 * Where a run's final answer goes is the task's `deliver` (`group`, the default, or
 * `silent`), set when scheduled and changed with `setDeliver` (`task.deliver_changed`).
 * The run's report reads it when the run ends (runtime/workflows/task-result.ts), so a
 * change applies to a run already under way. After a restart, a task still waiting for its
 * run reads the run (`reconcileRun`), in case it ended while its report was lost.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import {
  DEFAULT_MAX_CONSECUTIVE_FAILURES,
  DEFAULT_TASK_CATCH_UP,
  DEFAULT_TASK_DELIVER,
  gateDetailSchema,
  maxConsecutiveFailuresSchema,
  taskCatchUpSchema,
  taskContextModeSchema,
  taskDeliverSchema,
  taskEvents,
  taskGateSchema,
  taskGroupIdSchema,
  taskNoteSchema,
  taskPromptSchema,
  taskRunIdSchema,
  taskRunOutcomeSchema,
  taskScheduleSchema,
  type TaskCatchUp,
  type TaskContextMode,
  type TaskDeliver,
  type TaskGate,
  type TaskMissed,
  type TaskRunOutcome,
  type TaskSchedule,
} from '../events/catalogue/task.js';
import { dueAfter, firstDueAt, missedDueTimes, resumedDueAt, scheduleIssues } from './task-schedule.js';
import { defineActorKind, type CommandMeta, type EffectRequest, type FoldedEvent, type RecordParams, type RejectParams } from './actor-kind.js';

export const taskCommands = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('schedule'),
      groupId: taskGroupIdSchema,
      prompt: taskPromptSchema,
      schedule: taskScheduleSchema,
      contextMode: taskContextModeSchema,
      /** Failed runs in a row that suspend the task; 3 when left out. */
      maxConsecutiveFailures: maxConsecutiveFailuresSchema.optional(),
      /** What to do with due times missed while the runtime was down; `fire_once` when left out. */
      catchUp: taskCatchUpSchema.optional(),
      /** A check run before each firing; none when left out. */
      gate: taskGateSchema.optional(),
      /** Where each run's final answer goes; `group` when left out. */
      deliver: taskDeliverSchema.optional(),
    })
    .strict(),
  z.object({ type: z.literal('pause'), reason: taskNoteSchema.optional() }).strict(),
  z.object({ type: z.literal('resume') }).strict(),
  /** The scheduler's clock: the task is due at `dueAt`, which must be its `nextDueAt`. */
  z
    .object({
      type: z.literal('fire'),
      dueAt: z.iso.datetime(),
      /**
       * The clock came to `dueAt` late (the runtime was down): it and the due times since
       * are decided at once, under the task's catch-up policy.
       */
      missed: z.boolean().optional(),
      /** The wake gate's verdict, when the task has a gate: `wake: false` skips the fire and spends no run. */
      gate: z.object({ wake: z.boolean(), detail: gateDetailSchema.optional() }).strict().optional(),
    })
    .strict(),
  /** The runtime: the task's run ended. */
  z
    .object({
      type: z.literal('finishRun'),
      runId: taskRunIdSchema,
      outcome: taskRunOutcomeSchema,
      detail: taskNoteSchema.optional(),
    })
    .strict(),
  z.object({ type: z.literal('cancel'), reason: taskNoteSchema.optional() }).strict(),
  /** Where each run's final answer goes from now on, a run in flight included. */
  z.object({ type: z.literal('setDeliver'), deliver: taskDeliverSchema }).strict(),
]);

export type TaskCommand = z.infer<typeof taskCommands> & { readonly meta: CommandMeta };
export type FireCommand = Extract<TaskCommand, { type: 'fire' }>;

type FoldedFrom<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;
export type TaskEvent = FoldedFrom<(typeof taskEvents)[number]>;

export interface TaskDefinition {
  readonly groupId: string;
  readonly prompt: string;
  readonly schedule: TaskSchedule;
  readonly contextMode: TaskContextMode;
  readonly maxConsecutiveFailures: number;
  readonly catchUp: TaskCatchUp;
  readonly gate: TaskGate | null;
  /** Where each run's final answer goes: posted in the group, or kept on the run only. */
  readonly deliver: TaskDeliver;
  /** When it was scheduled: an interval's grid starts `everyMs` after it. */
  readonly scheduledAt: string;
}

/** The run asked for by the last firing, until it reports how it finished. */
export interface RunInFlight {
  readonly runId: string;
  readonly dueAt: string;
  /** What the wake gate said when it woke the task (absent in snapshots older than the field). */
  readonly gateDetail?: string | null;
  /** The due times this fire stands for, when they were missed while the runtime was down. */
  readonly missed?: TaskMissed | null;
}

export interface TaskContext {
  readonly id: string;
  /** Null until the task is scheduled. */
  readonly definition: TaskDefinition | null;
  readonly consecutiveFailures: number;
  /**
   * The one due time the clock may fire the task for next; null unless the task is
   * scheduled.active, and when no due time remains (a once task after its due time).
   */
  readonly nextDueAt: string | null;
  /** The last due time decided, fired or skipped. */
  readonly lastDueAt: string | null;
  readonly runInFlight: RunInFlight | null;
}

/** The params of the `requestTaskRun` effect. */
export interface RequestTaskRunParams {
  readonly runId: string;
  readonly taskId: string;
  readonly groupId: string;
  readonly dueAt: string;
  readonly contextMode: TaskContextMode;
  /** What the run answers: `task-<id>@<due time>`; the runner reads the task's prompt. */
  readonly turnRef: string;
}

/** The params of the `reconcileRun` effect: the run the task waits for. */
export interface ReconcileTaskRunParams {
  readonly taskId: string;
  readonly runId: string;
  readonly groupId: string;
}

/** The params of the `notifyAdmins` effect. */
export interface NotifyAdminsParams {
  readonly groupId: string;
  readonly taskId: string;
  readonly reason: 'suspended_after_failures';
  readonly consecutiveFailures: number;
  readonly lastRunId: string;
}

/**
 * The run a firing asks for: a pure function of the task id and the due time, so a
 * replayed or resumed `requestTaskRun` names the same run. `task-42-20260105T090000000Z`.
 */
export function taskRunId(taskId: string, dueAt: string): string {
  return `task-${taskId}-${new Date(dueAt).toISOString().replace(/[-:.]/g, '')}`;
}

function definitionOf(context: TaskContext): TaskDefinition {
  if (context.definition === null) {
    throw new Error(`task ${context.id} was never scheduled, yet it is in a scheduled state`);
  }
  return context.definition;
}

function requestTaskRunParams(context: TaskContext, run: RunInFlight): RequestTaskRunParams {
  const definition = definitionOf(context);
  return {
    runId: run.runId,
    taskId: context.id,
    groupId: definition.groupId,
    dueAt: run.dueAt,
    contextMode: definition.contextMode,
    turnRef: `task-${context.id}@${run.dueAt}`,
  };
}

type FireSkippedData = Extract<TaskEvent, { type: 'task.fire_skipped' }>['data'];

/**
 * Missed due times counted one by one at most: an every-second cron down for a day would
 * otherwise be 86,400 croner steps in one decision. Past it, `missed.count` says this.
 */
export const MISSED_COUNT_LIMIT = 10_000;

/** Why a schedule cannot be scheduled, naming each field; empty when it can. */
export function scheduleIssuesReason(schedule: TaskSchedule, now: string): string {
  return scheduleIssues(schedule, now)
    .map((issue) => `${issue.field}: ${issue.message}`)
    .join('; ');
}

function nextDueOf(context: TaskContext): string {
  if (context.nextDueAt === null) throw new Error(`task ${context.id} has no next due time, yet it is deciding one`);
  return context.nextDueAt;
}

function notNextDueTimeReason(context: TaskContext, dueAt: string): string {
  return context.nextDueAt === null
    ? `the task has no due time left (the last was ${context.lastDueAt ?? 'never'}); a fire for ${dueAt} is refused, as a task fires once per due time`
    : `the task is next due at ${context.nextDueAt}, not ${dueAt}; a task fires once per due time, for the due time it computed`;
}

/**
 * The one decision for the task's next due time, which `command.dueAt` was checked to be.
 * In order: missed due times (the clock came late) collapse into their last one, and a
 * task that skips missed fires skips it; a gate that says not to wake skips it; a run still
 * in flight skips it; otherwise the task fires. A once task whose only due time was
 * skipped has nothing left to do, and completes in the same decision.
 */
export function fireDecision(context: TaskContext, command: FireCommand): RecordParams[] {
  const { schedule, catchUp } = definitionOf(context);
  // The computed due time, not the command's spelling of it: the same instant, stored one way.
  const due = nextDueOf(context);
  const at = command.meta.issuedAt;
  let dueAt = due;
  let missed: TaskMissed | null = null;
  if (command.missed === true) {
    const times = missedDueTimes(schedule, due, at, MISSED_COUNT_LIMIT);
    dueAt = times.last;
    missed = { firstDueAt: due, count: times.count };
    if (catchUp === 'skip') return skipRecords(context, { dueAt, reason: 'missed', detail: null, missed, skippedAt: at });
  }
  if (command.gate?.wake === false) {
    return skipRecords(context, { dueAt, reason: 'gate', detail: command.gate.detail ?? null, missed, skippedAt: at });
  }
  if (context.runInFlight !== null) {
    const { runId, dueAt: runDueAt } = context.runInFlight;
    return skipRecords(context, { dueAt, reason: 'run_in_flight', detail: `run ${runId} (due ${runDueAt}) has not finished`, missed, skippedAt: at });
  }
  return [
    {
      type: 'task.fired',
      data: { dueAt, runId: taskRunId(context.id, dueAt), firedAt: at, missed, gateDetail: command.gate?.detail ?? null },
    },
  ];
}

function skipRecords(context: TaskContext, skipped: FireSkippedData): RecordParams[] {
  const records: RecordParams[] = [{ type: 'task.fire_skipped', data: skipped }];
  // A once task has one due time; skipped, no run will ever come (and none is in flight,
  // since only a firing of that same due time could have asked for one).
  if (definitionOf(context).schedule.kind === 'once') {
    records.push({ type: 'task.completed', data: { lastRunId: null, completedAt: skipped.skippedAt } });
  }
  return records;
}

const taskSetup = setup({
  types: {} as { context: TaskContext; events: TaskCommand | TaskEvent; input: { id: string } },
  guards: {
    hasScheduleIssues: (_, params: { schedule: TaskSchedule; now: string }) => scheduleIssues(params.schedule, params.now).length > 0,
    /** Compared as instants: `10:00:00Z` and `10:00:00.000Z` are the same due time. */
    isNotNextDueTime: ({ context }, params: { dueAt: string }) =>
      context.nextDueAt === null || Date.parse(params.dueAt) !== Date.parse(context.nextDueAt),
    isNotTheRunInFlight: ({ context }, params: { runId: string }) => context.runInFlight?.runId !== params.runId,
    isOnceTask: ({ context }) => context.definition?.schedule.kind === 'once',
    deliversAlready: ({ context }, params: { deliver: TaskDeliver }) => context.definition?.deliver === params.deliver,
    reachesFailureLimit: ({ context }, params: { outcome: TaskRunOutcome }) =>
      params.outcome === 'failed' && context.consecutiveFailures + 1 >= definitionOf(context).maxConsecutiveFailures,
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},

    applyScheduled: assign((_, params: TaskDefinition) => ({ definition: params, nextDueAt: firstDueAt(params.schedule, params.scheduledAt) })),
    /** A due time was decided (fired or skipped): the next one follows it on the schedule. */
    applyDueTimeDecided: assign(({ context }, params: { dueAt: string }) => ({
      lastDueAt: params.dueAt,
      nextDueAt: dueAfter(definitionOf(context).schedule, params.dueAt),
    })),
    applyFired: assign((_, params: RunInFlight) => ({ runInFlight: params })),
    applyResumed: assign(({ context }, params: { resumedAt: string }) => {
      const { schedule, scheduledAt } = definitionOf(context);
      return { nextDueAt: resumedDueAt(schedule, { scheduledAt, lastDueAt: context.lastDueAt }, params.resumedAt) };
    }),
    /** Paused, suspended, completed or cancelled: the clock has nothing to fire. */
    clearNextDueAt: assign({ nextDueAt: null }),
    applyRunFinished: assign(({ context }, params: { outcome: TaskRunOutcome }) => ({
      runInFlight: null,
      consecutiveFailures: params.outcome === 'failed' ? context.consecutiveFailures + 1 : 0,
    })),
    clearConsecutiveFailures: assign({ consecutiveFailures: 0 }),
    applyDeliverChanged: assign(({ context }, params: { deliver: TaskDeliver }) => ({ definition: { ...definitionOf(context), deliver: params.deliver } })),

    /**
     * Effect: send run `runId` its `queue` command (trigger `task`, `taskId`, `groupId`,
     * `turnRef`, `contextMode`); the run then asks the supervisor for a slot. Idempotent on
     * `runId`: a run that rejects it as already queued or further along is left alone, and
     * one that already finished has its outcome sent to the task (`finishRun`) again.
     */
    requestTaskRun: (_, _params: RequestTaskRunParams) => {},
    /**
     * Effect: tell the group's admin channel that the task was suspended and how to resume
     * it. Idempotent on the causing event (the effect key).
     */
    notifyAdmins: (_, _params: NotifyAdminsParams) => {},
    /**
     * Effect, after a restart only (a pending effect): the run the task waits for may have
     * ended without its report arriving (a crash between the two). The workflow reads the
     * run and, if it ended, reports it (and delivers its answer) as the run's own report would have.
     */
    reconcileRun: (_, _params: ReconcileTaskRunParams) => {},
  },
});

/**
 * The fire decision records one event or two (a skip that completes a once task); declared
 * on top of the base setup so `enqueue` knows the `record` action.
 */
const taskDecisions = taskSetup.extend({
  actions: {
    recordFireDecision: taskSetup.enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'fire') return;
      for (const record of fireDecision(context, event)) enqueue({ type: 'record', params: record });
    }),
  },
});

export const taskMachine = taskDecisions.createMachine({
  id: 'task',
  context: ({ input }) => ({
    id: input.id,
    definition: null,
    consecutiveFailures: 0,
    nextDueAt: null,
    lastDueAt: null,
    runInFlight: null,
  }),
  initial: 'unscheduled',
  states: {
    unscheduled: {
      on: {
        schedule: [
          {
            guard: { type: 'hasScheduleIssues', params: ({ event }) => ({ schedule: event.schedule, now: event.meta.issuedAt }) },
            actions: { type: 'reject', params: ({ event }) => ({ reason: scheduleIssuesReason(event.schedule, event.meta.issuedAt) }) },
          },
          {
            actions: {
              type: 'record',
              params: ({ event }) => ({
                type: 'task.scheduled',
                data: {
                  groupId: event.groupId,
                  prompt: event.prompt,
                  schedule: event.schedule,
                  contextMode: event.contextMode,
                  maxConsecutiveFailures: event.maxConsecutiveFailures ?? DEFAULT_MAX_CONSECUTIVE_FAILURES,
                  scheduledAt: event.meta.issuedAt,
                  catchUp: event.catchUp ?? DEFAULT_TASK_CATCH_UP,
                  gate: event.gate ?? null,
                  deliver: event.deliver ?? DEFAULT_TASK_DELIVER,
                },
              }),
            },
          },
        ],
        pause: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; only a scheduled task can be paused' } } },
        resume: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; there is nothing to resume' } } },
        fire: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; an unscheduled task cannot fire' } } },
        finishRun: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; it has no run in flight' } } },
        cancel: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; there is nothing to cancel' } } },
        setDeliver: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; schedule it with deliver set' } } },

        'task.scheduled': {
          target: 'scheduled',
          actions: {
            type: 'applyScheduled',
            params: ({ event }) => ({
              groupId: event.data.groupId,
              prompt: event.data.prompt,
              schedule: event.data.schedule,
              contextMode: event.data.contextMode,
              maxConsecutiveFailures: event.data.maxConsecutiveFailures,
              catchUp: event.data.catchUp,
              gate: event.data.gate,
              deliver: event.data.deliver,
              scheduledAt: event.data.scheduledAt,
            }),
          },
        },
      },
    },

    scheduled: {
      initial: 'active',
      on: {
        schedule: { actions: { type: 'reject', params: { reason: 'the task is already scheduled; a task is scheduled once' } } },
        finishRun: [
          {
            guard: { type: 'isNotTheRunInFlight', params: ({ event }) => ({ runId: event.runId }) },
            actions: {
              type: 'reject',
              params: ({ context, event }) => ({
                reason:
                  context.runInFlight === null
                    ? `the task has no run in flight; run ${event.runId} cannot finish`
                    : `run ${event.runId} is not the task's run in flight (${context.runInFlight.runId})`,
              }),
            },
          },
          {
            guard: 'isOnceTask',
            actions: [
              { type: 'record', params: ({ context, event }) => runFinishedRecord(context, event) },
              { type: 'record', params: ({ event }) => ({ type: 'task.completed', data: { lastRunId: event.runId, completedAt: event.meta.issuedAt } }) },
            ],
          },
          {
            guard: { type: 'reachesFailureLimit', params: ({ event }) => ({ outcome: event.outcome }) },
            actions: [
              { type: 'record', params: ({ context, event }) => runFinishedRecord(context, event) },
              {
                type: 'record',
                params: ({ context, event }) => ({
                  type: 'task.suspended',
                  data: { consecutiveFailures: context.consecutiveFailures + 1, lastRunId: event.runId, suspendedAt: event.meta.issuedAt },
                }),
              },
            ],
          },
          { actions: { type: 'record', params: ({ context, event }) => runFinishedRecord(context, event) } },
        ],
        cancel: {
          actions: {
            type: 'record',
            params: ({ event }) => ({ type: 'task.cancelled', data: { reason: event.reason ?? null, cancelledAt: event.meta.issuedAt } }),
          },
        },
        setDeliver: [
          {
            guard: { type: 'deliversAlready', params: ({ event }) => ({ deliver: event.deliver }) },
            actions: { type: 'reject', params: ({ event }) => ({ reason: `the task's answers already go ${deliverWords(event.deliver)}` }) },
          },
          {
            actions: {
              type: 'record',
              params: ({ event }) => ({ type: 'task.deliver_changed', data: { deliver: event.deliver, changedAt: event.meta.issuedAt } }),
            },
          },
        ],

        'task.deliver_changed': { actions: { type: 'applyDeliverChanged', params: ({ event }) => ({ deliver: event.data.deliver }) } },
        'task.run_finished': { actions: { type: 'applyRunFinished', params: ({ event }) => ({ outcome: event.data.outcome }) } },
        'task.suspended': {
          target: '.suspended',
          actions: [
            'clearNextDueAt',
            {
              type: 'notifyAdmins',
              params: ({ context, event }) => ({
                groupId: definitionOf(context).groupId,
                taskId: context.id,
                reason: 'suspended_after_failures' as const,
                consecutiveFailures: event.data.consecutiveFailures,
                lastRunId: event.data.lastRunId,
              }),
            },
          ],
        },
        'task.completed': { target: 'completed', actions: 'clearNextDueAt' },
        'task.cancelled': { target: 'cancelled', actions: 'clearNextDueAt' },
      },
      states: {
        active: {
          on: {
            fire: [
              {
                guard: { type: 'isNotNextDueTime', params: ({ event }) => ({ dueAt: event.dueAt }) },
                actions: { type: 'reject', params: ({ context, event }) => ({ reason: notNextDueTimeReason(context, event.dueAt) }) },
              },
              { actions: 'recordFireDecision' },
            ],
            pause: {
              actions: {
                type: 'record',
                params: ({ event }) => ({ type: 'task.paused', data: { reason: event.reason ?? null, pausedAt: event.meta.issuedAt } }),
              },
            },
            resume: { actions: { type: 'reject', params: { reason: 'the task is active; only a paused or suspended task can be resumed' } } },

            'task.fired': {
              actions: [
                { type: 'applyDueTimeDecided', params: ({ event }) => ({ dueAt: event.data.dueAt }) },
                {
                  type: 'applyFired',
                  params: ({ event }) => ({ runId: event.data.runId, dueAt: event.data.dueAt, gateDetail: event.data.gateDetail, missed: event.data.missed }),
                },
                { type: 'requestTaskRun', params: ({ context }) => requestTaskRunParams(context, inFlight(context)) },
              ],
            },
            'task.fire_skipped': { actions: { type: 'applyDueTimeDecided', params: ({ event }) => ({ dueAt: event.data.dueAt }) } },
            'task.paused': { target: 'paused', actions: 'clearNextDueAt' },
          },
        },

        paused: {
          on: {
            fire: { actions: { type: 'reject', params: { reason: 'the task is paused; a paused task does not fire' } } },
            pause: { actions: { type: 'reject', params: { reason: 'the task is already paused' } } },
            resume: { actions: { type: 'record', params: ({ event }) => ({ type: 'task.resumed', data: { resumedAt: event.meta.issuedAt } }) } },

            'task.resumed': { target: 'active', actions: { type: 'applyResumed', params: ({ event }) => ({ resumedAt: event.data.resumedAt }) } },
          },
        },

        suspended: {
          on: {
            fire: {
              actions: {
                type: 'reject',
                params: ({ context }) => ({
                  reason: `the task is suspended after ${context.consecutiveFailures} consecutive failed runs; resume it before it can fire`,
                }),
              },
            },
            pause: {
              actions: { type: 'reject', params: { reason: 'the task is suspended after repeated failures; resume it or cancel it' } },
            },
            resume: { actions: { type: 'record', params: ({ event }) => ({ type: 'task.resumed', data: { resumedAt: event.meta.issuedAt } }) } },

            'task.resumed': {
              target: 'active',
              actions: ['clearConsecutiveFailures', { type: 'applyResumed', params: ({ event }) => ({ resumedAt: event.data.resumedAt }) }],
            },
          },
        },
      },
    },

    completed: {
      on: {
        schedule: { actions: { type: 'reject', params: { reason: 'the task is completed; a completed task cannot be scheduled again' } } },
        pause: { actions: { type: 'reject', params: { reason: 'the task is completed; a completed task cannot be paused' } } },
        resume: { actions: { type: 'reject', params: { reason: 'the task is completed; a completed task cannot be resumed' } } },
        fire: { actions: { type: 'reject', params: { reason: 'the task is completed; a completed task never fires again' } } },
        finishRun: { actions: { type: 'reject', params: { reason: 'the task is completed; it has no run in flight' } } },
        cancel: { actions: { type: 'reject', params: { reason: 'the task is completed; a completed task cannot be cancelled' } } },
        setDeliver: { actions: { type: 'reject', params: { reason: 'the task is completed; it has no answers left to deliver' } } },
      },
    },

    cancelled: {
      on: {
        schedule: { actions: { type: 'reject', params: { reason: 'the task is cancelled; a cancelled task cannot be scheduled again' } } },
        pause: { actions: { type: 'reject', params: { reason: 'the task is cancelled; a cancelled task cannot be paused' } } },
        resume: { actions: { type: 'reject', params: { reason: 'the task is cancelled; a cancelled task cannot be resumed' } } },
        fire: { actions: { type: 'reject', params: { reason: 'the task is cancelled; a cancelled task never fires' } } },
        finishRun: { actions: { type: 'reject', params: { reason: 'the task is cancelled; the outcome of its run is not recorded' } } },
        cancel: { actions: { type: 'reject', params: { reason: 'the task is already cancelled' } } },
        setDeliver: { actions: { type: 'reject', params: { reason: 'the task is cancelled; it has no answers left to deliver' } } },
      },
    },
  },
});

function deliverWords(deliver: TaskDeliver): string {
  return deliver === 'group' ? 'to its group' : 'nowhere (silent)';
}

function inFlight(context: TaskContext): RunInFlight {
  if (context.runInFlight === null) throw new Error(`task ${context.id} has no run in flight right after firing`);
  return context.runInFlight;
}

function runFinishedRecord(
  context: TaskContext,
  command: { readonly runId: string; readonly outcome: TaskRunOutcome; readonly detail?: string | undefined; readonly meta: CommandMeta },
): RecordParams {
  return {
    type: 'task.run_finished',
    data: {
      runId: command.runId,
      dueAt: inFlight(context).dueAt,
      outcome: command.outcome,
      detail: command.detail ?? null,
      finishedAt: command.meta.issuedAt,
    },
  };
}

export const taskKind = defineActorKind({
  kind: 'task',
  machine: taskMachine,
  commands: taskCommands,
  events: taskEvents,
  effects: ['requestTaskRun', 'notifyAdmins', 'reconcileRun'],
  input: (id: string) => ({ id }),
  /**
   * A run that was fired and has not reported back is asked for again (idempotent on its
   * id), and read: if it ended while its report was lost, it is reported now.
   */
  pendingEffects: (snapshot): readonly EffectRequest[] => {
    const { runInFlight } = snapshot.context;
    if (!snapshot.matches('scheduled') || runInFlight === null) return [];
    const params = requestTaskRunParams(snapshot.context, runInFlight);
    return [
      { type: 'requestTaskRun', params },
      { type: 'reconcileRun', params: { taskId: params.taskId, runId: params.runId, groupId: params.groupId } satisfies ReconcileTaskRunParams },
    ];
  },
});
