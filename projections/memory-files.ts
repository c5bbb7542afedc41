/**
 * MEMORY.md per group: `<dataDir>/groups/<group dir>/MEMORY.md` (see `groupDirectoryName`),
 * the index of a group's memory that every agent run of the group reads at boot. The
 * details come through `memory_search`; this file is the short list.
 *
 * - At most 200 lines (`MEMORY_FILE_CAPACITY_LINES`, laid out as actors/memory-capacity.ts
 *   describes): unresolved conflicts first (each shown whole, with every disagreeing
 *   statement, so nothing is silently decided; at most half the file), then the active
 *   facts under one heading per category (user, feedback, project, reference), best first
 *   within each (user-confirmed > user-stated > agent-observed > agent-inferred, then the
 *   most lately recorded, confirmed or used). Superseded and retired facts are left out.
 * - Demoted facts are left out too, and counted in a last line pointing to memory_search:
 *   past capacity the memory actor demotes the lowest-ranked facts (enforce-memory-capacity
 *   workflow), by the same arithmetic as this file, so the file shows exactly the facts not
 *   demoted. Until a demotion is recorded (it follows the fact that overflowed), the
 *   lowest-ranked facts that do not fit are left out the same way.
 * - Only a group's scope (`group.<id>`) goes into a MEMORY.md. A user's scope
 *   (`user.<id>`) is private to that user: it is in no group's MEMORY.md (a group may hold
 *   many people), and reaches an agent only through `memory_search` when that user asks.
 * - Deterministic: the bytes are a function of the tables alone (no generation time; every
 *   sort has a unique last key), so a rebuild writes the same file.
 * - Regenerated only for groups whose facts changed: `apply` marks the group in
 *   `memory_files_dirty` inside the host's transaction; `afterCommit` rewrites those files
 *   (atomically: temp + rename) and clears each mark unless a newer batch set it again.
 */
import {
  CATEGORY_HEADINGS,
  CATEGORY_ORDER,
  fittingFactCount,
  MEMORY_FILE_CAPACITY_LINES,
  MEMORY_FILE_HEADER_LINES,
  planConflictSection,
  RANK_ORDER_SQL,
} from '../actors/memory-capacity.js';
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import { groupFilePath, writeFileAtomic } from './atomic-file.js';
import {
  applyMemoryFactEvent,
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
/** The longest statement shown on a line; the full text is a search away. */
const MAX_STATEMENT_CHARS = 200;

export const MEMORY_FILES_SCHEMA = `
${MEMORY_FACTS_SCHEMA}
CREATE INDEX memory_facts_shown ON memory_facts (scope, status, in_conflict, demoted);
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
export async function renderMemoryFile(db: SqliteConnection, groupId: string, maxLines: number = MEMORY_FILE_CAPACITY_LINES): Promise<string> {
  if (!Number.isInteger(maxLines) || maxLines < 10) throw new RangeError(`a MEMORY.md needs at least 10 lines, not ${maxLines}`);
  const scope = `group.${groupId}`;
  const lines = [
    `# Memory of group ${groupId}`,
    'Built from the memory events of this group; edits here are overwritten. Best facts first, by category; find more with memory_search.',
    '',
  ];

  const conflicts = await openConflicts(db, [scope]);
  const factsById = new Map(
    (
      await db.all<FactDbRow>(`SELECT ${FACT_COLUMNS} FROM memory_facts WHERE scope = ? AND status = 'active' AND in_conflict = 1`, [scope])
    ).map((row) => [row.fact_id, toFactRow(row)] as const),
  );
  // Counted on the memory_facts_shown index alone (every column an equality): no row is read.
  const count = async (demotedFlag: 0 | 1) =>
    (
      await db.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM memory_facts WHERE scope = ? AND status = 'active' AND in_conflict = 0 AND demoted = ?`,
        [scope, demotedFlag],
      )
    )?.n ?? 0;
  const candidates = await count(0);
  const demoted = await count(1);

  if (conflicts.length === 0 && candidates === 0 && demoted === 0) {
    lines.push('No facts are recorded for this group yet.');
    return asFile(lines);
  }

  const members = conflicts.map((conflict) => conflict.factIds.map((id) => factsById.get(id)).filter((fact): fact is FactRow => fact !== undefined));
  const conflictPlan = planConflictSection(
    members.map((facts) => facts.length),
    maxLines,
  );
  if (conflicts.length > 0) {
    lines.push('## Unresolved conflicts', 'These facts disagree. None is chosen until someone resolves the conflict.');
    for (const [index, conflict] of conflicts.slice(0, conflictPlan.shown).entries()) {
      const facts = members[index] ?? [];
      lines.push(`- CONFLICT on ${conflict.key} (${plural(facts.length, 'statement')} disagree):`, ...facts.map((fact) => `  - ${factLine(fact)}`));
    }
    if (conflictPlan.shown < conflicts.length) {
      lines.push(`- … and ${plural(conflicts.length - conflictPlan.shown, 'more unresolved conflict')}; find them with memory_search`);
    }
    lines.push('');
  }

  // More than `room` facts never fit, so only the best `room` are read, however many there are.
  const room = maxLines - MEMORY_FILE_HEADER_LINES - conflictPlan.lines;
  const ranked = (
    await db.all<FactDbRow>(
      `SELECT ${FACT_COLUMNS} FROM memory_facts WHERE scope = ? AND status = 'active' AND in_conflict = 0 AND demoted = 0
        ORDER BY ${RANK_ORDER_SQL} LIMIT ?`,
      [scope, Math.max(0, room)],
    )
  ).map(toFactRow);
  const shown = ranked.slice(0, fittingFactCount(room, ranked, candidates, demoted));
  const hidden = candidates + demoted - shown.length;

  if (shown.length === 0) {
    lines.push('## Facts', 'No other active facts.');
  } else {
    const sections = CATEGORY_ORDER.map((category) => shown.filter((fact) => fact.category === category)).filter((facts) => facts.length > 0);
    for (const [index, facts] of sections.entries()) {
      if (index > 0) lines.push('');
      lines.push(CATEGORY_HEADINGS[facts[0]!.category], ...facts.map((fact) => `- ${factLine(fact)}`));
    }
  }
  if (hidden > 0) lines.push(`- … and ${plural(hidden, 'more active fact')}, lower ranked, not shown here; find them with memory_search`);
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
  // v2: facts grouped by category; demoted facts left out.
  version: 2,
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
