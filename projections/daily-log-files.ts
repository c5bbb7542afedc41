/**
 * Daily logs per group and day: `<dataDir>/groups/<group dir>/memory/YYYY-MM-DD.md`, beside
 * the group's MEMORY.md. A daily log is what happened in a group on one day (the evidence
 * behind its facts), written as `memory.daily_log_written` by an agent, the consolidation
 * step or a person; a day may have several entries, shown in the order they were stored.
 *
 *     # Daily log of group T1.C1, 2026-01-05
 *     Built from the memory events of this group; edits here are overwritten.
 *
 *     ## 09:14 UTC, by agent:consolidation
 *     <the summary, as written>
 *
 * - Deterministic: the bytes are a function of the tables (no generation time; entries in
 *   event-position order), so a rebuild writes the same files.
 * - Only changed days are rewritten: `apply` marks (group, day) in `daily_log_files_dirty`
 *   inside the host's transaction; `afterCommit` rewrites those files atomically and clears
 *   each mark unless a newer batch set it again (as memory-files.ts does for MEMORY.md).
 * - Searching daily logs is the memory index's job (memory-index.ts), not this file's.
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import { memoryDailyLogWritten } from '../events/catalogue/daily-log.js';
import { groupFilePath, writeFileAtomic } from './atomic-file.js';
import { dataOf, groupIdOfScope } from './memory-facts.js';
import { defineProjection, type AfterCommitContext } from './projection.js';
import { asFile, oneLine, plural } from './text-lines.js';

/** The folder of a group's daily logs, beside its MEMORY.md. */
export const DAILY_LOG_DIRECTORY = 'memory';

/** `memory/2026-01-05.md`, relative to the group's folder. */
export function dailyLogFileName(day: string): string {
  return `${DAILY_LOG_DIRECTORY}/${day}.md`;
}

export const DAILY_LOG_FILES_SCHEMA = `
CREATE TABLE daily_log_entries (
  event_id TEXT PRIMARY KEY,
  group_id TEXT NOT NULL,
  day TEXT NOT NULL,
  summary TEXT NOT NULL,
  written_by TEXT NOT NULL,
  written_at TEXT NOT NULL,
  position INTEGER NOT NULL
);
CREATE INDEX daily_log_entries_by_day ON daily_log_entries (group_id, day, position);
CREATE TABLE daily_log_files_dirty (
  group_id TEXT NOT NULL,
  day TEXT NOT NULL,
  -- raised by every change, so afterCommit clears only what it wrote
  generation INTEGER NOT NULL,
  PRIMARY KEY (group_id, day)
)
`;

/** The summary as markdown lines: line breaks normalized, surrounding blank lines dropped. */
function summaryText(summary: string): string {
  return summary.replace(/\r\n?/g, '\n').replace(/^\s*\n/, '').trimEnd();
}

/** The daily log of one group and day, from the tables alone. */
export async function renderDailyLogFile(db: SqliteConnection, groupId: string, day: string): Promise<string> {
  const entries = await db.all<{ summary: string; written_by: string; written_at: string }>(
    'SELECT summary, written_by, written_at FROM daily_log_entries WHERE group_id = ? AND day = ? ORDER BY position, event_id',
    [groupId, day],
  );
  const lines = [`# Daily log of group ${groupId}, ${day}`, 'Built from the memory events of this group; edits here are overwritten.'];
  if (entries.length === 0) lines.push('', 'Nothing was logged on this day.');
  for (const entry of entries) {
    lines.push('', `## ${entry.written_at.slice(11, 16)} UTC, by ${oneLine(entry.written_by, 200)}`, summaryText(entry.summary));
  }
  return asFile(lines);
}

/** Rewrites the daily log of every (group, day) marked dirty, clearing each mark it satisfied. */
export async function writeDirtyDailyLogFiles(db: SqliteConnection, context: AfterCommitContext): Promise<string[]> {
  const dirty = await db.all<{ group_id: string; day: string; generation: number }>(
    'SELECT group_id, day, generation FROM daily_log_files_dirty ORDER BY group_id, day',
  );
  const written: string[] = [];
  const failures: string[] = [];
  for (const { group_id: groupId, day, generation } of dirty) {
    try {
      await writeFileAtomic(groupFilePath(context.dataDir, groupId, dailyLogFileName(day)), await renderDailyLogFile(db, groupId, day));
      await db.run('DELETE FROM daily_log_files_dirty WHERE group_id = ? AND day = ? AND generation = ?', [groupId, day, generation]);
      written.push(`${groupId} ${day}`);
    } catch (error) {
      failures.push(`${groupId} ${day}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length > 0) {
    throw new Error(`daily logs could not be written for ${plural(failures.length, 'day')} (kept dirty, retried after the next batch): ${failures.join('; ')}`);
  }
  return written;
}

export const dailyLogFilesProjection = defineProjection({
  name: 'daily-log-files',
  version: 1,
  eventTypes: [memoryDailyLogWritten.type],
  schema: DAILY_LOG_FILES_SCHEMA,
  async apply(db, event) {
    const data = dataOf(memoryDailyLogWritten, event);
    const groupId = groupIdOfScope(data.scope);
    // The event's schema allows only a group's scope; a daily log belongs to a group.
    if (groupId === null) throw new Error(`${event.type} ${event.id} names scope ${data.scope}; a daily log belongs to a group`);
    const { changes } = await db.run(
      `INSERT INTO daily_log_entries (event_id, group_id, day, summary, written_by, written_at, position)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
      [event.id, groupId, data.day, data.summary, data.writtenBy, event.metadata.occurredAt, Number(event.position)],
    );
    if (changes === 0) return;
    await db.run(
      `INSERT INTO daily_log_files_dirty (group_id, day, generation) VALUES (?, ?, 1)
       ON CONFLICT (group_id, day) DO UPDATE SET generation = generation + 1`,
      [groupId, data.day],
    );
  },
  async afterCommit(db, context) {
    await writeDirtyDailyLogFiles(db, context);
  },
});
