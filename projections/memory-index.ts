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
 * (`memory.consolidation_requested` / `memory.consolidated` / `memory.consolidation_failed`), so the runtime knows where
 * the next window of conversation starts and whether a request is still pending.
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import { memoryConsolidated, memoryConsolidationFailed, memoryConsolidationRequested, memoryDailyLogWritten } from '../events/catalogue/daily-log.js';
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
  if (event.type === memoryConsolidationFailed.type) {
    // A failed request is closed: the next window asks again from the last consolidated message.
    await db.run('UPDATE memory_consolidations SET pending_through = NULL, pending_since = NULL WHERE scope = ?', [dataOf(memoryConsolidationFailed, event).scope]);
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
 * A batch's rows travel as JSON text, taken apart inside SQLite: every statement is a round
 * trip to SQLite's thread and back through the main thread, which is busy reading the next
 * batch, so a table's rows go in as one statement, whatever their number. The text is bound
 * as a parameter: SQLite takes it as it is, where an SQL literal of it (megabytes in a
 * rebuild) would be escaped here, then scanned and copied by SQLite's parser.
 * `jsonb_each` parses the text once and hands each row over as JSONB, which `->>` reads
 * without parsing again (`json_each` hands over text, parsed again by every `->>`: twice
 * the cost). Strings are made well-formed first, as binding them would (a lone surrogate
 * becomes U+FFFD), so every path stores the same bytes.
 */
function jsonRows(rows: readonly (readonly (string | number | null)[])[]): string {
  const json = JSON.stringify(rows);
  // JSON.stringify writes a lone surrogate as an escape (\udxxx, lower case); seeing what
  // may be one (or a backslash before "ud8" and the like, escaped), go the slow way. A plain
  // search first: a regular expression over megabytes of JSON costs more than the stringify.
  if (!json.includes('\\ud') || !/\\ud[89a-f]/.test(json)) return json;
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'string' ? value.toWellFormed() : value));
}

const CHUNK_CHARS = DEFAULT_CHUNK_TOKENS * CHARS_PER_TOKEN;

/**
 * `chunkText(text)`, taking its shortcut for a text that fits one chunk whole (nearly every
 * fact): its one chunk is the text, line breaks normalized and trimmed, as chunkText gives it.
 */
export function chunksOf(text: string): string[] {
  if (text.length > CHUNK_CHARS) return chunkText(text);
  const chunk = (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text).trim();
  return chunk === '' ? [] : [chunk];
}

const BLANK = /\s/;

/**
 * Whether `chunksOf(text)` is `[text]`: it fits one chunk, and neither trimming (the same
 * blanks as `\s`) nor line-break normalizing changes it. Nearly every fact, told without
 * building the chunk.
 */
export function isOwnChunk(text: string): boolean {
  return text.length > 0 && text.length <= CHUNK_CHARS && !BLANK.test(text[0]!) && !BLANK.test(text[text.length - 1]!) && !text.includes('\r');
}

// The statements of a batch, each of fixed SQL, kept prepared on the connection (see
// SqliteConnection.runPrepared), reading its rows from its parameters (see jsonRows).
// `WHERE true` tells SQLite's parser the ON CONFLICT clause belongs to the insert.

const FACTS_INSERT = `
  INSERT INTO memory_facts (scope, fact_id, key, statement, confidence, category, source_kind, source_ref, status,
    fresh_at, recorded_at, recorded_event_id, recorded_position, changed_at)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 11, value ->> 5, value ->> 6, 'active',
    value ->> 7, value ->> 7, value ->> 8, value ->> 9, value ->> 10
  FROM jsonb_each(?) WHERE true ORDER BY key ON CONFLICT (scope, fact_id) DO NOTHING`;

const DAILY_LOGS_INSERT = `
  INSERT INTO memory_daily_logs (event_id, scope, day, summary, written_by, written_at, position)
  SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6
  FROM jsonb_each(?) WHERE true ORDER BY key ON CONFLICT (event_id) DO NOTHING`;

