/**
 * The memory index on a real SQLite file: facts as rows with their status, confidence and
 * conflict flag; facts and daily logs chunked into FTS5 and searched with bm25; every read
 * restricted to the caller's scopes; malformed queries as MemoryQueryError; a rebuild from
 * the same events answering exactly the same.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { memoryConsolidated, memoryConsolidationFailed, memoryConsolidationRequested } from '../../../events/catalogue/daily-log.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { DEFAULT_CHUNK_TOKENS } from '../../../projections/chunking.js';
import { memoryIndexProjection } from '../../../projections/memory-index.js';
import {
  consolidationState,
  MemoryQueryError,
  scopesVisibleTo,
  searchMemory,
  showMemory,
  type MemorySearchHit,
} from '../../../projections/memory-queries.js';
import { applyEvents, createWorld, openProjection, temporaryDir, type World } from './fixture.js';
import {
  buildMemoryScenario,
  GROUP_A,
  GROUP_B,
  LONG_DAILY_LOG,
  OTHER_USER_SCOPE,
  SCOPE_A,
  SCOPE_B,
  USER,
  USER_SCOPE,
} from './memory-scenario.js';

let world: World;
let dir: { path: string; remove: () => Promise<void> };
let events: StoredEvent[];
let db: SqliteConnection;

const A_SEES = scopesVisibleTo({ groupId: GROUP_A, userId: USER });

beforeAll(async () => {
  world = createWorld();
  await buildMemoryScenario(world);
  await world.append('memory-group.T1.C1', [
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
  ]);
  events = await world.all();
  dir = await temporaryDir('memory-index');
  db = await openProjection(join(dir.path, 'memory-index.db'), memoryIndexProjection);
  // Small batches, as a live host applies them.
  await applyEvents(db, memoryIndexProjection, events, { batchSize: 3 });
});

afterAll(async () => {
  await db.close();
  await world.stop();
  await dir.remove();
});

describe('facts as rows', () => {
  it('keeps every fact with its status, confidence, source and conflict flag', async () => {
    const rows = await db.all<{ fact_id: string; status: string; confidence: string; in_conflict: number; superseded_by: string | null; source_ref: string }>(
      "SELECT fact_id, status, confidence, in_conflict, superseded_by, source_ref FROM memory_facts WHERE scope = ? ORDER BY fact_id",
      [SCOPE_A],
    );
    expect(rows.map((row) => [row.fact_id, row.status, row.confidence, row.in_conflict, row.superseded_by])).toEqual([
      ['f1', 'active', 'user-stated', 1, null],
      ['f2', 'active', 'agent-inferred', 1, null],
      ['f3', 'active', 'agent-observed', 0, null],
      ['f4', 'superseded', 'agent-inferred', 0, 'f5'],
      ['f5', 'active', 'user-stated', 0, null],
      ['f6', 'active', 'user-confirmed', 0, null],
      ['f7', 'retired', 'agent-inferred', 0, null],
      ['f8', 'active', 'agent-observed', 0, null],
    ]);
    expect(rows[0]!.source_ref).toBe(`${SCOPE_A}/1712345678.000100`);
  });

  it('keeps the same fact id apart in two scopes', async () => {
    const rows = await db.all<{ scope: string; statement: string }>("SELECT scope, statement FROM memory_facts WHERE fact_id = 'f1' ORDER BY scope");
    expect(rows).toEqual([
      { scope: SCOPE_A, statement: 'Acme pays invoices net 30 days.' },
      { scope: SCOPE_B, statement: 'Acme pays invoices net 60 days.' },
    ]);
  });

  it('shows a scope: active facts best first, open conflicts, daily logs, consolidation', async () => {
    const memory = await showMemory(db, SCOPE_A);
    expect(memory.facts.map((fact) => fact.factId)).toEqual(['f6', 'f5', 'f1', 'f8', 'f3', 'f2']);
    expect(memory.conflicts).toEqual([{ scope: SCOPE_A, key: 'vendor.acme.payment_terms', factIds: ['f1', 'f2'], flaggedAt: expect.any(String) }]);
    expect(memory.dailyLogs.map((log) => [log.day, log.summary])).toEqual([['2026-01-05', LONG_DAILY_LOG]]);
    expect(memory.consolidation).toMatchObject({ pendingThrough: '1712349999.000200', pendingSince: '1712345678.000100', consolidatedThrough: null });
    const all = await showMemory(db, SCOPE_A, { includeInactive: true });
    expect(all.facts.map((fact) => `${fact.factId}:${fact.status}`).slice(-2)).toEqual(['f7:retired', 'f4:superseded']);
  });
});

describe('search', () => {
  it('finds facts by words of their statement or key, ranked by bm25, with a snippet and the source', async () => {
    const hits = await searchMemory(db, 'acme', { scopes: A_SEES });
    expect(hits.map((hit) => hit.factId)).toEqual(expect.arrayContaining(['f1', 'f2']));
    const f1 = hits.find((hit) => hit.factId === 'f1')!;
    expect(f1.text).toContain('**Acme**');
    expect(f1.scope).toBe(SCOPE_A);
    expect(f1.source).toMatchObject({ kind: 'fact', key: 'vendor.acme.payment_terms', confidence: 'user-stated', status: 'active', inConflict: true });
    expect(f1.source.kind === 'fact' && f1.source.origin).toEqual({ kind: 'message', ref: `${SCOPE_A}/1712345678.000100` });
    for (let index = 1; index < hits.length; index += 1) expect(hits[index - 1]!.score).toBeGreaterThanOrEqual(hits[index]!.score);

    // By key words only: 'payments' and 'lead' are in f6's key and statement.
    expect((await searchMemory(db, 'payments lead', { scopes: A_SEES }))[0]?.factId).toBe('f6');
    // Stemming: 'shipping' finds 'ships'.
    expect((await searchMemory(db, 'shipping rotterdam', { scopes: [SCOPE_A] })).map((hit) => hit.factId)).toContain('f3');
    // A prefix.
    expect((await searchMemory(db, 'Initec*', { scopes: [SCOPE_A] })).map((hit) => hit.factId)).toEqual(['f5']);
  });

  it('leaves superseded and retired facts out unless asked', async () => {
    expect((await searchMemory(db, 'initech', { scopes: [SCOPE_A] })).map((hit) => hit.factId)).toEqual(['f5']);
    const all = await searchMemory(db, 'initech', { scopes: [SCOPE_A], includeInactive: true });
    expect(all.map((hit) => hit.factId).sort()).toEqual(['f4', 'f5']);
    expect(await searchMemory(db, 'wifi', { scopes: [SCOPE_A] })).toEqual([]);
    expect((await searchMemory(db, 'wifi', { scopes: [SCOPE_A], includeInactive: true }))[0]?.source).toMatchObject({ status: 'retired' });
  });

  it('chunks a long daily log into pieces of at most 400 tokens, each searchable with its day', async () => {
    const chunks = await db.all<{ token_estimate: number; chunk_count: number; source_kind: string; day: string }>(
      "SELECT token_estimate, chunk_count, source_kind, day FROM memory_chunks WHERE scope = ? AND source_kind = 'daily_log' ORDER BY seq",
      [SCOPE_A],
    );
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((chunk) => chunk.token_estimate <= DEFAULT_CHUNK_TOKENS && chunk.chunk_count === chunks.length)).toBe(true);
    // A fact is one chunk.
    expect(await db.get("SELECT COUNT(*) AS n FROM memory_chunks WHERE scope = ? AND fact_id = 'f1'", [SCOPE_A])).toEqual({ n: 1 });

    const hits = await searchMemory(db, 'onboarding security briefing', { scopes: A_SEES });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.source).toMatchObject({ kind: 'daily_log', day: '2026-01-05', writtenBy: 'agent:consolidation' });
    expect(hits[0]!.factId).toBeUndefined();
    expect(hits[0]!.text).toContain('**onboarding**');
    // The day is searchable too.
    expect((await searchMemory(db, 'daily_log 2026-01-05', { scopes: [SCOPE_A] })).every((hit) => hit.source.kind === 'daily_log')).toBe(true);
  });

  it('matches all words by default, any word on request', async () => {
    expect(await searchMemory(db, 'acme rotterdam', { scopes: [SCOPE_A] })).toEqual([]);
    const any = await searchMemory(db, 'acme rotterdam', { scopes: [SCOPE_A], match: 'any' });
    expect(new Set(any.filter((hit) => hit.factId).map((hit) => hit.factId))).toEqual(new Set(['f1', 'f2', 'f3']));
  });

  it('takes FTS5 syntax on request', async () => {
    const hits = await searchMemory(db, 'key:globex OR (initech NOT email)', { scopes: [SCOPE_A], syntax: 'fts5' });
    expect(hits.map((hit) => hit.factId).sort()).toEqual(['f3', 'f5']);
  });

  it('honours the limit', async () => {
    expect(await searchMemory(db, 'the', { scopes: [SCOPE_A], limit: 2 })).toHaveLength(2);
  });
});

describe('access', () => {
  const statementsOf = async (scope: string) =>
    (await db.all<{ statement: string; fact_id: string }>('SELECT statement, fact_id FROM memory_facts WHERE scope = ?', [scope])).map((row) => row.statement);

  it("never returns another group's facts or daily logs, nor another user's", async () => {
    expect(A_SEES).toEqual([SCOPE_A, USER_SCOPE]);
    // Every word of every statement of group B and of user U2, searched from group A.
    const foreign = [...(await statementsOf(SCOPE_B)), ...(await statementsOf(OTHER_USER_SCOPE)), 'The Falcon deal team met the bank about financing.'];
    for (const statement of foreign) {
      const hits = await searchMemory(db, statement, { scopes: A_SEES, match: 'any', includeInactive: true, limit: 100 });
      expect(hits.every((hit) => A_SEES.includes(hit.scope)), statement).toBe(true);
    }
    expect(await searchMemory(db, 'falcon', { scopes: A_SEES })).toEqual([]);
    expect(await searchMemory(db, 'falcon OR acme OR fridays', { scopes: A_SEES, syntax: 'fts5', limit: 100 }).then((hits) => hits.map((hit) => hit.scope))).not.toContain(SCOPE_B);
    // A column filter typed as words is text, not a way out.
    expect(await searchMemory(db, 'scope:group.T1.C2 falcon', { scopes: A_SEES })).toEqual([]);

    // Group B finds its own.
    const own = await searchMemory(db, 'falcon', { scopes: scopesVisibleTo({ groupId: GROUP_B }) });
    expect(own.map((hit) => hit.scope)).toEqual([SCOPE_B, SCOPE_B]);
  });

  it("gives the asking user's private facts to the group's search, and no one else's", async () => {
    const mine = await searchMemory(db, 'prefers meetings', { scopes: A_SEES });
    expect(mine.map((hit) => [hit.scope, hit.factId])).toEqual([[USER_SCOPE, 'u1']]);
    // Without a user (a scheduled task), only the group's own memory.
    expect(await searchMemory(db, 'prefers meetings', { scopes: scopesVisibleTo({ groupId: GROUP_A }) })).toEqual([]);
    expect(await searchMemory(db, 'prefers meetings', { scopes: [] })).toEqual([]);
  });
});

describe('malformed queries', () => {
  const problemOf = async (query: string, options: { syntax?: 'words' | 'fts5' } = {}) => {
    try {
      await searchMemory(db, query, { scopes: A_SEES, ...options });
    } catch (error) {
      expect(error).toBeInstanceOf(MemoryQueryError);
      return { problem: (error as MemoryQueryError).problem, message: (error as Error).message };
    }
    return undefined;
  };

  it('searches operators, quotes and column filters typed as words as plain text', async () => {
    for (const query of ['"acme', 'acme AND OR', 'acme NOT', 'NEAR(acme', 'key: acme', '(acme', 'acme -', '"""acme"', "acme's terms", 'acme ^']) {
      expect(await problemOf(query), query).toBeUndefined();
    }
    expect((await searchMemory(db, '"acme', { scopes: A_SEES })).length).toBeGreaterThan(0);
  });

  it('searches the operator words AND and OR as the words themselves, not as FTS5 operators', async () => {
    // As FTS5 syntax 'AND OR' is an error; as words it asks for chunks holding both "and" and "or".
    // No memory in the scenario says "or", so every word matching finds nothing, without an error...
    expect(await searchMemory(db, 'AND OR', { scopes: A_SEES })).toEqual([]);
    // ...and any word matching finds exactly the chunks that say "and", with the word marked.
    const anyWord = await searchMemory(db, 'AND OR', { scopes: A_SEES, match: 'any' });
    expect(anyWord.length).toBeGreaterThan(0);
    expect(anyWord).toEqual(await searchMemory(db, 'and', { scopes: A_SEES }));
    for (const hit of anyWord) expect(hit.text).toContain('**and**');
  });

  it('names a words query with nothing to search for', async () => {
    expect(await problemOf('*')).toMatchObject({ problem: 'no_search_terms', message: expect.stringContaining('has no words to search for') });
    expect(await problemOf('!!! :: --')).toMatchObject({ problem: 'no_search_terms' });
    expect(await problemOf('   ')).toMatchObject({ problem: 'empty_query' });
    expect(await problemOf('x'.repeat(1_001))).toMatchObject({ problem: 'query_too_long' });
  });

  it('turns what SQLite cannot parse in an FTS5 query into a clear error', async () => {
    const fts5 = { syntax: 'fts5' as const };
    expect(await problemOf('"acme', fts5)).toMatchObject({ problem: 'unbalanced_quotes', message: expect.stringContaining('unbalanced double quote') });
    expect(await problemOf('AND OR', fts5)).toMatchObject({ problem: 'syntax_error', message: expect.stringMatching(/is not valid FTS5: syntax error near "AND"/) });
    expect(await problemOf('acme AND', fts5)).toMatchObject({ problem: 'syntax_error' });
    expect(await problemOf('*', fts5)).toMatchObject({ problem: 'syntax_error' });
    expect(await problemOf('acme NEAR(', fts5)).toMatchObject({ problem: 'syntax_error' });
    expect(await problemOf('scope:group.T1.C2', fts5)).toMatchObject({
      problem: 'unknown_column',
      message: expect.stringContaining("filters on column 'scope'; only 'text' and 'key' can be searched"),
    });
    expect(await problemOf('', fts5)).toMatchObject({ problem: 'empty_query' });
  });

  it('refuses a scope that is not one, and a bad limit', async () => {
    await expect(searchMemory(db, 'acme', { scopes: ["group.A')OR(1=1"] })).resolves.toEqual([]);
    await expect(searchMemory(db, 'acme', { scopes: ['T1.C2'] })).rejects.toMatchObject({ name: 'MemoryQueryError', problem: 'invalid_scope' });
    await expect(searchMemory(db, 'acme', { scopes: A_SEES, limit: 0 })).rejects.toMatchObject({ problem: 'invalid_limit' });
    await expect(searchMemory(db, 'acme', { scopes: A_SEES, limit: 1.5 })).rejects.toMatchObject({ problem: 'invalid_limit' });
  });
});

describe('rebuild', () => {
  it('gives the same rows and the same search results from a fresh file fed the same events', async () => {
    const fresh = await openProjection(join(dir.path, 'rebuilt.db'), memoryIndexProjection);
    try {
      await applyEvents(fresh, memoryIndexProjection, events, { batchSize: 1_000 });
      const dump = async (connection: SqliteConnection) => ({
        facts: await connection.all('SELECT * FROM memory_facts ORDER BY scope, fact_id'),
        chunks: await connection.all('SELECT * FROM memory_chunks ORDER BY chunk_id'),
        fts: await connection.all('SELECT rowid, text, key FROM memory_chunks_fts ORDER BY rowid'),
        conflicts: await connection.all('SELECT * FROM memory_conflict_facts ORDER BY scope, key, fact_id'),
      });
      expect(await dump(fresh)).toEqual(await dump(db));
      const queries: Array<[string, Parameters<typeof searchMemory>[2]]> = [
        ['acme', { scopes: A_SEES }],
        ['the', { scopes: [SCOPE_A, SCOPE_B, USER_SCOPE], limit: 50, includeInactive: true }],
        ['vendor review globex', { scopes: A_SEES, match: 'any' }],
        ['falcon OR acme', { scopes: [SCOPE_B], syntax: 'fts5' }],
      ];
      for (const [query, options] of queries) {
        const before: MemorySearchHit[] = await searchMemory(db, query, options);
        expect(await searchMemory(fresh, query, options), query).toEqual(before);
      }
      expect(await showMemory(fresh, SCOPE_A, { includeInactive: true })).toEqual(await showMemory(db, SCOPE_A, { includeInactive: true }));
    } finally {
      await fresh.close();
    }
  });
});

describe('consolidation state', () => {
  it('follows requests and consolidations per group scope', async () => {
    const file = await openProjection(join(dir.path, 'consolidation.db'), memoryIndexProjection);
    try {
      const more = [
        ...events,
        ...(await world.append('memory-group.T1.C1', [
          memoryConsolidated.create({ scope: SCOPE_A, factIds: [], dailyLogDay: '2026-01-05', throughMessageId: '1712349999.000200' }),
        ])),
      ];
      await applyEvents(file, memoryIndexProjection, more);
      expect(await consolidationState(file, SCOPE_A)).toMatchObject({
        pendingThrough: null,
        consolidatedThrough: '1712349999.000200',
        lastDailyLogDay: '2026-01-05',
      });
      expect(await consolidationState(file, SCOPE_B)).toBeNull();
    } finally {
      await file.close();
    }
  });

  it('closes a failed request: nothing is pending, and where consolidation had read is kept', async () => {
    const file = await openProjection(join(dir.path, 'consolidation-failed.db'), memoryIndexProjection);
    try {
      const before = await applyEvents(file, memoryIndexProjection, events).then(() => consolidationState(file, SCOPE_A));
      expect(before?.pendingThrough).toBe('1712349999.000200');
      const failed = await world.append('memory-group.T1.C1', [
        memoryConsolidationFailed.create({ scope: SCOPE_A, requestId: 'request-1', throughMessageId: '1712349999.000200', attempts: 3, reason: 'the model answered prose' }),
      ]);
      await applyEvents(file, memoryIndexProjection, failed);
      expect(await consolidationState(file, SCOPE_A)).toMatchObject({ pendingThrough: null, pendingSince: null, consolidatedThrough: before?.consolidatedThrough ?? null });
    } finally {
      await file.close();
    }
  });
});
