/**
 * One approval as `ledgerclaw approvals show` presents it, folded from its stream: the
 * request in full, every vote, the decision, and whatever else the stream holds (refused
 * votes, the execution's result, events of types this version does not know), in order.
 * Pure, so the folding and the text are unit tested.
 */
import type { StoredEvent } from '../../events/envelope.js';

type Data = Record<string, unknown>;

export type ApprovalStatus = 'pending' | 'granted' | 'denied' | 'expired';

export interface ApprovalVoteView {
  readonly approver: string;
  /** Who cast it: `user:U1`, `operator:alice`. */
  readonly by: string;
  readonly decision: string;
  readonly reason: string | null;
  readonly castAt: string;
  readonly position: bigint;
}

/** An event of the stream other than the request, the votes and the decision, as stored. */
export interface ApprovalEventView {
  readonly type: string;
  readonly position: bigint;
  readonly recordedAt: string;
  readonly actor: string;
  readonly data: unknown;
}

export interface ApprovalView {
  readonly approvalId: string;
  readonly status: ApprovalStatus;
  /** approval.requested's data (upcast to the newest version). */
  readonly request: Data;
  readonly votes: readonly ApprovalVoteView[];
  readonly decision: { readonly outcome: Exclude<ApprovalStatus, 'pending'>; readonly at: string; readonly by: readonly string[] } | null;
  /** Refused votes, the execution, the decision's report, and any event type not known here. */
  readonly events: readonly ApprovalEventView[];
}

const DECIDED: Readonly<Record<string, Exclude<ApprovalStatus, 'pending'>>> = {
  'approval.granted': 'granted',
  'approval.denied': 'denied',
  'approval.expired': 'expired',
};

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Null for a stream with no request (no such approval). */
export function foldApproval(approvalId: string, events: readonly StoredEvent[]): ApprovalView | null {
  const requested = events.find((event) => event.type === 'approval.requested');
  if (!requested) return null;
  const votes: ApprovalVoteView[] = [];
  const others: ApprovalEventView[] = [];
  let decision: ApprovalView['decision'] = null;
  for (const event of events) {
    const data = (event.data ?? {}) as Data;
    if (event.type === 'approval.requested') continue;
    if (event.type === 'approval.vote_cast') {
      const approver = text(data.approver) ?? '?';
      votes.push({ approver, by: text(data.by) ?? `user:${approver}`, decision: text(data.decision) ?? '?', reason: text(data.reason), castAt: text(data.castAt) ?? event.recordedAt, position: event.position });
      continue;
    }
    const outcome = DECIDED[event.type];
    if (outcome) {
      const by = outcome === 'granted' ? (Array.isArray(data.approvedBy) ? data.approvedBy.map(String) : []) : outcome === 'denied' ? [text(data.deniedBy) ?? '?'] : [];
      decision = { outcome, at: text(data.grantedAt) ?? text(data.deniedAt) ?? text(data.expiredAt) ?? event.recordedAt, by };
      continue;
    }
    others.push({ type: event.type, position: event.position, recordedAt: event.recordedAt, actor: event.metadata.actor, data: event.data });
  }
  return { approvalId, status: decision?.outcome ?? 'pending', request: requested.data as Data, votes, decision, events: others };
}

function describeOrigin(origin: Data | null): string {
  if (!origin) return '(made by hand: no run)';
  const parts = [`run ${text(origin.runId) ?? '?'}`, `group ${text(origin.groupId) ?? '?'}`];
  if (origin.conversationId !== origin.groupId) parts.push(`thread ${text(origin.conversationId) ?? '?'}`);
  parts.push(origin.userId ? `user ${String(origin.userId)}` : 'no user');
  return parts.join(', ');
}

function describePolicy(policy: Data | null): string {
  if (!policy) return '(not recorded)';
  return `${text(policy.tier) ?? '?'} is above ${text(policy.maxTier) ?? '?'} (${text(policy.maxTierFrom) ?? '?'}); approvers from ${text(policy.rule) ?? '?'}`;
}

/** A refused vote and the execution in words; any other event as stored. */
function describeEvent(event: ApprovalEventView): string {
  const data = (event.data ?? {}) as Data;
  if (event.type === 'approval.vote_refused') {
    return `refused vote: ${text(data.approver) ?? '?'} ${text(data.decision) ?? '?'} (sent by ${text(data.by) ?? event.actor}) at ${text(data.refusedAt) ?? event.recordedAt}: ${text(data.reason) ?? ''}`;
  }
  if (event.type === 'approval.action_executed') {
    return `execution: ${text(data.outcome) ?? '?'} at ${text(data.executedAt) ?? event.recordedAt}: ${text(data.content) ?? ''}`;
  }
  return `${event.type} at ${event.recordedAt} (${event.actor}): ${JSON.stringify(event.data)}`;
}

/** The approval as an operator reads it, one fact a line. */
export function describeApproval(view: ApprovalView): string {
  const request = view.request;
  const action = (request.action ?? {}) as Data;
  const approvers = Array.isArray(request.approvers) ? request.approvers.map(String) : [];
  const tier = text(action.tier);
  const approvals = view.votes.filter((vote) => vote.decision === 'approve').length;
  const rows: [string, string][] = [
    ['tool', `${text(action.tool) ?? '?'}${tier ? ` [${tier}]` : ''}`],
    ['summary', text(action.summary) ?? ''],
    ['arguments', text(action.arguments) ?? '(not recorded: a request made by hand carries a summary only)'],
    ['hash', text(action.argumentsHash) ?? '?'],
    ['reason', text(action.reason) ?? '(none given)'],
    ['requester', text(request.requester) ?? '?'],
    ['origin', describeOrigin((request.origin ?? null) as Data | null)],
    ['policy', describePolicy((request.policy ?? null) as Data | null)],
    ['approvers', `${approvers.join(', ')}: ${String(request.required)} of ${approvers.length} needed, ${approvals} given`],
    ['requested', text(request.requestedAt) ?? '?'],
    ['expires', text(request.expiresAt) ?? '?'],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [`approval ${view.approvalId}: ${view.status}`, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value.replace(/\n/g, ' ')}`)];
  lines.push(view.votes.length === 0 ? 'votes: none yet' : 'votes:');
  for (const vote of view.votes) lines.push(`  ${vote.castAt}  ${vote.approver} ${vote.decision === 'approve' ? 'approved' : 'denied'} (cast by ${vote.by})${vote.reason ? `: ${vote.reason}` : ''}`);
  if (view.decision) {
    const by = view.decision.by.length > 0 ? ` by ${view.decision.by.join(', ')}` : '';
    lines.push(`decision: ${view.decision.outcome}${by} at ${view.decision.at}`);
  } else {
    lines.push('decision: none yet');
  }
  for (const event of view.events) lines.push(describeEvent(event));
  return `${lines.join('\n')}\n`;
}
