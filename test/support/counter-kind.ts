/**
 * A small actor kind for host tests: a counter that can be incremented up to a limit,
 * reset and closed, and that asks for a `notifyLimit` effect when it reaches the limit.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { defineActorKind, type CommandMeta, type FoldedEvent, type RecordParams, type RejectParams } from '../../actors/actor-kind.js';
import { defineEvent, EventCatalogue } from '../../events/catalogue.js';

export const counterIncremented = defineEvent('counter.incremented', 1, z.object({ by: z.number().int().positive() }).strict());
export const counterReset = defineEvent('counter.reset', 1, z.object({}).strict());
export const counterClosed = defineEvent('counter.closed', 1, z.object({ reason: z.string() }).strict());
export const counterEvents = [counterIncremented, counterReset, counterClosed];
export const counterCatalogue = new EventCatalogue(counterEvents);

const commands = z.discriminatedUnion('type', [
  z.object({ type: z.literal('increment'), by: z.number().int().positive() }).strict(),
  z.object({ type: z.literal('reset') }).strict(),
  z.object({ type: z.literal('close'), reason: z.string().min(1) }).strict(),
]);
type Command = z.infer<typeof commands> & { meta: CommandMeta };
type Event =
  | FoldedEvent<'counter.incremented', { by: number }>
  | FoldedEvent<'counter.reset', Record<string, never>>
  | FoldedEvent<'counter.closed', { reason: string }>;

interface Context {
  readonly id: string;
  readonly count: number;
  readonly limit: number;
}

export const counterMachine = setup({
  types: {} as { context: Context; events: Command | Event; input: { id: string } },
  guards: {
    staysWithinLimit: ({ context, event }) => event.type === 'increment' && context.count + event.by <= context.limit,
    reachesLimit: ({ context, event }) => event.type === 'counter.incremented' && context.count + event.data.by >= context.limit,
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},
    addIncrement: assign({ count: ({ context, event }) => context.count + (event.type === 'counter.incremented' ? event.data.by : 0) }),
    clearCount: assign({ count: 0 }),
    /** The executor tells someone the counter is full; idempotent on the event. */
    notifyLimit: (_, _params: { id: string; count: number }) => {},
  },
}).createMachine({
  id: 'counter',
  context: ({ input }) => ({ id: input.id, count: 0, limit: 10 }),
  initial: 'open',
  states: {
    open: {
      on: {
        increment: [
          { guard: 'staysWithinLimit', actions: { type: 'record', params: ({ event }) => ({ type: 'counter.incremented', data: { by: event.by } }) } },
          { actions: { type: 'reject', params: ({ context }) => ({ reason: `the counter would pass its limit of ${context.limit}` }) } },
        ],
        reset: { actions: { type: 'record', params: { type: 'counter.reset', data: {} } } },
        close: { actions: { type: 'record', params: ({ event }) => ({ type: 'counter.closed', data: { reason: event.reason } }) } },
        'counter.incremented': [
          {
            guard: 'reachesLimit',
            actions: ['addIncrement', { type: 'notifyLimit', params: ({ context }) => ({ id: context.id, count: context.count }) }],
          },
          { actions: 'addIncrement' },
        ],
        'counter.reset': { actions: 'clearCount' },
        'counter.closed': { target: 'closed' },
      },
    },
    closed: {},
  },
});

export const counterKind = defineActorKind({
  kind: 'counter',
  machine: counterMachine,
  commands,
  events: counterEvents,
  effects: ['notifyLimit'],
  input: (id: string) => ({ id }),
  pendingEffects: (snapshot) =>
    snapshot.value === 'open' && snapshot.context.count >= snapshot.context.limit
      ? [{ type: 'notifyLimit', params: { id: snapshot.context.id, count: snapshot.context.count } }]
      : [],
});

export type CounterKind = typeof counterKind;
