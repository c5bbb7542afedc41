/**
 * The instructions actor, on stream `instructions-<scope>` (scope `company` or
 * `group.<groupId>`): the record of which standing instructions a scope had, and since when.
 *
 * The file (COMPANY.md, a group's INSTRUCTIONS.md) is what people edit; this actor keeps the
 * history of what the runtime saw in it. One command, `record`, with the text and its hash:
 * - a text whose hash differs from the current one records `instructions.changed`;
 * - the same hash again is rejected as unchanged, so whoever notices a change first (a run
 *   about to build its prompt, or `ledgerclaw instructions edit`) records it, and everyone
 *   after them records nothing;
 * - a hash that is not the text's sha256 is rejected: the event names its text by that hash.
 *
 * Before anything is recorded a scope has no instructions: NO_INSTRUCTIONS_HASH, the hash
 * of the empty text. No effects.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import {
  instructionsEvents,
  instructionsHash,
  instructionsHashSchema,
  instructionsScopeSchema,
  instructionsTextSchema,
  NO_INSTRUCTIONS_HASH,
} from '../events/catalogue/instructions.js';
import { defineActorKind, type CommandMeta, type FoldedEvent, type RecordParams, type RejectParams } from './actor-kind.js';

export const instructionsCommands = z.discriminatedUnion('type', [
  z.object({ type: z.literal('record'), hash: instructionsHashSchema, text: instructionsTextSchema, truncated: z.boolean() }).strict(),
]);
export type InstructionsCommand = z.infer<typeof instructionsCommands>;

type Folded<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;
type InstructionsEvent = Folded<(typeof instructionsEvents)[number]>;

export interface InstructionsContext {
  /** The actor id: `company` or `group.<groupId>`. */
  readonly scope: string;
  /** The current text's hash; NO_INSTRUCTIONS_HASH until a change is recorded. */
  readonly hash: string;
  readonly text: string;
  readonly truncated: boolean;
  /** When the current text was recorded, and by whom (`runtime`, `cli`); null before any. */
  readonly recordedAt: string | null;
  readonly recordedBy: string | null;
  /** Changes recorded so far. */
  readonly changes: number;
}

type RecordCommand = Extract<InstructionsCommand, { type: 'record' }> & { meta: CommandMeta };

const instructionsMachine = setup({
  types: {} as { context: InstructionsContext; events: (InstructionsCommand & { meta: CommandMeta }) | InstructionsEvent; input: { scope: string } },
  guards: {
    hasBadScope: ({ context }) => !instructionsScopeSchema.safeParse(context.scope).success,
    isUnchanged: ({ context, event }) => event.type === 'record' && event.hash === context.hash,
    hashIsNotTheText: ({ event }) => event.type === 'record' && instructionsHash(event.text) !== event.hash,
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},
    applyChanged: assign(({ context }, params: { hash: string; text: string; truncated: boolean; at: string; by: string }) => ({
      hash: params.hash,
      text: params.text,
      truncated: params.truncated,
      recordedAt: params.at,
      recordedBy: params.by,
      changes: context.changes + 1,
    })),
  },
}).createMachine({
  id: 'instructions',
  context: ({ input }) => ({ scope: input.scope, hash: NO_INSTRUCTIONS_HASH, text: '', truncated: false, recordedAt: null, recordedBy: null, changes: 0 }),
  initial: 'recording',
  states: {
    recording: {
      on: {
        record: [
          {
            guard: 'hasBadScope',
            actions: { type: 'reject', params: ({ context }) => ({ reason: `'${context.scope}' is not an instructions scope: expected 'company' or 'group.<group id>'` }) },
          },
          { guard: 'hashIsNotTheText', actions: { type: 'reject', params: { reason: "the hash is not the sha256 of the text's UTF-8 bytes" } } },
          { guard: 'isUnchanged', actions: { type: 'reject', params: ({ event }) => ({ reason: `unchanged: the instructions already have hash ${(event as RecordCommand).hash}` }) } },
          {
            actions: {
              type: 'record',
              params: ({ context, event }) => {
                const command = event as RecordCommand;
                return {
                  type: 'instructions.changed',
                  data: { scope: context.scope, hash: command.hash, text: command.text, truncated: command.truncated, previousHash: context.hash },
                };
              },
            },
          },
        ],
        'instructions.changed': {
          actions: {
            type: 'applyChanged',
            params: ({ event }) => ({ hash: event.data.hash, text: event.data.text, truncated: event.data.truncated, at: event.meta.occurredAt, by: event.meta.actor }),
          },
        },
      },
    },
  },
});

export const instructionsKind = defineActorKind({
  kind: 'instructions',
  machine: instructionsMachine,
  commands: instructionsCommands,
  events: instructionsEvents,
  effects: [],
  input: (scope: string) => ({ scope }),
});

/** The reason `record` gives for a hash the scope has already: not a failure for whoever noticed the change second. */
export function isUnchangedReason(reason: string): boolean {
  return reason.startsWith('unchanged:');
}
