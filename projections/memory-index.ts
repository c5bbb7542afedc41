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
import { CHARS_PER_TOKEN, chunkText, DEFAULT_CHUNK_TOKENS, estimateTokens } from './chunking.js';
import { applyMemoryFactEvent, dataOf, MEMORY_FACT_EVENT_TYPES, MEMORY_FACTS_INDEXES, MEMORY_FACTS_TABLES, scopeOfMemoryStream } from './memory-facts.js';
import { defineProjection } from './projection.js';

/** What the `key` column of a daily log's chunks holds, so `daily log 2026-01-05` finds it. */
export function dailyLogKey(day: string): string {
  return `daily_log ${day}`;
}

export const MEMORY_INDEX_SCHEMA = `
${MEMORY_FACTS_TABLES}
CREATE TABLE memory_daily_logs (
  event_id TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  day TEXT NOT NULL,
  summary TEXT NOT NULL,
  written_by TEXT NOT NULL,
  written_at TEXT NOT NULL,
  position INTEGER NOT NULL
);
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

/** The indexes only queries use (memory-queries.ts): a rebuild creates them once it has caught up. */
export const MEMORY_INDEX_DEFERRED_SCHEMA = `
${MEMORY_FACTS_INDEXES}
CREATE INDEX memory_daily_logs_by_scope ON memory_daily_logs (scope, day, position);
CREATE INDEX memory_chunks_by_scope ON memory_chunks (scope, source_kind);
CREATE INDEX memory_chunks_by_fact ON memory_chunks (scope, fact_id);
`;

async function insertChunks(
  db: SqliteConnection,
  source: { scope: string; kind: 'fact' | 'daily_log'; factId: string | null; day: string | null; eventId: string; key: string },
  text: string,
): Promise<void> {
  const chunks = chunksOf(text);
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

/**
 * A batch's rows travel as one JSON text per statement, taken apart inside SQLite: a
 * statement is a round trip to SQLite's thread and back through the main thread, so a batch
 * costs a handful of them whatever its size. `jsonb_each` parses the text once and hands
 * each row over as JSONB, which `->>` reads without parsing again (`json_each` hands over
 * text, parsed again by every `->>`: twice the cost). Strings are made well-formed first,
 * as binding them would (a lone surrogate becomes U+FFFD), so both paths store the same bytes.
 */
function jsonRows(rows: readonly (readonly (string | number | null)[])[]): string {
  const json = JSON.stringify(rows);
  // JSON.stringify writes a lone surrogate as an escape (\udxxx); seeing one (or a backslash
  // before "ud8" and the like, escaped), go the slow way.
  if (!/\\ud[89a-f]/i.test(json)) return json;
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'string' ? value.toWellFormed() : value));
}

const CHUNK_CHARS = DEFAULT_CHUNK_TOKENS * CHARS_PER_TOKEN;

/**
 * `chunkText(text)`, taking its shortcut for a text that fits one chunk whole (nearly every
 * fact): its one chunk is the text, line breaks normalized and trimmed, as chunkText gives it.
 */
function chunksOf(text: string): string[] {
  if (text.length > CHUNK_CHARS) return chunkText(text);
  const chunk = (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text).trim();
  return chunk === '' ? [] : [chunk];
}

const INSERT_FACTS = `
  INSERT INTO memory_facts (scope, fact_id, key, statement, confidence, source_kind, source_ref, status,
    recorded_at, recorded_event_id, recorded_position, changed_at)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, 'active',
    value ->> 7, value ->> 8, value ->> 9, value ->> 10
  FROM jsonb_each(?) WHERE true ORDER BY key
  ON CONFLICT (scope, fact_id) DO NOTHING`;

const INSERT_DAILY_LOGS = `
  INSERT INTO memory_daily_logs (event_id, scope, day, summary, written_by, written_at, position)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6
  FROM jsonb_each(?) WHERE true ORDER BY key
  ON CONFLICT (event_id) DO NOTHING`;

/** Where the tables end before a batch: the rows after these are the batch's. */
const TOPS = `SELECT (SELECT max(chunk_id) FROM memory_chunks) AS chunk, (SELECT max(rowid) FROM memory_facts) AS fact,
  (SELECT max(rowid) FROM memory_daily_logs) AS log`;

const INSERT_CHUNKS = `
  INSERT INTO memory_chunks (chunk_id, scope, source_kind, fact_id, day, event_id, seq, chunk_count, token_estimate)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8
  FROM jsonb_each(?) ORDER BY key`;

const INSERT_CHUNK_TEXTS = `
  INSERT INTO memory_chunks_fts (rowid, text, key) SELECT value ->> 0, value ->> 1, value ->> 2 FROM jsonb_each(?) ORDER BY key`;

/** The events `insertMany` takes: they only add rows, and only to tables no other memory event changes. */
function onlyAdds(event: StoredEvent): boolean {
  return event.type === memoryFactRecorded.type || event.type === memoryDailyLogWritten.type;
}

/**
 * Applies a run of fact recordings and daily logs in a few statements: what `apply` does
 * for each, in order, with the same chunk ids (the next after the largest, in event order),
 * so a batched build and an event-by-event one give identical rows and identical search ranks.
 */
async function insertMany(db: SqliteConnection, events: readonly StoredEvent[]): Promise<void> {
  const facts: { event: StoredEvent; scope: string; data: ReturnType<typeof dataOf<typeof memoryFactRecorded>> }[] = [];
  const logs: { event: StoredEvent; data: ReturnType<typeof dataOf<typeof memoryDailyLogWritten>> }[] = [];
  for (const event of events) {
    if (event.type === memoryFactRecorded.type) facts.push({ event, scope: scopeOfMemoryStream(event), data: dataOf(memoryFactRecorded, event) });
    else logs.push({ event, data: dataOf(memoryDailyLogWritten, event) });
  }
  const tops = await db.get<{ chunk: number | null; fact: number | null; log: number | null }>(TOPS);
  // A fact or a daily log stored before (by an earlier event, or earlier in the batch) gets
  // no new chunks, as in apply. Nearly always all of them are new, as the count of rows
  // inserted says; otherwise the rows after the old ends of the tables name the events that
  // added them.
  let addedFact = (_event: StoredEvent): boolean => true;
  if (facts.length > 0) {
    const { changes } = await db.run(INSERT_FACTS, [
      jsonRows(
        facts.map(({ event, scope, data }) => [
          scope, data.factId, data.key, data.statement, data.confidence, data.source.kind, data.source.ref,
          data.recordedAt, event.id, Number(event.position), event.metadata.occurredAt,
        ]),
      ),
    ]);
    if (changes < facts.length) {
      const rows = await db.all<{ id: string }>('SELECT recorded_event_id AS id FROM memory_facts WHERE rowid > ?', [tops?.fact ?? 0]);
      const added = new Set(rows.map((row) => row.id));
      addedFact = (event) => added.has(event.id);
    }
  }
  let addedLog = (_event: StoredEvent): boolean => true;
  if (logs.length > 0) {
    const { changes } = await db.run(INSERT_DAILY_LOGS, [
      jsonRows(
        logs.map(({ event, data }) => [event.id, data.scope, data.day, data.summary, data.writtenBy, event.metadata.occurredAt, Number(event.position)]),
      ),
    ]);
    if (changes < logs.length) {
      const rows = await db.all<{ id: string }>('SELECT event_id AS id FROM memory_daily_logs WHERE rowid > ?', [tops?.log ?? 0]);
      const added = new Set(rows.map((row) => row.id));
      addedLog = (event) => added.has(event.id);
    }
  }

  let nextChunkId = (tops?.chunk ?? 0) + 1;
  const chunks: (string | number | null)[][] = [];
  const texts: (string | number)[][] = [];
  const add = (source: { scope: string; kind: 'fact' | 'daily_log'; factId: string | null; day: string | null; eventId: string; key: string }, text: string) => {
    const pieces = chunksOf(text);
    pieces.forEach((piece, seq) => {
      const id = nextChunkId++;
      chunks.push([id, source.scope, source.kind, source.factId, source.day, source.eventId, seq, pieces.length, estimateTokens(piece)]);
      texts.push([id, piece, source.key]);
    });
  };
  let fact = 0;
  let log = 0;
  for (const event of events) {
    if (event.type === memoryFactRecorded.type) {
      const { scope, data } = facts[fact++]!;
      if (addedFact(event)) add({ scope, kind: 'fact', factId: data.factId, day: null, eventId: event.id, key: data.key }, data.statement);
    } else {
      const { data } = logs[log++]!;
      if (addedLog(event)) add({ scope: data.scope, kind: 'daily_log', factId: null, day: data.day, eventId: event.id, key: dailyLogKey(data.day) }, data.summary);
    }
  }
  if (chunks.length === 0) return;
  await db.run(INSERT_CHUNKS, [jsonRows(chunks)]);
  await db.run(INSERT_CHUNK_TEXTS, [jsonRows(texts)]);
}

export const memoryIndexProjection = defineProjection({
  name: 'memory-index',
  version: 1,
  eventTypes: [...MEMORY_FACT_EVENT_TYPES, memoryDailyLogWritten.type, memoryConsolidationRequested.type, memoryConsolidated.type],
  schema: MEMORY_INDEX_SCHEMA,
  deferredSchema: MEMORY_INDEX_DEFERRED_SCHEMA,
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
  // Fact recordings and daily logs are nearly all a rebuild sees: a run of them goes in a
  // few statements; anything else keeps its place in the order, applied on its own.
  async applyMany(db, events) {
    let run: StoredEvent[] = [];
    for (const event of events) {
      if (onlyAdds(event)) {
        run.push(event);
        continue;
      }
      if (run.length > 0) await insertMany(db, run);
      run = [];
      await memoryIndexProjection.apply(db, event);
    }
    if (run.length > 0) await insertMany(db, run);
  },
});
