/**
 * Search across knowledge caches (projections/knowledge-cache.ts): every cache is queried
 * at once (an FTS5 query each, in parallel), and the hits are merged by BM25 score, the
 * more recently updated document first when scores tie; snippets are then made for the
 * merged top only. It backs the agents' `search_knowledge` tool and `ledgerclaw search`.
 *
 * Access is enforced in each cache's SQL, not after the fact: a chunk is returned only when
 * it is public, belongs to the asking group, or comes from a private channel the group is
 * allowed to see. A group never sees the history of any other private channel.
 *
 * Queries: by default the words of the query are searched for (every word must occur;
 * `match: 'any'` for any of them), each quoted so no FTS5 operator or punctuation can make
 * the query fail; a trailing `*` keeps a prefix search. `syntax: 'fts5'` hands the query to
 * FTS5 as written (phrases, NEAR, OR, NOT, column filters); its errors come back as
 * KnowledgeQueryError, never as a crash.
 *
 * Scores: `score` is BM25 negated, so higher is better. Each cache computes BM25 from its own
 * statistics, so scores of different caches compare roughly, which is what merging by
 * them accepts. One result per document: its best chunk.
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import { CHUNKS_TABLE } from './knowledge-cache.js';

export interface KnowledgeCache {
  readonly source: string;
  readonly db: SqliteConnection;
}

/** Who is asking: a group (or none: public documents only) and the private channels it may see. */
export interface KnowledgeAccess {
  readonly groupId: string | null;
  readonly channelIds: readonly string[];
}

export interface SearchKnowledgeOptions {
  readonly visibleTo: KnowledgeAccess;
  /** Only these sources; every cache when absent. */
  readonly sources?: readonly string[];
  /** Results wanted, 1 to {@link MAX_LIMIT}. Default 10. */
  readonly limit?: number;
  /** `terms` (default): the query's words, quoted. `fts5`: the query as FTS5 syntax. */
  readonly syntax?: 'terms' | 'fts5';
  /** For `terms`: every word (`all`, the default) or any of them. */
  readonly match?: 'all' | 'any';
  /** Around each matched term in the snippet. Default `**` and `**`. */
  readonly highlight?: { readonly open: string; readonly close: string };
  /** Tokens of context in a snippet, 1 to 64. Default 24. */
  readonly snippetTokens?: number;
}

export interface KnowledgeSearchResult {
  readonly source: string;
  readonly documentId: string;
  readonly title: string;
  /** The best-matching passage of the best chunk, matched terms highlighted. */
  readonly snippet: string;
  /** -BM25 of the best chunk: higher is better. */
  readonly score: number;
  readonly updatedAt: string;
  readonly url?: string;
}

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;
export const MAX_QUERY_LENGTH = 1000;
const MAX_TERMS = 32;

/** A query that cannot be run: empty, too long, or not valid FTS5 syntax. The message says why. */
export class KnowledgeQueryError extends Error {
  readonly code = 'knowledge_query';
  constructor(
    message: string,
    readonly query: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KnowledgeQueryError';
  }
}

/**
 * What a group may see: its own documents and its own channel's (a group id is
 * `<team>.<channel>` or `<team>.<channel>.<thread_ts>`), plus any channel granted besides.
 */
export function groupAccess(groupId: string, extraChannelIds: readonly string[] = []): KnowledgeAccess {
  const channel = groupId.split('.')[1];
  const channelIds = [...new Set([...(channel ? [channel] : []), ...extraChannelIds])];
  return { groupId, channelIds };
}

/** Public documents only. */
export const PUBLIC_ONLY: KnowledgeAccess = { groupId: null, channelIds: [] };

/**
 * The FTS5 MATCH expression for a query. In `terms` syntax every word (letters, digits,
 * underscores) becomes a quoted string, a trailing `*` a prefix query; nothing else of the
 * input reaches FTS5.
 */
export function matchExpression(query: string, syntax: 'terms' | 'fts5' = 'terms', match: 'all' | 'any' = 'all'): string {
  if (query.length > MAX_QUERY_LENGTH) throw new KnowledgeQueryError(`the query is longer than ${MAX_QUERY_LENGTH} characters`, query);
  if (syntax === 'fts5') {
    if (query.trim() === '') throw new KnowledgeQueryError('the query is empty', query);
    return query;
  }
  const terms = [...query.matchAll(/([\p{L}\p{N}_]+)(\*?)/gu)].map(([, word, star]) => `"${word!}"${star}`);
  if (terms.length === 0) throw new KnowledgeQueryError('the query has no words to search for (letters or digits)', query);
  if (terms.length > MAX_TERMS) throw new KnowledgeQueryError(`the query has more than ${MAX_TERMS} words`, query);
  return terms.join(match === 'all' ? ' AND ' : ' OR ');
}

interface RankedChunk {
  readonly rowid: number;
  readonly document_id: string;
  readonly updated_at: string;
  readonly rank: number;
}

interface ShownChunk {
  readonly rowid: number;
  readonly title: string;
  readonly url: string | null;
  readonly snippet: string;
}

/** A document's best chunk in one cache, before its snippet is made. */
interface Candidate {
  readonly cache: KnowledgeCache;
  readonly rowid: number;
  readonly result: Omit<KnowledgeSearchResult, 'title' | 'snippet' | 'url'>;
}

/**
 * Step one, in every cache: the best chunks for the query that the asker may see, best
 * first. The access rule is part of the WHERE clause: rows the asker may not see are never
 * read out. `ORDER BY rank` lets FTS5 sort by BM25 itself, so only the rows returned are
 * read from the table.
 */
