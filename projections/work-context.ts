/**
 * WORK_CONTEXT.md: what the company is working on right now, read by every agent run at
 * boot. One per group (`<dataDir>/groups/<group dir>/WORK_CONTEXT.md`) and one for the
 * company (`<dataDir>/WORK_CONTEXT.md`), each with:
 *
 * - Blocked: suspended tasks, runs queued waiting for a slot, unresolved memory conflicts;
 * - Pending approvals;
 * - Open tasks (active, paused, suspended) with their schedule and last outcome;
 * - Active runs (queued, starting, running);
 * - Recent decisions: the last 20 approvals granted or denied and memory conflicts resolved.
 *
 * Privacy: the company file is read by every group, so it carries no group's memory (a
 * group's unresolved conflicts are only counted there; their keys and resolutions are in
 * the group's own file), and nothing of a direct-message group (trigger mode `dm`, from
 * `group.configured`) beyond a count. User scopes' conflicts appear in no file.
 *
 * An approval belongs to the group of the run that asked for it (requester
 * `agent:<run id>` or `agent:run-<run id>`, looked up among the active runs when it is
 * requested); one a person asked for directly is in the company file only.
 *
 * Deterministic bytes (times come from events, every sort ends on a unique key), rewritten
 * only when its tables changed: `apply` marks each touched group and the company file in
 * `work_context_dirty`, `afterCommit` rewrites those (temp + rename) and clears the marks
 * it satisfied.
 */
import { join } from 'node:path';
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import { approvalDenied, approvalExpired, approvalGranted, approvalRequested, approvalVoteCast } from '../events/catalogue/approval.js';
import { groupConfigured } from '../events/catalogue/group.js';
import { memoryConflictFlagged, memoryConflictResolved, memoryFactRetired, memoryFactSuperseded } from '../events/catalogue/memory.js';
import { runCompleted, runFailed, runInterrupted, runQueued, runSlotGranted, runStarted, runTimedOut } from '../events/catalogue/run.js';
import {
  taskCancelled,
  taskCompleted,
  taskFired,
  taskPaused,
  taskResumed,
  taskRunFinished,
  taskScheduled,
  taskSuspended,
  type TaskSchedule,
} from '../events/catalogue/task.js';
import { groupFilePath, writeFileAtomic } from './atomic-file.js';
import { dataOf, groupIdOfScope, scopeOfMemoryStream } from './memory-facts.js';
import { defineProjection, type AfterCommitContext } from './projection.js';
import { asFile, oneLine, plural } from './text-lines.js';

export const WORK_CONTEXT_FILE_NAME = 'WORK_CONTEXT.md';
/** Decisions kept (and shown) per file. */
export const RECENT_DECISIONS = 20;
/** Most items listed in one section; the rest are counted. */
export const MAX_SECTION_ITEMS = 50;
/** The dirty-set target of the company-wide file. */
const COMPANY = '';

