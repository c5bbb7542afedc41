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
import type { SqliteConnection, SqlValue } from '../events/adapters/sqlite/connection.js';
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
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

const DECISIONS: Readonly<Record<string, 'granted' | 'denied' | 'expired'>> = {
  'approval.granted': 'granted',
  'approval.denied': 'denied',
  'approval.expired': 'expired',
};

type Statement = readonly [sql: string, params: readonly SqlValue[]];

/**
 * What a run of events needs from earlier ones, loaded once for the run: runs' and tasks'
 * groups, approvals' groups, owed replies. Applying the run keeps it up to date, so an event
 * sees what an earlier event of the same run recorded.
 */
interface Known {
  readonly runGroups: Map<string, string | null>;
  readonly taskGroups: Map<string, string | null>;
  readonly approvalGroups: Map<string, string | null>;
  readonly replies: Map<string, { runId: string; text: string } | null>;
}

/** SQLite's bound-parameter limit is far above this; it keeps statements small. */
const KEYS_PER_QUERY = 500;

async function loadMap<T>(db: SqliteConnection, sql: (placeholders: string) => string, keys: ReadonlySet<string>, read: (row: Record<string, SqlValue>) => [string, T]): Promise<Map<string, T | null>> {
  const found = new Map<string, T | null>();
  const list = [...keys];
  for (let start = 0; start < list.length; start += KEYS_PER_QUERY) {
    const chunk = list.slice(start, start + KEYS_PER_QUERY);
    for (const row of await db.all<Record<string, SqlValue>>(sql(chunk.map(() => '?').join(', ')), chunk)) {
      const [key, value] = read(row);
      found.set(key, value);
    }
  }
  for (const key of list) if (!found.has(key)) found.set(key, null);
  return found;
}

async function loadKnown(db: SqliteConnection, events: readonly StoredEvent[]): Promise<Known> {
  const runs = new Set<string>();
  const tasks = new Set<string>();
  const approvals = new Set<string>();
  const replies = new Set<string>();
  for (const event of events) {
    if (event.type === 'run.tool_called') runs.add(idAfter(event.streamId, 'run-'));
    else if (event.type === 'group.reply_posted') replies.add(String((event.data as { replyId?: unknown }).replyId));
    else if (event.type.startsWith('task.')) tasks.add(idAfter(event.streamId, 'task-'));
    else if (event.type.startsWith('approval.')) approvals.add(idAfter(event.streamId, 'approval-'));
  }
  const groupOf = (row: Record<string, SqlValue>, key: string): [string, string | null] => [String(row[key]), row.group_id === null ? null : String(row.group_id)];
  return {
    runGroups: await loadMap(db, (in_) => `SELECT run_id, group_id FROM audit_run_groups WHERE run_id IN (${in_})`, runs, (row) => groupOf(row, 'run_id')),
    taskGroups: await loadMap(db, (in_) => `SELECT task_id, group_id FROM audit_task_groups WHERE task_id IN (${in_})`, tasks, (row) => groupOf(row, 'task_id')),
    approvalGroups: await loadMap(db, (in_) => `SELECT approval_id, group_id FROM approvals WHERE approval_id IN (${in_})`, approvals, (row) => groupOf(row, 'approval_id')),
    replies: await loadMap(db, (in_) => `SELECT reply_id, run_id, text FROM audit_owed_replies WHERE reply_id IN (${in_})`, replies, (row) => [
      String(row.reply_id),
      { runId: String(row.run_id), text: String(row.text) },
    ]),
  };
}