const RANK_SQL = `
  SELECT rowid, document_id, updated_at, rank
  FROM ${CHUNKS_TABLE}
  WHERE ${CHUNKS_TABLE} MATCH ?1
    AND (visibility_kind = 'public'
         OR (visibility_kind = 'group' AND visibility_id = ?2)
         OR (visibility_kind = 'private_channel' AND visibility_id IN (SELECT value FROM json_each(?3))))
  ORDER BY rank
  LIMIT ?4`;

/**
 * Step two, only for the chunks that made the merged top: titles, links and snippets
 * (snippet() re-reads and re-tokenizes a chunk, the dearest part of a result).
 */
const SHOW_SQL = `
  SELECT rowid, title, url, snippet(${CHUNKS_TABLE}, 1, ?1, ?2, '…', ?3) AS snippet
  FROM ${CHUNKS_TABLE}
  WHERE ${CHUNKS_TABLE} MATCH ?4 AND rowid IN (SELECT value FROM json_each(?5))`;

/** Errors SQLite gives for a MATCH expression FTS5 cannot parse or run. */
function isQueryError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return (
    (error as { code?: string } | null)?.code === 'SQLITE_ERROR' &&
    /fts5|syntax error|no such column|unterminated|unknown special query|malformed MATCH/i.test(message)
  );
}

async function queryCache<T>(cache: KnowledgeCache, sql: string, params: (string | number | null)[], query: string): Promise<T[]> {
  try {
    return await cache.db.all<T>(sql, params);
  } catch (error) {
    if (isQueryError(error)) {
      const detail = (error as Error).message.replace(/^SQLITE_ERROR:\s*/, '');
      throw new KnowledgeQueryError(`the query cannot be searched: ${detail}`, query, { cause: error });
    }
    throw error;
  }
}

/** A cache's best chunk per document, at most `limit` documents, best first. */
async function rankCache(cache: KnowledgeCache, expression: string, query: string, access: KnowledgeAccess, limit: number): Promise<Candidate[]> {
  // Twice the limit in chunks, so one result per document still leaves `limit` documents most of the time.
  const rows = await queryCache<RankedChunk>(cache, RANK_SQL, [expression, access.groupId, JSON.stringify(access.channelIds), limit * 2], query);
  const seen = new Set<string>();
  const candidates: Candidate[] = [];
  for (const row of rows) {
    if (seen.has(row.document_id)) continue;
    seen.add(row.document_id);
    candidates.push({
      cache,
      rowid: row.rowid,
      result: { source: cache.source, documentId: row.document_id, score: -row.rank, updatedAt: row.updated_at },
    });
    if (candidates.length === limit) break;
  }
  return candidates;
}

/** Scores within a billionth of each other are a tie. */
function sameScore(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Higher score first; on a tie the more recently updated, then by source and document id so the order is stable. */
export function compareResults(
  a: Pick<KnowledgeSearchResult, 'score' | 'updatedAt' | 'source' | 'documentId'>,
  b: Pick<KnowledgeSearchResult, 'score' | 'updatedAt' | 'source' | 'documentId'>,
): number {
  if (!sameScore(a.score, b.score)) return b.score - a.score;
  if (a.updatedAt !== b.updatedAt) return a.updatedAt < b.updatedAt ? 1 : -1;
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  return a.documentId < b.documentId ? -1 : a.documentId > b.documentId ? 1 : 0;
}

/**
 * Searches every cache (or those of `options.sources`) in parallel and merges the hits:
 * first each cache's best chunks (rowid, document, BM25, date), then, for the merged top
 * only, their titles, links and snippets, again in parallel.
 */
export async function searchKnowledge(
  caches: readonly KnowledgeCache[],
  query: string,
  options: SearchKnowledgeOptions,
): Promise<KnowledgeSearchResult[]> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_LIMIT} (got ${limit})`);
  }
  const snippetTokens = options.snippetTokens ?? 24;
  if (!Number.isInteger(snippetTokens) || snippetTokens < 1 || snippetTokens > 64) {
    throw new RangeError(`snippetTokens must be an integer from 1 to 64 (got ${snippetTokens})`);
  }
  const expression = matchExpression(query, options.syntax ?? 'terms', options.match ?? 'all');
  const wanted = options.sources ? new Set(options.sources) : undefined;
  const selected = wanted ? caches.filter((cache) => wanted.has(cache.source)) : caches;
  const highlight = options.highlight ?? { open: '**', close: '**' };

  const ranked = await Promise.all(selected.map((cache) => rankCache(cache, expression, query, options.visibleTo, limit)));
  const top = ranked
    .flat()
    .sort((a, b) => compareResults(a.result, b.result))
    .slice(0, limit);

  const byCache = new Map<KnowledgeCache, Candidate[]>();
  for (const candidate of top) byCache.set(candidate.cache, [...(byCache.get(candidate.cache) ?? []), candidate]);
  const shown = new Map<Candidate, ShownChunk>();
  await Promise.all(
    [...byCache.entries()].map(async ([cache, candidates]) => {
      const rows = await queryCache<ShownChunk>(
        cache,
        SHOW_SQL,
        [highlight.open, highlight.close, snippetTokens, expression, JSON.stringify(candidates.map((candidate) => candidate.rowid))],
        query,
      );
      const byRowid = new Map(rows.map((row) => [row.rowid, row]));
      for (const candidate of candidates) {
        const row = byRowid.get(candidate.rowid);
        if (row) shown.set(candidate, row);
      }
    }),
  );
  // A chunk replaced between the two steps (its document changed) is left out: rowids are never reused.
  return top.flatMap((candidate) => {
    const row = shown.get(candidate);
    if (!row) return [];
    return [{ ...candidate.result, title: row.title, snippet: row.snippet, ...(row.url !== null ? { url: row.url } : {}) }];
  });
}
