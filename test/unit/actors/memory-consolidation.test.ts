/**
 * The memory actor's consolidation steps (actors/memory-consolidation.ts): one open request
 * per scope, owed the consolidate effect until it is consolidated or failed; attempts
 * started, answered or failed strictly in order; a step for another request refused.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotFrom } from 'xstate';
import { memoryKind, type memoryMachine } from '../../../actors/memory.js';
import { catalogue } from '../../../events/catalogue/index.js';
import type { RawStoredEvent } from '../../../events/envelope.js';
import { GENESIS_HASH } from '../../../events/hash-chain.js';
import { spec, type ActorSpec, type GivenEvent } from '../../support/actor-spec.js';

const SCOPE = 'group.T1.C1';
const SPEC_TIME = '2026-01-05T09:00:00.000Z';
const REQUEST = {
  scope: SCOPE,
  conversationId: 'T1.C1',
  reason: 'budget_exceeded' as const,
  messagesSince: '1712345678.000100',
  throughMessageId: '1712345699.000100',
  messageCount: 12,
  tokenEstimate: 9_000,
  budgetTokens: 8_000,
};
const CALL = { model: 'claude-sonnet-5-5', tokens: { input: 900, output: 120, cacheRead: 0, cacheWrite: 0 }, costUsd: 0.0045, latencyMs: 800, httpAttempts: 1, stopReason: 'end_turn' };

const empty = () => spec(memoryKind, SCOPE);
const requested: GivenEvent = { type: 'memory.consolidation_requested', data: REQUEST };
const pendingEffectsOf = (actor: ActorSpec) => memoryKind.pendingEffects!(actor.snapshot as SnapshotFrom<typeof memoryMachine>);
interface Open {
  requestId: string;
  conversationId: string;
  attemptsStarted: number;
  attemptsFailed: number;
  lastFailure: string | null;
  answer: { attempt: number; text: string } | null;
}
const openOf = (actor: ActorSpec) => (actor.context as { consolidation: Open | null }).consolidation;

/** A scope with an open request, and that request's id (the event id of its request). */
function open(): { actor: ActorSpec; requestId: string } {
  const actor = empty().given(requested);
  return { actor, requestId: openOf(actor)!.requestId };
}

describe('a consolidation request', () => {
  it('is recorded when none is open, and asks for the consolidate effect with its own event id', () => {
    const actor = empty().when({ type: 'requestConsolidation', request: REQUEST }).thenRecorded([{ type: 'memory.consolidation_requested', data: REQUEST }]);
    const { requestId } = openOf(actor)!;
    expect(actor.effects).toEqual([{ type: 'consolidate', params: { scope: SCOPE, requestId } }]);
    expect(pendingEffectsOf(actor)).toEqual([{ type: 'consolidate', params: { scope: SCOPE, requestId } }]);
  });

  it('is refused while another is open, or for another scope', () => {
    open().actor.when({ type: 'requestConsolidation', request: { ...REQUEST, throughMessageId: '1712345700.000100' } }).thenRejected(/is still open; one request at a time/);
    empty().when({ type: 'requestConsolidation', request: { ...REQUEST, scope: 'group.T1.C9' } }).thenRejected(/the request is for group\.T1\.C9; this is the memory of group\.T1\.C1/);
  });

  it("keeps a thread's conversation, whose talk is remembered in its channel's scope, and refuses a conversation of another group", () => {
    const thread = { ...REQUEST, conversationId: 'T1.C1.1712345600.000100' };
    const actor = empty().when({ type: 'requestConsolidation', request: thread }).thenRecorded([{ type: 'memory.consolidation_requested', data: thread }]);
    expect(openOf(actor)!.conversationId).toBe('T1.C1.1712345600.000100');
    // A thread of another channel, the channel itself under another team, or a thread's own (per-thread) scope.
    empty().when({ type: 'requestConsolidation', request: { ...REQUEST, conversationId: 'T1.C9.1712345600.000100' } }).thenRejected(/conversation T1\.C9\.1712345600\.000100 is remembered in group\.T1\.C9, not in group\.T1\.C1/);
    empty().when({ type: 'requestConsolidation', request: { ...REQUEST, conversationId: 'T2.C1' } }).thenRejected(/remembered in group\.T2\.C1/);
    spec(memoryKind, 'group.T1.C1.1712345600.000100')
      .when({ type: 'requestConsolidation', request: { ...thread, scope: 'group.T1.C1.1712345600.000100' } })
      .thenRejected(/remembered in group\.T1\.C1, not in group\.T1\.C1\.1712345600\.000100/);
  });

  it("reads a v1 request (before conversations) as one of the scope's own group", () => {
    const { conversationId: _, ...v1 } = REQUEST;
    const raw: RawStoredEvent = {
      id: '7d444840-9dc0-11d1-b245-5ffdce74fad2',
      type: 'memory.consolidation_requested',
      version: 1,
      dataJson: JSON.stringify(v1),
      metadataJson: JSON.stringify({ actor: 'runtime', causationId: null, correlationId: 'c-1', occurredAt: SPEC_TIME }),
      streamId: `memory-${SCOPE}`,
      revision: 0n,
      position: 1n,
      recordedAt: SPEC_TIME,
      prevHash: GENESIS_HASH,
      hashVersion: 2,
      hash: 'f'.repeat(64),
    };
    const event = catalogue.decode(raw, true);
    expect(event).toMatchObject({ version: 2, data: { ...v1, conversationId: 'T1.C1' } });
    expect(catalogue.decode(raw, false).data).toEqual(v1);
  });
});

