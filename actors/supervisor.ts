/**
 * The supervisor actor, on the single stream `supervisor` (actor id `''`, which the host
 * maps to the bare kind; see SUPERVISOR_ID). It owns run concurrency: at most
 * `maxConcurrentRuns` runs hold a slot at once, and at most `maxRunsPerGroup` of one group.
 *
 * Runs wait in one queue in the order they asked. Dispatch walks the queue from the front
 * and hands a slot to every run whose group is under its limit, until the global limit is
 * reached: first come, first served, except that a run whose group is full does not hold
 * up runs of other groups behind it.
 *
 * Dispatching happens in the same decision as whatever freed or added capacity:
 * `requestRun` records `run_queued` and, if a slot is free, `run_dispatched`; `releaseRun`
 * records `run_released` and the dispatch of the next eligible run; `configure` records
 * the new limits and every dispatch they allow. So after every decision no queued run
 * could have been given a slot.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import { supervisorEvents, supervisorIdentifierSchema, supervisorLimitSchema } from '../events/catalogue/supervisor.js';
import { defineActorKind, type CommandMeta, type EffectRequest, type FoldedEvent, type RecordParams, type RejectParams } from './actor-kind.js';

/** The supervisor's actor id: the host maps `''` to the stream `supervisor`. */
export const SUPERVISOR_ID = '';

export const DEFAULT_MAX_CONCURRENT_RUNS = 4;
export const DEFAULT_MAX_RUNS_PER_GROUP = 1;

export const supervisorCommands = z.discriminatedUnion('type', [
  z.object({ type: z.literal('configure'), maxConcurrentRuns: supervisorLimitSchema, maxRunsPerGroup: supervisorLimitSchema }).strict(),
  /** A queued run asks for a slot. */
  z.object({ type: z.literal('requestRun'), runId: supervisorIdentifierSchema, groupId: supervisorIdentifierSchema }).strict(),
  /** A run that held a slot ended. */
  z.object({ type: z.literal('releaseRun'), runId: supervisorIdentifierSchema }).strict(),
]);

export type SupervisorCommand = z.infer<typeof supervisorCommands> & { readonly meta: CommandMeta };

type FoldedFrom<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;
export type SupervisorEvent = FoldedFrom<(typeof supervisorEvents)[number]>;

export interface QueuedRun {
  readonly runId: string;
  readonly groupId: string;
  readonly queuedAt: string;
}

export interface ActiveRun {
  readonly runId: string;
  readonly groupId: string;
  readonly dispatchedAt: string;
}

export interface SupervisorLimits {
  readonly maxConcurrentRuns: number;
  readonly maxRunsPerGroup: number;
}

export interface SupervisorContext extends SupervisorLimits {
  /** Runs waiting for a slot, oldest first. */
  readonly queue: readonly QueuedRun[];
  /** Runs holding a slot, in the order they were dispatched. */
  readonly active: readonly ActiveRun[];
}

/** The params of the `grantSlot` effect. */
export interface GrantSlotParams {
  readonly runId: string;
  readonly groupId: string;
}

/**
 * The queued runs that get a slot now, in queue order: each run whose group is under
 * `maxRunsPerGroup`, until `maxConcurrentRuns` runs hold a slot.
 */
export function runsToDispatch(queue: readonly QueuedRun[], active: readonly { readonly groupId: string }[], limits: SupervisorLimits): QueuedRun[] {
  const perGroup = new Map<string, number>();
  for (const run of active) perGroup.set(run.groupId, (perGroup.get(run.groupId) ?? 0) + 1);
  let holding = active.length;
  const dispatched: QueuedRun[] = [];
  for (const run of queue) {
    if (holding >= limits.maxConcurrentRuns) break;
    const inGroup = perGroup.get(run.groupId) ?? 0;
    if (inGroup >= limits.maxRunsPerGroup) continue;
    dispatched.push(run);
    perGroup.set(run.groupId, inGroup + 1);
    holding += 1;
  }
  return dispatched;
}

function dispatchRecords(queue: readonly QueuedRun[], active: readonly ActiveRun[], limits: SupervisorLimits, at: string): RecordParams[] {
  return runsToDispatch(queue, active, limits).map((run) => ({
    type: 'supervisor.run_dispatched',
    data: { runId: run.runId, groupId: run.groupId, dispatchedAt: at },
  }));
}

const supervisorSetup = setup({
  types: {} as { context: SupervisorContext; events: SupervisorCommand | SupervisorEvent; input: unknown },
  guards: {
    isQueued: ({ context }, params: { runId: string }) => context.queue.some((run) => run.runId === params.runId),
    holdsSlot: ({ context }, params: { runId: string }) => context.active.some((run) => run.runId === params.runId),
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},

    applyConfigured: assign((_, params: SupervisorLimits) => ({
      maxConcurrentRuns: params.maxConcurrentRuns,
      maxRunsPerGroup: params.maxRunsPerGroup,
    })),
    applyQueued: assign(({ context }, params: QueuedRun) => ({
      queue: [...context.queue.filter((run) => run.runId !== params.runId), params],
    })),
    applyDispatched: assign(({ context }, params: ActiveRun) => ({
      queue: context.queue.filter((run) => run.runId !== params.runId),
      active: [...context.active.filter((run) => run.runId !== params.runId), params],
    })),
    applyReleased: assign(({ context }, params: { runId: string }) => ({
      queue: context.queue.filter((run) => run.runId !== params.runId),
      active: context.active.filter((run) => run.runId !== params.runId),
    })),

    /**
     * Effect: send run `runId` its `grantSlot` command, so it starts its container.
     * Idempotent: a run already past `queued` rejects it, which counts as done; and if that
     * run has already finished, the executor sends the supervisor `releaseRun` for it, so a
     * slot whose release was lost in a crash comes back.
     */
    grantSlot: (_, _params: GrantSlotParams) => {},
  },
});

