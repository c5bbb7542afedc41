/**
 * Consolidation: turning a group's conversation into memory before it grows into raw
 * context. Pure decisions and one model step, no store and no clock: the runtime reads a
 * conversation's messages since its last consolidation (runtime/consolidation-trigger.ts;
 * a conversation is a group or one of its threads, remembered in the group's scope), asks
 * `decideConsolidation` whether the window is over its token budget, and has the group's
 * memory actor record `memory.consolidation_requested` when it is. The consolidation
 * executor (runtime/memory/consolidation-executor.ts) then asks the model with
 * `consolidationPrompt`, checks the answer with `readConsolidationAnswer`, and records what
 * it returns: the facts (as `recordFact` commands to the memory actor of the group's
 * scope), the daily-log entry, and `memory.consolidated`.
 *
 * The model must answer JSON: new facts, each with a key, a statement, an agent
 * confidence, a category and the message it came from, and a summary for the day's log.
 * The answer is validated with zod; a malformed answer is a `ConsolidationError` naming
 * what is wrong, and nothing is returned to record. Fact ids are derived from the request's
 * id and the fact's place in the answer, so recording a resumed consolidation twice stores
 * each fact once (the memory actor refuses a used id).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { StoredEvent } from '../events/envelope.js';
import { groupMessageReceived } from '../events/catalogue/group.js';
import { factCategorySchema, factKeySchema, factStatementSchema, type FactCategory } from '../events/catalogue/memory.js';
import { dailyLogSummarySchema, groupScopeSchema, logDaySchema } from '../events/catalogue/daily-log.js';
import { estimateTokens } from './chunking.js';

/** The default token budget of a group's unconsolidated conversation. */
export const DEFAULT_CONSOLIDATION_BUDGET_TOKENS = 8_000;
/** Most facts one consolidation may record. */
export const MAX_FACTS_PER_CONSOLIDATION = 50;
/** Most known facts a prompt lists (the newest): what MEMORY.md shows an agent, at most. */
export const MAX_KNOWN_FACTS_IN_PROMPT = 200;

export class ConsolidationError extends Error {
  override readonly name = 'ConsolidationError';
}

/** One message of a group's conversation. */
export interface ConversationMessage {
  /** Its Slack timestamp, the message's id in the group. */
  readonly messageId: string;
  readonly sender: string;
  readonly text: string;
  readonly occurredAt: string;
  /** Its size in tokens when known; else estimated as ceil(chars / 4) of `sender: text`. */
  readonly tokens?: number;
}

/** Orders Slack timestamps (`1712345678.000100`) numerically. */
export function compareMessageIds(left: string, right: string): number {
  const [leftSeconds = '0', leftFraction = ''] = left.split('.');
  const [rightSeconds = '0', rightFraction = ''] = right.split('.');
  const seconds = BigInt(leftSeconds) - BigInt(rightSeconds);
  if (seconds !== 0n) return seconds < 0n ? -1 : 1;
  const width = Math.max(leftFraction.length, rightFraction.length);
  const fraction = BigInt(leftFraction.padEnd(width, '0') || '0') - BigInt(rightFraction.padEnd(width, '0') || '0');
  return fraction === 0n ? 0 : fraction < 0n ? -1 : 1;
}

/**
 * The messages of a group's stream (its `group.message_received` events; other events
 * are skipped) after `afterMessageId` (exclusive; null: from the start), in message order.
 */
export function conversationSince(groupEvents: readonly StoredEvent[], afterMessageId: string | null): ConversationMessage[] {
  const messages: ConversationMessage[] = [];
  for (const event of groupEvents) {
    if (event.type !== groupMessageReceived.type) continue;
    const data = event.data as { messageId: string; sender: string; text: string };
    if (afterMessageId !== null && compareMessageIds(data.messageId, afterMessageId) <= 0) continue;
    messages.push({ messageId: data.messageId, sender: data.sender, text: data.text, occurredAt: event.metadata.occurredAt });
  }
  return messages.sort((left, right) => compareMessageIds(left.messageId, right.messageId));
}

export function messageTokens(message: ConversationMessage): number {
  return message.tokens ?? estimateTokens(`${message.sender}: ${message.text}`);
}

