/**
 * The memory actor's part in consolidation (see events/catalogue/daily-log.ts): the one
 * open request of a group's scope and how far answering it got, folded from the stream, and
 * the commands that move it on. Pure; actors/memory.ts wires it into the machine.
 *
 * A scope has at most one open request, for one of its conversations (its group's own, or a
 * thread's: a thread is remembered in its channel's scope, so a request for a conversation
 * of another group is refused). It opens with `memory.consolidation_requested` and closes
 * with `memory.consolidated` or `memory.consolidation_failed`; in between, each
 * attempt is started, then answered (the model's answer recorded) or failed. The steps must
 * come in that order and name the open request, so a late or repeated step from an earlier
 * attempt is refused rather than folded.
 */
import { z } from 'zod';
import {
  consolidationRequestDataSchema,
  consolidationModelCallSchema,
  consolidationRequestIdSchema,
  CONSOLIDATION_ANSWER_LIMIT,
  dailyLogSummarySchema,
  logDaySchema,
  type memoryConsolidated,
  type memoryConsolidationAttemptFailed,
  type memoryConsolidationAttemptStarted,
  type memoryConsolidationFailed,
  type memoryConsolidationModelCalled,
  type memoryConsolidationRequested,
} from '../events/catalogue/daily-log.js';
import { factIdSchema } from '../events/catalogue/memory.js';
import type { EventDefinition } from '../events/catalogue.js';
import type { FoldedEvent } from './actor-kind.js';
import { homeGroupId } from './group.js';

const attemptSchema = z.number().int().positive().max(1_000);
const reasonSchema = z.string().min(1).max(4_000);

/** The consolidation commands of the memory actor (sent by the trigger and the consolidation executor). */
export const consolidationCommandSchemas = [
  z.object({ type: z.literal('requestConsolidation'), request: consolidationRequestDataSchema }).strict(),
  z.object({ type: z.literal('startConsolidationAttempt'), requestId: consolidationRequestIdSchema, attempt: attemptSchema }).strict(),
  z
    .object({
      type: z.literal('noteConsolidationAnswer'),
      requestId: consolidationRequestIdSchema,
      attempt: attemptSchema,
      call: consolidationModelCallSchema,
      answer: z.string().max(CONSOLIDATION_ANSWER_LIMIT),
    })
    .strict(),
  z.object({ type: z.literal('failConsolidationAttempt'), requestId: consolidationRequestIdSchema, attempt: attemptSchema, reason: reasonSchema }).strict(),
  z.object({ type: z.literal('failConsolidation'), requestId: consolidationRequestIdSchema, reason: reasonSchema }).strict(),
  z
    .object({
      type: z.literal('completeConsolidation'),
      requestId: consolidationRequestIdSchema,
      /** The facts the memory actor took from the answer (a duplicate it refused is left out). */
      factIds: z.array(factIdSchema).max(200),
      dailyLog: z.object({ day: logDaySchema, summary: dailyLogSummarySchema, writtenBy: z.string().min(1).max(200) }).strict(),
    })
    .strict(),
] as const;

export type ConsolidationCommand = z.infer<(typeof consolidationCommandSchemas)[number]>;

/** The open request of a scope and how far answering it got. */
export interface OpenConsolidation {
  /** The event id of its `memory.consolidation_requested`. */
  readonly requestId: string;
  /** The group whose stream holds the window: the scope's group or one of its threads. */
  readonly conversationId: string;
  readonly messagesSince: string;
  readonly throughMessageId: string;
  /** Attempts started, and of those, failed: one started and not failed is under way (or was cut off by a crash). */
  readonly attemptsStarted: number;
  readonly attemptsFailed: number;
  /** Why the latest attempt failed. */
  readonly lastFailure: string | null;
  /** The recorded answer of the attempt under way, not yet recorded as facts. */
  readonly answer: { readonly attempt: number; readonly text: string } | null;
}

type Folded<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;

export type ConsolidationStoredEvent =
  | Folded<typeof memoryConsolidationRequested>
  | Folded<typeof memoryConsolidationAttemptStarted>
  | Folded<typeof memoryConsolidationModelCalled>
  | Folded<typeof memoryConsolidationAttemptFailed>
  | Folded<typeof memoryConsolidationFailed>
  | Folded<typeof memoryConsolidated>;

const CONSOLIDATION_EVENT_TYPES: ReadonlySet<string> = new Set<ConsolidationStoredEvent['type']>([
  'memory.consolidation_requested',
  'memory.consolidation_attempt_started',
  'memory.consolidation_model_called',
  'memory.consolidation_attempt_failed',
  'memory.consolidation_failed',
  'memory.consolidated',
]);

