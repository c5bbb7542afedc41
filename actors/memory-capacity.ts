/**
 * How much of a group's memory MEMORY.md holds, as pure arithmetic shared by the file's
 * renderer (projections/memory-files.ts) and the demotion policy
 * (runtime/workflows/enforce-memory-capacity.ts), so the facts the policy keeps are exactly
 * the facts the file shows.
 *
 * MEMORY.md is at most `MEMORY_FILE_CAPACITY_LINES` lines:
 *
 *     # Memory of group <id>                       } MEMORY_FILE_HEADER_LINES
 *     <one line on what the file is>               }
 *                                                  }
 *     ## Unresolved conflicts                      } when any: at most half of what is left
 *     ...                                          } (see planConflictSection)
 *                                                  }
 *     ## User                                      } one section per category that has a
 *     - [user-stated] ...                          } shown fact, in CATEGORY_ORDER, with a
 *                                                  } blank line between sections
 *     ## Project
 *     - ...
 *     - … and N lower-ranked facts not shown ...   } the trailer, when any fact is hidden
 *
 * Facts are ranked (`compareByRank`) by confidence (user-confirmed, user-stated,
 * agent-observed, agent-inferred), then by how lately they were recorded, confirmed or
 * used (`freshAt`), then newest recorded first (`sequence`): the best that fit are shown.
 */
import type { FactCategory, FactConfidence } from './memory.js';

/** The most lines a MEMORY.md has; past it the lowest-ranked facts are demoted. */
export const MEMORY_FILE_CAPACITY_LINES = 200;

/** The title, the line saying what the file is, and a blank line. */
export const MEMORY_FILE_HEADER_LINES = 3;

/** The order of the category sections in MEMORY.md. */
export const CATEGORY_ORDER: readonly FactCategory[] = ['user', 'feedback', 'project', 'reference'];

export const CATEGORY_HEADINGS: Readonly<Record<FactCategory, string>> = {
  user: '## User: people, their roles and preferences',
  feedback: '## Feedback: how to work',
  project: '## Project: the work, its decisions and deadlines',
  reference: '## Reference: where things are',
};

/** Best first, for ranking facts: a user's word before an agent's. */
export const CONFIDENCE_ORDER: readonly FactConfidence[] = ['user-confirmed', 'user-stated', 'agent-observed', 'agent-inferred'];

/** What ranking a fact needs. */
export interface RankedFact {
  readonly confidence: FactConfidence;
  readonly category: FactCategory;
  readonly recordedAt: string;
  /** The latest of: recorded, confirmed, restored (used again). */
  readonly freshAt: string;
  /**
   * Where it was recorded in its scope's stream (all of a scope's facts are on one stream):
   * the memory actor's index in its facts, the read model's event position. Unique, so the
   * order is total and both sides agree on it.
   */
  readonly sequence: number;
}

/** Best first: confidence, then freshest, then newest, then the latest recorded. */
export function compareByRank(a: RankedFact, b: RankedFact): number {
  const byConfidence = CONFIDENCE_ORDER.indexOf(a.confidence) - CONFIDENCE_ORDER.indexOf(b.confidence);
  if (byConfidence !== 0) return byConfidence;
  if (a.freshAt !== b.freshAt) return a.freshAt > b.freshAt ? -1 : 1;
  if (a.recordedAt !== b.recordedAt) return a.recordedAt > b.recordedAt ? -1 : 1;
  return b.sequence - a.sequence;
}

/** The SQL `ORDER BY` of `compareByRank` over memory_facts (projections/memory-facts.ts). */
export const RANK_ORDER_SQL = `CASE confidence WHEN 'user-confirmed' THEN 0 WHEN 'user-stated' THEN 1 WHEN 'agent-observed' THEN 2 ELSE 3 END,
  fresh_at DESC, recorded_at DESC, recorded_position DESC`;

/**
 * How many of the open conflicts fit, and the lines their section takes (0 without any):
 * each conflict is a line and a line per fact in it, shown whole or not at all; the
 * section is at most half of what the header leaves, so conflicts never crowd out facts.
 */
