/**
 * A granted action ran (`approval.action_executed`) → its result owed to the conversation
 * that asked for it (group `deliverApprovalResult`, posted through the group's reply path
 * under the reply id `approval-<id>`, so a post resumed after a crash is found, not made
 * twice), then the approval told it is delivered (`resultDelivered`).
 *
 * The group goes first, as a task's answer does (task-result.ts): once the approval has
 * heard, nothing would deliver a result a crash left undelivered. The other way round, a
 * crash between the two resumes `deliverResult`; the group refuses the result it has
 * already (counted as done) and the approval is told.
 *
 * A conversation the assistant does not take part in (an unconfigured group) gets no post;
 * the approval is told so (conversationId null). Its result stays on the approval's stream.
 */
import { approvalReplyId, groupCommands } from '../../actors/group.js';
import { runsWhenGranted, type ApprovalContext } from '../../actors/approval.js';
import type { RefusedCommand, Workflow, WorkflowCommand } from './workflow.js';

/** What the conversation is told: the tool, whether it ran, and what it gave. */
export function approvalResultText(context: ApprovalContext): string | null {
  const { request, execution } = context;
  if (request === null || execution === null) return null;
  const content = execution.content.trim() === '' ? '(no output)' : execution.content;
  return execution.outcome === 'executed'
    ? `Approved action \`${request.action.tool}\` (${context.id}) ran: ${content}`
    : `Approved action \`${request.action.tool}\` (${context.id}) failed: ${content}`;
}

export const approvalResult: Workflow<'approval.deliverResult', { approval: 'approval'; group: 'group' }> = {
  effect: 'approval.deliverResult',
  reads: ({ approvalId, conversationId }) => ({ approval: { kind: 'approval', id: approvalId }, group: { kind: 'group', id: conversationId } }),
  decide({ approvalId, conversationId }, { approval, group }) {
    const { request, execution, resultDelivered } = approval.context;
    if (resultDelivered || execution === null || !runsWhenGranted(request)) return [];
    const told: WorkflowCommand = { kind: 'approval', id: approvalId, command: { type: 'resultDelivered', conversationId } };
    const text = approvalResultText(approval.context);
    const delivery = { type: 'deliverApprovalResult' as const, approvalId, runId: request.origin.runId, text: text ?? '' };
    // Only what the group can take: a refused delivery would hold the approval's settlement up.
    if (group.state === 'unconfigured' || !groupCommands.safeParse(delivery).success) {
      return [{ kind: 'approval', id: approvalId, command: { type: 'resultDelivered', conversationId: null } }];
    }
    return [{ kind: 'group', id: conversationId, command: delivery }, told];
  },
  alreadyDone: approvalResultAlreadyDone,
};

/** The group has this result already (owed or posted), or the approval knows it is delivered. */
export function approvalResultAlreadyDone(refused: RefusedCommand): boolean {
  if (refused.kind === 'group' && refused.command.type === 'deliverApprovalResult') {
    return refused.target.context.recentReplyIds.includes(approvalReplyId(refused.command.approvalId));
  }
  if (refused.kind === 'approval' && refused.command.type === 'resultDelivered') return refused.target.context.resultDelivered;
  return false;
}
