/**
 * MEMORY.md per group: `<dataDir>/groups/<group dir>/MEMORY.md` (see `groupDirectoryName`),
 * the index of a group's memory that every agent run of the group reads at boot. The
 * details come through `memory_search`; this file is the short list.
 *
 * - At most 200 lines (`MEMORY_FILE_MAX_LINES`), best first: unresolved conflicts (each
 *   shown whole, with every disagreeing statement, so nothing is silently decided; at most
 *   half the file), then the active facts ranked user-confirmed > user-stated >
 *   agent-observed > agent-inferred, newest first within a rank. What does not fit is
 *   counted in a last line pointing to memory_search. Superseded and retired facts are
 *   left out.
 * - Only a group's scope (`group.<id>`) goes into a MEMORY.md. A user's scope
 *   (`user.<id>`) is private to that user: it is in no group's MEMORY.md (a group may hold
 *   many people), and reaches an agent only through `memory_search` when that user asks.
 * - Deterministic: the bytes are a function of the tables alone (no generation time; every
 *   sort has a unique last key), so a rebuild writes the same file.
 * - Regenerated only for groups whose facts changed: `apply` marks the group in
 *   `memory_files_dirty` inside the host's transaction; `afterCommit` rewrites those files
 *   (atomically: temp + rename) and clears each mark unless a newer batch set it again.
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import { groupFilePath, writeFileAtomic } from './atomic-file.js';
import {
  applyMemoryFactEvent,
  CONFIDENCE_RANK_SQL,
  FACT_COLUMNS,
  groupIdOfScope,
  MEMORY_FACT_EVENT_TYPES,
  MEMORY_FACTS_SCHEMA,
  openConflicts,
  toFactRow,
  type FactDbRow,
  type FactRow,
} from './memory-facts.js';
import { defineProjection, type AfterCommitContext } from './projection.js';
import { asFile, oneLine, plural } from './text-lines.js';

export const MEMORY_FILE_NAME = 'MEMORY.md';
export const MEMORY_FILE_MAX_LINES = 200;
/** The longest statement shown on a line; the full text is a search away. */
const MAX_STATEMENT_CHARS = 200;

export const MEMORY_FILES_SCHEMA = `
${MEMORY_FACTS_SCHEMA}
CREATE TABLE memory_files_dirty (
  group_id TEXT PRIMARY KEY,
  -- raised by every change, so afterCommit clears only what it wrote
  generation INTEGER NOT NULL
)
`;

function factLine(fact: FactRow): string {
  return `[${fact.confidence}] ${fact.key}: ${oneLine(fact.statement, MAX_STATEMENT_CHARS)} (${fact.factId}, ${fact.recordedAt.slice(0, 10)})`;
}