export const WORK_CONTEXT_SCHEMA = `
CREATE TABLE work_context_groups (
  group_id TEXT PRIMARY KEY,
  trigger_mode TEXT NOT NULL
);
CREATE TABLE work_context_tasks (
  task_id TEXT PRIMARY KEY,
  group_id TEXT NOT NULL,
  prompt TEXT NOT NULL,
  schedule_json TEXT NOT NULL,
  context_mode TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'suspended')),
  status_since TEXT NOT NULL,
  status_reason TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  max_consecutive_failures INTEGER NOT NULL,
  run_in_flight TEXT,
  last_run_id TEXT,
  last_outcome TEXT,
  last_detail TEXT,
  last_finished_at TEXT
);
CREATE TABLE work_context_runs (
  run_id TEXT PRIMARY KEY,
  group_id TEXT NOT NULL,
  task_id TEXT,
  trigger TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'starting', 'running')),
  queued_at TEXT NOT NULL,
  status_since TEXT NOT NULL
);
CREATE TABLE work_context_approvals (
  approval_id TEXT PRIMARY KEY,
  group_id TEXT,
  requester TEXT NOT NULL,
  tool TEXT NOT NULL,
  summary TEXT NOT NULL,
  approvers_json TEXT NOT NULL,
  required INTEGER NOT NULL,
  approvals INTEGER NOT NULL DEFAULT 0,
  expires_at TEXT NOT NULL,
  requested_at TEXT NOT NULL
);
CREATE TABLE work_context_decisions (
  position INTEGER PRIMARY KEY,
  -- the group, or '' for an approval of no known group: the newest ${RECENT_DECISIONS} are kept per bucket
  bucket TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('approval_granted', 'approval_denied', 'memory_conflict_resolved')),
  decided_at TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX work_context_decisions_by_bucket ON work_context_decisions (bucket, position);
CREATE TABLE work_context_conflicts (
  group_id TEXT NOT NULL,
  key TEXT NOT NULL,
  fact_ids_json TEXT NOT NULL,
  flagged_at TEXT NOT NULL,
  PRIMARY KEY (group_id, key)
);
CREATE TABLE work_context_dirty (
  -- a group id, or '' for the company-wide file
  target TEXT PRIMARY KEY,
  generation INTEGER NOT NULL
)
`;

/** `task-42` → `42`. */
function idOfStream(event: StoredEvent, kind: string): string {
  const prefix = `${kind}-`;
  if (!event.streamId.startsWith(prefix)) throw new Error(`${event.type} ${event.id} is on stream ${event.streamId}; expected a ${prefix}<id> stream`);
  return event.streamId.slice(prefix.length);
}

async function markDirty(db: SqliteConnection, groupId: string | null | undefined): Promise<void> {
  const targets = groupId ? [groupId, COMPANY] : [COMPANY];
  for (const target of targets) {
    await db.run(
      'INSERT INTO work_context_dirty (target, generation) VALUES (?, 1) ON CONFLICT (target) DO UPDATE SET generation = generation + 1',
      [target],
    );
  }
}

async function taskGroup(db: SqliteConnection, taskId: string): Promise<string | undefined> {
  return (await db.get<{ group_id: string }>('SELECT group_id FROM work_context_tasks WHERE task_id = ?', [taskId]))?.group_id;
}

async function addDecision(db: SqliteConnection, event: StoredEvent, groupId: string | null, kind: string, decidedAt: string, text: string): Promise<void> {
  const bucket = groupId ?? COMPANY;
  await db.run('INSERT INTO work_context_decisions (position, bucket, kind, decided_at, text) VALUES (?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING', [
    Number(event.position),
    bucket,
    kind,
    decidedAt,
    text,
  ]);
  // The newest ones are kept per bucket and per class (memory or approval): the group file
  // shows a group's newest of both, the company file the newest approvals of every group.
  const memoryClass = kind === 'memory_conflict_resolved' ? 1 : 0;
  await db.run(
    `DELETE FROM work_context_decisions WHERE bucket = ?1 AND (kind = 'memory_conflict_resolved') = ?2 AND position NOT IN
       (SELECT position FROM work_context_decisions WHERE bucket = ?1 AND (kind = 'memory_conflict_resolved') = ?2
         ORDER BY position DESC LIMIT ${RECENT_DECISIONS})`,
    [bucket, memoryClass],
  );
}

