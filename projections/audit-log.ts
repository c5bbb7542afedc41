/**
 * The audit log: one row per auditable event, in store order, with the group it concerns
 * and the principal who did it (audit-entries.ts says which events and how each reads), so
 * `ledgerclaw audit --group G --actor P --since T` is an index range scan, not a walk over
 * `$all`. It also keeps one row per approval (`approvals`), for `ledgerclaw approvals list`.
 *
 * A row's group is the group that owns what happened: a run's group from its `run.queued`,
 * an approval's from its origin, a task's from `task.scheduled`, a memory's from its scope,
 * a reply's conversation's home group (a thread's channel). Side tables remember these
 * between events; they are derived from events alone, so a rebuild gives the same rows.
 */
import { homeGroupId } from '../actors/group.js';
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import { AUDITED_EVENT_TYPES, auditEntryOf, type AuditLookups } from './audit-entries.js';
import { defineProjection } from './projection.js';

export const AUDIT_LOG_PROJECTION = 'audit-log';

export const AUDIT_LOG_SCHEMA = `
CREATE TABLE audit_log (
  position INTEGER PRIMARY KEY,
  -- when the store committed the event (ISO 8601, UTC)
  recorded_at TEXT NOT NULL,
  stream TEXT NOT NULL,
  revision INTEGER NOT NULL,
  group_id TEXT,
  -- the principal: user:U1, agent:run-R, operator:alice, cli, runtime
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  summary TEXT NOT NULL,
  detail TEXT NOT NULL
) STRICT;
CREATE TABLE approvals (
  approval_id TEXT PRIMARY KEY,
  group_id TEXT,
  tool TEXT NOT NULL,
  tier TEXT,
  requester TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'denied', 'expired')),
  required INTEGER NOT NULL,
  approvers TEXT NOT NULL,
  approvals INTEGER NOT NULL,
  denials INTEGER NOT NULL,
  summary TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  requested_position INTEGER NOT NULL,
  expires_at TEXT NOT NULL,
  decided_at TEXT
) STRICT;
CREATE TABLE audit_run_groups (run_id TEXT PRIMARY KEY, group_id TEXT NOT NULL) STRICT;
CREATE TABLE audit_task_groups (task_id TEXT PRIMARY KEY, group_id TEXT NOT NULL) STRICT;
-- A reply's text, from group.reply_requested until it is posted.
CREATE TABLE audit_owed_replies (reply_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, text TEXT NOT NULL) STRICT
`;

/** What readers filter on; a build creates them once it has caught up. */
export const AUDIT_LOG_INDEXES = `
CREATE INDEX audit_log_by_group ON audit_log (group_id, position);
CREATE INDEX audit_log_by_actor ON audit_log (actor, position);
CREATE INDEX audit_log_by_time ON audit_log (recorded_at);
CREATE INDEX approvals_by_status ON approvals (status, requested_position);
CREATE INDEX approvals_by_group ON approvals (group_id, requested_position)
`;

const idAfter = (streamId: string, prefix: string): string => streamId.slice(prefix.length);

const DECISIONS: Readonly<Record<string, 'granted' | 'denied' | 'expired'>> = {
  'approval.granted': 'granted',
  'approval.denied': 'denied',
  'approval.expired': 'expired',
};

async function groupOf(db: SqliteConnection, table: 'audit_run_groups' | 'audit_task_groups', column: 'run_id' | 'task_id', id: string): Promise<string | null> {
  const row = await db.get<{ group_id: string }>(`SELECT group_id FROM ${table} WHERE ${column} = ?`, [id]);
  return row?.group_id ?? null;
}

