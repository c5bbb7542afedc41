/**
 * The memory index: every fact of every memory scope as rows (see memory-facts.ts), the
 * groups' daily logs, and an FTS5 index over both, cut into chunks of about 400 tokens
 * (projections/chunking.ts), each chunk knowing its source: the scope, the fact id or the
 * daily log's day, and the event that wrote it. `memory_search` and the CLI read it through
 * projections/memory-queries.ts, always restricted to the scopes the caller may see.
 *
 * A superseded or retired fact keeps its row and its chunks (history stays searchable on
 * request); queries show active facts unless asked otherwise. Daily-log entries are only
 * ever added: a day may have several.
 *
 * The index also remembers, per group scope, how far consolidation has read
 * (`memory.consolidation_requested` / `memory.consolidated`), so the runtime knows where
 * the next window of conversation starts and whether a request is still pending.
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import { memoryConsolidated, memoryConsolidationRequested, memoryDailyLogWritten } from '../events/catalogue/daily-log.js';
import { memoryFactRecorded } from '../events/catalogue/memory.js';
import { chunkText, estimateTokens } from './chunking.js';
import { applyMemoryFactEvent, dataOf, MEMORY_FACT_EVENT_TYPES, MEMORY_FACTS_SCHEMA, scopeOfMemoryStream } from './memory-facts.js';
import { defineProjection } from './projection.js';

/** What the `key` column of a daily log's chunks holds, so `daily log 2026-01-05` finds it. */
export function dailyLogKey(day: string): string {
  return `daily_log ${day}`;
}

export const MEMORY_INDEX_SCHEMA = `
${MEMORY_FACTS_SCHEMA}
CREATE TABLE memory_daily_logs (
  event_id TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  day TEXT NOT NULL,
  summary TEXT NOT NULL,
  written_by TEXT NOT NULL,
  written_at TEXT NOT NULL,
  position INTEGER NOT NULL
);
CREATE INDEX memory_daily_logs_by_scope ON memory_daily_logs (scope, day, position);
CREATE TABLE memory_chunks (
  chunk_id INTEGER PRIMARY KEY,
  scope TEXT NOT NULL,
  source_kind TEXT NOT NULL CHECK (source_kind IN ('fact', 'daily_log')),
  fact_id TEXT,
  day TEXT,
  event_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  token_estimate INTEGER NOT NULL
);
CREATE INDEX memory_chunks_by_scope ON memory_chunks (scope, source_kind);
CREATE INDEX memory_chunks_by_fact ON memory_chunks (scope, fact_id);
-- The searchable text of each chunk; rowid = memory_chunks.chunk_id. 'key' holds the fact's
-- key (or 'daily_log <day>'), so a search for 'acme payment' finds vendor.acme.payment_terms.
CREATE VIRTUAL TABLE memory_chunks_fts USING fts5(text, key, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE TABLE memory_consolidations (
  scope TEXT PRIMARY KEY,
  -- the last message of a requested window not yet consolidated; null when none is pending
  pending_through TEXT,
  pending_since TEXT,
  requested_at TEXT,
  -- the last message consolidated; the next window starts after it
  consolidated_through TEXT,
  consolidated_at TEXT,
  last_daily_log_day TEXT
)
`;

async function insertChunks(
  db: SqliteConnection,
  source: { scope: string; kind: 'fact' | 'daily_log'; factId: string | null; day: string | null; eventId: string; key: string },
  text: string,
): Promise<void> {
  const chunks = chunkText(text);
  for (const [seq, chunk] of chunks.entries()) {
    const row = await db.get<{ chunk_id: number }>(
      `INSERT INTO memory_chunks (scope, source_kind, fact_id, day, event_id, seq, chunk_count, token_estimate)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING chunk_id`,
      [source.scope, source.kind, source.factId, source.day, source.eventId, seq, chunks.length, estimateTokens(chunk)],
    );
    if (!row) throw new Error(`memory index: no chunk id came back for ${source.eventId}`);
    await db.run('INSERT INTO memory_chunks_fts (rowid, text, key) VALUES (?, ?, ?)', [row.chunk_id, chunk, source.key]);
  }
}