async function applyTask(db: SqliteConnection, event: StoredEvent): Promise<void> {
  const taskId = idOfStream(event, 'task');
  switch (event.type) {
    case taskScheduled.type: {
      const data = dataOf(taskScheduled, event);
      await db.run(
        `INSERT INTO work_context_tasks (task_id, group_id, prompt, schedule_json, context_mode, status, status_since, max_consecutive_failures)
         VALUES (?, ?, ?, ?, ?, 'active', ?, ?) ON CONFLICT (task_id) DO NOTHING`,
        [taskId, data.groupId, data.prompt, JSON.stringify(data.schedule), data.contextMode, data.scheduledAt, data.maxConsecutiveFailures],
      );
      return markDirty(db, data.groupId);
    }
    case taskPaused.type: {
      const data = dataOf(taskPaused, event);
      await db.run("UPDATE work_context_tasks SET status = 'paused', status_since = ?, status_reason = ? WHERE task_id = ?", [data.pausedAt, data.reason, taskId]);
      break;
    }
    case taskResumed.type: {
      const data = dataOf(taskResumed, event);
      // Resuming a suspended task also clears its count of failures in a row.
      await db.run(
        `UPDATE work_context_tasks SET consecutive_failures = CASE status WHEN 'suspended' THEN 0 ELSE consecutive_failures END,
           status = 'active', status_since = ?, status_reason = NULL WHERE task_id = ?`,
        [data.resumedAt, taskId],
      );
      break;
    }
    case taskFired.type: {
      const data = dataOf(taskFired, event);
      await db.run('UPDATE work_context_tasks SET run_in_flight = ? WHERE task_id = ?', [data.runId, taskId]);
      break;
    }
    case taskRunFinished.type: {
      const data = dataOf(taskRunFinished, event);
      await db.run(
        `UPDATE work_context_tasks SET run_in_flight = NULL, last_run_id = ?, last_outcome = ?, last_detail = ?, last_finished_at = ?,
           consecutive_failures = CASE WHEN ? = 'failed' THEN consecutive_failures + 1 ELSE 0 END
         WHERE task_id = ?`,
        [data.runId, data.outcome, data.detail, data.finishedAt, data.outcome, taskId],
      );
      break;
    }
    case taskSuspended.type: {
      const data = dataOf(taskSuspended, event);
      await db.run("UPDATE work_context_tasks SET status = 'suspended', status_since = ?, status_reason = NULL, consecutive_failures = ? WHERE task_id = ?", [
        data.suspendedAt,
        data.consecutiveFailures,
        taskId,
      ]);
      break;
    }
    case taskCompleted.type:
    case taskCancelled.type: {
      const groupId = await taskGroup(db, taskId);
      await db.run('DELETE FROM work_context_tasks WHERE task_id = ?', [taskId]);
      return markDirty(db, groupId);
    }
    default:
      throw new Error(`work-context: unexpected ${event.type}`);
  }
  await markDirty(db, await taskGroup(db, taskId));
}

async function applyRun(db: SqliteConnection, event: StoredEvent): Promise<void> {
  const runId = idOfStream(event, 'run');
  const groupOf = async () => (await db.get<{ group_id: string }>('SELECT group_id FROM work_context_runs WHERE run_id = ?', [runId]))?.group_id;
  switch (event.type) {
    case runQueued.type: {
      const data = dataOf(runQueued, event);
      await db.run(
        `INSERT INTO work_context_runs (run_id, group_id, task_id, trigger, status, queued_at, status_since)
         VALUES (?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT (run_id) DO NOTHING`,
        [runId, data.groupId, data.taskId, data.trigger, data.queuedAt, data.queuedAt],
      );
      return markDirty(db, data.groupId);
    }
    case runSlotGranted.type: {
      const data = dataOf(runSlotGranted, event);
      await db.run("UPDATE work_context_runs SET status = 'starting', status_since = ? WHERE run_id = ?", [data.grantedAt, runId]);
      return markDirty(db, await groupOf());
    }
    case runStarted.type: {
      const data = dataOf(runStarted, event);
      await db.run("UPDATE work_context_runs SET status = 'running', status_since = ? WHERE run_id = ?", [data.startedAt, runId]);
      return markDirty(db, await groupOf());
    }
    case runCompleted.type:
    case runFailed.type:
    case runTimedOut.type:
    case runInterrupted.type: {
      const groupId = await groupOf();
      await db.run('DELETE FROM work_context_runs WHERE run_id = ?', [runId]);
      return markDirty(db, groupId);
    }
    default:
      throw new Error(`work-context: unexpected ${event.type}`);
  }
}