/** The data of `memory.consolidation_requested`. */
export interface ConsolidationRequestedData {
  readonly scope: string;
  /** The group whose stream holds the window: the scope's group or one of its threads. */
  readonly conversationId: string;
  readonly reason: 'budget_exceeded';
  readonly messagesSince: string;
  readonly throughMessageId: string;
  readonly messageCount: number;
  readonly tokenEstimate: number;
  readonly budgetTokens: number;
}

export type ConsolidationDecision =
  | { readonly due: true; readonly tokenEstimate: number; readonly budgetTokens: number; readonly request: ConsolidationRequestedData }
  | {
      readonly due: false;
      readonly tokenEstimate: number;
      readonly budgetTokens: number;
      /** `within_budget`: not yet; `already_requested`: a request is pending; `no_messages`: nothing to consolidate. */
      readonly reason: 'within_budget' | 'already_requested' | 'no_messages';
    };

export interface ConsolidationTriggerInput {
  /** The group's memory scope, `group.<groupId>`. */
  readonly scope: string;
  /** The group whose messages these are: by default the scope's own; a thread's id for a thread of it. */
  readonly conversationId?: string;
  /** The conversation since its last consolidation (see `conversationSince`). */
  readonly messages: readonly ConversationMessage[];
  /** Default 8,000 tokens. A consolidation is due once the messages exceed it. */
  readonly budgetTokens?: number;
  /** A request was recorded and has not been consolidated yet: do not ask again. */
  readonly pendingRequest?: boolean;
}

/**
 * Whether the conversation since the last consolidation is over budget: due when its
 * estimated tokens exceed `budgetTokens` (strictly), with the request to record.
 */
export function decideConsolidation(input: ConsolidationTriggerInput): ConsolidationDecision {
  const scope = groupScopeSchema.safeParse(input.scope);
  if (!scope.success) throw new ConsolidationError(`'${input.scope}' is not a group's memory scope; expected 'group.<groupId>'`);
  const budgetTokens = input.budgetTokens ?? DEFAULT_CONSOLIDATION_BUDGET_TOKENS;
  if (!Number.isInteger(budgetTokens) || budgetTokens < 1) throw new ConsolidationError(`the consolidation budget must be a positive whole number of tokens, not ${budgetTokens}`);
  const tokenEstimate = input.messages.reduce((sum, message) => sum + messageTokens(message), 0);
  const first = input.messages[0];
  const last = input.messages[input.messages.length - 1];
  if (!first || !last) return { due: false, tokenEstimate, budgetTokens, reason: 'no_messages' };
  if (input.pendingRequest) return { due: false, tokenEstimate, budgetTokens, reason: 'already_requested' };
  if (tokenEstimate <= budgetTokens) return { due: false, tokenEstimate, budgetTokens, reason: 'within_budget' };
  return {
    due: true,
    tokenEstimate,
    budgetTokens,
    request: {
      scope: input.scope,
      conversationId: input.conversationId ?? input.scope.slice('group.'.length),
      reason: 'budget_exceeded',
      messagesSince: first.messageId,
      throughMessageId: last.messageId,
      messageCount: input.messages.length,
      tokenEstimate,
      budgetTokens,
    },
  };
}

// ---- the model step ----------------------------------------------------------------------

/** What consolidation needs of a model: a prompt in, text out. */
export interface CompletionModel {
  complete(prompt: string): Promise<string>;
}

/** A fact the model distilled, as it must answer it. */
const modelFactSchema = z
  .object({
    key: factKeySchema,
    statement: factStatementSchema,
    /** The model saw it said, or inferred it; only a user's own word is user-stated. */
    confidence: z.enum(['agent-observed', 'agent-inferred']),
    /** What kind of fact it is, so MEMORY.md can group it. */
    category: factCategorySchema,
    /** The id of the message it comes from (one of the transcript's). */
    source: z.string().min(1).max(64),
  })
  .strict();

const modelAnswerSchema = z
  .object({
    facts: z.array(modelFactSchema).max(MAX_FACTS_PER_CONSOLIDATION),
    dailyLog: dailyLogSummarySchema,
  })
  .strict();

export type ModelAnswer = z.infer<typeof modelAnswerSchema>;

