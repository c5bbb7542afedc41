import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../../actors/approval.js';
import type { MemoryFact } from '../../../actors/memory.js';
import { conflictNoticeKey, scopeOwner } from '../../../runtime/channels/notice-effects.js';
import { approvalRequestText, conflictNoticeText, decisionReportText } from '../../../runtime/channels/notice-text.js';

const HASH = '0123456789ab'.padEnd(64, 'f');

const request: ApprovalRequest = {
  requester: 'agent:run-42',
  action: { tool: 'send_payment', summary: 'Pay Acme\n1,200 EUR', argumentsHash: HASH },
  approvers: ['U0ALICE', 'U0BOB'],
  required: 2,
  expiresAt: '2026-12-08T12:00:00.000Z',
  requestedAt: '2026-12-07T12:00:00.000Z',
  origin: null,
  policy: null,
};

function fact(id: string, statement: string, confidence: MemoryFact['confidence'], ref: string): MemoryFact {
  return { id, key: 'vendor.acme.terms', statement, confidence, category: 'project', source: { kind: 'message', ref }, recordedAt: '2026-12-07T12:00:00.000Z', status: 'active', supersededBy: null, demoted: false, freshAt: '2026-12-07T12:00:00.000Z' };
}

describe('conflictNoticeText', () => {
  it('names the key and every side, numbered oldest first, with its confidence and source, one line each, and the CLI that settles it', () => {
    const text = conflictNoticeText('group.T1.C1', 'vendor.acme.terms', [
      fact('f1', 'net 30', 'agent-observed', '1712345678.000100'),
      fact('f2', 'net\n\n45', 'user-stated', 'U0BOB'),
    ]);
    expect(text).toContain('`vendor.acme.terms` (group.T1.C1)');
    expect(text).toContain(`1. "net 30" (agent-observed, from message 1712345678.000100)`);
    expect(text).toContain(`2. "net 45" (user-stated, from message U0BOB)`);
    expect(text).toContain("`ledgerclaw memory resolve vendor.acme.terms --scope group.T1.C1 --keep old|new|none`");
  });
});