/** The run an agent requester names: `agent:<run id>` or `agent:run-<run id>`. */
async function groupOfRequester(db: SqliteConnection, requester: string): Promise<string | null> {
  if (!requester.startsWith('agent:')) return null;
  const principal = requester.slice('agent:'.length);
  const candidates = principal.startsWith('run-') ? [principal, principal.slice('run-'.length)] : [principal];
  for (const runId of candidates) {
    const row = await db.get<{ group_id: string }>('SELECT group_id FROM work_context_runs WHERE run_id = ?', [runId]);
    if (row) return row.group_id;
  }
  return null;
}

interface ApprovalRow {
  group_id: string | null;
  tool: string;
  summary: string;
}

async function applyApproval(db: SqliteConnection, event: StoredEvent): Promise<void> {
  const approvalId = idOfStream(event, 'approval');
  const pending = await db.get<ApprovalRow>('SELECT group_id, tool, summary FROM work_context_approvals WHERE approval_id = ?', [approvalId]);
  const action = (row: ApprovalRow) => `${row.tool}: ${oneLine(row.summary, 160)}`;
  switch (event.type) {
    case approvalRequested.type: {
      const data = dataOf(approvalRequested, event);
      const groupId = await groupOfRequester(db, data.requester);
      await db.run(
        `INSERT INTO work_context_approvals (approval_id, group_id, requester, tool, summary, approvers_json, required, expires_at, requested_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (approval_id) DO NOTHING`,
        [approvalId, groupId, data.requester, data.action.tool, data.action.summary, JSON.stringify(data.approvers), data.required, data.expiresAt, data.requestedAt],
      );
      return markDirty(db, groupId);
    }
    case approvalVoteCast.type: {
      const data = dataOf(approvalVoteCast, event);
      if (data.decision === 'approve') await db.run('UPDATE work_context_approvals SET approvals = approvals + 1 WHERE approval_id = ?', [approvalId]);
      return markDirty(db, pending?.group_id);
    }
    case approvalGranted.type: {
      const data = dataOf(approvalGranted, event);
      await db.run('DELETE FROM work_context_approvals WHERE approval_id = ?', [approvalId]);
      if (pending) {
        await addDecision(db, event, pending.group_id, 'approval_granted', data.grantedAt, `approval ${approvalId} granted by ${data.approvedBy.join(', ')}: ${action(pending)}`);
      }
      return markDirty(db, pending?.group_id);
    }
    case approvalDenied.type: {
      const data = dataOf(approvalDenied, event);
      await db.run('DELETE FROM work_context_approvals WHERE approval_id = ?', [approvalId]);
      if (pending) {
        await addDecision(db, event, pending.group_id, 'approval_denied', data.deniedAt, `approval ${approvalId} denied by ${data.deniedBy}: ${action(pending)}`);
      }
      return markDirty(db, pending?.group_id);
    }
    case approvalExpired.type: {
      await db.run('DELETE FROM work_context_approvals WHERE approval_id = ?', [approvalId]);
      return markDirty(db, pending?.group_id);
    }
    default:
      throw new Error(`work-context: unexpected ${event.type}`);
  }
}

