/**
 * The actor kind the actors benchmark hosts: a conversation that records messages (the
 * events suite's `bench.recorded` payload) and keeps in its context what a group actor
 * keeps of its thread: counts, the last message, and a short window of recent authors.
 * Without the counter's limit, so a stream can be as long as the benchmark needs.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { defineActorKind, type CommandMeta, type FoldedEvent, type RecordParams, type RejectParams } from '../../actors/actor-kind.js';
import type { NewEvent } from '../../events/envelope.js';
import { benchEvent, benchRecorded, type BenchMessage } from './bench-catalogue.js';

const RECENT_AUTHORS = 5;

const recordCommand = z
  .object({
    type: z.literal('record'),
    conversationId: z.uuid(),
    messageId: z.string().min(1).max(64),
    author: z.string().min(1).max(64),
    text: z.string().max(2_000),
    tokens: z.number().int().nonnegative(),
  })
  .strict();
const commands = z.discriminatedUnion('type', [recordCommand]);

type Command = z.infer<typeof commands> & { meta: CommandMeta };
type Event = FoldedEvent<'bench.recorded', BenchMessage>;

interface Context {
  readonly id: string;
  readonly messages: number;
  readonly tokens: number;
  readonly lastMessageId: string | null;
  readonly recentAuthors: readonly string[];
}

const benchMachine = setup({
  types: {} as { context: Context; events: Command | Event; input: { id: string } },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},
    addMessage: assign(({ context, event }) => {
      if (event.type !== 'bench.recorded') return {};
      return {
        messages: context.messages + 1,
        tokens: context.tokens + event.data.tokens,
        lastMessageId: event.data.messageId,
        recentAuthors: [...context.recentAuthors, event.data.author].slice(-RECENT_AUTHORS),
      };
    }),
  },
}).createMachine({
  id: 'bench',
  context: ({ input }) => ({ id: input.id, messages: 0, tokens: 0, lastMessageId: null, recentAuthors: [] }),
  initial: 'active',
  states: {
    active: {
      on: {
        record: {
          actions: {
            type: 'record',
            params: ({ event }) => {
              const { type: _type, meta: _meta, ...data } = event;
              return { type: 'bench.recorded', data };
            },
          },
        },
        'bench.recorded': { actions: 'addMessage' },
      },
    },
  },
});

export const benchKind = defineActorKind({
  kind: 'bench',
  machine: benchMachine,
  commands,
  events: [benchRecorded],
  effects: [],
  input: (id: string) => ({ id }),
});

/** The `seq`-th message of actor `actor`: as a command for the host, and as the event it records. */
export function benchMessage(actor: number, seq: number, conversationId: string): { command: z.infer<typeof recordCommand>; event: NewEvent } {
  const event = benchEvent(actor, seq, conversationId);
  return { command: { type: 'record', ...event.data }, event };
}
