/**
 * The run actor, on stream `run-<id>`: one agent turn in a container.
 *
 *   new ─queue─► queued ─grantSlot─► starting ─reportStarted─► running ─complete─► finished.completed
 *                                       │                        ├─fail──────► finished.failed
 *                                       ├─fail, interrupt ───────┼─timeOut───► finished.timed_out
 *                                       ▼                        └─interrupt─► finished.interrupted
 *                              finished.failed / finished.interrupted
 *
 * Queueing asks the supervisor for a slot; the supervisor's grant (through its `grantSlot`
 * effect) moves the run to `starting`, which asks for its container; the container's start
 * makes it `running`. Every ending gives the slot back and reports the outcome (to the
 * task that fired the run, if any, and to the group). A finished run is final: it rejects
 * every command.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import {
  modelCallFields,
  promptFields,
  promptInstructionsSchema,
  runContextModeSchema,
  runDetailSchema,
  runIdentifierSchema,
  runEvents,
  runFailureReasonSchema,
  runInterruptionReasonSchema,
  runTimeoutLimitSchema,
  runTriggerSchema,
  tokenTotalsSchema,
  toolCallFields,
  turnRefSchema,
  type RunFailureReason,
  type RunTrigger,
  type TokenTotals,
} from '../events/catalogue/run.js';
import { defineActorKind, type CommandMeta, type EffectRequest, type FoldedEvent, type RecordParams, type RejectParams } from './actor-kind.js';

export const runCommands = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('queue'),
      groupId: runIdentifierSchema,
      /** The group whose conversation the run answers (a thread of `groupId`); `groupId` itself by default. */
      conversationId: runIdentifierSchema.optional(),
      taskId: runIdentifierSchema.optional(),
      trigger: runTriggerSchema,
      turnRef: turnRefSchema,
      contextMode: runContextModeSchema,
    })
    .strict(),
  /** The supervisor gave the run a slot. */
  z.object({ type: z.literal('grantSlot') }).strict(),
  /** The container runs. */
  z.object({ type: z.literal('reportStarted'), containerId: z.string().min(1).max(200) }).strict(),
  /** The prompt assembled for the run (before its container starts). */
  z.object({ type: z.literal('noteContext'), ...promptFields, instructions: promptInstructionsSchema }).strict(),
  /** A model call the gateway answered. */
  z.object({ type: z.literal('noteModelCall'), ...modelCallFields }).strict(),
  /** A tool call and its result. */
  z.object({ type: z.literal('noteToolCall'), ...toolCallFields }).strict(),
  z.object({ type: z.literal('complete'), summary: z.string().max(20_000), tokens: tokenTotalsSchema }).strict(),
  z.object({ type: z.literal('fail'), reason: runFailureReasonSchema, detail: runDetailSchema }).strict(),
  z.object({ type: z.literal('timeOut'), limit: runTimeoutLimitSchema, limitMs: z.number().int().positive() }).strict(),
  z.object({ type: z.literal('interrupt'), reason: runInterruptionReasonSchema, detail: runDetailSchema.optional() }).strict(),
]);

export type RunCommand = z.infer<typeof runCommands> & { readonly meta: CommandMeta };

type FoldedFrom<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;
export type RunEvent = FoldedFrom<(typeof runEvents)[number]>;

/** What was asked of the run when it was queued. */
export interface RunRequest {
  /** The group that owns the run: its memory, workspace, tasks, budget and slot. */
  readonly groupId: string;
  /** The group whose conversation the run answers and reports to (a Slack thread, or `groupId`). */
  readonly conversationId: string;
  readonly taskId: string | null;
  readonly trigger: RunTrigger;
  readonly turnRef: string;
  readonly contextMode: 'group' | 'isolated';
}

/** How a run ended, as the `reportOutcome` effect carries it. */
export type RunOutcome =
  | { readonly status: 'completed'; readonly summary: string }
  | { readonly status: 'failed'; readonly reason: RunFailureReason; readonly detail: string }
  | { readonly status: 'timed_out'; readonly limit: 'hard' | 'idle'; readonly limitMs: number }
  | { readonly status: 'interrupted'; readonly reason: 'runtime_restarted' | 'runtime_shutdown' | 'container_lost'; readonly detail: string | null };

