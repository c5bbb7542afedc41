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

/** The most of an action's arguments a request shows; the full JSON is in `ledgerclaw approvals show`. */
const SHOWN_ARGUMENTS_CHARS = 2_500;

/**
 * An approver's request to vote: who asks, the exact action in full (the tool, its tier,
 * its arguments, where it came from and for whom, the reason the model gave, the policy that
 * asked), how many votes, until when.
 */
export function approvalRequestText(approvalId: string, request: ApprovalRequest): string {
  const { action, origin, policy } = request;
  const lines = [
    `**Approval needed** (${approvalId}): ${requesterName(request.requester)} asks to run \`${action.tool}\`${'tier' in action ? ` (tier ${action.tier})` : ''}:`,
    `> ${oneLine(action.summary)}`,
  ];
  if ('arguments' in action) {
    lines.push('Arguments, exactly as they would run:', '```', prettyArguments(action.arguments), '```');
    if (action.reason !== null) lines.push(`The agent's reason: "${oneLine(action.reason)}"`);
  }
  if (origin !== null) {
    lines.push(`Asked in ${origin.conversationId}${origin.userId === null ? '' : `, answering ${origin.userId}`} (run ${origin.runId}).`);
  }
  if (policy !== null) lines.push(`Asked because tier ${policy.tier} is above ${policy.maxTier} (${policy.maxTierFrom}); approvers from ${policy.rule}.`);
  lines.push(
    `It needs ${request.required} of ${request.approvers.length} approvals (${request.approvers.join(', ')}) before ${request.expiresAt}. ` +
      `Your vote is for this exact action (arguments sha256 \`${action.argumentsHash.slice(0, 12)}…\`).`,
  );
  return lines.join('\n');
}

/** Canonical JSON indented for reading, cut where it is too long to show whole. */
function prettyArguments(canonical: string): string {
  let pretty: string;
  try {
    pretty = JSON.stringify(JSON.parse(canonical), null, 2);
  } catch {
    pretty = canonical;
  }
  // A fence inside the arguments would end the code block early and let them restyle the notice.
  pretty = pretty.replaceAll('```', "'''");
  return pretty.length <= SHOWN_ARGUMENTS_CHARS
    ? pretty
    : `${pretty.slice(0, SHOWN_ARGUMENTS_CHARS)}\n… (cut: ${pretty.length} characters; \`ledgerclaw approvals show\` has them all)`;
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
