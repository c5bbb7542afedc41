/**
 * The approval actor: N of M approvers sign off one exact action before a deadline; any
 * deny denies; nobody approves their own request; a decided approval never changes. Every
 * refused vote is recorded with its reason; a granted tool call's action runs once and its
 * result is owed to the conversation that asked; the expiry is armed while pending.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SnapshotFrom } from 'xstate';
import { approvalKind, type ApprovalContext, type approvalMachine } from '../../../actors/approval.js';
import { spec, type ActorSpec, type GivenEvent, type SpecOutcome } from '../../support/actor-spec.js';

const ID = 'apr-1';
const HASH = 'a'.repeat(64);
const OTHER_HASH = 'b'.repeat(64);
const NOW = '2026-01-05T09:00:00.000Z';
const EXPIRES = '2026-01-05T10:00:00.000Z';
const ACTION = { tool: 'send_payment', summary: 'Pay Acme 1,200 EUR for invoice 42', argumentsHash: HASH };

function request(overrides: Record<string, unknown> = {}) {
  return { type: 'request', requester: 'U1', action: ACTION, approvers: ['U2', 'U3', 'U4'], required: 2, expiresAt: EXPIRES, ...overrides };
}

function requested(overrides: Record<string, unknown> = {}): GivenEvent {
  return {
    type: 'approval.requested',
    data: { requester: 'U1', action: ACTION, approvers: ['U2', 'U3', 'U4'], required: 2, expiresAt: EXPIRES, requestedAt: NOW, origin: null, policy: null, ...overrides },
  };
}

function vote(approver: string, decision: 'approve' | 'deny' = 'approve', argumentsHash = HASH) {
  return { type: 'vote', approver, decision, argumentsHash };
}

function voteCast(approver: string, decision: 'approve' | 'deny' = 'approve', castAt = NOW): GivenEvent {
  return { type: 'approval.vote_cast', data: { approver, decision, argumentsHash: HASH, castAt, by: `user:${approver}`, reason: null } };
}

/** A vote sent by the approver themself. */
const by = (approver: string, issuedAt = NOW) => ({ actor: `user:${approver}`, issuedAt });

/** The vote was recorded as refused (not a bare reject), for a reason the voter can be told. */
function thenRefused(outcome: SpecOutcome, reason: string | RegExp): { reason: string; by: string } {
  const { decision } = outcome;
  if (!decision.accepted) throw new Error(`expected the vote to be recorded as refused, but it was rejected: ${decision.reason}`);
  expect(decision.events.map((event) => event.type)).toEqual(['approval.vote_refused']);
  const data = decision.events[0]!.data as { reason: string; by: string };
  if (typeof reason === 'string') expect(data.reason).toContain(reason);
  else expect(data.reason).toMatch(reason);
  return data;
}

function effectsOf(actor: ActorSpec, ...events: GivenEvent[]) {
  return actor.given(...events).effects.slice(actor.effects.length);
}

const pendingEffectsOf = (actor: ActorSpec) => approvalKind.pendingEffects!(actor.snapshot as SnapshotFrom<typeof approvalMachine>);

const unrequested = () => spec(approvalKind, ID);
const pending = () => unrequested().given(requested());
const granted = () => pending().given(voteCast('U2'), voteCast('U3'), { type: 'approval.granted', data: { approvedBy: ['U2', 'U3'], grantedAt: NOW } });
const denied = () => pending().given(voteCast('U2', 'deny'), { type: 'approval.denied', data: { deniedBy: 'U2', deniedAt: NOW } });
const reported = (): GivenEvent => ({ type: 'approval.decision_reported', data: { refs: ['1712345678.000100'] } });
const expired = () => pending().given({ type: 'approval.expired', data: { expiredAt: EXPIRES } });

