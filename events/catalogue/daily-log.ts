/**
 * Daily logs and consolidation: the second layer of a group's memory.
 *
 * A daily log is the evidence base behind facts: a short summary of what happened in a
 * group on one day, written by the agent (or the consolidation step) as
 * `memory.daily_log_written`. A day may have several entries; each is kept and indexed.
 *
 * Consolidation keeps a group's conversation from growing into raw context: once the
 * messages since the last consolidation exceed a token budget, the runtime records
 * `memory.consolidation_requested`; the consolidation step asks a model to distill new
 * facts and a daily-log entry from those messages, and records the facts (through the
 * memory actor), the daily log, and `memory.consolidated` naming what it produced and how
 * far it read, so the next window starts after `throughMessageId`. A scope's conversations
 * are its group and the group's Slack threads: each has its own stream and its own window
 * (the request names it as `conversationId`), and all are remembered in the group's scope.
 *
 * Answering a request (runtime/memory/consolidation-executor.ts) is recorded on the same
 * stream, each step once: `memory.consolidation_attempt_started` before a model call,
 * `memory.consolidation_model_called` with the call's tokens, cost and answer (so a restart
 * between the answer and its recording re-reads the answer instead of paying for it
 * again), `memory.consolidation_attempt_failed` for a model error or a malformed answer,
 * and, after too many failed attempts, `memory.consolidation_failed`: the request is
 * closed, and the next window may ask again. `requestId` is always the event id of the
 * request's `memory.consolidation_requested`.
 *
 * `scope` is always a group's memory scope, `group.<groupId>` (as in the stream name
 * `memory-group.<groupId>`): daily logs belong to groups, never to a user's private scope.
 * Read models take the scope from the data, not from the stream the events are stored on.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';
import { factIdSchema } from './memory.js';
import { tokenTotalsSchema } from './run.js';

/** `group.<groupId>`: the memory scope of a group. */
export const groupScopeSchema = z
  .string()
  .min(7)
  .max(262)
  .regex(/^group\.[\x21-\x7e]+$/, "expected a group's memory scope such as 'group.T1.C1'");

/** A calendar day, `YYYY-MM-DD` (UTC). */
export const logDaySchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, "expected a day such as '2026-01-05'");

/** A Slack message timestamp (`1712345678.000100`), the id of a message in its group. */
const messageIdSchema = z.string().regex(/^\d{1,12}\.\d{1,9}$/, "expected a Slack message timestamp such as '1712345678.000100'");

export const dailyLogSummarySchema = z
  .string()
  .min(1)
  .max(20_000)
  .refine((summary) => summary.trim().length > 0, 'a summary cannot be blank');

export const memoryDailyLogWritten = defineEvent(
  'memory.daily_log_written',
  1,
  z
    .object({
      scope: groupScopeSchema,
      day: logDaySchema,
      summary: dailyLogSummarySchema,
      /** Who wrote it: `agent:<run id>`, `agent:consolidation`, `user:U123`. */
      writtenBy: z.string().min(1).max(200),
    })
    .strict(),
);

/** The data of a v1 `memory.consolidation_requested`: the window was always the scope's own group's. */
const consolidationRequestDataV1Schema = z
  .object({
    scope: groupScopeSchema,
    reason: z.enum(['budget_exceeded']),
    /** The first message of the window to consolidate. */
    messagesSince: messageIdSchema,
    /** The last message of the window: the next window starts after it. */
    throughMessageId: messageIdSchema,
    messageCount: z.number().int().positive(),
    /** The window's size in tokens (estimated as ceil(chars / 4) per message). */
    tokenEstimate: z.number().int().nonnegative(),
    budgetTokens: z.number().int().positive(),
  })
  .strict();

/**
 * The data of `memory.consolidation_requested` (also the memory actor's `requestConsolidation`
 * command's request). `conversationId` is the group whose stream (`group-<conversationId>`)
 * the window's messages are on: the scope's own group, or one of its Slack threads, whose
 * talk is remembered in its channel's scope (a thread has no memory of its own).
 */
