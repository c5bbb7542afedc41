/**
 * What one auditable event says, as the audit log keeps it: its kind, the principal who did
 * it, a one-line summary and a JSON detail. Pure: the projection (audit-log.ts) looks up
 * what the event alone does not say (a run's group, a reply's text) and passes it in.
 *
 * Events are read tolerantly: a field a later version adds (run.tool_called's `tier`,
 * `outcome` and `approvalId`; approval events this file does not know yet) is used when it is
 * there and left null when it is not, so the audit reads every stored version the same way.
 */
import type { StoredEvent } from '../events/envelope.js';

/** The event types the audit log keeps a row for. */
export const AUDITED_EVENT_TYPES = [
  'run.tool_called',
  'approval.requested',
  'approval.vote_cast',
  'approval.vote_refused',
  'approval.granted',
  'approval.denied',
  'approval.expired',
  'approval.action_executed',
  'group.reply_posted',
  'memory.fact_recorded',
  'memory.fact_superseded',
  'memory.fact_confirmed',
  'memory.fact_retired',
  'memory.conflict_resolved',
  'memory.daily_log_written',
  'task.scheduled',
  'task.paused',
  'task.resumed',
  'task.deliver_changed',
  'task.cancelled',
  'task.completed',
  'task.suspended',
] as const;

export type ToolOutcome = 'executed' | 'failed' | 'refused' | 'approval_requested';

export interface AuditEntry {
  /** `tool_call`, `approval.requested`, `message.posted`, `memory.fact_recorded`, `task.paused`, … */
  readonly kind: string;
  /** Who did it: `agent:run-R`, `user:U1`, `operator:alice`, `cli`, `runtime`. */
  readonly actor: string;
  readonly groupId: string | null;
  readonly summary: string;
  readonly detail: Record<string, unknown>;
}

/** What the projection knows that the event does not carry. */
export interface AuditLookups {
  /** The group the event belongs to, when its stream does not say (a run's, a task's, an approval's). */
  readonly groupId?: string | null;
  /** For group.reply_posted: the reply as it was requested. */
  readonly reply?: { readonly runId: string; readonly text: string } | null;
}

type Data = Record<string, unknown>;

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const list = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

