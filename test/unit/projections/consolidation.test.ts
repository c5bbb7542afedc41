/**
 * The consolidation trigger (a token budget over the conversation since the last
 * consolidation) and the model step, with a scripted model: canned answers, each checked;
 * a malformed answer is a ConsolidationError and yields nothing to record.
 */
import { describe, expect, it } from 'vitest';
import { memoryCommands } from '../../../actors/memory.js';
import { memoryConsolidated, memoryConsolidationRequested, memoryDailyLogWritten } from '../../../events/catalogue/daily-log.js';
import type { StoredEvent } from '../../../events/envelope.js';
import {
  compareMessageIds,
  consolidate,
  consolidationPrompt,
  ConsolidationError,
  MAX_KNOWN_FACTS_IN_PROMPT,
  conversationSince,
  decideConsolidation,
  DEFAULT_CONSOLIDATION_BUDGET_TOKENS,
  type CompletionModel,
  type ConversationMessage,
} from '../../../projections/consolidation.js';

const SCOPE = 'group.T1.C1';
const REQUEST = '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed';

/** A model that answers from a script, in order, and keeps the prompts it was given. */
class ScriptedModel implements CompletionModel {
  readonly prompts: string[] = [];
  constructor(private readonly answers: Array<string | Error>) {}
  async complete(prompt: string): Promise<string> {
    this.prompts.push(prompt);
    const answer = this.answers.shift();
    if (answer === undefined) throw new Error('the script has no more answers');
    if (answer instanceof Error) throw answer;
    return answer;
  }
}

function message(index: number, text: string, sender = 'U1'): ConversationMessage {
  return { messageId: `17123456${String(index).padStart(2, '0')}.000100`, sender, text, occurredAt: `2026-01-05T10:${String(index).padStart(2, '0')}:00.000Z` };
}

/** `n` messages of exactly `tokens` tokens each ("U1: " is 4 characters). */
function messagesOf(count: number, tokens: number): ConversationMessage[] {
  return Array.from({ length: count }, (_, index) => message(index, 'x'.repeat(tokens * 4 - 4)));
}