/**
 * The command decisions that record a variable number of events (a dispatch for every run
 * that gets a slot); declared on top of the base setup so `enqueue` knows the `record` action.
 */
const supervisorDecisions = supervisorSetup.extend({
  actions: {
    /** `supervisor.configured`, then the dispatch of every queued run the new limits allow. */
    recordConfiguredAndDispatch: supervisorSetup.enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'configure') return;
      const limits = { maxConcurrentRuns: event.maxConcurrentRuns, maxRunsPerGroup: event.maxRunsPerGroup };
      enqueue({ type: 'record', params: { type: 'supervisor.configured', data: limits } });
      for (const record of dispatchRecords(context.queue, context.active, limits, event.meta.issuedAt)) enqueue({ type: 'record', params: record });
    }),
    /** `supervisor.run_queued`, then `supervisor.run_dispatched` if a slot is free for it. */
    recordQueuedAndDispatch: supervisorSetup.enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'requestRun') return;
      const queuedRun = { runId: event.runId, groupId: event.groupId, queuedAt: event.meta.issuedAt };
      enqueue({ type: 'record', params: { type: 'supervisor.run_queued', data: queuedRun } });
      for (const record of dispatchRecords([...context.queue, queuedRun], context.active, context, event.meta.issuedAt)) {
        enqueue({ type: 'record', params: record });
      }
    }),
    /** `supervisor.run_released`, then the dispatch of the next eligible queued run. */
    recordReleasedAndDispatch: supervisorSetup.enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'releaseRun') return;
      const released = context.active.find((run) => run.runId === event.runId);
      if (released === undefined) return;
      enqueue({
        type: 'record',
        params: { type: 'supervisor.run_released', data: { runId: released.runId, groupId: released.groupId, releasedAt: event.meta.issuedAt } },
      });
      const stillActive = context.active.filter((run) => run.runId !== event.runId);
      for (const record of dispatchRecords(context.queue, stillActive, context, event.meta.issuedAt)) enqueue({ type: 'record', params: record });
    }),
  },
});

export const supervisorMachine = supervisorDecisions.createMachine({
  id: 'supervisor',
  context: {
    maxConcurrentRuns: DEFAULT_MAX_CONCURRENT_RUNS,
    maxRunsPerGroup: DEFAULT_MAX_RUNS_PER_GROUP,
    queue: [],
    active: [],
  },
  initial: 'supervising',
  states: {
    supervising: {
      on: {
        configure: { actions: 'recordConfiguredAndDispatch' },
        requestRun: [
          {
            guard: { type: 'isQueued', params: ({ event }) => ({ runId: event.runId }) },
            actions: { type: 'reject', params: ({ event }) => ({ reason: `run ${event.runId} is already queued for a slot` }) },
          },
          {
            guard: { type: 'holdsSlot', params: ({ event }) => ({ runId: event.runId }) },
            actions: { type: 'reject', params: ({ event }) => ({ reason: `run ${event.runId} already holds a slot` }) },
          },
          { actions: 'recordQueuedAndDispatch' },
        ],
        releaseRun: [
          {
            guard: { type: 'holdsSlot', params: ({ event }) => ({ runId: event.runId }) },
            actions: 'recordReleasedAndDispatch',
          },
          {
            guard: { type: 'isQueued', params: ({ event }) => ({ runId: event.runId }) },
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `run ${event.runId} is still queued; only a run that holds a slot can release it` }),
            },
          },
          {
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `run ${event.runId} is unknown to the supervisor: it is neither queued nor holding a slot` }),
            },
          },
        ],

        'supervisor.configured': {
          actions: { type: 'applyConfigured', params: ({ event }) => event.data },
        },
        'supervisor.run_queued': {
          actions: { type: 'applyQueued', params: ({ event }) => event.data },
        },
        'supervisor.run_dispatched': {
          actions: [
            { type: 'applyDispatched', params: ({ event }) => event.data },
            { type: 'grantSlot', params: ({ event }) => ({ runId: event.data.runId, groupId: event.data.groupId }) },
          ],
        },
        'supervisor.run_released': {
          actions: { type: 'applyReleased', params: ({ event }) => ({ runId: event.data.runId }) },
        },
      },
    },
  },
});

export const supervisorKind = defineActorKind({
  kind: 'supervisor',
  machine: supervisorMachine,
  commands: supervisorCommands,
  events: supervisorEvents,
  effects: ['grantSlot'],
  /** One supervisor: the id (always SUPERVISOR_ID) is not part of its state. */
  input: () => ({}),
  /**
   * After a restart, every run holding a slot is granted it again: a grant lost in a crash
   * is delivered, and a run that finished while its release was lost gives the slot back.
   */
  pendingEffects: (snapshot): readonly EffectRequest[] =>
    snapshot.context.active.map((run) => ({ type: 'grantSlot', params: { runId: run.runId, groupId: run.groupId } })),
});
