/**
 * The words of each notice, as Markdown, from the actors' own state. Pure, so each is
 * unit-tested on its own; notice-effects.ts decides who gets them.
 */
import { OPERATOR_APPROVER, runsWhenGranted, type ApprovalRequest, type ApprovalVote } from '../../actors/approval.js';
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

/**
 * The requester's report: the decision and the action it was about. Granted: who approved
 * (and, for a tool call's action, that it runs now). Denied: who denied it and the reason
 * they gave. Expired: when, and how many of the approvals it needed it had.
 */
export function decisionReportText(approvalId: string, request: ApprovalRequest, decision: ApprovalDecision, votes: readonly ApprovalVote[]): string {
  const action = `\`${request.action.tool}\`: ${oneLine(request.action.summary)}`;
  const approvals = votes.filter((vote) => vote.decision === 'approve');
  switch (decision) {
    case 'granted': {
      const runs = runsWhenGranted(request) ? ' It runs now; its result follows here.' : '';
      return `**Approved** (${approvalId}) by ${approvals.map(voterName).join(', ')}: ${action}.${runs}`;
    }
    case 'denied': {
      const deny = votes.find((vote) => vote.decision === 'deny');
      const why = deny?.reason ? `, who said: "${oneLine(deny.reason)}"` : ' (no reason given)';
      return `**Denied** (${approvalId}) by ${deny ? voterName(deny) : 'an approver'}${why}. Nothing ran: ${action}. Ask again with a new approval if it is still needed.`;
    }
    case 'expired':
      return `**Expired** (${approvalId}) at ${request.expiresAt}: it had ${approvals.length} of the ${request.required} approvals it needed, so it is not approved and nothing ran: ${action}`;
  }
}

/** An approver by id; the terminal's `operator` with the OS user who voted. */
function voterName(vote: ApprovalVote): string {
  return vote.approver === OPERATOR_APPROVER ? `${vote.approver} (${vote.by})` : vote.approver;
}

/** `agent:run-42` is an agent run; anything else is a person's id. */
function requesterName(requester: string): string {
  return requester.startsWith('agent:') ? `the agent (${requester.slice('agent:'.length)})` : requester;
}

/** A quoted statement stays on one line, so it cannot break the notice's layout. */
function oneLine(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}