/** What the run's model calls have spent so far. */
export interface RunUsage {
  readonly tokens: TokenTotals;
  /** In US dollars, over the calls whose model has a known price. */
  readonly costUsd: number;
  readonly modelCalls: number;
  readonly toolCalls: number;
}

export const NO_USAGE: RunUsage = { tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, costUsd: 0, modelCalls: 0, toolCalls: 0 };

export interface RunContext {
  readonly id: string;
  /** Null until the run is queued. */
  readonly request: RunRequest | null;
  /** Null until the container runs. */
  readonly containerId: string | null;
  /** Null until the run ends. */
  readonly outcome: RunOutcome | null;
  readonly usage: RunUsage;
}

/** The params of the `requestSlot`, `startContainer` and `releaseSlot` effects. */
export interface RunSlotParams {
  readonly runId: string;
  readonly groupId: string;
}

/** The params of the `reconcileContainer` effect. */
export interface ReconcileContainerParams {
  readonly runId: string;
}

/** The params of the `reportOutcome` effect. */
export interface ReportOutcomeParams {
  readonly runId: string;
  readonly groupId: string;
  /** The group told how the run ended, when no task fired it. */
  readonly conversationId: string;
  readonly taskId: string | null;
  readonly trigger: RunTrigger;
  readonly outcome: RunOutcome;
}

function requestOf(context: RunContext): RunRequest {
  if (context.request === null) throw new Error(`run ${context.id} was never queued, yet it is past queued`);
  return context.request;
}

function slotParams(context: RunContext): RunSlotParams {
  return { runId: context.id, groupId: requestOf(context).groupId };
}

export function reportOutcomeParams(context: RunContext, outcome: RunOutcome): ReportOutcomeParams {
  const request = requestOf(context);
  return { runId: context.id, groupId: request.groupId, conversationId: request.conversationId, taskId: request.taskId, trigger: request.trigger, outcome };
}

function describeOutcome(outcome: RunOutcome | null): string {
  switch (outcome?.status) {
    case 'completed':
      return 'completed';
    case 'failed':
      return `failed (${outcome.reason})`;
    case 'timed_out':
      return `timed out (${outcome.limit})`;
    case 'interrupted':
      return `was interrupted (${outcome.reason})`;
    default:
      return 'finished';
  }
}