/**
 * Right after FACTS_INSERT added all of its ?3 rows (a rowid table gives each new row the
 * next rowid after the largest): the rowid of the batch's fact 0.
 */
const FACTS_BASE = 'SELECT coalesce(max(rowid), 0) - ?3 + 1 AS id FROM memory_facts';

/**
 * Chunk n of the batch gets the n-th id after the largest, as one insert after another would.
 * Its row comes in one of two arrays. Nearly every chunk is the one chunk of a fact whose
 * text is its statement whole: `[n, i, tokens]` (?1) says so for the batch's fact i, and
 * scope, fact id, event, statement and key come from that fact's row in memory_facts (see
 * FACTS_BASE), rather than through the main thread as JSON a second time. Any other chunk
 * is a whole row (?2): `[n, tokens, scope, kind, fact id, day, event id, seq, count, text, key]`.
 * Each array has its own SELECT, which reads only the fields its rows have. Each row names
 * its chunk id, so the order the rows go in changes nothing (no sort).
 */
const CHUNKS_INSERT = `
  WITH base AS MATERIALIZED (SELECT coalesce(max(chunk_id), 0) AS id FROM memory_chunks),
    facts AS MATERIALIZED (${FACTS_BASE})
  INSERT INTO memory_chunks (chunk_id, scope, source_kind, fact_id, day, event_id, seq, chunk_count, token_estimate)
  SELECT base.id + 1 + (j.value ->> 0), f.scope, 'fact', f.fact_id, NULL, f.recorded_event_id, 0, 1, j.value ->> 2
    FROM base, facts, jsonb_each(?1) AS j JOIN memory_facts f ON f.rowid = facts.id + (j.value ->> 1)
  UNION ALL
  SELECT base.id + 1 + (j.value ->> 0), j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7,
    j.value ->> 8, j.value ->> 1
    FROM base, jsonb_each(?2) AS j`;

/**
 * After CHUNKS_INSERT, from the same two arrays: its ?4 chunks are the last ids. FTS5 takes
 * rows in rowid order (a smaller rowid than the last would flush what it holds).
 */
const CHUNK_TEXTS_INSERT = `
  WITH top AS MATERIALIZED (SELECT max(chunk_id) - ?4 + 1 AS id FROM memory_chunks),
    facts AS MATERIALIZED (${FACTS_BASE})
  INSERT INTO memory_chunks_fts (rowid, text, key)
  SELECT top.id + (j.value ->> 0), f.statement, f.key
    FROM top, facts, jsonb_each(?1) AS j JOIN memory_facts f ON f.rowid = facts.id + (j.value ->> 1)
  UNION ALL
  SELECT top.id + (j.value ->> 0), j.value ->> 9, j.value ->> 10
    FROM top, jsonb_each(?2) AS j
  ORDER BY 1`;

/** A batch's chunks (see chunkRows) into memory_chunks and memory_chunks_fts. */
async function insertChunkRows(db: SqliteConnection, rows: { facts: string; others: string; count: number }, factCount: number): Promise<void> {
  if (rows.count === 0) return;
  await db.runPrepared(CHUNKS_INSERT, [rows.facts, rows.others, factCount]);
  await db.runPrepared(CHUNK_TEXTS_INSERT, [rows.facts, rows.others, factCount, rows.count]);
}

/** The events `insertMany` takes: they only add rows, and only to tables no other memory event changes. */
function onlyAdds(event: StoredEvent): boolean {
  return event.type === memoryFactRecorded.type || event.type === memoryDailyLogWritten.type;
}

/** A fact recording or a daily log of a run; a fact knows its index among the run's facts (its row in FACTS_INSERT). */
type Addition =
  | {
      readonly event: StoredEvent;
      readonly kind: 'fact';
      readonly scope: string;
      readonly data: ReturnType<typeof dataOf<typeof memoryFactRecorded>>;
      readonly factIndex: number;
    }
  | { readonly event: StoredEvent; readonly kind: 'daily_log'; readonly data: ReturnType<typeof dataOf<typeof memoryDailyLogWritten>> };