async function applyMemory(db: SqliteConnection, event: StoredEvent): Promise<void> {
  const groupId = groupIdOfScope(scopeOfMemoryStream(event));
  // A user's memory is private: it is in no work context.
  if (groupId === null) return;
  const at = event.metadata.occurredAt;
  const conflictsHolding = async (factIds: readonly string[]) =>
    (await db.all<{ key: string; fact_ids_json: string }>('SELECT key, fact_ids_json FROM work_context_conflicts WHERE group_id = ? ORDER BY key', [groupId])).filter(
      (row) => (JSON.parse(row.fact_ids_json) as string[]).some((id) => factIds.includes(id)),
    );
  switch (event.type) {
    case memoryConflictFlagged.type: {
      const data = dataOf(memoryConflictFlagged, event);
      const existing = await db.get<{ fact_ids_json: string }>('SELECT fact_ids_json FROM work_context_conflicts WHERE group_id = ? AND key = ?', [groupId, data.key]);
      const factIds = [...new Set([...(existing ? (JSON.parse(existing.fact_ids_json) as string[]) : []), ...data.factIds])];
      await db.run(
        `INSERT INTO work_context_conflicts (group_id, key, fact_ids_json, flagged_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (group_id, key) DO UPDATE SET fact_ids_json = excluded.fact_ids_json`,
        [groupId, data.key, JSON.stringify(factIds), at],
      );
      return markDirty(db, groupId);
    }
    case memoryConflictResolved.type: {
      const data = dataOf(memoryConflictResolved, event);
      await db.run('DELETE FROM work_context_conflicts WHERE group_id = ? AND key = ?', [groupId, data.key]);
      await addDecision(db, event, groupId, 'memory_conflict_resolved', at, `memory conflict on ${data.key} resolved: fact ${data.keptFactId} kept`);
      return markDirty(db, groupId);
    }
    case memoryFactSuperseded.type:
    case memoryFactRetired.type: {
      // A fact that is no longer active leaves its conflict (the conflict stays open until resolved).
      const gone = event.type === memoryFactSuperseded.type ? dataOf(memoryFactSuperseded, event).factIds : [dataOf(memoryFactRetired, event).factId];
      const holding = await conflictsHolding(gone);
      for (const row of holding) {
        const rest = (JSON.parse(row.fact_ids_json) as string[]).filter((id) => !gone.includes(id));
        await db.run('UPDATE work_context_conflicts SET fact_ids_json = ? WHERE group_id = ? AND key = ?', [JSON.stringify(rest), groupId, row.key]);
      }
      if (holding.length > 0) await markDirty(db, groupId);
      return;
    }
    default:
      throw new Error(`work-context: unexpected ${event.type}`);
  }
}

// ---- rendering ----------------------------------------------------------------------------

interface TaskRow {
  task_id: string;
  group_id: string;
  prompt: string;
  schedule_json: string;
  context_mode: string;
  status: 'active' | 'paused' | 'suspended';
  status_since: string;
  status_reason: string | null;
  consecutive_failures: number;
  max_consecutive_failures: number;
  run_in_flight: string | null;
  last_run_id: string | null;
  last_outcome: string | null;
  last_detail: string | null;
  last_finished_at: string | null;
}

interface RunRow {
  run_id: string;
  group_id: string;
  task_id: string | null;
  trigger: string;
  status: 'queued' | 'starting' | 'running';
  queued_at: string;
  status_since: string;
}

interface PendingApprovalRow {
  approval_id: string;
  group_id: string | null;
  requester: string;
  tool: string;
  summary: string;
  approvers_json: string;
  required: number;
  approvals: number;
  expires_at: string;
  requested_at: string;
}

function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function formatSchedule(schedule: TaskSchedule): string {
  switch (schedule.kind) {
    case 'cron':
      return `cron "${schedule.expression}" (${schedule.timezone})`;
    case 'interval':
      return `every ${formatDuration(schedule.everyMs)}`;
    case 'once':
      return `once at ${schedule.at}`;
  }
}

function lastOutcome(task: TaskRow): string {
  if (task.run_in_flight) return `run ${task.run_in_flight} in flight`;
  if (!task.last_outcome) return 'not run yet';
  const detail = task.last_detail ? `: ${oneLine(task.last_detail, 160)}` : '';
  return `last run ${task.last_outcome} at ${task.last_finished_at}${detail}`;
}

/**
 * Items of a section, at most MAX_SECTION_ITEMS, the rest (and hidden ones) counted. `total`
 * is how many there are when `items` holds only the first of them.
 */