export interface KnownFact {
  readonly key: string;
  readonly statement: string;
  readonly confidence: string;
}

export interface ConsolidationInput {
  /** The group's memory scope, `group.<groupId>`. */
  readonly scope: string;
  /** The event id of the `memory.consolidation_requested` being answered: every id derives from it. */
  readonly requestId: string;
  /** Which attempt at the request this answer is (1 for the first): an attempt's facts are its own. */
  readonly attempt: number;
  /** The window to consolidate, in order (the one the request named). */
  readonly messages: readonly ConversationMessage[];
  /** The scope's active facts, so the model adds only what is new. */
  readonly knownFacts?: readonly KnownFact[];
  /** The daily log's day; by default the day (UTC) of the last message. */
  readonly day?: string;
  /** Who writes the daily log; default `agent:consolidation`. */
  readonly writtenBy?: string;
}

/** A fact to record, as the memory actor's `recordFact` command takes it. */
export interface FactToRecord {
  readonly id: string;
  readonly key: string;
  readonly statement: string;
  readonly confidence: 'agent-observed' | 'agent-inferred';
  readonly category: FactCategory;
  /** The request it was distilled for. */
  readonly source: { readonly kind: 'consolidation'; readonly ref: string };
}

export interface ConsolidationResult {
  /** `recordFact` commands' facts for the memory actor `<scope>`. */
  readonly facts: readonly FactToRecord[];
  /** The data of `memory.daily_log_written`. */
  readonly dailyLog: { readonly scope: string; readonly day: string; readonly summary: string; readonly writtenBy: string };
  /** The day and how far it read, for `memory.consolidated` (whose fact ids are the ones the memory actor took). */
  readonly consolidated: { readonly scope: string; readonly dailyLogDay: string; readonly throughMessageId: string };
}

/** Checks what a consolidation is asked to do before a model is asked anything. */
function checkInput(input: ConsolidationInput): { day: string; last: ConversationMessage } {
  if (!groupScopeSchema.safeParse(input.scope).success) throw new ConsolidationError(`'${input.scope}' is not a group's memory scope; expected 'group.<groupId>'`);
  if (input.requestId.length === 0) throw new ConsolidationError('a consolidation needs the id of the request it answers');
  if (!Number.isInteger(input.attempt) || input.attempt < 1) throw new ConsolidationError(`attempt ${input.attempt} is not a positive whole number`);
  const last = input.messages[input.messages.length - 1];
  if (!last) throw new ConsolidationError(`there are no messages to consolidate in ${input.scope}`);
  const day = input.day ?? last.occurredAt.slice(0, 10);
  if (!logDaySchema.safeParse(day).success) throw new ConsolidationError(`'${day}' is not a day (YYYY-MM-DD)`);
  return { day, last };
}

/** The prompt for one window: instructions, the known facts, the transcript. Deterministic. */
export function consolidationPrompt(input: ConsolidationInput): string {
  checkInput(input);
  const known = (input.knownFacts ?? []).slice(-MAX_KNOWN_FACTS_IN_PROMPT);
  return [
    `You maintain the long-term memory of the Slack group ${input.scope.slice('group.'.length)}.`,
    'Read the conversation below and distill what is worth remembering for months: decisions, preferences, commitments, people and their roles, facts about customers, vendors and projects. Skip chit-chat.',
    'Answer with JSON only, no prose and no code fence, exactly of this shape:',
    '{"facts": [{"key": "vendor.acme.payment_terms", "statement": "Acme pays invoices net 30.", "confidence": "agent-observed", "category": "project", "source": "<message id>"}], "dailyLog": "<a few sentences: what happened today that matters>"}',
    'Rules:',
    '- key: a dotted lower-case path naming what the fact is about (letters, digits, "_" and "-" between dots). One fact per key.',
    '- statement: one self-contained sentence, distilled, not a quote.',
    '- confidence: "agent-observed" when someone in the conversation said it plainly; "agent-inferred" when you concluded it.',
    '- category: "user" (about a person: role, preference, habit), "feedback" (how the team wants the assistant to work), "project" (work, customers, vendors, decisions, dates) or "reference" (where something is found: links, documents, systems).',
    '- source: the id (in brackets) of the message the fact comes from.',
    `- At most ${MAX_FACTS_PER_CONSOLIDATION} facts; none is fine. Do not repeat a known fact; a changed fact gets the same key with the new statement.`,
    '',
    'Known facts:',
    ...(known.length === 0 ? ['(none)'] : known.map((fact) => `- ${fact.key} [${fact.confidence}]: ${fact.statement}`)),
    '',
    'Conversation:',
    ...input.messages.map((message) => `[${message.messageId}] ${message.sender}: ${message.text}`),
  ].join('\n');
}