describe('approvalRequestText', () => {
  it('shows who asks, the exact tool and summary, the votes needed, the deadline and the arguments hash', () => {
    const text = approvalRequestText('ap-1', request);
    expect(text).toContain('(ap-1): the agent (run-42) asks to run `send_payment`');
    expect(text).toContain('> Pay Acme 1,200 EUR');
    expect(text).toContain('2 of 2 approvals (U0ALICE, U0BOB) before 2026-12-08T12:00:00.000Z');
    expect(text).toContain('`0123456789ab…`');
  });

  it("shows a tool call's action in full: tier, the arguments as they would run, the agent's reason, where it was asked and for whom, and the policy", () => {
    const argumentsJson = '{"action":"customer_webhook","body":{"customers":["Acme","Initech"]}}';
    const text = approvalRequestText('ap-2', {
      ...request,
      action: { tool: 'http_request', summary: 'POST to customer_webhook', argumentsHash: HASH, arguments: argumentsJson, tier: 'critical', reason: 'the note asks for it' },
      origin: { runId: 'r-42', groupId: 'T1.C1', conversationId: 'T1.C1.1712345678.000100', userId: 'U0ALICE' },
      policy: { tier: 'critical', maxTier: 'write', maxTierFrom: 'permissions.defaultMaxTier', rule: 'permissions.tools.http_request' },
    });
    expect(text).toContain('asks to run `http_request` (tier critical)');
    expect(text).toContain('```\n{\n  "action": "customer_webhook",\n  "body": {\n    "customers": [\n      "Acme",\n      "Initech"\n    ]\n  }\n}\n```');
    expect(text).toContain('The agent\'s reason: "the note asks for it"');
    expect(text).toContain('Asked in T1.C1.1712345678.000100, answering U0ALICE (run r-42).');
    expect(text).toContain('tier critical is above write (permissions.defaultMaxTier); approvers from permissions.tools.http_request');
  });

  it('cuts long arguments and keeps a fence inside them from closing the block', () => {
    const argumentsJson = JSON.stringify({ text: '```' + 'x'.repeat(5_000) });
    const text = approvalRequestText('ap-3', { ...request, action: { tool: 'post_message', summary: 's', argumentsHash: HASH, arguments: argumentsJson, tier: 'external', reason: null } });
    expect(text.match(/```/g)).toHaveLength(2);
    expect(text).toContain('(cut: ');
  });

  it('names a person who asks by their id', () => {
    expect(approvalRequestText('ap-1', { ...request, requester: 'U0CAROL' })).toContain('(ap-1): U0CAROL asks to run');
  });
});

describe('decisionReportText', () => {
  const vote = (approver: string, decision: 'approve' | 'deny', reason: string | null = null, by = `user:${approver}`) => ({ approver, by, reason, decision, castAt: '2026-12-07T13:00:00.000Z' });

  it('says who granted it', () => {
    expect(decisionReportText('ap-1', request, 'granted', [vote('U0ALICE', 'approve'), vote('U0BOB', 'approve')])).toBe('**Approved** (ap-1) by U0ALICE, U0BOB: `send_payment`: Pay Acme 1,200 EUR.');
  });

  it('says a granted tool call runs now and its result follows', () => {
    const call = { ...request, action: { ...request.action, arguments: '{}', tier: 'critical' as const, reason: null }, origin: { runId: 'r-42', groupId: 'T1.C1', conversationId: 'T1.C1', userId: null } };
    expect(decisionReportText('ap-1', call, 'granted', [vote('U0ALICE', 'approve')])).toContain('It runs now; its result follows here.');
  });

  it('tells the requester who denied it and the reason they gave, where before it named only who', () => {
    const text = decisionReportText('ap-1', request, 'denied', [vote('U0ALICE', 'approve'), vote('U0BOB', 'deny', 'not during\nthe freeze')]);
    expect(text).toBe('**Denied** (ap-1) by U0BOB, who said: "not during the freeze". Nothing ran: `send_payment`: Pay Acme 1,200 EUR. Ask again with a new approval if it is still needed.');
    expect(decisionReportText('ap-1', request, 'denied', [vote('U0BOB', 'deny')])).toContain('by U0BOB (no reason given). Nothing ran');
    expect(decisionReportText('ap-1', request, 'denied', [vote('operator', 'deny', 'no', 'operator:dana')])).toContain('by operator (operator:dana), who said: "no"');
  });

  it('tells the requester that it expired, when, and how many approvals it had', () => {
    expect(decisionReportText('ap-1', request, 'expired', [vote('U0ALICE', 'approve')])).toBe(
      '**Expired** (ap-1) at 2026-12-08T12:00:00.000Z: it had 1 of the 2 approvals it needed, so it is not approved and nothing ran: `send_payment`: Pay Acme 1,200 EUR',
    );
  });
});

describe('scopeOwner', () => {
  it("tells a group scope's conflict to the group and a user scope's to the person, and refuses any other scope", () => {
    expect(scopeOwner('group.T1.C1.1712345678.000100')).toEqual({ kind: 'group', groupId: 'T1.C1.1712345678.000100' });
    expect(scopeOwner('user.U0ALICE')).toEqual({ kind: 'person', userId: 'U0ALICE' });
    expect(() => scopeOwner('team.T1')).toThrow(/team\.T1.*neither group\.<id> nor user\.<id>/);
  });
});

describe('conflictNoticeKey', () => {
  it('is one key per conflict, whatever order its facts come in, and another for another conflict', () => {
    expect(conflictNoticeKey('group.G', 'k', ['f1', 'f2'])).toBe(conflictNoticeKey('group.G', 'k', ['f2', 'f1']));
    expect(conflictNoticeKey('group.G', 'k', ['f1', 'f2'])).not.toBe(conflictNoticeKey('group.G', 'k', ['f1', 'f3']));
    expect(conflictNoticeKey('group.G', 'k', ['f1', 'f2'])).toMatch(/^memory-conflict:[0-9a-f]{32}$/);
  });
});