/** One line, at most `max` characters: whitespace runs become one space. */
export function excerpt(value: string, max = 120): string {
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** A user id (`U1`) or a principal (`agent:run-7`) as a principal. */
export function principalOf(requester: string): string {
  return requester.includes(':') ? requester : `user:${requester}`;
}

const idAfter = (streamId: string, prefix: string): string => (streamId.startsWith(prefix) ? streamId.slice(prefix.length) : streamId);

/** A memory stream's group (`memory-group.T1.C1` → `T1.C1`); null for a person's memory. */
export function memoryGroupOf(streamId: string): string | null {
  return streamId.startsWith('memory-group.') ? streamId.slice('memory-group.'.length) : null;
}

/** run.tool_called's outcome: v2 says it; before, a call either ran or failed. */
export function toolOutcomeOf(data: Data): ToolOutcome {
  const outcome = text(data.outcome);
  if (outcome === 'executed' || outcome === 'failed' || outcome === 'refused' || outcome === 'approval_requested') return outcome;
  return data.isError === true ? 'failed' : 'executed';
}

function toolCall(event: StoredEvent, data: Data, lookups: AuditLookups): AuditEntry {
  const runId = idAfter(event.streamId, 'run-');
  const tool = text(data.tool) ?? '?';
  const tier = text(data.tier);
  const outcome = toolOutcomeOf(data);
  const approvalId = text(data.approvalId);
  const output = text(data.output) ?? '';
  return {
    kind: 'tool_call',
    actor: `agent:run-${runId}`,
    groupId: lookups.groupId ?? null,
    summary: `called ${tool}${tier ? ` [${tier}]` : ''}: ${outcome.replace('_', ' ')}${approvalId ? ` (approval ${approvalId})` : ''}`,
    detail: {
      runId,
      callId: data.callId ?? null,
      tool,
      where: data.where ?? null,
      tier,
      outcome,
      approvalId,
      input: data.input ?? null,
      output: excerpt(output, 500),
      durationMs: data.durationMs ?? null,
      signedBy: event.metadata.actor,
    },
  };
}

function approvalEntry(event: StoredEvent, data: Data, lookups: AuditLookups): AuditEntry {
  const approvalId = idAfter(event.streamId, 'approval-');
  const base = { groupId: lookups.groupId ?? null, actor: event.metadata.actor };
  const detail = { approvalId, ...data };
  switch (event.type) {
    case 'approval.requested': {
      const action = (data.action ?? {}) as Data;
      const tier = text(action.tier);
      const approvers = list(data.approvers);
      const requester = text(data.requester) ?? event.metadata.actor;
      return {
        ...base,
        kind: event.type,
        actor: principalOf(requester),
        summary: `asked ${approvers.join(', ')} (${String(data.required)} of ${approvers.length}) to approve ${text(action.tool) ?? '?'}${tier ? ` [${tier}]` : ''}: ${excerpt(text(action.summary) ?? '', 160)}`,
        detail,
      };
    }
    case 'approval.vote_cast': {
      const reason = text(data.reason);
      const by = text(data.by) ?? principalOf(text(data.approver) ?? event.metadata.actor);
      return {
        ...base,
        kind: event.type,
        actor: by,
        summary: `${text(data.approver) ?? '?'} voted ${text(data.decision) ?? '?'}${reason ? `: ${excerpt(reason)}` : ''}`,
        detail,
      };
    }
    case 'approval.granted':
      return { ...base, kind: event.type, summary: `granted by ${list(data.approvedBy).join(', ')}`, detail };
    case 'approval.denied':
      return { ...base, kind: event.type, summary: `denied by ${text(data.deniedBy) ?? '?'}`, detail };
    case 'approval.expired':
      return { ...base, kind: event.type, summary: 'expired before enough approvals', detail };
    case 'approval.vote_refused': {
      // Who sent it, not whom it was cast as: a forged vote is the forger's.
      const by = text(data.by) ?? event.metadata.actor;
      const reason = text(data.reason);
      return {
        ...base,
        kind: event.type,
        actor: by,
        summary: `refused a vote to ${text(data.decision) ?? '?'} as ${text(data.approver) ?? '?'}${reason ? `: ${excerpt(reason)}` : ''}`,
        detail,
      };
    }
    case 'approval.action_executed': {
      const content = text(data.content);
      return { ...base, kind: event.type, summary: `ran the approved action: ${text(data.outcome) ?? '?'}${content ? `: ${excerpt(content)}` : ''}`, detail };
    }
    default: {
      // Whatever a later version records: said plainly, kept whole.
      const outcome = text(data.outcome) ?? (data.isError === true ? 'failed' : null);
      return { ...base, kind: event.type, summary: `${event.type.slice('approval.'.length).replaceAll('_', ' ')}${outcome ? `: ${outcome}` : ''}`, detail };
    }
  }
}

function memoryEntry(event: StoredEvent, data: Data): AuditEntry {
  const scope = idAfter(event.streamId, 'memory-');
  const base = { kind: event.type, actor: event.metadata.actor, groupId: memoryGroupOf(event.streamId), detail: { scope, ...data } };
  switch (event.type) {
    case 'memory.fact_recorded':
      return { ...base, summary: `recorded ${text(data.key) ?? '?'} in ${scope}: ${excerpt(text(data.statement) ?? '')}` };
    case 'memory.fact_superseded':
      return { ...base, summary: `superseded ${list(data.factIds).join(', ')} in ${scope} by ${text(data.supersededBy) ?? '?'}` };
    case 'memory.fact_confirmed':
      return { ...base, summary: `confirmed ${text(data.factId) ?? '?'} in ${scope}` };
    case 'memory.fact_retired':
      return { ...base, summary: `retired ${text(data.factId) ?? '?'} in ${scope}: ${excerpt(text(data.reason) ?? '')}` };
    case 'memory.conflict_resolved':
      return { ...base, summary: `resolved the conflict on ${text(data.key) ?? '?'} in ${scope}, kept ${text(data.keptFactId) ?? '?'}` };
    default:
      // memory.daily_log_written: its writer is in the data (`agent:run-R`, `agent:consolidation`).
      return { ...base, actor: text(data.writtenBy) ?? event.metadata.actor, summary: `wrote the daily log of ${text(data.day) ?? '?'} in ${scope}` };
  }
}

function taskEntry(event: StoredEvent, data: Data, lookups: AuditLookups): AuditEntry {
  const taskId = idAfter(event.streamId, 'task-');
  const verb = event.type.slice('task.'.length).replaceAll('_', ' ');
  const groupId = text(data.groupId) ?? lookups.groupId ?? null;
  const reason = text(data.reason);
  const summary =
    event.type === 'task.scheduled'
      ? `scheduled task ${taskId} (${text((data.schedule as Data | undefined)?.kind) ?? '?'}): ${excerpt(text(data.prompt) ?? '')}`
      : event.type === 'task.deliver_changed'
        ? `task ${taskId} now delivers to ${text(data.deliver) ?? '?'}`
        : `task ${taskId} ${verb}${reason ? `: ${excerpt(reason)}` : ''}`;
  return { kind: event.type, actor: event.metadata.actor, groupId, summary, detail: { taskId, ...data } };
}

function replyPosted(event: StoredEvent, data: Data, lookups: AuditLookups): AuditEntry {
  const reply = lookups.reply ?? null;
  return {
    kind: 'message.posted',
    actor: reply ? `agent:run-${reply.runId}` : event.metadata.actor,
    groupId: lookups.groupId ?? null,
    summary: `posted in ${idAfter(event.streamId, 'group-')}: ${reply ? excerpt(reply.text) : '(text not recorded)'}`,
    detail: { conversationId: idAfter(event.streamId, 'group-'), replyId: data.replyId ?? null, runId: reply?.runId ?? null, text: reply?.text ?? null, refs: data.refs ?? [] },
  };
}

/** The audit row of one event of AUDITED_EVENT_TYPES. */
export function auditEntryOf(event: StoredEvent, lookups: AuditLookups = {}): AuditEntry {
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Data;
  if (event.type === 'run.tool_called') return toolCall(event, data, lookups);
  if (event.type === 'group.reply_posted') return replyPosted(event, data, lookups);
  if (event.type.startsWith('approval.')) return approvalEntry(event, data, lookups);
  if (event.type.startsWith('memory.')) return memoryEntry(event, data);
  return taskEntry(event, data, lookups);
}