export const consolidationRequestDataSchema = consolidationRequestDataV1Schema
  .extend({
    conversationId: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[\x21-\x7e]+$/, "expected a group id such as 'T1.C1' or 'T1.C1.1712345678.000100'"),
  })
  .strict();

/** v2 adds `conversationId`; every v1 request read its window from the scope's own group. */
export const memoryConsolidationRequested = defineEvent('memory.consolidation_requested', 1, consolidationRequestDataV1Schema).evolve(
  2,
  consolidationRequestDataSchema,
  (v1) => ({ ...v1, conversationId: v1.scope.slice('group.'.length) }),
);

export const memoryConsolidated = defineEvent(
  'memory.consolidated',
  1,
  z
    .object({
      scope: groupScopeSchema,
      /** The facts recorded from the window (possibly none). */
      factIds: z.array(factIdSchema).max(200),
      /** The day of the daily-log entry written from the window. */
      dailyLogDay: logDaySchema,
      /** The last message consolidated. */
      throughMessageId: messageIdSchema,
    })
    .strict(),
);

/** The event id of a `memory.consolidation_requested`: what every step of answering it names. */
export const consolidationRequestIdSchema = z.string().min(1).max(200);

/** Why an attempt or a request failed, in words. */
const consolidationFailureReasonSchema = z.string().min(1).max(4_000);

/** The answer text of a consolidation's model call, as recorded. */
export const CONSOLIDATION_ANSWER_LIMIT = 100_000;

export const memoryConsolidationAttemptStarted = defineEvent(
  'memory.consolidation_attempt_started',
  1,
  z.object({ requestId: consolidationRequestIdSchema, attempt: z.number().int().positive() }).strict(),
);

/** What one consolidation model call cost, as its command carries it and its event records it. */
export const consolidationModelCallSchema = z
  .object({
    model: z.string().min(1).max(200),
    tokens: tokenTotalsSchema,
    /** In US dollars; null when the model has no known price. */
    costUsd: z.number().nonnegative().nullable(),
    latencyMs: z.number().int().nonnegative(),
    /** HTTP attempts: more than 1 when a 429 or 529 was retried. */
    httpAttempts: z.number().int().min(1),
    stopReason: z.string().max(100).nullable(),
  })
  .strict();

/** A consolidation's model call: what it cost (charged to the group's daily budget) and what it answered. */
export const memoryConsolidationModelCalled = defineEvent(
  'memory.consolidation_model_called',
  1,
  consolidationModelCallSchema
    .extend({
      requestId: consolidationRequestIdSchema,
      attempt: z.number().int().positive(),
      /** The model's text, cut to CONSOLIDATION_ANSWER_LIMIT characters. */
      answer: z.string().max(CONSOLIDATION_ANSWER_LIMIT),
      calledAt: z.iso.datetime(),
    })
    .strict(),
);

export const memoryConsolidationAttemptFailed = defineEvent(
  'memory.consolidation_attempt_failed',
  1,
  z.object({ requestId: consolidationRequestIdSchema, attempt: z.number().int().positive(), reason: consolidationFailureReasonSchema }).strict(),
);

/** The request ended without a consolidation; the window it named is asked for again by the next request. */
export const memoryConsolidationFailed = defineEvent(
  'memory.consolidation_failed',
  1,
  z
    .object({
      scope: groupScopeSchema,
      requestId: consolidationRequestIdSchema,
      throughMessageId: messageIdSchema,
      attempts: z.number().int().nonnegative(),
      reason: consolidationFailureReasonSchema,
    })
    .strict(),
);

export const dailyLogEvents = [
  memoryDailyLogWritten,
  memoryConsolidationRequested,
  memoryConsolidated,
  memoryConsolidationAttemptStarted,
  memoryConsolidationModelCalled,
  memoryConsolidationAttemptFailed,
  memoryConsolidationFailed,
];