/** Remembers what later events need, and answers what this one needs; false for an event that gets no row. */
async function lookupsFor(db: SqliteConnection, event: StoredEvent): Promise<AuditLookups | false> {
  const data = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'run.queued':
      await db.runPrepared('INSERT INTO audit_run_groups (run_id, group_id) VALUES (?, ?) ON CONFLICT (run_id) DO NOTHING', [idAfter(event.streamId, 'run-'), String(data.groupId)]);
      return false;
    case 'group.reply_requested':
      await db.runPrepared('INSERT INTO audit_owed_replies (reply_id, run_id, text) VALUES (?, ?, ?) ON CONFLICT (reply_id) DO NOTHING', [
        String(data.replyId),
        String(data.runId),
        String(data.text),
      ]);
      return false;
    case 'group.reply_posted': {
      const reply = await db.get<{ run_id: string; text: string }>('SELECT run_id, text FROM audit_owed_replies WHERE reply_id = ?', [String(data.replyId)]);
      await db.runPrepared('DELETE FROM audit_owed_replies WHERE reply_id = ?', [String(data.replyId)]);
      return { groupId: homeGroupId(idAfter(event.streamId, 'group-')), reply: reply ? { runId: reply.run_id, text: reply.text } : null };
    }
    case 'run.tool_called':
      return { groupId: await groupOf(db, 'audit_run_groups', 'run_id', idAfter(event.streamId, 'run-')) };
    case 'task.scheduled':
      await db.runPrepared('INSERT INTO audit_task_groups (task_id, group_id) VALUES (?, ?) ON CONFLICT (task_id) DO UPDATE SET group_id = excluded.group_id', [
        idAfter(event.streamId, 'task-'),
        String(data.groupId),
      ]);
      return {};
    default:
      if (event.type.startsWith('task.')) return { groupId: await groupOf(db, 'audit_task_groups', 'task_id', idAfter(event.streamId, 'task-')) };
      if (event.type.startsWith('approval.') && event.type !== 'approval.requested') {
        const row = await db.get<{ group_id: string | null }>('SELECT group_id FROM approvals WHERE approval_id = ?', [idAfter(event.streamId, 'approval-')]);
        return { groupId: row?.group_id ?? null };
      }
      if (event.type === 'approval.requested') return { groupId: text((data.origin as Record<string, unknown> | null)?.groupId) };
      return {};
  }
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Keeps the approvals table in step with an approval's events. */
async function trackApproval(db: SqliteConnection, event: StoredEvent, groupId: string | null): Promise<void> {
  const approvalId = idAfter(event.streamId, 'approval-');
  const data = event.data as Record<string, unknown>;
  if (event.type === 'approval.requested') {
    const action = data.action as Record<string, unknown>;
    await db.runPrepared(
      `INSERT INTO approvals (approval_id, group_id, tool, tier, requester, status, required, approvers, approvals, denials, summary, requested_at, requested_position, expires_at, decided_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, 0, 0, ?, ?, ?, ?, NULL) ON CONFLICT (approval_id) DO NOTHING`,
      [
        approvalId,
        groupId,
        String(action.tool),
        text(action.tier),
        String(data.requester),
        Number(data.required),
        JSON.stringify(data.approvers),
        String(action.summary),
        event.recordedAt,
        Number(event.position),
        String(data.expiresAt),
      ],
    );
    return;
  }
  if (event.type === 'approval.vote_cast') {
    const column = data.decision === 'deny' ? 'denials' : 'approvals';
    await db.runPrepared(`UPDATE approvals SET ${column} = ${column} + 1 WHERE approval_id = ?`, [approvalId]);
    return;
  }
  const decision = DECISIONS[event.type];
  if (decision) await db.runPrepared('UPDATE approvals SET status = ?, decided_at = ? WHERE approval_id = ?', [decision, event.recordedAt, approvalId]);
}

const INSERT_ROW = `INSERT INTO audit_log (position, recorded_at, stream, revision, group_id, actor, kind, summary, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export const auditLogProjection = defineProjection({
  name: AUDIT_LOG_PROJECTION,
  version: 1,
  eventTypes: [...AUDITED_EVENT_TYPES, 'run.queued', 'group.reply_requested'],
  schema: AUDIT_LOG_SCHEMA,
  deferredSchema: AUDIT_LOG_INDEXES,
  async apply(db, event) {
    const lookups = await lookupsFor(db, event);
    if (lookups === false) return;
    const entry = auditEntryOf(event, lookups);
    if (event.type.startsWith('approval.')) await trackApproval(db, event, entry.groupId);
    await db.runPrepared(INSERT_ROW, [
      Number(event.position),
      event.recordedAt,
      event.streamId,
      Number(event.revision),
      entry.groupId,
      entry.actor,
      entry.kind,
      entry.summary,
      JSON.stringify(entry.detail),
    ]);
  },
});