/** Remembers what later events need, and answers what this one needs; false for an event that gets no row. */
function lookupsFor(known: Known, event: StoredEvent, writes: Statement[]): AuditLookups | false {
  const data = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'run.queued': {
      const runId = idAfter(event.streamId, 'run-');
      if (!known.runGroups.get(runId)) known.runGroups.set(runId, String(data.groupId));
      writes.push(['INSERT INTO audit_run_groups (run_id, group_id) VALUES (?, ?) ON CONFLICT (run_id) DO NOTHING', [runId, String(data.groupId)]]);
      return false;
    }
    case 'group.reply_requested': {
      const replyId = String(data.replyId);
      if (!known.replies.get(replyId)) known.replies.set(replyId, { runId: String(data.runId), text: String(data.text) });
      writes.push(['INSERT INTO audit_owed_replies (reply_id, run_id, text) VALUES (?, ?, ?) ON CONFLICT (reply_id) DO NOTHING', [replyId, String(data.runId), String(data.text)]]);
      return false;
    }
    case 'group.reply_posted': {
      const replyId = String(data.replyId);
      const reply = known.replies.get(replyId) ?? null;
      known.replies.set(replyId, null);
      writes.push(['DELETE FROM audit_owed_replies WHERE reply_id = ?', [replyId]]);
      return { groupId: homeGroupId(idAfter(event.streamId, 'group-')), reply };
    }
    case 'run.tool_called':
      return { groupId: known.runGroups.get(idAfter(event.streamId, 'run-')) ?? null };
    case 'task.scheduled': {
      const taskId = idAfter(event.streamId, 'task-');
      known.taskGroups.set(taskId, String(data.groupId));
      writes.push(['INSERT INTO audit_task_groups (task_id, group_id) VALUES (?, ?) ON CONFLICT (task_id) DO UPDATE SET group_id = excluded.group_id', [taskId, String(data.groupId)]]);
      return {};
    }
    case 'approval.requested': {
      const approvalId = idAfter(event.streamId, 'approval-');
      const groupId = text((data.origin as Record<string, unknown> | null)?.groupId);
      // An approval is requested once (the actor refuses a second request).
      known.approvalGroups.set(approvalId, groupId);
      return { groupId };
    }
    default:
      if (event.type.startsWith('task.')) return { groupId: known.taskGroups.get(idAfter(event.streamId, 'task-')) ?? null };
      if (event.type.startsWith('approval.')) return { groupId: known.approvalGroups.get(idAfter(event.streamId, 'approval-')) ?? null };
      return {};
  }
}

/** Keeps the approvals table in step with an approval's events. */
function trackApproval(event: StoredEvent, groupId: string | null, writes: Statement[]): void {
  const approvalId = idAfter(event.streamId, 'approval-');
  const data = event.data as Record<string, unknown>;
  if (event.type === 'approval.requested') {
    const action = data.action as Record<string, unknown>;
    writes.push([
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
    ]);
    return;
  }
  if (event.type === 'approval.vote_cast') {
    const column = data.decision === 'deny' ? 'denials' : 'approvals';
    writes.push([`UPDATE approvals SET ${column} = ${column} + 1 WHERE approval_id = ?`, [approvalId]]);
    return;
  }
  const decision = DECISIONS[event.type];
  if (decision) writes.push(['UPDATE approvals SET status = ?, decided_at = ? WHERE approval_id = ?', [decision, event.recordedAt, approvalId]]);
}

const ROW_COLUMNS = 9;
/** Rows a multi-row INSERT carries: 9 parameters each, well under SQLite's limit. */
const ROWS_PER_INSERT = 100;
const insertRows = (count: number) =>
  `INSERT INTO audit_log (position, recorded_at, stream, revision, group_id, actor, kind, summary, detail) VALUES ${Array.from({ length: count }, () => `(${Array(ROW_COLUMNS).fill('?').join(', ')})`).join(', ')}`;

async function applyEvents(db: SqliteConnection, events: readonly StoredEvent[]): Promise<void> {
  const known = await loadKnown(db, events);
  const writes: Statement[] = [];
  const rows: SqlValue[][] = [];
  for (const event of events) {
    const lookups = lookupsFor(known, event, writes);
    if (lookups === false) continue;
    const entry = auditEntryOf(event, lookups);
    if (event.type.startsWith('approval.')) trackApproval(event, entry.groupId, writes);
    rows.push([Number(event.position), event.recordedAt, event.streamId, Number(event.revision), entry.groupId, entry.actor, entry.kind, entry.summary, JSON.stringify(entry.detail)]);
  }
  // Side tables first, in event order (an approval's row exists before its votes count).
  for (const [sql, params] of writes) await db.runPrepared(sql, params);
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    const chunk = rows.slice(start, start + ROWS_PER_INSERT);
    await db.runPrepared(insertRows(chunk.length), chunk.flat());
  }
}

export const auditLogProjection = defineProjection({
  name: AUDIT_LOG_PROJECTION,
  version: 1,
  eventTypes: [...AUDITED_EVENT_TYPES, 'run.queued', 'group.reply_requested'],
  schema: AUDIT_LOG_SCHEMA,
  deferredSchema: AUDIT_LOG_INDEXES,
  apply: (db, event) => applyEvents(db, [event]),
  // A run of events: its lookups in a few queries, its rows in multi-row inserts.
  applyMany: (db, events) => applyEvents(db, events),
});
