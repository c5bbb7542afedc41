/**
 * The facts of every memory scope as rows: what the memory actor folds, kept as a table
 * so read models can sort, filter and search it. Shared by the projections that need the
 * facts (memory-index, memory-files): each keeps these tables in its own read-model file,
 * built from the same eight `memory.*` events.
 *
 * - `memory_facts`: one row per fact ever recorded, keyed by (scope, fact id), with its
 *   status (`active`, `superseded`, `retired`), confidence (a confirmation makes it
 *   `user-confirmed`), category, source, whether it is in an open conflict, whether it is
 *   demoted out of MEMORY.md (still active and searchable), and `fresh_at`, the latest of
 *   recorded, confirmed and restored, which ranks it (actors/memory-capacity.ts).
 * - `memory_conflicts` / `memory_conflict_facts`: the open conflicts per (scope, key) and
 *   the facts in each, as the memory actor keeps them: a superseded or retired fact leaves
 *   its conflict; `memory.conflict_resolved` closes it.
 *
 * Every time comes from an event, so a rebuild gives the same rows.
 */
import type { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import {
  memoryConflictFlagged,
  memoryConflictResolved,
  memoryFactConfirmed,
  memoryFactDemoted,
  memoryFactRecorded,
  memoryFactRestored,
  memoryFactRetired,
  memoryFactSuperseded,
  type factConfidenceSchema,
  type FactCategory,
} from '../events/catalogue/memory.js';

export type FactConfidence = z.infer<typeof factConfidenceSchema>;
export type FactStatus = 'active' | 'superseded' | 'retired';

export const MEMORY_FACT_EVENT_TYPES = [
  memoryFactRecorded.type,
  memoryFactSuperseded.type,
  memoryFactConfirmed.type,
  memoryFactRetired.type,
  memoryConflictFlagged.type,
  memoryConflictResolved.type,
  memoryFactDemoted.type,
  memoryFactRestored.type,
] as const;

/** The fact tables, with the indexes applying the events needs. */
export const MEMORY_FACTS_TABLES = `
CREATE TABLE memory_facts (
  scope TEXT NOT NULL,
  fact_id TEXT NOT NULL,
  key TEXT NOT NULL,
  statement TEXT NOT NULL,
  confidence TEXT NOT NULL CHECK (confidence IN ('user-confirmed', 'user-stated', 'agent-observed', 'agent-inferred')),
  category TEXT NOT NULL CHECK (category IN ('user', 'feedback', 'project', 'reference')),
  source_kind TEXT NOT NULL,
  source_ref TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'retired')),
  superseded_by TEXT,
  retired_reason TEXT,
  confirmed_by TEXT,
  in_conflict INTEGER NOT NULL DEFAULT 0,
  -- out of MEMORY.md for want of room (memory.fact_demoted), still active
  demoted INTEGER NOT NULL DEFAULT 0,
  -- the latest of recorded, confirmed and restored: ranks the fact
  fresh_at TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  recorded_event_id TEXT NOT NULL,
  recorded_position INTEGER NOT NULL,
  changed_at TEXT NOT NULL,
  PRIMARY KEY (scope, fact_id)
);
CREATE TABLE memory_conflicts (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  flagged_at TEXT NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE TABLE memory_conflict_facts (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  fact_id TEXT NOT NULL,
  -- the order facts joined the conflict (oldest first), as the memory actor lists them
  ordinal INTEGER NOT NULL,
  PRIMARY KEY (scope, key, fact_id)
);
CREATE INDEX memory_conflict_facts_by_fact ON memory_conflict_facts (scope, fact_id);
`;

/** The indexes only readers use: a projection may defer them (see Projection.deferredSchema). */
export const MEMORY_FACTS_INDEXES = `
CREATE INDEX memory_facts_by_scope_status ON memory_facts (scope, status, key);
`;

/** The fact tables and every index on them. */
export const MEMORY_FACTS_SCHEMA = `${MEMORY_FACTS_TABLES}${MEMORY_FACTS_INDEXES}`;

type DataOf<TDefinition> = TDefinition extends EventDefinition<string, infer TData> ? TData : never;

/** The event's data, typed by its catalogue definition (the host hands events upcast to the newest version). */
export function dataOf<TDefinition extends EventDefinition>(definition: TDefinition, event: StoredEvent): DataOf<TDefinition> {
  if (event.type !== definition.type) throw new Error(`expected a ${definition.type} event, got ${event.type}`);
  return event.data as DataOf<TDefinition>;
}

/** `memory-group.T1.C1` → `group.T1.C1`. */
export function scopeOfMemoryStream(event: StoredEvent): string {
  if (!event.streamId.startsWith('memory-')) {
    throw new Error(`${event.type} ${event.id} is on stream ${event.streamId}; memory events live on memory-<scope> streams`);
  }
  return event.streamId.slice('memory-'.length);
}

/** `group.T1.C1` → `T1.C1`; null for a user's scope (or anything else). */
export function groupIdOfScope(scope: string): string | null {
  return scope.startsWith('group.') && scope.length > 'group.'.length ? scope.slice('group.'.length) : null;
}

async function refreshConflictFlags(db: SqliteConnection, scope: string, factIds: readonly string[]): Promise<void> {
  for (const factId of factIds) {
    await db.run(
      `UPDATE memory_facts SET in_conflict = EXISTS (SELECT 1 FROM memory_conflict_facts c WHERE c.scope = ?1 AND c.fact_id = ?2)
       WHERE scope = ?1 AND fact_id = ?2`,
      [scope, factId],
    );
  }
}

async function leaveConflicts(db: SqliteConnection, scope: string, factId: string): Promise<void> {
  await db.run('DELETE FROM memory_conflict_facts WHERE scope = ? AND fact_id = ?', [scope, factId]);
  await refreshConflictFlags(db, scope, [factId]);
}

/** What one memory event changed, for the projection's own bookkeeping. */
export interface FactChange {
  readonly scope: string;
  /** The facts whose row changed. */
  readonly factIds: readonly string[];
}

/** Applies one of the eight `memory.*` fact events to the fact tables. */
export async function applyMemoryFactEvent(db: SqliteConnection, event: StoredEvent): Promise<FactChange> {
  const scope = scopeOfMemoryStream(event);
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case memoryFactRecorded.type: {
      const data = dataOf(memoryFactRecorded, event);
      await db.run(
        `INSERT INTO memory_facts (scope, fact_id, key, statement, confidence, category, source_kind, source_ref, status,
           fresh_at, recorded_at, recorded_event_id, recorded_position, changed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)
         ON CONFLICT (scope, fact_id) DO NOTHING`,
        [
          scope, data.factId, data.key, data.statement, data.confidence, data.category, data.source.kind, data.source.ref,
          data.recordedAt, data.recordedAt, event.id, Number(event.position), at,
        ],
      );
      return { scope, factIds: [data.factId] };
    }
    case memoryFactSuperseded.type: {
      const data = dataOf(memoryFactSuperseded, event);
      for (const factId of data.factIds) {
        await db.run(
          "UPDATE memory_facts SET status = 'superseded', superseded_by = ?, changed_at = ? WHERE scope = ? AND fact_id = ?",
          [data.supersededBy, at, scope, factId],
        );
        await leaveConflicts(db, scope, factId);
      }
      return { scope, factIds: data.factIds };
    }
    case memoryFactConfirmed.type: {
      const data = dataOf(memoryFactConfirmed, event);
      await db.run(
        "UPDATE memory_facts SET confidence = 'user-confirmed', confirmed_by = ?, fresh_at = ?, changed_at = ? WHERE scope = ? AND fact_id = ?",
        [data.confirmedBy, at, at, scope, data.factId],
      );
      return { scope, factIds: [data.factId] };
    }
    case memoryFactRetired.type: {
      const data = dataOf(memoryFactRetired, event);
      await db.run("UPDATE memory_facts SET status = 'retired', retired_reason = ?, changed_at = ? WHERE scope = ? AND fact_id = ?", [
        data.reason,
        at,
        scope,
        data.factId,
      ]);
      await leaveConflicts(db, scope, data.factId);
      return { scope, factIds: [data.factId] };
    }
    case memoryConflictFlagged.type: {
      const data = dataOf(memoryConflictFlagged, event);
      await db.run('INSERT INTO memory_conflicts (scope, key, flagged_at) VALUES (?, ?, ?) ON CONFLICT (scope, key) DO NOTHING', [scope, data.key, at]);
      for (const factId of data.factIds) {
        await db.run(
          `INSERT INTO memory_conflict_facts (scope, key, fact_id, ordinal)
           VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(ordinal), -1) + 1 FROM memory_conflict_facts WHERE scope = ?1 AND key = ?2))
           ON CONFLICT (scope, key, fact_id) DO NOTHING`,
          [scope, data.key, factId],
        );
      }
      await refreshConflictFlags(db, scope, data.factIds);
      return { scope, factIds: data.factIds };
    }
    case memoryConflictResolved.type: {
      const data = dataOf(memoryConflictResolved, event);
      const members = await db.all<{ fact_id: string }>('SELECT fact_id FROM memory_conflict_facts WHERE scope = ? AND key = ? ORDER BY ordinal', [
        scope,
        data.key,
      ]);
      await db.run('DELETE FROM memory_conflict_facts WHERE scope = ? AND key = ?', [scope, data.key]);
      await db.run('DELETE FROM memory_conflicts WHERE scope = ? AND key = ?', [scope, data.key]);
      const factIds = [...new Set([...members.map((member) => member.fact_id), data.keptFactId])];
      await refreshConflictFlags(db, scope, factIds);
      return { scope, factIds };
    }
    case memoryFactDemoted.type: {
      const data = dataOf(memoryFactDemoted, event);
      // One statement for the lot: a demotion may name thousands of facts.
      await db.run(
        'UPDATE memory_facts SET demoted = 1, changed_at = ? WHERE scope = ? AND fact_id IN (SELECT value FROM json_each(?))',
        [at, scope, JSON.stringify(data.factIds)],
      );
      return { scope, factIds: data.factIds };
    }
    case memoryFactRestored.type: {
      const data = dataOf(memoryFactRestored, event);
      await db.run('UPDATE memory_facts SET demoted = 0, fresh_at = ?, changed_at = ? WHERE scope = ? AND fact_id = ?', [at, at, scope, data.factId]);
      return { scope, factIds: [data.factId] };
    }
    default:
      throw new Error(`not a memory fact event: ${event.type}`);
  }
}