/** The MEMORY.md of one group, from the tables alone. */
export async function renderMemoryFile(db: SqliteConnection, groupId: string, maxLines: number = MEMORY_FILE_MAX_LINES): Promise<string> {
  if (!Number.isInteger(maxLines) || maxLines < 10) throw new RangeError(`a MEMORY.md needs at least 10 lines, not ${maxLines}`);
  const scope = `group.${groupId}`;
  const lines = [
    `# Memory of group ${groupId}`,
    'Built from the memory events of this group; edits here are overwritten. Best facts first; find more with memory_search.',
    '',
  ];

  const conflicts = await openConflicts(db, [scope]);
  const factsById = new Map(
    (
      await db.all<FactDbRow>(`SELECT ${FACT_COLUMNS} FROM memory_facts WHERE scope = ? AND status = 'active' AND in_conflict = 1`, [scope])
    ).map((row) => [row.fact_id, toFactRow(row)] as const),
  );
  const facts = (
    await db.all<FactDbRow>(
      `SELECT ${FACT_COLUMNS} FROM memory_facts WHERE scope = ? AND status = 'active' AND in_conflict = 0
        ORDER BY ${CONFIDENCE_RANK_SQL}, recorded_at DESC, recorded_position DESC, fact_id`,
      [scope],
    )
  ).map(toFactRow);

  if (conflicts.length === 0 && facts.length === 0) {
    lines.push('No facts are recorded for this group yet.');
    return asFile(lines);
  }

  if (conflicts.length > 0) {
    // At most half of what is left, so conflicts never crowd out the facts.
    const budget = Math.floor((maxLines - lines.length) / 2);
    const section = ['## Unresolved conflicts', 'These facts disagree. None is chosen until someone resolves the conflict.'];
    let shown = 0;
    for (const [index, conflict] of conflicts.entries()) {
      const members = conflict.factIds.map((id) => factsById.get(id)).filter((fact): fact is FactRow => fact !== undefined);
      const block = [`- CONFLICT on ${conflict.key} (${plural(members.length, 'statement')} disagree):`, ...members.map((fact) => `  - ${factLine(fact)}`)];
      const moreLine = index < conflicts.length - 1 ? 1 : 0;
      // + 1 for the blank line closing the section
      if (section.length + block.length + moreLine + 1 > budget) break;
      section.push(...block);
      shown += 1;
    }
    if (shown < conflicts.length) {
      section.push(`- … and ${plural(conflicts.length - shown, 'more unresolved conflict')}; find them with memory_search`);
    }
    lines.push(...section, '');
  }

  const room = maxLines - lines.length;
  const section = ['## Facts'];
  if (facts.length === 0) {
    section.push('No other active facts.');
  } else if (facts.length <= room - 1) {
    section.push(...facts.map((fact) => `- ${factLine(fact)}`));
  } else {
    const fitting = Math.max(0, room - 2);
    section.push(...facts.slice(0, fitting).map((fact) => `- ${factLine(fact)}`));
    section.push(`- … and ${plural(facts.length - fitting, 'more active fact')}, lower ranked; find them with memory_search`);
  }
  lines.push(...section);
  return asFile(lines);
}

async function markDirty(db: SqliteConnection, groupId: string): Promise<void> {
  await db.run(
    'INSERT INTO memory_files_dirty (group_id, generation) VALUES (?, 1) ON CONFLICT (group_id) DO UPDATE SET generation = generation + 1',
    [groupId],
  );
}

/** Rewrites the MEMORY.md of every group marked dirty, clearing each mark it satisfied. */
export async function writeDirtyMemoryFiles(db: SqliteConnection, context: AfterCommitContext): Promise<string[]> {
  const dirty = await db.all<{ group_id: string; generation: number }>('SELECT group_id, generation FROM memory_files_dirty ORDER BY group_id');
  const written: string[] = [];
  const failures: string[] = [];
  for (const { group_id: groupId, generation } of dirty) {
    try {
      await writeFileAtomic(groupFilePath(context.dataDir, groupId, MEMORY_FILE_NAME), await renderMemoryFile(db, groupId));
      await db.run('DELETE FROM memory_files_dirty WHERE group_id = ? AND generation = ?', [groupId, generation]);
      written.push(groupId);
    } catch (error) {
      failures.push(`${groupId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(`MEMORY.md could not be written for ${plural(failures.length, 'group')} (kept dirty, retried after the next batch): ${failures.join('; ')}`);
  return written;
}

export const memoryFilesProjection = defineProjection({
  name: 'memory-files',
  version: 1,
  eventTypes: [...MEMORY_FACT_EVENT_TYPES],
  schema: MEMORY_FILES_SCHEMA,
  async apply(db, event) {
    const change = await applyMemoryFactEvent(db, event);
    const groupId = groupIdOfScope(change.scope);
    // A user's scope is private: it changes no group's file.
    if (groupId !== null) await markDirty(db, groupId);
  },
  async afterCommit(db, context) {
    await writeDirtyMemoryFiles(db, context);
  },
});
