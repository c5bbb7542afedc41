/**
 * The task actor, on stream `task-<id>`: one scheduled job of a group.
 *
 *   unscheduled             ─schedule─►  scheduled.active
 *   scheduled.active        ─pause─►     scheduled.paused  ─resume─►  scheduled.active
 *   scheduled.active/paused ─the Nth failed run in a row─►  scheduled.suspended  ─resume─►  scheduled.active
 *   scheduled.*             ─cancel─►    cancelled (final)
 *   a `once` task, once its run finished, whatever the outcome ─►  completed (final)
 *
 * A task fires (the scheduler's clock, in a later issue, sends `fire` with the due time)
 * at most once per due time, and only while no run of it is in flight; each firing asks
 * the runtime for one run, named from the task id and the due time. The run reports back
 * with `finishRun`; failures in a row are counted (a success clears the count), and at the
 * task's `maxConsecutiveFailures` the task is suspended and the group's admins are told.
 * A paused task does not fire, but a run fired before the pause still finishes and counts.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import {
  DEFAULT_MAX_CONSECUTIVE_FAILURES,
  maxConsecutiveFailuresSchema,
  taskContextModeSchema,
  taskEvents,
  taskGroupIdSchema,
  taskNoteSchema,
  taskPromptSchema,
  taskRunIdSchema,
  taskRunOutcomeSchema,
  taskScheduleSchema,
  type TaskContextMode,
  type TaskRunOutcome,
  type TaskSchedule,
} from '../events/catalogue/task.js';
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
    })
    .strict(),
  z.object({ type: z.literal('pause'), reason: taskNoteSchema.optional() }).strict(),
  z.object({ type: z.literal('resume') }).strict(),
  /** The scheduler: the task is due at `dueAt`. */
  z.object({ type: z.literal('fire'), dueAt: z.iso.datetime() }).strict(),
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
]);

export type TaskCommand = z.infer<typeof taskCommands> & { readonly meta: CommandMeta };

type FoldedFrom<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;
export type TaskEvent = FoldedFrom<(typeof taskEvents)[number]>;

export interface TaskDefinition {
  readonly groupId: string;
  readonly prompt: string;
  readonly schedule: TaskSchedule;
  readonly contextMode: TaskContextMode;
  readonly maxConsecutiveFailures: number;
}

/** The run asked for by the last firing, until it reports how it finished. */
export interface RunInFlight {
  readonly runId: string;
  readonly dueAt: string;
}