export function planConflictSection(memberCounts: readonly number[], maxLines: number): { shown: number; lines: number } {
  if (memberCounts.length === 0) return { shown: 0, lines: 0 };
  const budget = Math.floor((maxLines - MEMORY_FILE_HEADER_LINES) / 2);
  let lines = 2; // the heading and the line saying nothing is chosen
  let shown = 0;
  for (const [index, members] of memberCounts.entries()) {
    const moreLine = index < memberCounts.length - 1 ? 1 : 0;
    // + 1 for the blank line closing the section
    if (lines + 1 + members + moreLine + 1 > budget) break;
    lines += 1 + members;
    shown += 1;
  }
  if (shown < memberCounts.length) lines += 1;
  return { shown, lines: lines + 1 };
}

/** The lines of the facts part: a heading per category shown, a line per fact, blanks between, and the trailer. */
export function factSectionLines(categoriesShown: number, factsShown: number, trailer: boolean): number {
  // With no fact to show, a heading and a line saying so.
  const body = factsShown === 0 ? 2 : categoriesShown + factsShown + (categoriesShown - 1);
  return body + (trailer ? 1 : 0);
}

/**
 * How many of the `total` candidate facts MEMORY.md shows in `room` lines, when `hidden`
 * other facts are not shown anyway (demoted). `ranked` is the candidates best first, or
 * the first of them (more than `room` is never needed). All of them if they fit without a
 * trailer; else the most that fit with one.
 */
export function fittingFactCount(room: number, ranked: readonly Pick<RankedFact, 'category'>[], total: number, hidden: number): number {
  const categories = new Set<FactCategory>();
  let fitting = 0;
  for (const [index, fact] of ranked.entries()) {
    categories.add(fact.category);
    const shown = index + 1;
    const isAll = shown === total;
    if (factSectionLines(categories.size, shown, !(isAll && hidden === 0)) > room) break;
    fitting = shown;
  }
  return fitting;
}

/** What the policy reads of a scope's memory (the memory actor's context). */
export interface CapacityFact extends Omit<RankedFact, 'sequence'> {
  readonly id: string;
  readonly status: 'active' | 'superseded' | 'retired';
  readonly demoted: boolean;
}

/**
 * The facts to demote so the scope's MEMORY.md fits `capacity` lines: the lowest-ranked
 * active facts that do not fit. A fact in an open conflict is never demoted (its conflict
 * is shown whole until someone resolves it); nor is a demoted one again. Empty when all fit.
 */
export function factsToDemote(
  memory: { readonly facts: readonly CapacityFact[]; readonly conflicts: readonly { readonly factIds: readonly string[] }[] },
  capacity: number = MEMORY_FILE_CAPACITY_LINES,
): string[] {
  const inConflict = new Set(memory.conflicts.flatMap((conflict) => conflict.factIds));
  const conflictLines = planConflictSection(
    memory.conflicts.map((conflict) => conflict.factIds.length),
    capacity,
  ).lines;
  const candidates: (CapacityFact & { sequence: number })[] = [];
  let hidden = 0;
  for (const [sequence, fact] of memory.facts.entries()) {
    if (fact.status !== 'active' || inConflict.has(fact.id)) continue;
    if (fact.demoted) hidden += 1;
    else candidates.push({ ...fact, sequence });
  }
  candidates.sort(compareByRank);
  const room = capacity - MEMORY_FILE_HEADER_LINES - conflictLines;
  return candidates.slice(fittingFactCount(room, candidates, candidates.length, hidden)).map((fact) => fact.id);
}

/**
 * Whether one more shown fact could overflow MEMORY.md: a cheap upper bound (no sort) the
 * memory actor checks as it folds, so the demotion policy runs only for a scope near capacity.
 */
export function mayOverflow(shownOrConflictedFacts: number, openConflicts: number, capacity: number = MEMORY_FILE_CAPACITY_LINES): boolean {
  const mostLines = MEMORY_FILE_HEADER_LINES + 3 + openConflicts + shownOrConflictedFacts + 1 + 2 * CATEGORY_ORDER.length + 1;
  return mostLines > capacity;
}