async function applyDailyLog(db: SqliteConnection, event: StoredEvent): Promise<void> {
  const data = dataOf(memoryDailyLogWritten, event);
  const { changes } = await db.run(
    `INSERT INTO memory_daily_logs (event_id, scope, day, summary, written_by, written_at, position)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
    [event.id, data.scope, data.day, data.summary, data.writtenBy, event.metadata.occurredAt, Number(event.position)],
  );
  if (changes === 0) return;
  await insertChunks(db, { scope: data.scope, kind: 'daily_log', factId: null, day: data.day, eventId: event.id, key: dailyLogKey(data.day) }, data.summary);
}

async function applyConsolidation(db: SqliteConnection, event: StoredEvent): Promise<void> {
  const at = event.metadata.occurredAt;
  if (event.type === memoryConsolidationRequested.type) {
    const data = dataOf(memoryConsolidationRequested, event);
    await db.run(
      `INSERT INTO memory_consolidations (scope, pending_through, pending_since, requested_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (scope) DO UPDATE SET pending_through = excluded.pending_through, pending_since = excluded.pending_since,
         requested_at = excluded.requested_at`,
      [data.scope, data.throughMessageId, data.messagesSince, at],
    );
    return;
  }
  const data = dataOf(memoryConsolidated, event);
  await db.run(
    `INSERT INTO memory_consolidations (scope, consolidated_through, consolidated_at, last_daily_log_day) VALUES (?, ?, ?, ?)
     ON CONFLICT (scope) DO UPDATE SET pending_through = NULL, pending_since = NULL, consolidated_through = excluded.consolidated_through,
       consolidated_at = excluded.consolidated_at, last_daily_log_day = excluded.last_daily_log_day`,
    [data.scope, data.throughMessageId, at, data.dailyLogDay],
  );
}

const ROWS_PER_STATEMENT = 50;

/** Runs `insert` over `rows` in statements of at most ROWS_PER_STATEMENT rows. */
async function insertInChunks<TRow>(rows: readonly TRow[], insert: (chunk: readonly TRow[]) => Promise<void>): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) await insert(rows.slice(start, start + ROWS_PER_STATEMENT));
}

const placeholders = (rows: number, row: string) => new Array<string>(rows).fill(row).join(', ');

/**
 * Records a run of fact recordings in a few multi-row statements: what `apply` does for
 * each, in order, with the same chunk ids (the next after the largest), so a batched
 * build and an event-by-event one give identical rows and identical search ranks.
 */
async function recordFacts(db: SqliteConnection, events: readonly StoredEvent[]): Promise<void> {
  const facts = events.map((event) => ({ event, scope: scopeOfMemoryStream(event), data: dataOf(memoryFactRecorded, event) }));
  const inserted = new Set<string>();
  await insertInChunks(facts, async (chunk) => {
    const rows = await db.all<{ scope: string; fact_id: string }>(
      `INSERT INTO memory_facts (scope, fact_id, key, statement, confidence, source_kind, source_ref, status,
         recorded_at, recorded_event_id, recorded_position, changed_at)
       VALUES ${placeholders(chunk.length, "(?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)")}
       ON CONFLICT (scope, fact_id) DO NOTHING RETURNING scope, fact_id`,
      chunk.flatMap(({ event, scope, data }) => [
        scope, data.factId, data.key, data.statement, data.confidence, data.source.kind, data.source.ref,
        data.recordedAt, event.id, Number(event.position), event.metadata.occurredAt,
      ]),
    );
    for (const row of rows) inserted.add(`${row.scope}\u0000${row.fact_id}`);
  });
  const top = await db.get<{ top: number | null }>('SELECT max(chunk_id) AS top FROM memory_chunks');
  let nextChunkId = (top?.top ?? 0) + 1;
  const chunks: { id: number; scope: string; factId: string; eventId: string; seq: number; count: number; text: string; key: string }[] = [];
  for (const { event, scope, data } of facts) {
    if (!inserted.delete(`${scope}\u0000${data.factId}`)) continue; // stored before: no new chunks, as in apply
    const texts = chunkText(data.statement);
    texts.forEach((text, seq) => chunks.push({ id: nextChunkId++, scope, factId: data.factId, eventId: event.id, seq, count: texts.length, text, key: data.key }));
  }
  await insertInChunks(chunks, (chunk) =>
    db
      .run(
        `INSERT INTO memory_chunks (chunk_id, scope, source_kind, fact_id, day, event_id, seq, chunk_count, token_estimate)
         VALUES ${placeholders(chunk.length, "(?, ?, 'fact', ?, NULL, ?, ?, ?, ?)")}`,
        chunk.flatMap((row) => [row.id, row.scope, row.factId, row.eventId, row.seq, row.count, estimateTokens(row.text)]),
      )
      .then(() => undefined),
  );
  await insertInChunks(chunks, (chunk) =>
    db
      .run(
        `INSERT INTO memory_chunks_fts (rowid, text, key) VALUES ${placeholders(chunk.length, '(?, ?, ?)')}`,
        chunk.flatMap((row) => [row.id, row.text, row.key]),
      )
      .then(() => undefined),
  );
}

export const memoryIndexProjection = defineProjection({
  name: 'memory-index',
  version: 1,
  eventTypes: [...MEMORY_FACT_EVENT_TYPES, memoryDailyLogWritten.type, memoryConsolidationRequested.type, memoryConsolidated.type],
  schema: MEMORY_INDEX_SCHEMA,
  async apply(db, event) {
    if (event.type === memoryDailyLogWritten.type) return applyDailyLog(db, event);
    if (event.type === memoryConsolidationRequested.type || event.type === memoryConsolidated.type) return applyConsolidation(db, event);
    if (event.type === memoryFactRecorded.type) {
      const exists = await db.get<{ n: number }>('SELECT 1 AS n FROM memory_facts WHERE scope = ? AND fact_id = ?', [
        scopeOfMemoryStream(event),
        dataOf(memoryFactRecorded, event).factId,
      ]);
      await applyMemoryFactEvent(db, event);
      if (exists) return;
      const data = dataOf(memoryFactRecorded, event);
      await insertChunks(
        db,
        { scope: scopeOfMemoryStream(event), kind: 'fact', factId: data.factId, day: null, eventId: event.id, key: data.key },
        data.statement,
      );
      return;
    }
    await applyMemoryFactEvent(db, event);
  },
  // Fact recordings are nearly all a rebuild sees: they go in a few statements a batch;
  // anything else keeps its place in the order, applied on its own.
  async applyMany(db, events) {
    let run: StoredEvent[] = [];
    for (const event of events) {
      if (event.type === memoryFactRecorded.type) {
        run.push(event);
        continue;
      }
      if (run.length > 0) await recordFacts(db, run);
      run = [];
      await memoryIndexProjection.apply(db, event);
    }
    if (run.length > 0) await recordFacts(db, run);
  },
});