export const isConsolidationEvent = (event: { type: string }): event is ConsolidationStoredEvent => CONSOLIDATION_EVENT_TYPES.has(event.type);

export const isConsolidationCommand = (event: { type: string }): event is ConsolidationCommand & { type: string } =>
  consolidationCommandSchemas.some((schema) => schema.shape.type.value === event.type);

/** Why the command cannot move the scope's consolidation on now, or null when it can. */
export function consolidationStepRefusal(scope: string, open: OpenConsolidation | null, command: ConsolidationCommand): string | null {
  if (command.type === 'requestConsolidation') {
    if (command.request.scope !== scope) return `the request is for ${command.request.scope}; this is the memory of ${scope}`;
    const home = `group.${homeGroupId(command.request.conversationId)}`;
    if (home !== scope) return `conversation ${command.request.conversationId} is remembered in ${home}, not in ${scope}`;
    return open ? `consolidation ${open.requestId} (through ${open.throughMessageId}) is still open; one request at a time` : null;
  }
  if (!open || open.requestId !== command.requestId) return `consolidation ${command.requestId} is not open${open ? `; ${open.requestId} is` : ''}`;
  const underWay = open.attemptsStarted > open.attemptsFailed;
  switch (command.type) {
    case 'startConsolidationAttempt':
      if (underWay) return `attempt ${open.attemptsStarted} is under way; fail it before starting another`;
      return command.attempt === open.attemptsStarted + 1 ? null : `the next attempt is ${open.attemptsStarted + 1}, not ${command.attempt}`;
    case 'noteConsolidationAnswer':
      if (!underWay || command.attempt !== open.attemptsStarted) return `attempt ${command.attempt} is not under way`;
      return open.answer ? `attempt ${command.attempt} was answered already` : null;
    case 'failConsolidationAttempt':
      return underWay && command.attempt === open.attemptsStarted ? null : `attempt ${command.attempt} is not under way`;
    case 'failConsolidation':
      return null;
    case 'completeConsolidation':
      return open.answer ? null : `consolidation ${command.requestId} has no recorded answer to complete from`;
  }
}

/** The open consolidation after a stored event (unchanged by any other event). */
export function foldConsolidation(open: OpenConsolidation | null, event: ConsolidationStoredEvent): OpenConsolidation | null {
  switch (event.type) {
    case 'memory.consolidation_requested':
      return {
        requestId: event.meta.eventId,
        conversationId: event.data.conversationId,
        messagesSince: event.data.messagesSince,
        throughMessageId: event.data.throughMessageId,
        attemptsStarted: 0,
        attemptsFailed: 0,
        lastFailure: null,
        answer: null,
      };
    case 'memory.consolidation_attempt_started':
      return open && { ...open, attemptsStarted: event.data.attempt, answer: null };
    case 'memory.consolidation_model_called':
      return open && { ...open, answer: { attempt: event.data.attempt, text: event.data.answer } };
    case 'memory.consolidation_attempt_failed':
      return open && { ...open, attemptsFailed: event.data.attempt, lastFailure: event.data.reason, answer: null };
    case 'memory.consolidation_failed':
    case 'memory.consolidated':
      return null;
  }
}

/** The events a consolidation command records (the refusals are `consolidationStepRefusal`'s). */
export function consolidationStepEvents(
  scope: string,
  open: OpenConsolidation | null,
  command: ConsolidationCommand,
  issuedAt: string,
): { type: string; data: unknown }[] {
  switch (command.type) {
    case 'requestConsolidation':
      return [{ type: 'memory.consolidation_requested', data: command.request }];
    case 'startConsolidationAttempt':
      return [{ type: 'memory.consolidation_attempt_started', data: { requestId: command.requestId, attempt: command.attempt } }];
    case 'noteConsolidationAnswer':
      return [
        {
          type: 'memory.consolidation_model_called',
          data: { requestId: command.requestId, attempt: command.attempt, ...command.call, answer: command.answer, calledAt: issuedAt },
        },
      ];
    case 'failConsolidationAttempt':
      return [{ type: 'memory.consolidation_attempt_failed', data: { requestId: command.requestId, attempt: command.attempt, reason: command.reason } }];
    case 'failConsolidation':
      return [
        {
          type: 'memory.consolidation_failed',
          data: { scope, requestId: command.requestId, throughMessageId: open?.throughMessageId ?? '0.0', attempts: open?.attemptsStarted ?? 0, reason: command.reason },
        },
      ];
    case 'completeConsolidation':
      return [
        { type: 'memory.daily_log_written', data: { scope, ...command.dailyLog } },
        {
          type: 'memory.consolidated',
          data: { scope, factIds: command.factIds, dailyLogDay: command.dailyLog.day, throughMessageId: open?.throughMessageId ?? '0.0' },
        },
      ];
  }
}
