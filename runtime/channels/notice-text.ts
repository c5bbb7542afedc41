/**
 * The words of each notice, as Markdown, from the actors' own state. Pure, so each is
 * unit-tested on its own; notice-effects.ts decides who gets them.
 */
import type { ApprovalRequest } from '../../actors/approval.js';
import type { MemoryFact } from '../../actors/memory.js';

/**
 * A memory conflict: the key, and every side (oldest first) with its confidence and source,
 * and how a person settles it (the buttons under it in Slack, or the CLI).
 */
export function conflictNoticeText(scope: string, key: string, facts: readonly MemoryFact[]): string {
  const sides = facts.map((fact, index) => `${index + 1}. "${oneLine(fact.statement)}" (${fact.confidence}, from ${fact.source.kind} ${fact.source.ref})`);
  return [
    `**Memory conflict** on \`${key}\` (${scope}): these disagree, and neither is used as settled until one is kept.`,
    ...sides,
    `Keep one (the others are retired) or neither. An operator can also run \`ledgerclaw memory resolve ${key} --scope ${scope} --keep old|new|none\`.`,
  ].join('\n');
}

/** An approver's request to vote: who asks, the exact action, how many votes, until when. */
export function approvalRequestText(approvalId: string, request: ApprovalRequest): string {
  return [
    `**Approval needed** (${approvalId}): ${requesterName(request.requester)} asks to run \`${request.action.tool}\`:`,
    `> ${oneLine(request.action.summary)}`,
    `It needs ${request.required} of ${request.approvers.length} approvals (${request.approvers.join(', ')}) before ${request.expiresAt}. ` +
      `Your vote is for this exact action (arguments sha256 \`${request.action.argumentsHash.slice(0, 12)}…\`).`,
  ].join('\n');
}

export type ApprovalDecision = 'granted' | 'denied' | 'expired';

/** The requester's report: the decision, who made it, and the action it was about. */
export function decisionReportText(approvalId: string, request: ApprovalRequest, decision: ApprovalDecision, decidedBy: readonly string[]): string {
  const action = `\`${request.action.tool}\`: ${oneLine(request.action.summary)}`;
  switch (decision) {
    case 'granted':
      return `**Approved** (${approvalId}) by ${decidedBy.join(', ')}: ${action}`;
    case 'denied':
      return `**Denied** (${approvalId}) by ${decidedBy.join(', ')}: ${action}. Ask again with a new approval if it is still needed.`;
    case 'expired':
      return `**Expired** (${approvalId}): nobody decided before ${request.expiresAt}, so it is not approved: ${action}`;
  }
}

/** `agent:run-42` is an agent run; anything else is a person's id. */
function requesterName(requester: string): string {
  return requester.startsWith('agent:') ? `the agent (${requester.slice('agent:'.length)})` : requester;
}

/** A quoted statement stays on one line, so it cannot break the notice's layout. */
function oneLine(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}
