/**
 * The memory index applied in batches (`applyMany`: a run of facts and daily logs as a few
 * statements of JSON rows) gives exactly the rows, chunk ids and search ranks that applying
 * one event at a time gives: with text JSON and SQL treat specially, facts and daily logs
 * recorded again (inside a batch and across batches), and other memory events between.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { memoryConsolidated, memoryConsolidationRequested, memoryDailyLogWritten } from '../../../events/catalogue/daily-log.js';
import { memoryFactRecorded } from '../../../events/catalogue/memory.js';
import type { NewEvent, StoredEvent } from '../../../events/envelope.js';
import { chunkText } from '../../../projections/chunking.js';
import { chunksOf, isOwnChunk, memoryIndexProjection } from '../../../projections/memory-index.js';
import { listScopes, searchMemory } from '../../../projections/memory-queries.js';
import { applyEvents, createWorld, openProjection, temporaryDir, type World } from './fixture.js';
import { buildMemoryScenario, LONG_DAILY_LOG, SCOPE_A, SCOPE_B } from './memory-scenario.js';

let world: World;
let dir: { path: string; remove: () => Promise<void> };
let events: StoredEvent[];
const open: SqliteConnection[] = [];

const AWKWARD_STATEMENTS = [
  "O'Brien's team said \"net 30\"; it's final. '); DROP TABLE memory_facts; --",
  '  Leading and trailing blanks, and a line break\r\nfrom Windows.\r\n',
  'Emoji 🚢 ships from Rotterdam; accents: café, naïve, Zürich.',
  'A lone surrogate \ud800 and another \udfff in the middle.',
  'A backslash before ud800 as text: C:\\ud800\\path and \\u0041.',
  'Control characters: tab\there, bell\u0007, form feed\f.',
  Array.from({ length: 40 }, (_, index) => `Sentence ${index} about the Acme contract renewal and its payment terms.`).join(' '),
];

function fact(id: string, key: string, statement: string): NewEvent {
  return memoryFactRecorded.create({
    factId: id,
    key,
    statement,
    category: 'project',
    confidence: 'agent-observed',
    source: { kind: 'message', ref: `${SCOPE_A}/${id}` },
    recordedAt: '2026-01-06T09:00:00.000Z',
  });
}

beforeAll(async () => {
  world = createWorld();
  dir = await temporaryDir('memory-index-batches');
  await buildMemoryScenario(world);
  await world.append(`memory-${SCOPE_A}`, AWKWARD_STATEMENTS.map((statement, index) => fact(`odd${index}`, `odd.k${index}`, statement)));
  // Recorded again, the second time with another statement: the first one stays, as in apply.
  await world.append(`memory-${SCOPE_A}`, [fact('odd0', 'odd.k0', 'A second recording of odd0, ignored.'), fact('again', 'again.k', 'Recorded twice.')]);
  await world.append(`memory-${SCOPE_A}`, [
    memoryConsolidationRequested.create({
      scope: SCOPE_A,
      conversationId: SCOPE_A.slice('group.'.length),
      reason: 'budget_exceeded',
      messagesSince: '1712345678.000100',
      throughMessageId: '1712349999.000200',
      messageCount: 40,
      tokenEstimate: 8_123,
      budgetTokens: 8_000,
    }),
    fact('again', 'again.k', 'Recorded twice, second time.'),
    memoryDailyLogWritten.create({ scope: SCOPE_A, day: '2026-01-06', summary: `${LONG_DAILY_LOG}\n\nO'Brien\r\nsigned.`, writtenBy: 'agent:consolidation' }),
    memoryConsolidated.create({ scope: SCOPE_A, factIds: ['again'], dailyLogDay: '2026-01-06', throughMessageId: '1712349999.000200' }),
  ]);
  await world.append(`memory-${SCOPE_B}`, Array.from({ length: 30 }, (_, index) => fact(`b-many-${index}`, `bulk.k${index}`, `Bulk fact ${index} about invoices and shipping.`)));
  const stored = await world.all();
  // The same events delivered again, inside what will be one batch and across batches: the
  // host never does so, but apply tolerates it, and applyMany must give the same rows.
  const repeated = stored.filter((event) => event.type === memoryFactRecorded.type || event.type === memoryDailyLogWritten.type).slice(-12, -6);
  events = [...stored, ...repeated, ...repeated.slice(0, 2)];
});

afterAll(async () => {
  for (const db of open.splice(0)) await db.close();
  await world.stop();
  await dir.remove();
});

async function oneByOne(name: string): Promise<SqliteConnection> {
  const db = await openProjection(join(dir.path, `${name}.db`), memoryIndexProjection);
  open.push(db);
  await applyEvents(db, memoryIndexProjection, events, { batchSize: 1 });
  return db;
}

async function inBatches(name: string, batchSize: number): Promise<SqliteConnection> {
  const db = await openProjection(join(dir.path, `${name}.db`), memoryIndexProjection);
  open.push(db);
  const wanted = new Set(memoryIndexProjection.eventTypes);
  const mine = events.filter((event) => wanted.has(event.type));
  for (let start = 0; start < mine.length; start += batchSize) {
    await db.exec('BEGIN IMMEDIATE');
    await memoryIndexProjection.applyMany!(db, mine.slice(start, start + batchSize));
    await db.exec('COMMIT');
  }
  return db;
}

async function everything(db: SqliteConnection) {
  const tables = ['memory_facts', 'memory_conflicts', 'memory_conflict_facts', 'memory_daily_logs', 'memory_chunks', 'memory_consolidations'];
  const rows: Record<string, unknown[]> = {};
  for (const table of tables) rows[table] = await db.all(`SELECT rowid AS row_id, * FROM ${table} ORDER BY rowid`);
  rows.types = await db.all('SELECT typeof(chunk_id), typeof(seq), typeof(token_estimate), typeof(fact_id), typeof(day) FROM memory_chunks ORDER BY chunk_id');
  rows.texts = await db.all('SELECT rowid, text, key FROM memory_chunks_fts ORDER BY rowid');
  return rows;
}

async function searches(db: SqliteConnection) {
  const scopes = await listScopes(db);
  const results = [];
  for (const query of ['acme', "O'Brien", 'rotterdam ships', 'zurich', 'invoices shipping', 'renewal payment terms', 'twice']) {
    results.push(await searchMemory(db, query, { scopes, limit: 100, includeInactive: true }));
  }
  return results;
}

it('gives the same rows, chunk ids and search ranks in batches as one event at a time', async () => {
  const expected = await oneByOne('one-by-one');
  const reference = await everything(expected);
  expect((reference.memory_chunks ?? []).length).toBeGreaterThan(40);
  const referenceSearches = await searches(expected);
  expect(referenceSearches.every((hits) => hits.length > 0)).toBe(true);
  for (const batchSize of [1_000, 7, 2]) {
    const batched = await inBatches(`batches-of-${batchSize}`, batchSize);
    expect(await everything(batched)).toEqual(reference);
    expect(await searches(batched)).toEqual(referenceSearches);
  }
});

it('applies a run of new facts and daily logs as one statement per table, and one holding a fact stored before the careful way', async () => {
  const db = await openProjection(join(dir.path, 'counted.db'), memoryIndexProjection);
  open.push(db);
  const calls: string[] = [];
  // The connection, counting the statements sent to it.
  const counted = Object.create(db) as SqliteConnection;
  for (const method of ['exec', 'run', 'runPrepared', 'all', 'get'] as const) {
    Object.defineProperty(counted, method, {
      value: (sql: string, ...rest: unknown[]) => {
        calls.push(method);
        return (db[method] as (...args: unknown[]) => unknown).call(db, sql, ...rest);
      },
    });
  }
  const additions = events.filter((event) => event.type === memoryFactRecorded.type || event.type === memoryDailyLogWritten.type);
  const firstSeen = new Set<string>();
  const fresh = additions.filter((event) => !firstSeen.has(event.id) && firstSeen.add(event.id)).slice(0, 20);
  await db.exec('BEGIN IMMEDIATE');
  expect(new Set(fresh.map((event) => event.type))).toEqual(new Set([memoryFactRecorded.type, memoryDailyLogWritten.type]));
  await memoryIndexProjection.applyMany!(counted, fresh);
  // Facts, daily logs, chunks, chunk texts, each a statement kept prepared.
  expect(calls).toEqual(['runPrepared', 'runPrepared', 'runPrepared', 'runPrepared']);
  calls.length = 0;
  await memoryIndexProjection.applyMany!(counted, [...fresh.slice(0, 1), ...additions.slice(20, 25)]);
  // The careful way asks which facts the insert added.
  expect(calls).toContain('all');
  await db.exec('COMMIT');
});

it('stores text as binding it would: a lone surrogate as U+FFFD, the rest as written', async () => {
  const db = await inBatches('texts', 1_000);
  const row = await db.get<{ statement: string }>("SELECT statement FROM memory_facts WHERE fact_id = 'odd3'");
  expect(row?.statement).toBe(AWKWARD_STATEMENTS[3]!.toWellFormed());
  const quoted = await db.get<{ statement: string }>("SELECT statement FROM memory_facts WHERE fact_id = 'odd0'");
  expect(quoted?.statement).toBe(AWKWARD_STATEMENTS[0]);
});

it('cuts a short text as chunkText does, without cutting', () => {
  const texts = [
    '',
    '   ',
    '\r\n\r\n',
    'one line',
    '  padded  ',
    'line\r\nbreaks\rold mac\nunix',
    '\u00a0non-breaking blanks\u00a0',
    '\ufeffbyte order mark',
    'x'.repeat(1_600),
    ` ${'y'.repeat(1_599)}`,
    ` ${'y'.repeat(1_600)} `,
    ...AWKWARD_STATEMENTS,
    LONG_DAILY_LOG,
  ];
  for (const text of texts) {
    expect(chunksOf(text)).toEqual(chunkText(text));
    // The shortcut for a fact that is its own one chunk says so exactly when it is.
    expect(isOwnChunk(text)).toBe(chunksOf(text).length === 1 && chunksOf(text)[0] === text);
  }
});