/** A fact row as the read models hand it out. */
export interface FactRow {
  readonly scope: string;
  readonly factId: string;
  readonly key: string;
  readonly statement: string;
  readonly confidence: FactConfidence;
  readonly category: FactCategory;
  readonly source: { readonly kind: string; readonly ref: string };
  readonly status: FactStatus;
  readonly supersededBy: string | null;
  readonly retiredReason: string | null;
  readonly confirmedBy: string | null;
  readonly inConflict: boolean;
  /** Active, but out of MEMORY.md for want of room. */
  readonly demoted: boolean;
  readonly freshAt: string;
  readonly recordedAt: string;
  readonly changedAt: string;
}

export interface FactDbRow {
  scope: string;
  fact_id: string;
  key: string;
  statement: string;
  confidence: FactConfidence;
  category: FactCategory;
  source_kind: string;
  source_ref: string;
  status: FactStatus;
  superseded_by: string | null;
  retired_reason: string | null;
  confirmed_by: string | null;
  in_conflict: number;
  demoted: number;
  fresh_at: string;
  recorded_at: string;
  changed_at: string;
}

export const FACT_COLUMNS =
  'scope, fact_id, key, statement, confidence, category, source_kind, source_ref, status, superseded_by, retired_reason, confirmed_by, in_conflict, demoted, fresh_at, recorded_at, changed_at';

