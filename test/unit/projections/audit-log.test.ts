/**
 * The audit log's rows: how each audited event reads (kind, principal, group, summary), the
 * tolerant reading of run.tool_called before and after it carries tier and outcome, event
 * types this version does not know yet, and the projection's lookups (a run's group from
 * run.queued, a reply's text from its request, an approval's group from its origin) applied
 * to a real SQLite read model.
 */
import { describe, expect, it } from 'vitest';
import { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { auditEntryOf, toolOutcomeOf } from '../../../projections/audit-entries.js';
import { AUDIT_LOG_INDEXES, AUDIT_LOG_SCHEMA, auditLogProjection } from '../../../projections/audit-log.js';
import { listApprovals, queryAuditLog } from '../../../projections/audit-queries.js';

let position = 0n;
function stored(streamId: string, type: string, data: unknown, actor = 'runtime', revision = 0n): StoredEvent {
  position += 1n;
  return {
    id: `e${position}`,
    streamId,
    revision,
    position,
    type,
    version: 1,
    storedVersion: 1,
    data,
    metadata: { correlationId: 'c', causationId: null, actor, occurredAt: '2026-01-05T10:00:00.000Z' },
    recordedAt: `2026-01-05T10:00:${String(position).padStart(2, '0')}.000Z`,
    prevHash: '0'.repeat(64),
    hashVersion: 2,
    hash: '1'.repeat(64),
  };
}

const toolCall = (extra: Record<string, unknown> = {}) => ({ callId: 'c1', tool: 'http_request', where: 'host', input: { action: 'hook' }, output: 'pending', isError: false, durationMs: 4, calledAt: 'x', ...extra });

describe('audit rows: run.tool_called', () => {
  it('reads a v1 call tolerantly: no tier, the outcome from isError, the run as the principal whoever signed it', () => {
    const entry = auditEntryOf(stored('run-r1', 'run.tool_called', toolCall({ isError: true })), { groupId: 'T1.C1' });
    expect(entry).toMatchObject({ kind: 'tool_call', actor: 'agent:run-r1', groupId: 'T1.C1', summary: 'called http_request: failed' });
    expect(entry.detail).toMatchObject({ tier: null, outcome: 'failed', approvalId: null, signedBy: 'runtime' });
  });

  it('uses the tier, outcome and approval id a v2 call carries', () => {
    const entry = auditEntryOf(stored('run-r1', 'run.tool_called', toolCall({ tier: 'critical', outcome: 'approval_requested', approvalId: 'a-1' })));
    expect(entry.summary).toBe('called http_request [critical]: approval requested (approval a-1)');
    expect(entry.detail).toMatchObject({ tier: 'critical', outcome: 'approval_requested', approvalId: 'a-1' });
  });

  it('an outcome it does not know falls back to isError rather than being trusted', () => {
    expect(toolOutcomeOf({ outcome: 'teleported', isError: false })).toBe('executed');
    expect(toolOutcomeOf({ outcome: 'refused', isError: true })).toBe('refused');
  });
});

describe('audit rows: approvals, memory, tasks', () => {
  it('a request is the requester’s; a vote is whoever cast it (operator:<user>), with its reason', () => {
    const requested = auditEntryOf(
      stored('approval-a-1', 'approval.requested', { requester: 'agent:run-r1', action: { tool: 'post_message', summary: 'post "hi" in #sales', argumentsHash: 'h', tier: 'external' }, approvers: ['U1', 'U2'], required: 1 }),
      { groupId: 'T1.C1' },
    );
    expect(requested).toMatchObject({ kind: 'approval.requested', actor: 'agent:run-r1', groupId: 'T1.C1', summary: 'asked U1, U2 (1 of 2) to approve post_message [external]: post "hi" in #sales' });
    const byHand = auditEntryOf(stored('approval-a-2', 'approval.requested', { requester: 'U9', action: { tool: 'pay', summary: 'pay', argumentsHash: 'h' }, approvers: ['U1'], required: 1 }));
    expect(byHand.actor).toBe('user:U9');
    const vote = auditEntryOf(stored('approval-a-1', 'approval.vote_cast', { approver: 'operator', decision: 'deny', by: 'operator:alice', reason: 'no\nway' }, 'operator:alice'));
    expect(vote).toMatchObject({ actor: 'operator:alice', summary: 'operator voted deny: no way' });
  });

  it('a refused vote is its sender’s, the execution says how it went, and an approval event it does not know gets a row with its data whole', () => {
    const refused = auditEntryOf(
      stored('approval-a-1', 'approval.vote_refused', { approver: 'U1', by: 'agent:run-r9', decision: 'approve', argumentsHash: 'h', reason: 'an agent never votes', refusedAt: 'x' }, 'agent:run-r9'),
      { groupId: 'T1.C1' },
    );
    expect(refused).toMatchObject({ kind: 'approval.vote_refused', actor: 'agent:run-r9', groupId: 'T1.C1', summary: 'refused a vote to approve as U1: an agent never votes' });
    const executed = auditEntryOf(stored('approval-a-1', 'approval.action_executed', { outcome: 'failed', content: 'HTTP 500 from\ncrm_webhook', executedAt: 'x' }));
    expect(executed).toMatchObject({ summary: 'ran the approved action: failed: HTTP 500 from crm_webhook', detail: { approvalId: 'a-1', outcome: 'failed' } });
    const later = auditEntryOf(stored('approval-a-1', 'approval.escalated', { to: 'U9' }), { groupId: 'T1.C1' });
    expect(later).toMatchObject({ kind: 'approval.escalated', groupId: 'T1.C1', summary: 'escalated', detail: { approvalId: 'a-1', to: 'U9' } });
  });

  it('memory rows carry the scope’s group (none for a person’s memory) and the writer', () => {
    const fact = auditEntryOf(stored('memory-group.T1.C1', 'memory.fact_recorded', { key: 'a.b', statement: 'net 30' }, 'agent:run-r1'));
    expect(fact).toMatchObject({ groupId: 'T1.C1', actor: 'agent:run-r1', summary: 'recorded a.b in group.T1.C1: net 30' });
    expect(auditEntryOf(stored('memory-user.U1', 'memory.fact_retired', { factId: 'f1', reason: 'old' }, 'cli')).groupId).toBeNull();
    expect(auditEntryOf(stored('memory-group.T1.C1', 'memory.daily_log_written', { day: '2026-01-05', writtenBy: 'agent:consolidation' })).actor).toBe('agent:consolidation');
  });

  it('a task row names the task and what changed', () => {
    expect(auditEntryOf(stored('task-t1', 'task.scheduled', { groupId: 'T1.C1', prompt: 'sum up\nthe day', schedule: { kind: 'cron' } }, 'agent:run-r1'))).toMatchObject({
      groupId: 'T1.C1',
      summary: 'scheduled task t1 (cron): sum up the day',
    });
    expect(auditEntryOf(stored('task-t1', 'task.paused', { reason: 'holiday' }, 'cli'), { groupId: 'T1.C1' }).summary).toBe('task t1 paused: holiday');
  });
});

describe('the audit-log projection', () => {
  it('fills groups from what came before: a run’s from run.queued, a reply’s text from its request, an approval’s votes from its origin', async () => {
    const db = await SqliteConnection.open(':memory:', { create: true });
    await db.exec(AUDIT_LOG_SCHEMA);
    await db.exec(AUDIT_LOG_INDEXES);
    const events = [
      stored('run-r1', 'run.queued', { groupId: 'T1.C1', conversationId: 'T1.C1.1712345678.000100' }),
      stored('run-r1', 'run.tool_called', toolCall(), 'runtime', 1n),
      stored('approval-a-1', 'approval.requested', {
        requester: 'agent:run-r1',
        action: { tool: 'http_request', summary: 'POST', argumentsHash: 'h', tier: 'critical' },
        approvers: ['U1', 'U2'],
        required: 2,
        expiresAt: '2026-01-06T00:00:00.000Z',
        origin: { runId: 'r1', groupId: 'T1.C1', conversationId: 'T1.C1', userId: null },
      }),
      stored('approval-a-1', 'approval.vote_cast', { approver: 'U1', decision: 'approve', by: 'user:U1', reason: null }, 'user:U1', 1n),
      stored('approval-a-1', 'approval.denied', { deniedBy: 'U2' }, 'user:U2', 2n),
      stored('group-T1.C1.1712345678.000100', 'group.reply_requested', { replyId: 'rp1', runId: 'r1', text: 'Waiting for approval a-1.' }),
      stored('group-T1.C1.1712345678.000100', 'group.reply_posted', { replyId: 'rp1', refs: ['1'] }, 'runtime', 1n),
    ];
    for (const event of events) await auditLogProjection.apply(db, event);

    const rows = await queryAuditLog(db, { groupId: 'T1.C1' });
    expect(rows.map((row) => [row.kind, row.actor])).toEqual([
      ['tool_call', 'agent:run-r1'],
      ['approval.requested', 'agent:run-r1'],
      ['approval.vote_cast', 'user:U1'],
      ['approval.denied', 'user:U2'],
      ['message.posted', 'agent:run-r1'],
    ]);
    expect(rows[4]!.summary).toBe('posted in T1.C1.1712345678.000100: Waiting for approval a-1.');
    expect((await queryAuditLog(db, { actor: 'user:U2' })).map((row) => row.kind)).toEqual(['approval.denied']);
    expect(await queryAuditLog(db, { since: events[3]!.recordedAt, until: events[4]!.recordedAt })).toHaveLength(1);

    const [approval] = await listApprovals(db, {});
    expect(approval).toMatchObject({ approvalId: 'a-1', groupId: 'T1.C1', status: 'denied', approvals: 1, denials: 0, tier: 'critical' });
    expect(await listApprovals(db, { pending: true })).toEqual([]);
    await db.close();
  });
});