describe('answering it', () => {
  it('starts an attempt, records the answer with its cost, then the daily log and memory.consolidated, which closes it', () => {
    const { actor, requestId } = open();
    const started = actor.when({ type: 'startConsolidationAttempt', requestId, attempt: 1 }).thenRecorded([{ type: 'memory.consolidation_attempt_started', data: { requestId, attempt: 1 } }]);
    const answered = started
      .when({ type: 'noteConsolidationAnswer', requestId, attempt: 1, call: CALL, answer: '{"facts": [], "dailyLog": "Talk."}' }, { issuedAt: SPEC_TIME })
      .thenRecorded([{ type: 'memory.consolidation_model_called', data: { requestId, attempt: 1, ...CALL, answer: '{"facts": [], "dailyLog": "Talk."}', calledAt: SPEC_TIME } }]);
    expect(openOf(answered)!.answer).toEqual({ attempt: 1, text: '{"facts": [], "dailyLog": "Talk."}' });

    const dailyLog = { day: '2026-01-05', summary: 'Talk.', writtenBy: 'agent:consolidation' };
    const done = answered.when({ type: 'completeConsolidation', requestId, factIds: ['consolidated.abc.0'], dailyLog }).thenRecorded([
      { type: 'memory.daily_log_written', data: { scope: SCOPE, ...dailyLog } },
      { type: 'memory.consolidated', data: { scope: SCOPE, factIds: ['consolidated.abc.0'], dailyLogDay: '2026-01-05', throughMessageId: REQUEST.throughMessageId } },
    ]);
    expect(openOf(done)).toBeNull();
    expect(pendingEffectsOf(done)).toEqual([]);
    done.when({ type: 'requestConsolidation', request: { ...REQUEST, throughMessageId: '1712345800.000100' } }).thenRecorded([
      { type: 'memory.consolidation_requested', data: { ...REQUEST, throughMessageId: '1712345800.000100' } },
    ]);
  });

  it('keeps attempts in order: one under way at a time, answered or failed once, completed only from an answer', () => {
    const { actor, requestId } = open();
    actor.when({ type: 'startConsolidationAttempt', requestId, attempt: 2 }).thenRejected('the next attempt is 1, not 2');
    actor.when({ type: 'noteConsolidationAnswer', requestId, attempt: 1, call: CALL, answer: '{}' }).thenRejected('attempt 1 is not under way');
    actor
      .when({ type: 'completeConsolidation', requestId, factIds: [], dailyLog: { day: '2026-01-05', summary: 'x', writtenBy: 'agent:consolidation' } })
      .thenRejected('has no recorded answer');
    const started = actor.given({ type: 'memory.consolidation_attempt_started', data: { requestId, attempt: 1 } });
    started.when({ type: 'startConsolidationAttempt', requestId, attempt: 2 }).thenRejected('attempt 1 is under way');
    const failed = started
      .when({ type: 'failConsolidationAttempt', requestId, attempt: 1, reason: 'the model answered prose' })
      .thenRecorded([{ type: 'memory.consolidation_attempt_failed', data: { requestId, attempt: 1, reason: 'the model answered prose' } }]);
    failed.when({ type: 'failConsolidationAttempt', requestId, attempt: 1, reason: 'again' }).thenRejected('attempt 1 is not under way');
    expect(openOf(failed)).toMatchObject({ attemptsStarted: 1, attemptsFailed: 1, lastFailure: 'the model answered prose', answer: null });
    // Still owed: a failed attempt is retried, not the end of the request.
    expect(pendingEffectsOf(failed)).toEqual([{ type: 'consolidate', params: { scope: SCOPE, requestId } }]);
    failed.when({ type: 'startConsolidationAttempt', requestId, attempt: 2 }).thenRecorded([{ type: 'memory.consolidation_attempt_started', data: { requestId, attempt: 2 } }]);
  });

  it('refuses a step for a request that is not the open one', () => {
    const { actor } = open();
    actor.when({ type: 'startConsolidationAttempt', requestId: 'an-older-request', attempt: 1 }).thenRejected(/consolidation an-older-request is not open; .* is/);
    empty().when({ type: 'failConsolidation', requestId: 'r', reason: 'x' }).thenRejected('consolidation r is not open');
  });

  it('ends as memory.consolidation_failed, which closes the request so the next window can ask', () => {
    const { actor, requestId } = open();
    const tried = actor.given(
      { type: 'memory.consolidation_attempt_started', data: { requestId, attempt: 1 } },
      { type: 'memory.consolidation_attempt_failed', data: { requestId, attempt: 1, reason: 'not JSON' } },
    );
    const failed = tried
      .when({ type: 'failConsolidation', requestId, reason: 'gave up after 1 failed attempt' })
      .thenRecorded([{ type: 'memory.consolidation_failed', data: { scope: SCOPE, requestId, throughMessageId: REQUEST.throughMessageId, attempts: 1, reason: 'gave up after 1 failed attempt' } }]);
    expect(openOf(failed)).toBeNull();
    expect(pendingEffectsOf(failed)).toEqual([]);
  });
});