export interface TaskContext {
  readonly id: string;
  /** Null until the task is scheduled. */
  readonly definition: TaskDefinition | null;
  readonly consecutiveFailures: number;
  /** The due time of the last firing: the next one must be later. */
  readonly lastFiredDueAt: string | null;
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

export const taskMachine = setup({
  types: {} as { context: TaskContext; events: TaskCommand | TaskEvent; input: { id: string } },
  guards: {
    isNotAfterLastFiredDueTime: ({ context }, params: { dueAt: string }) =>
      context.lastFiredDueAt !== null && Date.parse(params.dueAt) <= Date.parse(context.lastFiredDueAt),
    hasRunInFlight: ({ context }) => context.runInFlight !== null,
    isNotTheRunInFlight: ({ context }, params: { runId: string }) => context.runInFlight?.runId !== params.runId,
    isOnceTask: ({ context }) => context.definition?.schedule.kind === 'once',
    reachesFailureLimit: ({ context }, params: { outcome: TaskRunOutcome }) =>
      params.outcome === 'failed' && context.consecutiveFailures + 1 >= definitionOf(context).maxConsecutiveFailures,
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},

    applyScheduled: assign((_, params: TaskDefinition) => ({ definition: params })),
    applyFired: assign((_, params: RunInFlight) => ({ lastFiredDueAt: params.dueAt, runInFlight: params })),
    applyRunFinished: assign(({ context }, params: { outcome: TaskRunOutcome }) => ({
      runInFlight: null,
      consecutiveFailures: params.outcome === 'failed' ? context.consecutiveFailures + 1 : 0,
    })),
    clearConsecutiveFailures: assign({ consecutiveFailures: 0 }),

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
  },
}).createMachine({
  id: 'task',
  context: ({ input }) => ({
    id: input.id,
    definition: null,
    consecutiveFailures: 0,
    lastFiredDueAt: null,
    runInFlight: null,
  }),
  initial: 'unscheduled',
  states: {
    unscheduled: {
      on: {
        schedule: {
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
                catchUp: 'fire_once',
                gate: null,
              },
            }),
          },
        },
        pause: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; only a scheduled task can be paused' } } },
        resume: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; there is nothing to resume' } } },
        fire: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; an unscheduled task cannot fire' } } },
        finishRun: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; it has no run in flight' } } },
        cancel: { actions: { type: 'reject', params: { reason: 'the task is not scheduled; there is nothing to cancel' } } },

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

        'task.run_finished': { actions: { type: 'applyRunFinished', params: ({ event }) => ({ outcome: event.data.outcome }) } },
        'task.suspended': {
          target: '.suspended',
          actions: {
            type: 'notifyAdmins',
            params: ({ context, event }) => ({
              groupId: definitionOf(context).groupId,
              taskId: context.id,
              reason: 'suspended_after_failures' as const,
              consecutiveFailures: event.data.consecutiveFailures,
              lastRunId: event.data.lastRunId,
            }),
          },
        },
        'task.completed': { target: 'completed' },
        'task.cancelled': { target: 'cancelled' },
      },
      states: {
        active: {
          on: {
            fire: [
              {
                guard: { type: 'isNotAfterLastFiredDueTime', params: ({ event }) => ({ dueAt: event.dueAt }) },
                actions: {
                  type: 'reject',
                  params: ({ context, event }) => ({
                    reason: `the task already fired for ${context.lastFiredDueAt ?? ''}; a firing for ${event.dueAt} is not after it, and a task never fires twice for a due time`,
                  }),
                },
              },
              {
                guard: 'hasRunInFlight',
                actions: {
                  type: 'reject',
                  params: ({ context }) => ({
                    reason: `run ${context.runInFlight?.runId ?? ''} (due ${context.runInFlight?.dueAt ?? ''}) has not finished; the task does not fire while its run is in flight`,
                  }),
                },
              },
              {
                actions: {
                  type: 'record',
                  params: ({ context, event }) => ({
                    type: 'task.fired',
                    data: { dueAt: event.dueAt, runId: taskRunId(context.id, event.dueAt), firedAt: event.meta.issuedAt, missed: null, gateDetail: null },
                  }),
                },
              },
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
                { type: 'applyFired', params: ({ event }) => ({ runId: event.data.runId, dueAt: event.data.dueAt }) },
                { type: 'requestTaskRun', params: ({ context }) => requestTaskRunParams(context, inFlight(context)) },
              ],
            },
            'task.paused': { target: 'paused' },
          },
        },

        paused: {
          on: {
            fire: { actions: { type: 'reject', params: { reason: 'the task is paused; a paused task does not fire' } } },
            pause: { actions: { type: 'reject', params: { reason: 'the task is already paused' } } },
            resume: { actions: { type: 'record', params: ({ event }) => ({ type: 'task.resumed', data: { resumedAt: event.meta.issuedAt } }) } },

            'task.resumed': { target: 'active' },
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

            'task.resumed': { target: 'active', actions: 'clearConsecutiveFailures' },
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
      },
    },
  },
});

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
  input: (id: string) => ({ id }),
  /** A run that was fired and has not reported back is asked for again (idempotent on its id). */
  pendingEffects: (snapshot): readonly EffectRequest[] => {
    const { runInFlight } = snapshot.context;
    if (!snapshot.matches('scheduled') || runInFlight === null) return [];
    return [{ type: 'requestTaskRun', params: requestTaskRunParams(snapshot.context, runInFlight) }];
  },
});