function section(title: string, items: readonly string[], hidden: { count: number; what: string } | null = null, total = items.length): string[] {
  const lines = [`## ${title}`];
  const shown = items.slice(0, MAX_SECTION_ITEMS);
  lines.push(...shown.map((item) => `- ${item}`));
  if (total > shown.length) lines.push(`- … and ${total - shown.length} more`);
  if (hidden && hidden.count > 0) lines.push(`- (${plural(hidden.count, hidden.what)} in direct-message groups, listed only there)`);
  if (lines.length === 1) lines.push('- none');
  lines.push('');
  return lines;
}

/**
 * The WORK_CONTEXT.md of one group, or of the company (`groupId` null), from the tables
 * alone.
 */
export async function renderWorkContext(db: SqliteConnection, groupId: string | null): Promise<string> {
  const company = groupId === null;
  const dmGroups = new Set(
    (await db.all<{ group_id: string }>("SELECT group_id FROM work_context_groups WHERE trigger_mode = 'dm'")).map((row) => row.group_id),
  );
  /** In the company file, a DM group's items are counted, not listed. */
  const isHidden = (itemGroup: string | null) => company && itemGroup !== null && dmGroups.has(itemGroup);
  const where = company ? '' : 'WHERE group_id = ?';
  const params = company ? [] : [groupId];
  const inGroup = (itemGroup: string | null) => (company && itemGroup !== null ? ` (group ${itemGroup})` : '');

  // Tasks can number thousands: only the ones a section lists are read (and formatted), the rest counted.
  const dmGroupFilter = "group_id IN (SELECT group_id FROM work_context_groups WHERE trigger_mode = 'dm')";
  const taskScope = company ? `NOT ${dmGroupFilter}` : 'group_id = ?';
  const countTasks = async (filter: string, filterParams: readonly (string | null)[]) =>
    (await db.get<{ n: number }>(`SELECT count(*) AS n FROM work_context_tasks WHERE ${filter}`, [...filterParams]))?.n ?? 0;
  const firstTasks = (filter: string) =>
    db.all<TaskRow>(`SELECT * FROM work_context_tasks WHERE ${filter} ORDER BY group_id, task_id LIMIT ${MAX_SECTION_ITEMS}`, params);
  const shownTasks = await firstTasks(taskScope);
  const taskCount = await countTasks(taskScope, params);
  const suspendedTasks = await firstTasks(`${taskScope} AND status = 'suspended'`);
  const suspendedCount = await countTasks(`${taskScope} AND status = 'suspended'`, params);
  const hiddenTasks = company ? await countTasks(dmGroupFilter, []) : 0;
  const hiddenSuspended = company ? await countTasks(`${dmGroupFilter} AND status = 'suspended'`, []) : 0;
  const runs = await db.all<RunRow>(`SELECT * FROM work_context_runs ${where} ORDER BY queued_at, run_id`, params);
  const approvals = await db.all<PendingApprovalRow>(`SELECT * FROM work_context_approvals ${where} ORDER BY requested_at, approval_id`, params);
  const conflicts = await db.all<{ group_id: string; key: string; fact_ids_json: string }>(
    `SELECT group_id, key, fact_ids_json FROM work_context_conflicts ${where} ORDER BY group_id, key`,
    params,
  );
  const decisions = await db.all<{ bucket: string; decided_at: string; text: string; kind: string }>(
    company
      ? `SELECT bucket, decided_at, text, kind FROM work_context_decisions
          WHERE kind <> 'memory_conflict_resolved' AND bucket NOT IN (SELECT group_id FROM work_context_groups WHERE trigger_mode = 'dm')
          ORDER BY position DESC LIMIT ${RECENT_DECISIONS}`
      : `SELECT bucket, decided_at, text, kind FROM work_context_decisions WHERE bucket = ? ORDER BY position DESC LIMIT ${RECENT_DECISIONS}`,
    params,
  );

  const visible = <T extends { group_id: string | null }>(rows: readonly T[]) => rows.filter((row) => !isHidden(row.group_id));
  const hiddenCount = (rows: readonly { group_id: string | null }[]) => rows.filter((row) => isHidden(row.group_id)).length;

  // Blocked
  const blocked: string[] = [];
  for (const task of suspendedTasks) {
    blocked.push(
      `task ${task.task_id}${inGroup(task.group_id)} suspended since ${task.status_since} after ${plural(task.consecutive_failures, 'failed run')} in a row (${lastOutcome(task)}); resume it to run it again`,
    );
  }
  for (const run of visible(runs).filter((row) => row.status === 'queued')) {
    blocked.push(`run ${run.run_id}${inGroup(run.group_id)} queued since ${run.queued_at}, waiting for a slot`);
  }
  if (company) {
    const perGroup = new Map<string, number>();
    for (const conflict of conflicts) perGroup.set(conflict.group_id, (perGroup.get(conflict.group_id) ?? 0) + 1);
    for (const [conflictGroup, count] of perGroup) {
      if (isHidden(conflictGroup)) continue;
      blocked.push(`group ${conflictGroup}: ${plural(count, 'unresolved memory conflict')} (see that group's MEMORY.md)`);
    }
  } else {
    for (const conflict of conflicts) {
      const factIds = JSON.parse(conflict.fact_ids_json) as string[];
      blocked.push(`memory conflict on ${conflict.key}: facts ${factIds.join(', ')} disagree (see MEMORY.md); resolve it by keeping one`);
    }
  }
  // The listed suspended tasks are at most a section's worth: the blocked items past them are counted.
  const blockedTotal = blocked.length + (suspendedCount - suspendedTasks.length);
  const blockedHidden =
    hiddenSuspended +
    hiddenCount(runs.filter((row) => row.status === 'queued')) +
    (company ? new Set(conflicts.filter((row) => isHidden(row.group_id)).map((row) => row.group_id)).size : 0);

  const approvalItems = visible(approvals).map((approval) => {
    const approvers = JSON.parse(approval.approvers_json) as string[];
    return (
      `approval ${approval.approval_id}${inGroup(approval.group_id)}: ${approval.tool}: ${oneLine(approval.summary, 160)}; ` +
      `${approval.approvals} of ${approval.required} approvals from ${approvers.join(', ')}; requested by ${approval.requester} at ${approval.requested_at}; expires ${approval.expires_at}`
    );
  });

  const taskItems = shownTasks.map((task) => {
    const schedule = formatSchedule(JSON.parse(task.schedule_json) as TaskSchedule);
    const reason = task.status === 'paused' && task.status_reason ? ` (${oneLine(task.status_reason, 120)})` : '';
    return `task ${task.task_id}${inGroup(task.group_id)} [${task.status}${reason}] ${schedule}, ${task.context_mode} context: "${oneLine(task.prompt, 100)}"; ${lastOutcome(task)}`;
  });

  const runItems = visible(runs).map((run) => {
    const task = run.task_id ? `, task ${run.task_id}` : '';
    return `run ${run.run_id}${inGroup(run.group_id)} [${run.status} since ${run.status_since}] trigger ${run.trigger}${task}`;
  });

  const decisionItems = decisions.map((decision) => `${decision.decided_at} ${decision.text}${inGroup(decision.bucket === COMPANY ? null : decision.bucket)}`);

  const lines = [
    company ? '# Work context of the company' : `# Work context of group ${groupId}`,
    'Built from the event store; rewritten when tasks, runs, approvals or memory conflicts change. Edits here are overwritten.',
    '',
    ...section('Blocked', blocked, { count: blockedHidden, what: 'blocked item' }, blockedTotal),
    ...section('Pending approvals', approvalItems, { count: hiddenCount(approvals), what: 'pending approval' }),
    ...section('Open tasks', taskItems, { count: hiddenTasks, what: 'open task' }, taskCount),
    ...section('Active runs', runItems, { count: hiddenCount(runs), what: 'active run' }),
    ...section(`Recent decisions (newest first, last ${RECENT_DECISIONS})`, decisionItems),
  ];
  lines.pop(); // the blank line after the last section
  return asFile(lines);
}