describe('an unrequested approval', () => {
  it('starts unrequested, with nothing to resume', () => {
    expect(unrequested().state).toBe('unrequested');
    expect(unrequested().context).toEqual({ id: ID, request: null, votes: [], decisionReported: false, execution: null, resultDelivered: false });
    expect(pendingEffectsOf(unrequested())).toEqual([]);
  });

  it('records the request, dated by the command, asks the approvers and arms its expiry', () => {
    const events = [requested()];
    const after = unrequested().when(request()).thenRecorded(events);
    expect(after.state).toBe('pending');
    expect(effectsOf(unrequested(), ...events)).toEqual([
      { type: 'notifyApprovers', params: { approvalId: ID, approvers: ['U2', 'U3', 'U4'], summary: ACTION.summary } },
      { type: 'awaitExpiry', params: { approvalId: ID, expiresAt: EXPIRES } },
    ]);
  });

  it('lets the requester be listed when enough others can approve', () => {
    unrequested()
      .when(request({ approvers: ['U1', 'U2', 'U3'] }))
      .thenRecorded([requested({ approvers: ['U1', 'U2', 'U3'] })]);
  });

  it('refuses a request that could never be granted or names someone twice', () => {
    unrequested().when(request({ approvers: ['U2', 'U2'] })).thenRejected('the approvers list someone twice');
    unrequested().when(request({ approvers: ['U2'], required: 2 })).thenRejected('it needs 2 approvals but lists only 1 approvers');
    unrequested()
      .when(request({ approvers: ['U1', 'U2'], required: 2 }))
      .thenRejected('U1 cannot approve their own request, and the other 1 approvers cannot give the 2 approvals it needs');
  });

  it("rejects a tool call's action whose arguments are not what its hash names, so no vote can be spent on other arguments", () => {
    const argumentsJson = '{"action":"crm_export","body":null}';
    const action = { tool: 'http_request', summary: 'POST the customer list', argumentsHash: HASH, arguments: argumentsJson, tier: 'critical', reason: null };
    unrequested().when(request({ action })).thenRejected("the action's argumentsHash is not the sha256 of its arguments");
    const honest = { ...action, argumentsHash: createHash('sha256').update(argumentsJson).digest('hex') };
    const after = unrequested()
      .when(request({ action: honest, origin: null, policy: null }))
      .thenRecorded([requested({ action: honest })]);
    expect(after.state).toBe('pending');
  });

  it('refuses a request that expires before it is made', () => {
    unrequested().when(request({ expiresAt: NOW })).thenRejected(`it would expire at ${NOW}, which is not after now`);
    unrequested().when(request({ expiresAt: '2026-01-05T08:00:00.000Z' })).thenRejected(/not after now/);
  });

  it('refuses an invalid request at the boundary', () => {
    expect(() => unrequested().when(request({ required: 0 }))).toThrow(/invalid/);
    expect(() => unrequested().when(request({ action: { ...ACTION, argumentsHash: 'ABC' } }))).toThrow(/invalid/);
    expect(() => unrequested().when(request({ expiresAt: 'tomorrow' }))).toThrow(/invalid/);
  });

  it('has nothing to vote on, expire or run (a plain reject: there is no approval to record an attempt on)', () => {
    unrequested().when(vote('U2'), by('U2')).thenRejected('no approval has been requested yet');
    unrequested().when({ type: 'expire' }).thenRejected('no approval has been requested yet');
    unrequested().when({ type: 'recordExecution', outcome: 'executed', content: 'ok' }).thenRejected(/only a granted approval's action runs/);
  });
});

describe('a pending approval', () => {
  it('asks the approvers again after a restart (idempotently) and arms its expiry again (the timer lives in memory)', () => {
    expect(pending().state).toBe('pending');
    expect(pendingEffectsOf(pending())).toEqual([
      { type: 'notifyApprovers', params: { approvalId: ID, approvers: ['U2', 'U3', 'U4'], summary: ACTION.summary } },
      { type: 'awaitExpiry', params: { approvalId: ID, expiresAt: EXPIRES } },
    ]);
  });

  it('runs nothing while pending', () => {
    pending().when({ type: 'recordExecution', outcome: 'executed', content: 'ok' }).thenRejected(/still pending/);
    pending().when({ type: 'resultDelivered', conversationId: 'T1.C1' }).thenRejected(/still pending/);
  });

  it('is requested once', () => {
    pending().when(request()).thenRejected('already requested and pending');
  });

  it('records an approval short of the required number and stays pending', () => {
    const after = pending()
      .when(vote('U2'), by('U2'))
      .thenRecorded([{ type: 'approval.vote_cast', data: { approver: 'U2', decision: 'approve', argumentsHash: HASH, castAt: NOW, by: 'user:U2', reason: null } }]);
    expect(after.state).toBe('pending');
    expect(after.context).toMatchObject({ votes: [{ approver: 'U2', decision: 'approve', castAt: NOW }] });
  });

  it('is granted by the N-th approval, in the same decision, and reports it', () => {
    const before = pending().given(voteCast('U2'));
    const at = '2026-01-05T09:30:00.000Z';
    const events = [
      { type: 'approval.vote_cast', data: { approver: 'U4', decision: 'approve', argumentsHash: HASH, castAt: at, by: 'user:U4', reason: null } },
      { type: 'approval.granted', data: { approvedBy: ['U2', 'U4'], grantedAt: at } },
    ];
    const after = before.when(vote('U4'), by('U4', at)).thenRecorded(events);
    expect(after.state).toBe('granted');
    expect(effectsOf(before, ...events)).toEqual([{ type: 'reportDecision', params: { approvalId: ID, requester: 'U1', decision: 'granted' } }]);
    // Until the report is recorded, it is owed: a restart reports it.
    expect(pendingEffectsOf(after)).toEqual([{ type: 'reportDecision', params: { approvalId: ID, requester: 'U1', decision: 'granted' } }]);
  });

  it('is granted by a single approval when one is required', () => {
    unrequested()
      .given(requested({ approvers: ['U2'], required: 1 }))
      .when(vote('U2'), by('U2'))
      .thenRecorded([
        { type: 'approval.vote_cast', data: { approver: 'U2', decision: 'approve', argumentsHash: HASH, castAt: NOW, by: 'user:U2', reason: null } },
        { type: 'approval.granted', data: { approvedBy: ['U2'], grantedAt: NOW } },
      ]);
  });

  it('is denied by any single deny, even after approvals', () => {
    const before = pending().given(voteCast('U2'));
    const events = [
      { type: 'approval.vote_cast', data: { approver: 'U3', decision: 'deny', argumentsHash: HASH, castAt: NOW, by: 'user:U3', reason: null } },
      { type: 'approval.denied', data: { deniedBy: 'U3', deniedAt: NOW } },
    ];
    const after = before.when(vote('U3', 'deny'), by('U3')).thenRecorded(events);
    expect(after.state).toBe('denied');
    expect(effectsOf(before, ...events)).toEqual([{ type: 'reportDecision', params: { approvalId: ID, requester: 'U1', decision: 'denied' } }]);
  });

  it('records a vote for a different action as refused, with who sent it, and counts nothing', () => {
    const outcome = pending().when(vote('U2', 'approve', OTHER_HASH), by('U2', '2026-01-05T09:10:00.000Z'));
    const reason = `the vote is for a different action: its arguments hash ${OTHER_HASH} is not the requested ${HASH}`;
    const after = outcome.thenRecorded([
      { type: 'approval.vote_refused', data: { approver: 'U2', by: 'user:U2', decision: 'approve', argumentsHash: OTHER_HASH, reason, refusedAt: '2026-01-05T09:10:00.000Z' } },
    ]);
    expect(after.state).toBe('pending');
    expect((after.context as ApprovalContext).votes).toEqual([]);
    // Refused, U2 may still cast the vote for the action asked about.
    after.when(vote('U2'), by('U2')).thenRecorded([{ type: 'approval.vote_cast', data: { approver: 'U2', decision: 'approve', argumentsHash: HASH, castAt: NOW, by: 'user:U2', reason: null } }]);
  });

  it('never lets the requester approve their own request (recorded as refused)', () => {
    thenRefused(pending().when(vote('U1'), by('U1')), 'a requester can never approve their own request');
    thenRefused(
      unrequested().given(requested({ approvers: ['U1', 'U2', 'U3'] })).when(vote('U1'), by('U1')),
      'U1 requested this approval; a requester can never approve their own request',
    );
  });

  it('records a vote by someone who is not an approver as refused', () => {
    thenRefused(pending().when(vote('U9'), by('U9')), 'U9 is not one of the approvers (U2, U3, U4)');
  });

  it('refuses and records any vote an agent sends, even in a listed approver\'s name: agents never vote', () => {
    const refused = thenRefused(pending().when(vote('U2'), { actor: 'agent:run-42' }), 'agents never vote');
    expect(refused.by).toBe('agent:run-42');
    thenRefused(granted().when(vote('U4'), { actor: 'agent:run-42' }), 'agents never vote');
  });

  it('takes the operator\'s vote from the terminal (operator:<os user>) when the policy lists operator, with its reason, and from nobody else', () => {
    const withOperator = unrequested().given(requested({ approvers: ['U2', 'operator'], required: 1 }));
    thenRefused(
      withOperator.when({ ...vote('operator', 'deny'), reason: 'not during the freeze' }, { actor: 'user:U2', issuedAt: NOW }),
      'a vote for operator must come from operator:<os user>, not from user:U2',
    );
    const after = withOperator.when({ ...vote('operator', 'deny'), reason: 'not during the freeze' }, { actor: 'operator:dana', issuedAt: NOW }).thenRecorded([
      { type: 'approval.vote_cast', data: { approver: 'operator', decision: 'deny', argumentsHash: HASH, castAt: NOW, by: 'operator:dana', reason: 'not during the freeze' } },
      { type: 'approval.denied', data: { deniedBy: 'operator', deniedAt: NOW } },
    ]);
    expect((after.context as ApprovalContext).votes).toEqual([{ approver: 'operator', by: 'operator:dana', reason: 'not during the freeze', decision: 'deny', castAt: NOW }]);
  });

  it("records a vote cast in an approver's name by someone else as refused", () => {
    thenRefused(pending().when(vote('U2'), { actor: 'user:U3' }), 'a vote for U2 must come from user:U2, not from user:U3');
  });

  it('records a second vote by the same approver as refused, and keeps the first', () => {
    thenRefused(pending().given(voteCast('U2')).when(vote('U2'), by('U2')), 'U2 has already voted');
    const second = pending().given(voteCast('U2')).when(vote('U2', 'deny'), by('U2'));
    thenRefused(second, 'U2 has already voted');
    const after = pending().given(voteCast('U2')).apply(second.decision.accepted ? second.decision.events : []);
    expect(after.state).toBe('pending');
    expect((after.context as ApprovalContext).votes.map((cast) => cast.decision)).toEqual(['approve']);
  });

  it('takes votes until just before the deadline and none at or after it', () => {
    pending()
      .when(vote('U2'), by('U2', '2026-01-05T09:59:59.999Z'))
      .thenRecorded([{ type: 'approval.vote_cast', data: { approver: 'U2', decision: 'approve', argumentsHash: HASH, castAt: '2026-01-05T09:59:59.999Z', by: 'user:U2', reason: null } }]);
    thenRefused(pending().when(vote('U2'), by('U2', EXPIRES)), `voting closed at ${EXPIRES}`);
    thenRefused(pending().when(vote('U2', 'deny'), by('U2', '2026-01-06T00:00:00.000Z')), /voting closed/);
  });

  it('refuses to expire before its deadline', () => {
    pending().when({ type: 'expire' }, { issuedAt: '2026-01-05T09:59:59.999Z' }).thenRejected(`expires at ${EXPIRES}; it is only 2026-01-05T09:59:59.999Z`);
  });

  it('expires at its deadline and reports it', () => {
    const events = [{ type: 'approval.expired', data: { expiredAt: EXPIRES } }];
    const after = pending().when({ type: 'expire' }, { issuedAt: EXPIRES, actor: 'runtime' }).thenRecorded(events);
    expect(after.state).toBe('expired');
    expect(effectsOf(pending(), ...events)).toEqual([{ type: 'reportDecision', params: { approvalId: ID, requester: 'U1', decision: 'expired' } }]);
  });

  it('compares times as instants, not as text', () => {
    unrequested()
      .given(requested({ expiresAt: '2026-01-05T10:00:00Z' }))
      .when({ type: 'expire' }, { issuedAt: '2026-01-05T10:00:00.000Z' })
      .thenRecorded([{ type: 'approval.expired', data: { expiredAt: '2026-01-05T10:00:00.000Z' } }]);
  });
});

describe('a decided approval', () => {
  it.each([
    ['granted', granted],
    ['denied', denied],
    ['expired', expired],
  ] as const)('once %s, takes no request, vote (recorded as refused) or expiry, and resumes nothing once the decision is reported', (state, actor) => {
    expect(actor().state).toBe(state);
    actor().when(request()).thenRejected(/already|expired/);
    thenRefused(actor().when(vote('U4'), by('U4')), /no more votes/);
    actor().when({ type: 'expire' }, { issuedAt: '2026-01-06T00:00:00.000Z' }).thenRejected(/does not expire|already expired/);
    expect(pendingEffectsOf(actor().given(reported()))).toEqual([]);
  });

  it.each([
    ['denied', denied],
    ['expired', expired],
  ] as const)('once %s, runs nothing', (_state, actor) => {
    actor().when({ type: 'recordExecution', outcome: 'executed', content: 'ok' }).thenRejected(/only a granted approval's action runs/);
  });

  it.each([
    ['granted', granted],
    ['denied', denied],
    ['expired', expired],
  ] as const)('once %s and not yet reported (a crash between the decision and the post), resumes the report', (state, actor) => {
    expect(pendingEffectsOf(actor())).toEqual([{ type: 'reportDecision', params: { approvalId: ID, requester: 'U1', decision: state } }]);
  });

  it('records the report once, and refuses a second', () => {
    const after = granted().when({ type: 'decisionReported', refs: ['1712345678.000100'] }).thenRecorded([reported()]);
    expect(after.context).toMatchObject({ decisionReported: true });
    after.when({ type: 'decisionReported', refs: ['1712345678.000200'] }).thenRejected(/reported already/);
  });

  it('refuses a report before there is a decision', () => {
    unrequested().when({ type: 'decisionReported', refs: ['r'] }).thenRejected(/no decision to report/);
    pending().when({ type: 'decisionReported', refs: ['r'] }).thenRejected(/still pending/);
  });
});

describe("a granted tool call's action", () => {
  const ARGUMENTS = '{"channel":"C0SALES","text":"Q3 numbers are in"}';
  const TOOL_ACTION = {
    tool: 'post_message',
    summary: 'Post "Q3 numbers are in" in #sales',
    argumentsHash: createHash('sha256').update(ARGUMENTS).digest('hex'),
    arguments: ARGUMENTS,
    tier: 'external',
    reason: 'the user asked',
  };
  const ORIGIN = { runId: 'r-7', groupId: 'T1.C1', conversationId: 'T1.C1.1700000000.000100', userId: 'U1' };
  const grantedCall = () =>
    unrequested().given(
      requested({ requester: 'agent:run-r-7', action: TOOL_ACTION, approvers: ['U2'], required: 1, origin: ORIGIN }),
      { type: 'approval.vote_cast', data: { approver: 'U2', decision: 'approve', argumentsHash: TOOL_ACTION.argumentsHash, castAt: NOW, by: 'user:U2', reason: null } },
    );
  const grantedEvent: GivenEvent = { type: 'approval.granted', data: { approvedBy: ['U2'], grantedAt: NOW } };
  const executed = (content = 'posted in #sales'): GivenEvent => ({ type: 'approval.action_executed', data: { outcome: 'executed', content, executedAt: NOW } });

  it('is asked to run on the grant, beside the report, keyed by the approval', () => {
    expect(effectsOf(grantedCall(), grantedEvent)).toEqual([
      { type: 'reportDecision', params: { approvalId: ID, requester: 'agent:run-r-7', decision: 'granted' } },
      { type: 'executeAction', params: { approvalId: ID } },
    ]);
  });

  it('stays owed until its execution is recorded (a SIGKILL between the grant and the run runs it after the restart)', () => {
    const after = grantedCall().given(grantedEvent, reported());
    expect(pendingEffectsOf(after)).toEqual([{ type: 'executeAction', params: { approvalId: ID } }]);
  });

  it('records its execution once, and is never owed again once recorded; its result is owed to the asking conversation instead', () => {
    const before = grantedCall().given(grantedEvent, reported());
    const after = before.when({ type: 'recordExecution', outcome: 'executed', content: 'posted in #sales' }, { issuedAt: NOW, actor: 'runtime' }).thenRecorded([executed()]);
    expect(effectsOf(before, executed())).toEqual([{ type: 'deliverResult', params: { approvalId: ID, conversationId: ORIGIN.conversationId } }]);
    expect(pendingEffectsOf(after)).toEqual([{ type: 'deliverResult', params: { approvalId: ID, conversationId: ORIGIN.conversationId } }]);
    after.when({ type: 'recordExecution', outcome: 'failed', content: 'again' }).thenRejected('the action has run already; a granted action runs once');
    const delivered = after
      .when({ type: 'resultDelivered', conversationId: ORIGIN.conversationId })
      .thenRecorded([{ type: 'approval.result_delivered', data: { conversationId: ORIGIN.conversationId } }]);
    expect(pendingEffectsOf(delivered)).toEqual([]);
    delivered.when({ type: 'resultDelivered', conversationId: ORIGIN.conversationId }).thenRejected(/delivered already/);
  });

  it('records a failed run as failed, and keeps at most 4,000 characters of what it gave, saying it was cut', () => {
    const before = grantedCall().given(grantedEvent);
    before.when({ type: 'recordExecution', outcome: 'failed', content: 'HTTP 500' }, { issuedAt: NOW }).thenRecorded([
      { type: 'approval.action_executed', data: { outcome: 'failed', content: 'HTTP 500', executedAt: NOW } },
    ]);
    const long = before.when({ type: 'recordExecution', outcome: 'executed', content: 'x'.repeat(10_000) }, { issuedAt: NOW });
    if (!long.decision.accepted) throw new Error(long.decision.reason);
    const content = (long.decision.events[0]!.data as { content: string }).content;
    expect(content).toHaveLength(4_000);
    expect(content).toMatch(/cut: the full result is longer\)$/);
  });

  it('is not delivered before it ran', () => {
    grantedCall().given(grantedEvent).when({ type: 'resultDelivered', conversationId: ORIGIN.conversationId }).thenRejected('the action has not run yet');
  });

  it('runs nothing for a request made by hand (no arguments, no origin)', () => {
    expect(effectsOf(pending().given(voteCast('U2'), voteCast('U3')), { type: 'approval.granted', data: { approvedBy: ['U2', 'U3'], grantedAt: NOW } })).toEqual([
      { type: 'reportDecision', params: { approvalId: ID, requester: 'U1', decision: 'granted' } },
    ]);
    expect(pendingEffectsOf(granted().given(reported()))).toEqual([]);
    granted().when({ type: 'recordExecution', outcome: 'executed', content: 'ok' }).thenRejected('requested by hand');
  });

  it('runs nothing for a full action without an origin', () => {
    const noOrigin = unrequested().given(requested({ action: TOOL_ACTION, approvers: ['U2'], required: 1 }), voteCast('U2'));
    expect(effectsOf(noOrigin, grantedEvent)).toEqual([{ type: 'reportDecision', params: { approvalId: ID, requester: 'U1', decision: 'granted' } }]);
  });
});
