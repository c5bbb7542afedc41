/**
 * Reading the memory index (projections/memory-index.ts): what the tool gateway's
 * `memory_search` and the CLI call.
 *
 * Access: every read names the scopes the caller may see, and the SQL restricts to them
 * (`WHERE scope IN (...)`); nothing outside them is ever read. A group's agent sees its
 * group's scope and the private scope of the one user it is answering, never another
 * group's memory and never another user's: build the list with `scopesVisibleTo`.
 *
 * Queries: by default the query is words (`syntax: 'words'`): each whitespace-separated
 * term becomes a quoted FTS5 phrase token, so quotes, operators (`AND`, `OR`, `NOT`,
 * `NEAR`), parentheses and column filters typed by a user or an agent are searched as
 * text and can never break the query; a term ending in `*` stays a prefix search. Terms
 * must all match (`match: 'all'`, the default) or any of them (`match: 'any'`). With
 * `syntax: 'fts5'` the query is FTS5's own syntax, for those who want operators; a query
 * SQLite cannot parse becomes a `MemoryQueryError` naming the problem, never a crash.
 * Results are ranked by bm25 (the key column weighs half as much as the text).
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import {
  CONFIDENCE_RANK_SQL,
  FACT_COLUMNS,
  openConflicts,
  toFactRow,
  type FactConfidence,
  type FactDbRow,
  type FactRow,
  type FactStatus,
  type OpenConflict,
} from './memory-facts.js';

export type MemoryQueryProblem =
  | 'empty_query'
  | 'no_search_terms'
  | 'query_too_long'
  | 'unbalanced_quotes'
  | 'syntax_error'
  | 'unknown_column'
  | 'invalid_scope'
  | 'invalid_limit';

/** A query or a request that cannot be run, and why; `problem` is for code, the message for people. */
export class MemoryQueryError extends Error {
  override readonly name = 'MemoryQueryError';
  constructor(
    readonly problem: MemoryQueryProblem,
    message: string,
    readonly query?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const SCOPE_PATTERN = /^(user|group)\.[\x21-\x7e]+$/;
export const MAX_QUERY_LENGTH = 1_000;
export const MAX_QUERY_TERMS = 64;
export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 100;
/** The FTS5 columns a raw query may filter on. */
export const SEARCHABLE_COLUMNS = ['text', 'key'] as const;

/**
 * The scopes a caller may read: the group's own scope, and the private scope of the user
 * asking (when a user asks; a scheduled task's run has none). Never any other.
 */
export function scopesVisibleTo(caller: { readonly groupId: string; readonly userId?: string | null }): string[] {
  const scopes = [`group.${caller.groupId}`];
  if (caller.userId) scopes.push(`user.${caller.userId}`);
  for (const scope of scopes) checkScope(scope);
  return scopes;
}

function checkScope(scope: string): void {
  if (!SCOPE_PATTERN.test(scope)) {
    throw new MemoryQueryError('invalid_scope', `'${scope}' is not a memory scope; expected 'group.<id>' or 'user.<id>'`);
  }
}

const quoteForMessage = (query: string) => JSON.stringify(query.length > 80 ? `${query.slice(0, 77)}...` : query);

/** Does the term hold anything the tokenizer keeps (a letter or a digit)? */
const hasWordCharacters = (term: string) => /[\p{L}\p{N}]/u.test(term);

/**
 * A words query as FTS5 syntax: every term a quoted phrase (`"` doubled inside), a term
 * ending in `*` a prefix phrase, terms without a letter or digit dropped.
 */
export function wordsToFts5(query: string, match: 'all' | 'any' = 'all'): string {
  if (query.length > MAX_QUERY_LENGTH) {
    throw new MemoryQueryError('query_too_long', `memory search query is ${query.length} characters; at most ${MAX_QUERY_LENGTH} are allowed`, query);
  }
  if (query.trim() === '') throw new MemoryQueryError('empty_query', 'memory search query is empty; give at least one word to search for', query);
  const terms: string[] = [];
  for (const raw of query.split(/\s+/)) {
    const prefix = /^[^*]*[\p{L}\p{N}][^*]*\*+$/u.test(raw);
    const term = prefix ? raw.replace(/\*+$/, '') : raw;
    if (!hasWordCharacters(term)) continue;
    terms.push(`"${term.replaceAll('"', '""')}"${prefix ? '*' : ''}`);
  }
  if (terms.length === 0) {
    throw new MemoryQueryError(
      'no_search_terms',
      `memory search query ${quoteForMessage(query)} has no words to search for (only punctuation or operators); give at least one word`,
      query,
    );
  }
  if (terms.length > MAX_QUERY_TERMS) {
    throw new MemoryQueryError('query_too_long', `memory search query has ${terms.length} words; at most ${MAX_QUERY_TERMS} are allowed`, query);
  }
  return terms.join(match === 'all' ? ' ' : ' OR ');
}

/** Checks what can be checked of a raw FTS5 query before SQLite sees it. */
function checkRawQuery(query: string): void {
  if (query.length > MAX_QUERY_LENGTH) {
    throw new MemoryQueryError('query_too_long', `memory search query is ${query.length} characters; at most ${MAX_QUERY_LENGTH} are allowed`, query);
  }
  if (query.trim() === '') throw new MemoryQueryError('empty_query', 'memory search query is empty; give at least one word to search for', query);
  let inString = false;
  for (let index = 0; index < query.length; index += 1) {
    if (query[index] !== '"') continue;
    if (inString && query[index + 1] === '"') index += 1;
    else inString = !inString;
  }
  if (inString) {
    throw new MemoryQueryError(
      'unbalanced_quotes',
      `memory search query ${quoteForMessage(query)} has an unbalanced double quote; close the phrase, or search without syntax 'fts5' to search the words as typed`,
      query,
    );
  }
}

/** SQLite's complaint about an FTS5 query, as a MemoryQueryError; undefined for any other error. */
function translateFts5Error(error: unknown, query: string): MemoryQueryError | undefined {
  const message = error instanceof Error ? error.message : '';
  const hint = "; fix the query, or search without syntax 'fts5' to search the words as typed";
  const column = /no such column: (\S+)/.exec(message);
  if (column) {
    return new MemoryQueryError(
      'unknown_column',
      `memory search query ${quoteForMessage(query)} filters on column '${column[1]}'; only ${SEARCHABLE_COLUMNS.map((name) => `'${name}'`).join(' and ')} can be searched${hint}`,
      query,
      { cause: error },
    );
  }
  if (/unterminated string/.test(message)) {
    return new MemoryQueryError('unbalanced_quotes', `memory search query ${quoteForMessage(query)} has an unterminated phrase${hint}`, query, { cause: error });
  }
  const syntax = /fts5: (.*)$|(unknown special query.*)$|(malformed MATCH expression.*)$/.exec(message);
  if (syntax) {
    const detail = (syntax[1] ?? syntax[2] ?? syntax[3] ?? '').trim();
    return new MemoryQueryError('syntax_error', `memory search query ${quoteForMessage(query)} is not valid FTS5: ${detail || 'syntax error'}${hint}`, query, {
      cause: error,
    });
  }
  return undefined;
}

export interface SearchMemoryOptions {
  /** The scopes the caller may see (see `scopesVisibleTo`); nothing else is read. Empty: no results. */
  readonly scopes: readonly string[];
  /** Most results; default 10, at most 100. */
  readonly limit?: number;
  /** `words` (default): the query is plain words, each quoted; `fts5`: FTS5 query syntax. */
  readonly syntax?: 'words' | 'fts5';
  /** For `words`: every word must match (default) or any one. */
  readonly match?: 'all' | 'any';
  /** Also return superseded and retired facts (default: active facts and daily logs only). */
  readonly includeInactive?: boolean;
}

export type MemoryHitSource =
  | {
      readonly kind: 'fact';
      readonly factId: string;
      readonly key: string;
      readonly confidence: FactConfidence;
      readonly status: FactStatus;
      readonly inConflict: boolean;
      /** Active but out of MEMORY.md for want of room: still found here. */
      readonly demoted: boolean;
      readonly recordedAt: string;
      /** Where the fact itself came from (a message, an event, a daily log). */
      readonly origin: { readonly kind: string; readonly ref: string };
      /** The `memory.fact_recorded` event. */
      readonly eventId: string;
    }
  | {
      readonly kind: 'daily_log';
      readonly day: string;
      readonly writtenBy: string;
      /** The `memory.daily_log_written` event. */
      readonly eventId: string;
    };

export interface MemorySearchHit {
  /** The matching part of the chunk, matched terms in `**`, cut ends marked `…`. */
  readonly text: string;
  readonly scope: string;
  readonly source: MemoryHitSource;
  /** The fact, for a fact's chunk. */
  readonly factId?: string;
  /** Which chunk of its source (0-based) and of how many. */
  readonly chunk: { readonly index: number; readonly count: number };
  /** Relevance: the negated bm25 rank, higher is better. */
  readonly score: number;
}

interface HitRow {
  chunk_id: number;
  scope: string;
  source_kind: 'fact' | 'daily_log';
  fact_id: string | null;
  day: string | null;
  event_id: string;
  seq: number;
  chunk_count: number;
  snippet: string;
  rank: number;
  key: string | null;
  confidence: FactConfidence | null;
  status: FactStatus | null;
  in_conflict: number | null;
  demoted: number | null;
  recorded_at: string | null;
  source_kind_of_fact: string | null;
  source_ref: string | null;
  written_by: string | null;
}

function toHit(row: HitRow): MemorySearchHit {
  const base = { text: row.snippet, scope: row.scope, chunk: { index: row.seq, count: row.chunk_count }, score: row.rank === 0 ? 0 : -row.rank };
  if (row.source_kind === 'fact') {
    return {
      ...base,
      factId: row.fact_id!,
      source: {
        kind: 'fact',
        factId: row.fact_id!,
        key: row.key!,
        confidence: row.confidence!,
        status: row.status!,
        inConflict: row.in_conflict === 1,
        demoted: row.demoted === 1,
        recordedAt: row.recorded_at!,
        origin: { kind: row.source_kind_of_fact!, ref: row.source_ref! },
        eventId: row.event_id,
      },
    };
  }
  return { ...base, source: { kind: 'daily_log', day: row.day!, writtenBy: row.written_by!, eventId: row.event_id } };
}

/**
 * Full-text search over the facts and daily logs of `options.scopes`, best first (bm25,
 * ties by index order). Throws `MemoryQueryError` for a query that cannot be searched.
 */
export async function searchMemory(db: SqliteConnection, query: string, options: SearchMemoryOptions): Promise<MemorySearchHit[]> {
  const limit = options.limit ?? DEFAULT_SEARCH_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw new MemoryQueryError('invalid_limit', `memory search limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}, not ${limit}`, query);
  }
  for (const scope of options.scopes) checkScope(scope);
  const syntax = options.syntax ?? 'words';
  let match: string;
  if (syntax === 'fts5') {
    checkRawQuery(query);
    match = query;
  } else {
    match = wordsToFts5(query, options.match ?? 'all');
  }
  const scopes = [...new Set(options.scopes)];
  if (scopes.length === 0) return [];

  const placeholders = scopes.map(() => '?').join(', ');
  const sql = `
    SELECT c.chunk_id, c.scope, c.source_kind, c.fact_id, c.day, c.event_id, c.seq, c.chunk_count,
           snippet(memory_chunks_fts, 0, '**', '**', '…', 32) AS snippet,
           bm25(memory_chunks_fts, 1.0, 0.5) AS rank,
           f.key, f.confidence, f.status, f.in_conflict, f.demoted, f.recorded_at, f.source_kind AS source_kind_of_fact, f.source_ref,
           d.written_by
      FROM memory_chunks_fts
      JOIN memory_chunks c ON c.chunk_id = memory_chunks_fts.rowid
      LEFT JOIN memory_facts f ON c.source_kind = 'fact' AND f.scope = c.scope AND f.fact_id = c.fact_id
      LEFT JOIN memory_daily_logs d ON c.source_kind = 'daily_log' AND d.event_id = c.event_id
     WHERE memory_chunks_fts MATCH ?
       AND c.scope IN (${placeholders})
       ${options.includeInactive ? '' : "AND (c.source_kind = 'daily_log' OR f.status = 'active')"}
     ORDER BY rank, c.chunk_id
     LIMIT ?`;
  let rows: HitRow[];
  try {
    rows = await db.all<HitRow>(sql, [match, ...scopes, limit]);
  } catch (error) {
    throw translateFts5Error(error, query) ?? error;
  }
  return rows.map(toHit);
}

export interface DailyLogEntry {
  readonly scope: string;
  readonly day: string;
  readonly summary: string;
  readonly writtenBy: string;
  readonly writtenAt: string;
  readonly eventId: string;
}

export interface ConsolidationState {
  readonly scope: string;
  /** The last message of a requested window not consolidated yet; null when none is pending. */
  readonly pendingThrough: string | null;
  readonly pendingSince: string | null;
  /** The last message consolidated; the next window starts after it. Null before the first. */
  readonly consolidatedThrough: string | null;
  readonly consolidatedAt: string | null;
  readonly lastDailyLogDay: string | null;
}

export interface ScopeMemory {
  readonly scope: string;
  /**
   * The active facts, best first (user-confirmed, user-stated, agent-observed,
   * agent-inferred; then newest first); with `includeInactive`, then the superseded and
   * retired ones, newest change first.
   */
  readonly facts: readonly FactRow[];
  readonly conflicts: readonly OpenConflict[];
  /** The newest daily-log entries, newest first. */
  readonly dailyLogs: readonly DailyLogEntry[];
  readonly consolidation: ConsolidationState | null;
}

export interface ShowMemoryOptions {
  readonly includeInactive?: boolean;
  /** How many daily-log entries; default 14. */
  readonly dailyLogs?: number;
}

/**
 * Everything the index holds for one scope. The caller checks that the scope is one it
 * may see (`scopesVisibleTo(...).includes(scope)`) before calling.
 */
export async function showMemory(db: SqliteConnection, scope: string, options: ShowMemoryOptions = {}): Promise<ScopeMemory> {
  checkScope(scope);
  const dailyLogLimit = options.dailyLogs ?? 14;
  if (!Number.isInteger(dailyLogLimit) || dailyLogLimit < 0) {
    throw new MemoryQueryError('invalid_limit', `the number of daily logs must be a whole number, not ${dailyLogLimit}`);
  }
  const active = await db.all<FactDbRow>(
    `SELECT ${FACT_COLUMNS} FROM memory_facts WHERE scope = ? AND status = 'active'
      ORDER BY ${CONFIDENCE_RANK_SQL}, recorded_at DESC, recorded_position DESC, fact_id`,
    [scope],
  );
  const inactive = options.includeInactive
    ? await db.all<FactDbRow>(
        `SELECT ${FACT_COLUMNS} FROM memory_facts WHERE scope = ? AND status <> 'active' ORDER BY changed_at DESC, recorded_position DESC, fact_id`,
        [scope],
      )
    : [];
  const logs = await db.all<{ scope: string; day: string; summary: string; written_by: string; written_at: string; event_id: string }>(
    `SELECT scope, day, summary, written_by, written_at, event_id FROM memory_daily_logs WHERE scope = ?
      ORDER BY day DESC, position DESC LIMIT ?`,
    [scope, dailyLogLimit],
  );
  return {
    scope,
    facts: [...active, ...inactive].map(toFactRow),
    conflicts: await openConflicts(db, [scope]),
    dailyLogs: logs.map((log) => ({
      scope: log.scope,
      day: log.day,
      summary: log.summary,
      writtenBy: log.written_by,
      writtenAt: log.written_at,
      eventId: log.event_id,
    })),
    consolidation: await consolidationState(db, scope),
  };
}

/** How far consolidation has read in a group scope; null before its first request. */
export async function consolidationState(db: SqliteConnection, scope: string): Promise<ConsolidationState | null> {
  checkScope(scope);
  const row = await db.get<{
    scope: string;
    pending_through: string | null;
    pending_since: string | null;
    consolidated_through: string | null;
    consolidated_at: string | null;
    last_daily_log_day: string | null;
  }>('SELECT * FROM memory_consolidations WHERE scope = ?', [scope]);
  if (!row) return null;
  return {
    scope: row.scope,
    pendingThrough: row.pending_through,
    pendingSince: row.pending_since,
    consolidatedThrough: row.consolidated_through,
    consolidatedAt: row.consolidated_at,
    lastDailyLogDay: row.last_daily_log_day,
  };
}

/** Every scope the index holds anything for, sorted: the operator's view, never an agent's. */
export async function listScopes(db: SqliteConnection): Promise<string[]> {
  const rows = await db.all<{ scope: string }>(
    'SELECT scope FROM memory_facts UNION SELECT scope FROM memory_daily_logs ORDER BY scope',
  );
  return rows.map((row) => row.scope);
}
