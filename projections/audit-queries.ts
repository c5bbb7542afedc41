/**
 * Reading the audit log (audit-log.ts): its rows for a group, a principal and a time span,
 * in store order; and the approvals, newest first.
 */
import type { SqliteConnection, SqlValue } from '../events/adapters/sqlite/connection.js';

/** WHERE clauses and their parameters, built up one condition at a time. */
function conditions() {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const add = (clause: string, value: SqlValue) => {
    where.push(clause);
    params.push(value);
  };
  return { where, params, add };
}

export interface AuditFilter {
  readonly groupId?: string;
  readonly actor?: string;
  /** Inclusive, ISO 8601 UTC as `Date.toISOString` writes it (the store's recorded times). */
  readonly since?: string;
  /** Exclusive. */
  readonly until?: string;
}

export interface AuditRow {
  readonly position: bigint;
  readonly recordedAt: string;
  readonly stream: string;
  readonly revision: bigint;
  readonly groupId: string | null;
  readonly actor: string;
  readonly kind: string;
  readonly summary: string;
  readonly detail: unknown;
}

interface AuditRecord {
  position: number;
  recorded_at: string;
  stream: string;
  revision: number;
  group_id: string | null;
  actor: string;
  kind: string;
  summary: string;
  detail: string;
}

export async function queryAuditLog(db: SqliteConnection, filter: AuditFilter): Promise<AuditRow[]> {
  const { where, params, add } = conditions();
  if (filter.groupId !== undefined) add('group_id = ?', filter.groupId);
  if (filter.actor !== undefined) add('actor = ?', filter.actor);
  if (filter.since !== undefined) add('recorded_at >= ?', filter.since);
  if (filter.until !== undefined) add('recorded_at < ?', filter.until);
  const rows = await db.all<AuditRecord>(`SELECT * FROM audit_log${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY position`, params);
  return rows.map((row) => ({
    position: BigInt(row.position),
    recordedAt: row.recorded_at,
    stream: row.stream,
    revision: BigInt(row.revision),
    groupId: row.group_id,
    actor: row.actor,
    kind: row.kind,
    summary: row.summary,
    detail: JSON.parse(row.detail) as unknown,
  }));
}

export type ApprovalStatus = 'pending' | 'granted' | 'denied' | 'expired';

export interface ApprovalSummary {
  readonly approvalId: string;
  readonly groupId: string | null;
  readonly tool: string;
  readonly tier: string | null;
  readonly requester: string;
  readonly status: ApprovalStatus;
  readonly required: number;
  readonly approvers: readonly string[];
  readonly approvals: number;
  readonly denials: number;
  readonly summary: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
}

interface ApprovalRecord {
  approval_id: string;
  group_id: string | null;
  tool: string;
  tier: string | null;
  requester: string;
  status: ApprovalStatus;
  required: number;
  approvers: string;
  approvals: number;
  denials: number;
  summary: string;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
}

/**
 * Approvals, newest first. `pending` is the actor's state: a request past its expiry that
 * the clock has not expired yet is still listed (the caller can compare `expiresAt`).
 */
export async function listApprovals(db: SqliteConnection, filter: { pending?: boolean; groupId?: string; limit?: number }): Promise<ApprovalSummary[]> {
  const { where, params, add } = conditions();
  if (filter.pending) add('status = ?', 'pending');
  if (filter.groupId !== undefined) add('group_id = ?', filter.groupId);
  params.push(filter.limit ?? 1_000);
  const rows = await db.all<ApprovalRecord>(
    `SELECT * FROM approvals${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_position DESC LIMIT ?`,
    params,
  );
  return rows.map((row) => ({
    approvalId: row.approval_id,
    groupId: row.group_id,
    tool: row.tool,
    tier: row.tier,
    requester: row.requester,
    status: row.status,
    required: row.required,
    approvers: JSON.parse(row.approvers) as string[],
    approvals: row.approvals,
    denials: row.denials,
    summary: row.summary,
    requestedAt: row.requested_at,
    expiresAt: row.expires_at,
    decidedAt: row.decided_at,
  }));
}
