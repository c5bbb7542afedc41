/**
 * The pure parts of `approvals show` and `audit`: folding an approval's stream (votes,
 * decision, and events of types this version does not know, such as a refused vote or the
 * execution's result), and the time bounds `--since`/`--until` accept.
 */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../events/envelope.js';
import { describeApproval, foldApproval } from '../../runtime/cli/approval-view.js';
import { parseTimeBound } from '../../runtime/cli/option-values.js';

let position = 0n;
function stored(type: string, data: unknown, actor = 'runtime'): StoredEvent {
  position += 1n;
  return {
    id: `e${position}`,
    streamId: 'approval-a-1',
    revision: position - 1n,
    position,
    type,
    version: 1,
    storedVersion: 1,
    data,
    metadata: { correlationId: 'c', causationId: null, actor, occurredAt: '2026-01-05T10:00:00.000Z' },
    recordedAt: '2026-01-05T10:00:00.000Z',
    prevHash: '0'.repeat(64),
    hashVersion: 2,
    hash: '1'.repeat(64),
  };
}

const requested = stored('approval.requested', {
  requester: 'agent:run-r1',
  action: { tool: 'http_request', summary: 'POST', argumentsHash: 'ab', arguments: '{"action":"hook"}', tier: 'critical', reason: null },
  approvers: ['U1', 'operator'],
  required: 1,
  expiresAt: '2026-01-06T00:00:00.000Z',
  requestedAt: '2026-01-05T10:00:00.000Z',
  origin: null,
  policy: null,
});

describe('approvals show', () => {
  it('folds votes and the decision, and keeps events it does not know (a refused vote, the execution) in order', () => {
    const view = foldApproval('a-1', [
      requested,
      stored('approval.vote_refused', { approver: 'U7', by: 'user:U7', decision: 'approve', argumentsHash: 'ab', reason: 'U7 is not one of the approvers', refusedAt: '2026-01-05T10:00:30.000Z' }, 'user:U7'),
      stored('approval.vote_cast', { approver: 'operator', decision: 'approve', by: 'operator:alice', reason: 'ok', castAt: '2026-01-05T10:01:00.000Z' }, 'operator:alice'),
      stored('approval.granted', { approvedBy: ['operator'], grantedAt: '2026-01-05T10:01:00.000Z' }, 'operator:alice'),
      stored('approval.action_executed', { outcome: 'executed', content: 'HTTP 200', executedAt: '2026-01-05T10:02:00.000Z' }),
      stored('approval.result_delivered', { conversationId: 'T1.C1' }),
    ]);
    expect(view).toMatchObject({ status: 'granted', votes: [{ approver: 'operator', by: 'operator:alice', reason: 'ok' }], decision: { outcome: 'granted', by: ['operator'] } });
    expect(view!.events.map((event) => event.type)).toEqual(['approval.vote_refused', 'approval.action_executed', 'approval.result_delivered']);
    const text = describeApproval(view!);
    expect(text).toContain('operator approved (cast by operator:alice): ok');
    expect(text).toContain('decision: granted by operator at 2026-01-05T10:01:00.000Z');
    expect(text).toContain('origin     (made by hand: no run)');
    expect(text).toContain('refused vote: U7 approve (sent by user:U7) at 2026-01-05T10:00:30.000Z: U7 is not one of the approvers');
    expect(text).toContain('execution: executed at 2026-01-05T10:02:00.000Z: HTTP 200');
    expect(text).toContain('approval.result_delivered at 2026-01-05T10:00:00.000Z (runtime): {"conversationId":"T1.C1"}');
  });

  it('a stream without a request is no approval', () => {
    expect(foldApproval('a-1', [stored('approval.vote_cast', {})])).toBeNull();
  });
});

describe('--since and --until', () => {
  const now = () => Date.parse('2026-01-08T12:00:00.000Z');
  it('take an ISO time with a zone, a day (UTC midnight), or a duration back from now', () => {
    expect(parseTimeBound('2026-01-05T10:00:00+02:00', now).toISOString()).toBe('2026-01-05T08:00:00.000Z');
    expect(parseTimeBound('2026-01-05', now).toISOString()).toBe('2026-01-05T00:00:00.000Z');
    expect(parseTimeBound('7d', now).toISOString()).toBe('2026-01-01T12:00:00.000Z');
    expect(parseTimeBound('1h30m', now).toISOString()).toBe('2026-01-08T10:30:00.000Z');
  });

  it('refuse a time without a zone or words', () => {
    expect(() => parseTimeBound('2026-01-05T10:00:00', now)).toThrow(InvalidArgumentError);
    expect(() => parseTimeBound('last week', now)).toThrow('expected an ISO time');
  });
});