/**
 * The chunk rows (see CHUNKS_INSERT) of the facts and daily logs the run added, in event
 * order: with `referToFacts`, `facts` refers to a fact whose one chunk is its statement by
 * its index among the run's facts; `others` holds every other chunk whole.
 */
function chunkRows(
  additions: readonly Addition[],
  added: (addition: Addition) => boolean,
  referToFacts: boolean,
): { facts: string; others: string; count: number } {
  const facts: number[][] = [];
  const others: (string | number | null)[][] = [];
  // Every chunk goes to one of the two arrays: the next chunk's n is their length together.
  const addWhole = (
    source: { scope: string; kind: Addition['kind']; factId: string | null; day: string | null; eventId: string; key: string },
    text: string,
  ) => {
    const pieces = chunksOf(text);
    pieces.forEach((piece, seq) => {
      others.push([facts.length + others.length, estimateTokens(piece), source.scope, source.kind, source.factId, source.day, source.eventId, seq, pieces.length, piece, source.key]);
    });
  };
  for (const addition of additions) {
    if (!added(addition)) continue;
    if (addition.kind === 'fact') {
      const { scope, data, event } = addition;
      if (referToFacts && isOwnChunk(data.statement)) facts.push([facts.length + others.length, addition.factIndex, estimateTokens(data.statement)]);
      else addWhole({ scope, kind: 'fact', factId: data.factId, day: null, eventId: event.id, key: data.key }, data.statement);
    } else {
      const { data, event } = addition;
      addWhole({ scope: data.scope, kind: 'daily_log', factId: null, day: data.day, eventId: event.id, key: dailyLogKey(data.day) }, data.summary);
    }
  }
  return { facts: jsonRows(facts), others: jsonRows(others), count: facts.length + others.length };
}

/**
 * A run of fact recordings and daily logs, worked out without the database: its rows as
 * JSON for FACTS_INSERT and DAILY_LOGS_INSERT, and its chunks as they go when every one of
 * its facts and daily logs is new (nearly always; see insertRun).
 */
interface RunPlan {
  readonly additions: readonly Addition[];
  readonly facts: string;
  readonly factCount: number;
  readonly logs: string;
  readonly logCount: number;
  readonly chunks: ReturnType<typeof chunkRows>;
}

function planRun(events: readonly StoredEvent[]): RunPlan {
  const additions: Addition[] = [];
  const factRows: (string | number)[][] = [];
  const logRows: (string | number)[][] = [];
  for (const event of events) {
    if (event.type === memoryFactRecorded.type) {
      const scope = scopeOfMemoryStream(event);
      const data = dataOf(memoryFactRecorded, event);
      additions.push({ event, kind: 'fact', scope, data, factIndex: factRows.length });
      factRows.push([
        scope, data.factId, data.key, data.statement, data.confidence, data.source.kind, data.source.ref,
        data.recordedAt, event.id, Number(event.position), event.metadata.occurredAt, data.category,
      ]);
    } else {
      const data = dataOf(memoryDailyLogWritten, event);
      additions.push({ event, kind: 'daily_log', data });
      logRows.push([event.id, data.scope, data.day, data.summary, data.writtenBy, event.metadata.occurredAt, Number(event.position)]);
    }
  }
  return {
    additions,
    facts: jsonRows(factRows),
    factCount: factRows.length,
    logs: jsonRows(logRows),
    logCount: logRows.length,
    chunks: chunkRows(additions, () => true, true),
  };
}

