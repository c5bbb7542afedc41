/**
 * approval.deliverResult: a granted action's result is owed to the conversation that asked
 * (group `deliverApprovalResult`, reply id `approval-<id>`), then the approval is told; a
 * conversation that takes no posts gets none; a repeat is already done.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { approvalKind } from '../../../actors/approval.js';
import { groupKind } from '../../../actors/group.js';
import { approvalResult } from '../../../runtime/workflows/approval-result.js';
import type { WorkflowCommand } from '../../../runtime/workflows/workflow.js';
import { spec, type GivenEvent } from '../../support/actor-spec.js';
import { workflowSpec } from '../../support/workflow-spec.js';
import { group, GROUP } from './fixtures.js';

const ID = 'ap-9';
const NOW = '2026-01-05T09:00:00.000Z';
const ARGUMENTS = '{"channel":"C0SALES","text":"hi"}';
const HASH = createHash('sha256').update(ARGUMENTS).digest('hex');
const action = { tool: 'post_message', summary: 'Post hi in #sales', argumentsHash: HASH, arguments: ARGUMENTS, tier: 'external', reason: null };
const origin = { runId: 'r-7', groupId: GROUP, conversationId: GROUP, userId: 'U1' };

const granted: GivenEvent[] = [
  { type: 'approval.requested', data: { requester: 'agent:run-r-7', action, approvers: ['U2'], required: 1, expiresAt: '2026-01-05T10:00:00.000Z', requestedAt: NOW, origin, policy: null } },
  { type: 'approval.vote_cast', data: { approver: 'U2', decision: 'approve', argumentsHash: HASH, castAt: NOW, by: 'user:U2', reason: null } },
  { type: 'approval.granted', data: { approvedBy: ['U2'], grantedAt: NOW } },
];
const executed = (outcome: 'executed' | 'failed', content: string): GivenEvent => ({ type: 'approval.action_executed', data: { outcome, content, executedAt: NOW } });
const approval = (...events: GivenEvent[]) => spec(approvalKind, ID).given(...granted, ...events);
const params = { approvalId: ID, conversationId: GROUP };

const deliver = (text: string): WorkflowCommand => ({ kind: 'group', id: GROUP, command: { type: 'deliverApprovalResult', approvalId: ID, runId: 'r-7', text } });
const told = (conversationId: string | null): WorkflowCommand => ({ kind: 'approval', id: ID, command: { type: 'resultDelivered', conversationId } });

describe('workflow approval.deliverResult', () => {
  it('owes the result to the asking conversation, then tells the approval, reading both', () => {
    const outcome = workflowSpec(approvalResult).given({ approval: approval(executed('executed', 'posted (1712.0001)')), group: group.idle() }).when(params);
    expect(outcome.reads).toEqual({ approval: { kind: 'approval', id: ID }, group: { kind: 'group', id: GROUP } });
    outcome.thenSends([deliver('Approved action `post_message` (ap-9) ran: posted (1712.0001)'), told(GROUP)]);
  });

  it('says a failed action failed, and why', () => {
    workflowSpec(approvalResult)
      .given({ approval: approval(executed('failed', 'post_message: not_in_channel')), group: group.idle() })
      .when(params)
      .thenSends([deliver('Approved action `post_message` (ap-9) failed: post_message: not_in_channel'), told(GROUP)]);
  });

  it('posts nothing in a conversation the assistant takes no part in, and tells the approval so', () => {
    workflowSpec(approvalResult).given({ approval: approval(executed('executed', 'ok')), group: group.unconfigured() }).when(params).thenSends([told(null)]);
  });

  it('sends nothing before the action ran or once the result is delivered', () => {
    workflowSpec(approvalResult).given({ approval: approval(), group: group.idle() }).when(params).thenSends([]);
    const delivered = approval(executed('executed', 'ok'), { type: 'approval.result_delivered', data: { conversationId: GROUP } });
    workflowSpec(approvalResult).given({ approval: delivered, group: group.idle() }).when(params).thenSends([]);
  });

  it('counts a refused delivery as done when the group owes or posted it already, and a refused settlement when the approval has it', () => {
    const owing = spec(groupKind, GROUP).given(
      { type: 'group.configured', data: { triggerMode: 'mention', allowedSenders: [], isAdmin: false, rolesAddressingUsers: [] } },
      { type: 'group.reply_requested', data: { replyId: `approval-${ID}`, runId: 'r-7', text: 'the result', threadTs: null, messageIds: [] } },
    );
    workflowSpec(approvalResult).refused(deliver('x'), owing).when(params).isAlreadyDone();
    workflowSpec(approvalResult).refused(deliver('x'), group.idle()).when(params).isRefused();
    const delivered = approval(executed('executed', 'ok'), { type: 'approval.result_delivered', data: { conversationId: GROUP } });
    workflowSpec(approvalResult).refused(told(GROUP), delivered).when(params).isAlreadyDone();
    workflowSpec(approvalResult).refused(told(GROUP), approval()).when(params).isRefused();
  });
});