export const runMachine = setup({
  types: {} as { context: RunContext; events: RunCommand | RunEvent; input: { id: string } },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},

    applyQueued: assign((_, params: RunRequest) => ({ request: params })),
    applyStarted: assign((_, params: { containerId: string }) => ({ containerId: params.containerId })),
    applyOutcome: assign((_, params: RunOutcome) => ({ outcome: params })),
    applyModelCall: assign(({ context }, params: { tokens: TokenTotals; costUsd: number | null }) => ({
      usage: {
        ...context.usage,
        tokens: {
          input: context.usage.tokens.input + params.tokens.input,
          output: context.usage.tokens.output + params.tokens.output,
          cacheRead: context.usage.tokens.cacheRead + params.tokens.cacheRead,
          cacheWrite: context.usage.tokens.cacheWrite + params.tokens.cacheWrite,
        },
        costUsd: context.usage.costUsd + (params.costUsd ?? 0),
        modelCalls: context.usage.modelCalls + 1,
      },
    })),
    applyToolCall: assign(({ context }) => ({ usage: { ...context.usage, toolCalls: context.usage.toolCalls + 1 } })),

    /**
     * Effect: ask the supervisor for a slot (its `requestRun` command). Idempotent: the
     * supervisor rejects a run it already queued or dispatched, which counts as done.
     */
    requestSlot: (_, _params: RunSlotParams) => {},
    /**
     * Effect: start the run's container, labelled with `runId`, then send the run
     * `reportStarted` (or `fail` with `start_failed`). Idempotent: a container already
     * labelled with the run id is reused, not started twice.
     */
    startContainer: (_, _params: RunSlotParams) => {},
    /**
     * Effect (after a restart): find the container labelled `runId`; if it still runs,
     * re-attach to it; if it is gone, send the run `interrupt` (`runtime_restarted` or
     * `container_lost`). Idempotent: a run that already ended rejects the command.
     */
    reconcileContainer: (_, _params: ReconcileContainerParams) => {},
    /**
     * Effect: give the slot back to the supervisor (its `releaseRun` command). Idempotent:
     * the supervisor rejects the release of a run it no longer holds, which counts as done.
     */
    releaseSlot: (_, _params: RunSlotParams) => {},
    /**
     * Effect: tell whoever waits for the run how it ended: the task (its `finishRun`, with
     * `succeeded` for `completed` and `failed` otherwise) when `taskId` is set, and the group
     * on a failure. Idempotent: the task rejects a second outcome for the same run; a group
     * post is keyed by the causing event.
     */
    reportOutcome: (_, _params: ReportOutcomeParams) => {},
  },
}).createMachine({
  id: 'run',
  context: ({ input }) => ({ id: input.id, request: null, containerId: null, outcome: null, usage: NO_USAGE }),
  initial: 'new',
  states: {
    new: {
      on: {
        queue: {
          actions: {
            type: 'record',
            params: ({ event }) => ({
              type: 'run.queued',
              data: {
                groupId: event.groupId,
                conversationId: event.conversationId ?? event.groupId,
                taskId: event.taskId ?? null,
                trigger: event.trigger,
                turnRef: event.turnRef,
                contextMode: event.contextMode,
                queuedAt: event.meta.issuedAt,
              },
            }),
          },
        },
        grantSlot: { actions: { type: 'reject', params: { reason: 'the run is not queued; a slot is granted to a queued run' } } },
        reportStarted: { actions: { type: 'reject', params: { reason: 'the run is not queued; it has no container' } } },
        complete: { actions: { type: 'reject', params: { reason: 'the run is not queued; it has not run' } } },
        fail: { actions: { type: 'reject', params: { reason: 'the run is not queued; it has not run' } } },
        timeOut: { actions: { type: 'reject', params: { reason: 'the run is not queued; it has not run' } } },
        interrupt: { actions: { type: 'reject', params: { reason: 'the run is not queued; there is nothing to interrupt' } } },

        'run.queued': {
          target: 'queued',
          actions: [
            {
              type: 'applyQueued',
              params: ({ event }) => ({
                groupId: event.data.groupId,
                conversationId: event.data.conversationId,
                taskId: event.data.taskId,
                trigger: event.data.trigger,
                turnRef: event.data.turnRef,
                contextMode: event.data.contextMode,
              }),
            },
            { type: 'requestSlot', params: ({ context }) => slotParams(context) },
          ],
        },
      },
    },

    queued: {
      on: {
        queue: { actions: { type: 'reject', params: { reason: 'the run is already queued' } } },
        grantSlot: { actions: { type: 'record', params: ({ event }) => ({ type: 'run.slot_granted', data: { grantedAt: event.meta.issuedAt } }) } },
        reportStarted: { actions: { type: 'reject', params: { reason: 'the run is queued and has no slot yet; its container cannot have started' } } },
        complete: { actions: { type: 'reject', params: { reason: 'the run is queued; it has not run, so it cannot complete' } } },
        fail: { actions: { type: 'reject', params: { reason: 'the run is queued; it has not run, so it cannot fail' } } },
        timeOut: { actions: { type: 'reject', params: { reason: 'the run is queued; it has not run, so it cannot time out' } } },
        interrupt: { actions: { type: 'reject', params: { reason: 'the run is queued; it has not run, so there is nothing to interrupt' } } },

        'run.slot_granted': { target: 'starting', actions: { type: 'startContainer', params: ({ context }) => slotParams(context) } },
      },
    },

    starting: {
      on: {
        queue: { actions: { type: 'reject', params: { reason: 'the run is starting; it was queued already' } } },
        grantSlot: { actions: { type: 'reject', params: { reason: 'the run is starting; it holds a slot already' } } },
        reportStarted: {
          actions: {
            type: 'record',
            params: ({ event }) => ({ type: 'run.started', data: { containerId: event.containerId, startedAt: event.meta.issuedAt } }),
          },
        },
        noteContext: {
          actions: {
            type: 'record',
            params: ({ event }) => ({
              type: 'run.context_built',
              data: {
                model: event.model,
                system: event.system,
                messages: event.messages,
                tokenEstimate: event.tokenEstimate,
                windowBudgetTokens: event.windowBudgetTokens,
                instructions: event.instructions,
                builtAt: event.meta.issuedAt,
              },
            }),
          },
        },
        complete: { actions: { type: 'reject', params: { reason: 'the run is starting; its container has not started, so it cannot complete' } } },
        fail: {
          actions: {
            type: 'record',
            params: ({ event }) => ({ type: 'run.failed', data: { reason: event.reason, detail: event.detail, failedAt: event.meta.issuedAt } }),
          },
        },
        timeOut: { actions: { type: 'reject', params: { reason: 'the run is starting; a time limit applies once its container runs' } } },
        interrupt: {
          actions: {
            type: 'record',
            params: ({ event }) => ({
              type: 'run.interrupted',
              data: { reason: event.reason, detail: event.detail ?? null, interruptedAt: event.meta.issuedAt },
            }),
          },
        },

        // The prompt is history for `runs show` and audits; it changes no state.
        'run.context_built': {},
        'run.started': { target: 'running', actions: { type: 'applyStarted', params: ({ event }) => ({ containerId: event.data.containerId }) } },
        'run.failed': {
          target: 'finished.failed',
          actions: { type: 'applyOutcome', params: ({ event }) => ({ status: 'failed' as const, reason: event.data.reason, detail: event.data.detail }) },
        },
        'run.interrupted': {
          target: 'finished.interrupted',
          actions: { type: 'applyOutcome', params: ({ event }) => ({ status: 'interrupted' as const, reason: event.data.reason, detail: event.data.detail }) },
        },
      },
    },

    running: {
      on: {
        queue: { actions: { type: 'reject', params: { reason: 'the run is running; it was queued already' } } },
        grantSlot: { actions: { type: 'reject', params: { reason: 'the run is running; it holds a slot already' } } },
        reportStarted: {
          actions: {
            type: 'reject',
            params: ({ context }) => ({ reason: `the run is running; its container ${context.containerId ?? ''} started already` }),
          },
        },
        noteModelCall: {
          actions: {
            type: 'record',
            params: ({ event }) => ({
              type: 'run.model_called',
              data: {
                callId: event.callId,
                model: event.model,
                tokens: event.tokens,
                costUsd: event.costUsd,
                latencyMs: event.latencyMs,
                attempts: event.attempts,
                stopReason: event.stopReason,
                output: event.output,
                calledAt: event.meta.issuedAt,
              },
            }),
          },
        },
        noteToolCall: {
          actions: {
            type: 'record',
            params: ({ event }) => ({
              type: 'run.tool_called',
              data: {
                callId: event.callId,
                tool: event.tool,
                where: event.where,
                input: event.input,
                output: event.output,
                isError: event.isError,
                durationMs: event.durationMs,
                tier: event.tier,
                outcome: event.outcome,
                approvalId: event.approvalId,
                calledAt: event.meta.issuedAt,
              },
            }),
          },
        },
        complete: {
          actions: {
            type: 'record',
            params: ({ event }) => ({ type: 'run.completed', data: { summary: event.summary, tokens: event.tokens, completedAt: event.meta.issuedAt } }),
          },
        },
        fail: {
          actions: {
            type: 'record',
            params: ({ event }) => ({ type: 'run.failed', data: { reason: event.reason, detail: event.detail, failedAt: event.meta.issuedAt } }),
          },
        },
        timeOut: {
          actions: {
            type: 'record',
            params: ({ event }) => ({ type: 'run.timed_out', data: { limit: event.limit, limitMs: event.limitMs, timedOutAt: event.meta.issuedAt } }),
          },
        },
        interrupt: {
          actions: {
            type: 'record',
            params: ({ event }) => ({
              type: 'run.interrupted',
              data: { reason: event.reason, detail: event.detail ?? null, interruptedAt: event.meta.issuedAt },
            }),
          },
        },

        'run.model_called': {
          actions: { type: 'applyModelCall', params: ({ event }) => ({ tokens: event.data.tokens, costUsd: event.data.costUsd }) },
        },
        'run.tool_called': { actions: { type: 'applyToolCall' } },
        'run.completed': {
          target: 'finished.completed',
          actions: { type: 'applyOutcome', params: ({ event }) => ({ status: 'completed' as const, summary: event.data.summary }) },
        },
        'run.failed': {
          target: 'finished.failed',
          actions: { type: 'applyOutcome', params: ({ event }) => ({ status: 'failed' as const, reason: event.data.reason, detail: event.data.detail }) },
        },
        'run.timed_out': {
          target: 'finished.timed_out',
          actions: { type: 'applyOutcome', params: ({ event }) => ({ status: 'timed_out' as const, limit: event.data.limit, limitMs: event.data.limitMs }) },
        },
        'run.interrupted': {
          target: 'finished.interrupted',
          actions: { type: 'applyOutcome', params: ({ event }) => ({ status: 'interrupted' as const, reason: event.data.reason, detail: event.data.detail }) },
        },
      },
    },

    /**
     * Final: each command is rejected, naming how the run ended. However it ended, the
     * slot goes back to the supervisor and the outcome to whoever asked for the run.
     */
    finished: {
      entry: [
        { type: 'releaseSlot', params: ({ context }) => slotParams(context) },
        { type: 'reportOutcome', params: ({ context }) => reportOutcomeParams(context, outcomeOf(context)) },
      ],
      on: {
        queue: { actions: { type: 'reject', params: ({ context }) => ({ reason: finishedReason(context, 'queued again') }) } },
        grantSlot: { actions: { type: 'reject', params: ({ context }) => ({ reason: finishedReason(context, 'granted a slot') }) } },
        reportStarted: { actions: { type: 'reject', params: ({ context }) => ({ reason: finishedReason(context, 'started') }) } },
        complete: { actions: { type: 'reject', params: ({ context }) => ({ reason: finishedReason(context, 'completed') }) } },
        fail: { actions: { type: 'reject', params: ({ context }) => ({ reason: finishedReason(context, 'failed') }) } },
        timeOut: { actions: { type: 'reject', params: ({ context }) => ({ reason: finishedReason(context, 'timed out') }) } },
        interrupt: { actions: { type: 'reject', params: ({ context }) => ({ reason: finishedReason(context, 'interrupted') }) } },
      },
      initial: 'completed',
      states: {
        completed: {},
        failed: {},
        timed_out: {},
        interrupted: {},
      },
    },
  },
});

function outcomeOf(context: RunContext): RunOutcome {
  if (context.outcome === null) throw new Error(`run ${context.id} ended without an outcome`);
  return context.outcome;
}

function finishedReason(context: RunContext, what: string): string {
  return `the run ${describeOutcome(context.outcome)}; a finished run cannot be ${what}`;
}

export const runKind = defineActorKind({
  kind: 'run',
  machine: runMachine,
  commands: runCommands,
  events: runEvents,
  effects: ['requestSlot', 'startContainer', 'reconcileContainer', 'releaseSlot', 'reportOutcome'],
  input: (id: string) => ({ id }),
  /**
   * After a restart: a queued run asks for its slot again, a starting run for its
   * container, and a running run has its container reconciled (the host decides later
   * whether to re-attach or interrupt). A finished run owes nothing.
   */
  pendingEffects: (snapshot): readonly EffectRequest[] => {
    const context = snapshot.context;
    if (snapshot.matches('queued')) return [{ type: 'requestSlot', params: slotParams(context) }];
    if (snapshot.matches('starting')) return [{ type: 'startContainer', params: slotParams(context) }];
    if (snapshot.matches('running')) return [{ type: 'reconcileContainer', params: { runId: context.id } }];
    return [];
  },
});