/**
 * Applies a run of fact recordings and daily logs in a few statements: what `apply` does
 * for each, in order, with the same chunk ids (the next after the largest, in event order),
 * so a batched build and an event-by-event one give identical rows and identical search ranks.
 *
 * A fact or a daily log stored before (by an earlier event, or earlier in the run) gets no
 * new chunks, as in apply. The facts and the daily logs go in first, each table in one
 * insert that skips rows stored before; the rows each added say how the chunks go. Nearly
 * always every one was new: the run's facts are then the last rowids of memory_facts, and
 * its chunks refer to them by rowid, as planned. Otherwise the chunks go the careful way.
 */
async function insertRun(db: SqliteConnection, run: RunPlan): Promise<void> {
  const newFacts = run.factCount > 0 ? (await db.runPrepared(FACTS_INSERT, [run.facts])).changes : 0;
  const newLogs = run.logCount > 0 ? (await db.runPrepared(DAILY_LOGS_INSERT, [run.logs])).changes : 0;
  if (newFacts === run.factCount && newLogs === run.logCount) {
    await insertChunkRows(db, run.chunks, run.factCount);
    return;
  }

  // The careful way: the rows an insert added (the last `changes` rowids of its table) name
  // the events that added them.
  const addedBy = async (table: string, column: string, changes: number) => {
    const rows = await db.all<{ id: string }>(`SELECT ${column} AS id FROM ${table} WHERE rowid > (SELECT max(rowid) FROM ${table}) - ?`, [changes]);
    return new Set(rows.map((row) => row.id));
  };
  const addedFacts = newFacts < run.factCount ? await addedBy('memory_facts', 'recorded_event_id', newFacts) : 'all';
  const addedLogs = newLogs < run.logCount ? await addedBy('memory_daily_logs', 'event_id', newLogs) : 'all';
  // An event delivered twice in the run added its row the first time only.
  // No chunk refers to a fact row here (added facts need not have consecutive rowids).
  const some = chunkRows(
    run.additions,
    ({ kind, event }) => {
      const ids = kind === 'fact' ? addedFacts : addedLogs;
      return ids === 'all' || ids.delete(event.id);
    },
    false,
  );
  await insertChunkRows(db, some, 0);
}

/**
 * What applyMany does with a batch, worked out ahead (see Projection.planMany): its runs of
 * fact recordings and daily logs planned, any other event in its place, applied on its own.
 */
class MemoryIndexPlan {
  constructor(readonly steps: readonly (RunPlan | StoredEvent)[]) {}
}

function planBatch(events: readonly StoredEvent[]): MemoryIndexPlan {
  const steps: (RunPlan | StoredEvent)[] = [];
  let run: StoredEvent[] = [];
  for (const event of events) {
    if (onlyAdds(event)) {
      run.push(event);
      continue;
    }
    if (run.length > 0) steps.push(planRun(run));
    run = [];
    steps.push(event);
  }
  if (run.length > 0) steps.push(planRun(run));
  return new MemoryIndexPlan(steps);
}

export const memoryIndexProjection = defineProjection({
  name: 'memory-index',
  // v2: facts carry their category, whether they are demoted, and when they were last fresh;
  // a failed consolidation request is no longer pending.
  version: 2,
  eventTypes: [
    ...MEMORY_FACT_EVENT_TYPES,
    memoryDailyLogWritten.type,
    memoryConsolidationRequested.type,
    memoryConsolidated.type,
    memoryConsolidationFailed.type,
  ],
  schema: MEMORY_INDEX_SCHEMA,
  deferredSchema: MEMORY_INDEX_DEFERRED_SCHEMA,
  async apply(db, event) {
    if (event.type === memoryDailyLogWritten.type) return applyDailyLog(db, event);
    if (event.type === memoryConsolidationRequested.type || event.type === memoryConsolidated.type || event.type === memoryConsolidationFailed.type) {
      return applyConsolidation(db, event);
    }
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
  async applyMany(db, events, plan) {
    const { steps } = plan instanceof MemoryIndexPlan ? plan : planBatch(events);
    for (const step of steps) {
      if ('additions' in step) await insertRun(db, step);
      else await memoryIndexProjection.apply(db, step);
    }
  },
  planMany: planBatch,
});