export function toFactRow(row: FactDbRow): FactRow {
  return {
    scope: row.scope,
    factId: row.fact_id,
    key: row.key,
    statement: row.statement,
    confidence: row.confidence,
    category: row.category,
    source: { kind: row.source_kind, ref: row.source_ref },
    status: row.status,
    supersededBy: row.superseded_by,
    retiredReason: row.retired_reason,
    confirmedBy: row.confirmed_by,
    inConflict: row.in_conflict !== 0,
    demoted: row.demoted !== 0,
    freshAt: row.fresh_at,
    recordedAt: row.recorded_at,
    changedAt: row.changed_at,
  };
}

/**
 * The rank of a confidence for showing facts, best first: a fact a user confirmed, then
 * one a user stated, then what an agent saw, then what an agent inferred.
 */
export const CONFIDENCE_ORDER: readonly FactConfidence[] = ['user-confirmed', 'user-stated', 'agent-observed', 'agent-inferred'];

/** SQL for that rank (0 best), for ORDER BY. */
export const CONFIDENCE_RANK_SQL = `CASE confidence WHEN 'user-confirmed' THEN 0 WHEN 'user-stated' THEN 1 WHEN 'agent-observed' THEN 2 ELSE 3 END`;

export interface OpenConflict {
  readonly scope: string;
  readonly key: string;
  /** The facts that disagree, in the order they joined the conflict. */
  readonly factIds: readonly string[];
  readonly flaggedAt: string;
}

/** The open conflicts of some scopes, ordered by scope and key. */
export async function openConflicts(db: SqliteConnection, scopes: readonly string[]): Promise<OpenConflict[]> {
  if (scopes.length === 0) return [];
  const placeholders = scopes.map(() => '?').join(', ');
  const rows = await db.all<{ scope: string; key: string; flagged_at: string; fact_id: string | null }>(
    `SELECT c.scope, c.key, c.flagged_at, m.fact_id
       FROM memory_conflicts c LEFT JOIN memory_conflict_facts m ON m.scope = c.scope AND m.key = c.key
      WHERE c.scope IN (${placeholders})
      ORDER BY c.scope, c.key, m.ordinal`,
    scopes,
  );
  const conflicts: Array<{ scope: string; key: string; flaggedAt: string; factIds: string[] }> = [];
  for (const row of rows) {
    let last = conflicts[conflicts.length - 1];
    if (!last || last.scope !== row.scope || last.key !== row.key) {
      last = { scope: row.scope, key: row.key, flaggedAt: row.flagged_at, factIds: [] };
      conflicts.push(last);
    }
    if (row.fact_id !== null) last.factIds.push(row.fact_id);
  }
  return conflicts;
}