describe('the trigger', () => {
  it('is due only once the conversation exceeds the budget (8,000 tokens by default)', () => {
    expect(DEFAULT_CONSOLIDATION_BUDGET_TOKENS).toBe(8_000);
    const atBudget = decideConsolidation({ scope: SCOPE, messages: messagesOf(8, 1_000) });
    expect(atBudget).toEqual({ due: false, tokenEstimate: 8_000, budgetTokens: 8_000, reason: 'within_budget' });

    const messages = [...messagesOf(8, 1_000), message(8, 'a')]; // "U1: a" is 2 tokens
    const over = decideConsolidation({ scope: SCOPE, messages });
    expect(over).toEqual({
      due: true,
      tokenEstimate: 8_002,
      budgetTokens: 8_000,
      request: {
        scope: SCOPE,
        conversationId: 'T1.C1',
        reason: 'budget_exceeded',
        messagesSince: messages[0]!.messageId,
        throughMessageId: messages[8]!.messageId,
        messageCount: 9,
        tokenEstimate: 8_002,
        budgetTokens: 8_000,
      },
    });
    // The request is valid event data.
    expect(over.due && memoryConsolidationRequested.steps.at(-1)!.schema.safeParse(over.request).success).toBe(true);
  });

  it('takes a budget, known token counts, a pending request and an empty window into account', () => {
    expect(decideConsolidation({ scope: SCOPE, messages: messagesOf(3, 10), budgetTokens: 29 })).toMatchObject({ due: true, tokenEstimate: 30 });
    expect(decideConsolidation({ scope: SCOPE, messages: messagesOf(3, 10), budgetTokens: 30 })).toMatchObject({ due: false, reason: 'within_budget' });
    expect(decideConsolidation({ scope: SCOPE, messages: [{ ...message(1, 'short'), tokens: 9_000 }] })).toMatchObject({ due: true, tokenEstimate: 9_000 });
    expect(decideConsolidation({ scope: SCOPE, messages: messagesOf(3, 10), budgetTokens: 5, pendingRequest: true })).toMatchObject({
      due: false,
      reason: 'already_requested',
    });
    expect(decideConsolidation({ scope: SCOPE, messages: [] })).toEqual({ due: false, tokenEstimate: 0, budgetTokens: 8_000, reason: 'no_messages' });
    // A thread's window names the thread, and is remembered in the scope it was asked for.
    expect(decideConsolidation({ scope: SCOPE, conversationId: 'T1.C1.1712345600.000100', messages: messagesOf(3, 10), budgetTokens: 29 })).toMatchObject({
      request: { scope: SCOPE, conversationId: 'T1.C1.1712345600.000100' },
    });
    expect(() => decideConsolidation({ scope: SCOPE, messages: [], budgetTokens: 0 })).toThrow(ConsolidationError);
    expect(() => decideConsolidation({ scope: 'user.U1', messages: [] })).toThrow(/not a group's memory scope/);
  });

  it("reads a group's messages after the last consolidated one, in message order", () => {
    const stored = (type: string, data: unknown, occurredAt: string) =>
      ({ type, data, metadata: { occurredAt, correlationId: 'c', causationId: null, actor: 'user:U1' } }) as unknown as StoredEvent;
    const events = [
      stored('group.message_received', { messageId: '1712345679.000100', sender: 'U1', text: 'second' }, '2026-01-05T10:01:00.000Z'),
      stored('group.turn_requested', { runId: 'r1' }, '2026-01-05T10:01:00.000Z'),
      stored('group.message_received', { messageId: '1712345678.000100', sender: 'U2', text: 'first' }, '2026-01-05T10:00:00.000Z'),
      stored('group.message_received', { messageId: '1712345680.1', sender: 'U1', text: 'third' }, '2026-01-05T10:02:00.000Z'),
    ];
    expect(conversationSince(events, null).map((m) => m.text)).toEqual(['first', 'second', 'third']);
    expect(conversationSince(events, '1712345678.000100').map((m) => m.text)).toEqual(['second', 'third']);
    expect(conversationSince(events, '1712345680.100000')).toEqual([]);
    expect(compareMessageIds('1712345680.1', '1712345680.099999')).toBe(1);
    expect(compareMessageIds('999.5', '1000.0')).toBe(-1);
  });
});

describe('consolidate', () => {
  const window = [
    message(1, 'Acme just told me they will pay invoices net 30 from now on.', 'U1'),
    message(2, 'Good. Also, the Rotterdam warehouse is closed next week.', 'U2'),
    message(3, 'lol ok', 'U1'),
  ];
  const answer = {
    facts: [
      { key: 'vendor.acme.payment_terms', statement: 'Acme pays invoices net 30.', confidence: 'agent-observed', category: 'project', source: window[0]!.messageId },
      { key: 'warehouse.rotterdam.status', statement: 'The Rotterdam warehouse is closed the week of 2026-01-12.', confidence: 'agent-inferred', category: 'reference', source: window[1]!.messageId },
    ],
    dailyLog: 'Acme moved to net 30 payment terms. The Rotterdam warehouse closes next week.',
  };

  it('distills categorized facts and a daily log from a scripted model, ready to record', async () => {
    const model = new ScriptedModel([JSON.stringify(answer)]);
    const input = { scope: SCOPE, requestId: REQUEST, attempt: 1, messages: window, knownFacts: [{ key: 'vendor.globex.shipping', statement: 'Globex ships from Rotterdam.', confidence: 'agent-observed' }] };
    const result = await consolidate(model, input);

    const prompt = consolidationPrompt(input);
    expect(model.prompts).toEqual([prompt]);
    expect(prompt).toContain(`[${window[0]!.messageId}] U1: Acme just told me`);
    expect(prompt).toContain('- vendor.globex.shipping [agent-observed]: Globex ships from Rotterdam.');
    expect(prompt).toContain('category');
    expect(result.facts).toEqual([
      {
        id: expect.stringMatching(/^consolidated\.[0-9a-f]{16}\.1\.0$/),
        key: 'vendor.acme.payment_terms',
        statement: 'Acme pays invoices net 30.',
        confidence: 'agent-observed',
        category: 'project',
        source: { kind: 'consolidation', ref: REQUEST },
      },
      expect.objectContaining({ id: expect.stringMatching(/\.1$/), key: 'warehouse.rotterdam.status', confidence: 'agent-inferred', category: 'reference' }),
    ]);
    expect(result.dailyLog).toEqual({ scope: SCOPE, day: '2026-01-05', summary: answer.dailyLog, writtenBy: 'agent:consolidation' });
    expect(result.consolidated).toEqual({ scope: SCOPE, dailyLogDay: '2026-01-05', throughMessageId: window[2]!.messageId });

    // Everything is valid as the memory actor's command and as event data.
    for (const fact of result.facts) expect(memoryCommands.safeParse({ type: 'recordFact', fact }).success).toBe(true);
    expect(memoryDailyLogWritten.steps[0]!.schema.safeParse(result.dailyLog).success).toBe(true);
    expect(memoryConsolidated.steps[0]!.schema.safeParse({ ...result.consolidated, factIds: result.facts.map((fact) => fact.id) }).success).toBe(true);

    // The same request gives the same fact ids: recording a resumed answer stores nothing twice.
    const again = await consolidate(new ScriptedModel([`\`\`\`json\n${JSON.stringify(answer)}\n\`\`\``]), { scope: SCOPE, requestId: REQUEST, attempt: 1, messages: window });
    expect(again.facts.map((fact) => fact.id)).toEqual(result.facts.map((fact) => fact.id));
    // Another request over the same window names other facts: a retried window is not a duplicate id.
    const other = await consolidate(new ScriptedModel([JSON.stringify(answer)]), { scope: SCOPE, requestId: 'another-request', attempt: 1, messages: window });
    expect(other.facts.map((fact) => fact.id)).not.toEqual(result.facts.map((fact) => fact.id));
    // Nor does another attempt at the same request, after one that recorded some facts and failed.
    const retried = await consolidate(new ScriptedModel([JSON.stringify(answer)]), { scope: SCOPE, requestId: REQUEST, attempt: 2, messages: window });
    expect(retried.facts.map((fact) => fact.id)).toEqual([expect.stringMatching(/\.2\.0$/), expect.stringMatching(/\.2\.1$/)]);
  });

  it('lists only the newest known facts in the prompt, so a group with thousands of facts does not blow the prompt up', () => {
    const knownFacts = Array.from({ length: MAX_KNOWN_FACTS_IN_PROMPT + 50 }, (_, index) => ({ key: `topic.k${index}`, statement: `Fact ${index}.`, confidence: 'agent-observed' }));
    const prompt = consolidationPrompt({ scope: SCOPE, requestId: REQUEST, attempt: 1, messages: window, knownFacts });
    expect(prompt).not.toContain('- topic.k49 [agent-observed]');
    expect(prompt).toContain('- topic.k50 [agent-observed]');
    expect(prompt).toContain(`- topic.k${MAX_KNOWN_FACTS_IN_PROMPT + 49} [agent-observed]`);
  });

  it('accepts an answer with no facts', async () => {
    const result = await consolidate(new ScriptedModel([JSON.stringify({ facts: [], dailyLog: 'Nothing of note.' })]), { scope: SCOPE, requestId: REQUEST, attempt: 1, messages: window, day: '2026-01-06' });
    expect(result.facts).toEqual([]);
    expect(result.consolidated).toMatchObject({ dailyLogDay: '2026-01-06' });
  });

  it('rejects a malformed answer with a clear error, returning nothing to record', async () => {
    const cases: Array<[string, RegExp]> = [
      ['Sure! Here are the facts: Acme pays net 30.', /the model's answer is not JSON .*nothing was recorded/],
      ['{"facts": [', /not JSON/],
      [JSON.stringify({ facts: answer.facts }), /dailyLog: .*nothing was recorded/],
      [JSON.stringify({ ...answer, facts: [{ ...answer.facts[0], confidence: 'user-stated' }] }), /facts\.0\.confidence/],
      [JSON.stringify({ ...answer, facts: [{ ...answer.facts[0], category: undefined }] }), /facts\.0\.category/],
      [JSON.stringify({ ...answer, facts: [{ ...answer.facts[0], category: 'gossip' }] }), /facts\.0\.category/],
      [JSON.stringify({ ...answer, facts: [{ ...answer.facts[0], key: 'Vendor Acme' }] }), /facts\.0\.key: expected a dotted lower-case key/],
      [JSON.stringify({ ...answer, facts: [{ ...answer.facts[0], statement: '   ' }] }), /facts\.0\.statement: a statement cannot be blank/],
      [JSON.stringify({ ...answer, facts: [{ ...answer.facts[0], source: '1000000000.000001' }] }), /facts\.0\.source: '1000000000\.000001' is not the id of a message in the conversation/],
      [JSON.stringify({ ...answer, facts: [answer.facts[0], answer.facts[0]] }), /facts\.1\.key: 'vendor\.acme\.payment_terms' repeats facts\.0\.key/],
      [JSON.stringify({ ...answer, mood: 'happy' }), /Unrecognized key/],
      [JSON.stringify([answer]), /\(answer\): /],
    ];
    for (const [canned, expected] of cases) {
      const attempt = consolidate(new ScriptedModel([canned]), { scope: SCOPE, requestId: REQUEST, attempt: 1, messages: window });
      await expect(attempt, canned).rejects.toThrow(ConsolidationError);
      await expect(consolidate(new ScriptedModel([canned]), { scope: SCOPE, requestId: REQUEST, attempt: 1, messages: window }), canned).rejects.toThrow(expected);
    }
  });

  it('reports a failed model call, and refuses an empty window or a user scope', async () => {
    await expect(consolidate(new ScriptedModel([new Error('529 overloaded')]), { scope: SCOPE, requestId: REQUEST, attempt: 1, messages: window })).rejects.toThrow(
      /the model call failed: 529 overloaded; nothing was recorded/,
    );
    await expect(consolidate(new ScriptedModel([]), { scope: SCOPE, requestId: REQUEST, attempt: 1, messages: [] })).rejects.toThrow(/no messages to consolidate/);
    await expect(consolidate(new ScriptedModel([]), { scope: 'user.U1', requestId: REQUEST, attempt: 1, messages: window })).rejects.toThrow(ConsolidationError);
  });
});