/** The model's text as JSON: the whole answer, or one fenced ```json block around it. */
function parseJsonAnswer(answer: string): unknown {
  const trimmed = answer.trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/.exec(trimmed);
  const text = fenced ? fenced[1]! : trimmed;
  try {
    return JSON.parse(text);
  } catch (error) {
    const excerpt = trimmed.length > 120 ? `${trimmed.slice(0, 117)}...` : trimmed;
    throw new ConsolidationError(`the model's answer is not JSON (${(error as Error).message}): ${JSON.stringify(excerpt)}; nothing was recorded`);
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(answer)'}: ${issue.message}`)
    .join('; ');
}

/**
 * `consolidated.<digest of the request id>.<attempt>.<index>`: the same answer always names
 * the same facts, and another attempt's answer (after one that recorded some facts and then
 * failed) never collides with them.
 */
export function consolidationFactId(requestId: string, attempt: number, index: number): string {
  const digest = createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 16);
  return `consolidated.${digest}.${attempt}.${index}`;
}

/**
 * Checks a model's answer to `consolidationPrompt(input)` and derives what to record. Throws
 * `ConsolidationError` when the answer is anything but the expected JSON (unknown fields, a
 * user confidence, a missing category, a source that is not a message of the window, a key
 * twice), so a caller records nothing from a bad answer. Pure.
 */
export function readConsolidationAnswer(answer: string, input: ConsolidationInput): ConsolidationResult {
  const { day, last } = checkInput(input);
  const parsed = modelAnswerSchema.safeParse(parseJsonAnswer(answer));
  if (!parsed.success) throw new ConsolidationError(`the model's answer does not have the expected shape: ${describeIssues(parsed.error)}; nothing was recorded`);

  const messageIds = new Set(input.messages.map((message) => message.messageId));
  const seenKeys = new Map<string, number>();
  const problems: string[] = [];
  parsed.data.facts.forEach((fact, index) => {
    if (!messageIds.has(fact.source)) problems.push(`facts.${index}.source: '${fact.source}' is not the id of a message in the conversation`);
    const earlier = seenKeys.get(fact.key);
    if (earlier !== undefined) problems.push(`facts.${index}.key: '${fact.key}' repeats facts.${earlier}.key; one fact per key`);
    else seenKeys.set(fact.key, index);
  });
  if (problems.length > 0) throw new ConsolidationError(`the model's answer does not have the expected shape: ${problems.slice(0, 5).join('; ')}; nothing was recorded`);

  const facts = parsed.data.facts.map(
    (fact, index): FactToRecord => ({
      id: consolidationFactId(input.requestId, input.attempt, index),
      key: fact.key,
      statement: fact.statement,
      confidence: fact.confidence,
      category: fact.category,
      source: { kind: 'consolidation', ref: input.requestId },
    }),
  );
  return {
    facts,
    dailyLog: { scope: input.scope, day, summary: parsed.data.dailyLog, writtenBy: input.writtenBy ?? 'agent:consolidation' },
    consolidated: { scope: input.scope, dailyLogDay: day, throughMessageId: last.messageId },
  };
}

/**
 * Asks the model to consolidate a window of conversation and checks its answer (see
 * `readConsolidationAnswer`). A failed call is a `ConsolidationError` too.
 */
export async function consolidate(model: CompletionModel, input: ConsolidationInput): Promise<ConsolidationResult> {
  const prompt = consolidationPrompt(input);
  let answer: string;
  try {
    answer = await model.complete(prompt);
  } catch (error) {
    throw new ConsolidationError(`the model call failed: ${error instanceof Error ? error.message : String(error)}; nothing was recorded`, { cause: error });
  }
  return readConsolidationAnswer(answer, input);
}