/** `<dataDir>/WORK_CONTEXT.md` for the company, `<dataDir>/groups/<group dir>/WORK_CONTEXT.md` for a group. */
export function workContextPath(dataDir: string, groupId: string | null): string {
  return groupId === null ? join(dataDir, WORK_CONTEXT_FILE_NAME) : groupFilePath(dataDir, groupId, WORK_CONTEXT_FILE_NAME);
}

/** Rewrites every WORK_CONTEXT.md marked dirty, clearing each mark it satisfied. */
export async function writeDirtyWorkContexts(db: SqliteConnection, context: AfterCommitContext): Promise<string[]> {
  const dirty = await db.all<{ target: string; generation: number }>('SELECT target, generation FROM work_context_dirty ORDER BY target');
  const written: string[] = [];
  const failures: string[] = [];
  for (const { target, generation } of dirty) {
    const groupId = target === COMPANY ? null : target;
    try {
      await writeFileAtomic(workContextPath(context.dataDir, groupId), await renderWorkContext(db, groupId));
      await db.run('DELETE FROM work_context_dirty WHERE target = ? AND generation = ?', [target, generation]);
      written.push(target);
    } catch (error) {
      failures.push(`${groupId ?? 'company'}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(`WORK_CONTEXT.md could not be written for ${failures.join('; ')} (kept dirty, retried after the next batch)`);
  return written;
}

const TASK_TYPES = [taskScheduled, taskPaused, taskResumed, taskFired, taskRunFinished, taskCompleted, taskCancelled, taskSuspended].map((d) => d.type);
const RUN_TYPES = [runQueued, runSlotGranted, runStarted, runCompleted, runFailed, runTimedOut, runInterrupted].map((d) => d.type);
const APPROVAL_TYPES = [approvalRequested, approvalVoteCast, approvalGranted, approvalDenied, approvalExpired].map((d) => d.type);
const MEMORY_TYPES = [memoryConflictFlagged, memoryConflictResolved, memoryFactSuperseded, memoryFactRetired].map((d) => d.type);

export const workContextProjection = defineProjection({
  name: 'work-context',
  version: 1,
  eventTypes: [groupConfigured.type, ...TASK_TYPES, ...RUN_TYPES, ...APPROVAL_TYPES, ...MEMORY_TYPES],
  schema: WORK_CONTEXT_SCHEMA,
  async apply(db, event) {
    if (event.type === groupConfigured.type) {
      const groupId = idOfStream(event, 'group');
      const data = dataOf(groupConfigured, event);
      const before = await db.get<{ trigger_mode: string }>('SELECT trigger_mode FROM work_context_groups WHERE group_id = ?', [groupId]);
      await db.run(
        'INSERT INTO work_context_groups (group_id, trigger_mode) VALUES (?, ?) ON CONFLICT (group_id) DO UPDATE SET trigger_mode = excluded.trigger_mode',
        [groupId, data.triggerMode],
      );
      // Becoming (or ceasing to be) a DM changes what the company file may show.
      if ((before?.trigger_mode === 'dm') !== (data.triggerMode === 'dm')) await markDirty(db, null);
      return;
    }
    const kind = event.type.slice(0, event.type.indexOf('.'));
    if (kind === 'task') return applyTask(db, event);
    if (kind === 'run') return applyRun(db, event);
    if (kind === 'approval') return applyApproval(db, event);
    if (kind === 'memory') return applyMemory(db, event);
    throw new Error(`work-context: unexpected ${event.type}`);
  },
  async afterCommit(db, context) {
    await writeDirtyWorkContexts(db, context);
  },
});
