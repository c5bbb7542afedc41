/**
 * Search over in-memory caches: query sanitizing, access, merging by score then recency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import type { KnowledgeVisibility } from '../../../events/catalogue/knowledge.js';
import { knowledgeCacheProjection } from '../../../projections/knowledge-cache.js';
import {
  compareResults,
  groupAccess,
  KnowledgeQueryError,
  matchExpression,
  PUBLIC_ONLY,
  searchKnowledge,
  type KnowledgeCache,
  type KnowledgeSearchResult,
} from '../../../projections/knowledge-search.js';
import { documentData, memoryReadModel, stored } from './support.js';

describe('matchExpression', () => {
  it('quotes every word, so operators and punctuation are only words', () => {
    expect(matchExpression('deploy pipeline')).toBe('"deploy" AND "pipeline"');
    expect(matchExpression('NOT (x) OR "y"', 'terms', 'any')).toBe('"NOT" OR "x" OR "OR" OR "y"');
    expect(matchExpression('title:secret AND body:*')).toBe('"title" AND "secret" AND "AND" AND "body"');
    expect(matchExpression('deplo* ünïcode snake_case')).toBe('"deplo"* AND "ünïcode" AND "snake_case"');
  });

  it('refuses a query with no words, or too long', () => {
    expect(() => matchExpression('  ?! ()')).toThrow(KnowledgeQueryError);
    expect(() => matchExpression('a'.repeat(1001))).toThrow(/longer than 1000/);
    expect(() => matchExpression('   ', 'fts5')).toThrow(/empty/);
  });
});

describe('groupAccess', () => {
  it("a group sees its own channel's history", () => {
    expect(groupAccess('T1.C42')).toEqual({ groupId: 'T1.C42', channelIds: ['C42'] });
    expect(groupAccess('T1.C42.1712345678.000100', ['C7'])).toEqual({ groupId: 'T1.C42.1712345678.000100', channelIds: ['C42', 'C7'] });
  });
});

describe('compareResults', () => {
  const result = (score: number, updatedAt: string, documentId = 'd'): KnowledgeSearchResult => ({
    source: 's',
    documentId,
    title: 't',
    snippet: '',
    score,
    updatedAt,
  });

  it('orders by score, and by recency when scores tie', () => {
    const sorted = [
      result(1, '2026-01-01T00:00:00.000Z', 'low'),
      result(5, '2025-01-01T00:00:00.000Z', 'old'),
      result(5 + 1e-12, '2026-03-01T00:00:00.000Z', 'new'),
      result(9, '2020-01-01T00:00:00.000Z', 'best'),
    ].sort(compareResults);
    expect(sorted.map((entry) => entry.documentId)).toEqual(['best', 'new', 'old', 'low']);
  });
});

describe('searchKnowledge', () => {
  const caches: KnowledgeCache[] = [];
  const connections: SqliteConnection[] = [];

  async function cache(source: string, documents: { id: string; content: string; updatedAt?: string; visibility?: KnowledgeVisibility; title?: string }[]) {
    const projection = knowledgeCacheProjection(source);
    const db = await memoryReadModel(projection);
    connections.push(db);
    for (const document of documents) {
      await projection.apply(
        db,
        stored(
          `knowledge-${source}`,
          'knowledge.document_added',
          documentData(source, document.id, document.content, {
            ...(document.updatedAt ? { updatedAt: document.updatedAt } : {}),
            ...(document.visibility ? { visibility: document.visibility } : {}),
            ...(document.title ? { title: document.title } : {}),
          }),
        ),
      );
    }
    caches.push({ source, db });
  }

  beforeAll(async () => {
    await cache('docs', [
      { id: 'runbook.md', content: 'How to deploy the ledger service: run the deploy pipeline, then check the dashboards.' },
      { id: 'same-old.md', content: 'quarterly budget review', updatedAt: '2025-01-01T00:00:00.000Z' },
      { id: 'same-new.md', content: 'quarterly budget review', updatedAt: '2026-02-01T00:00:00.000Z' },
    ]);
    await cache('slack', [
      { id: 'C1/1.0', content: 'the deploy pipeline is red again', visibility: { kind: 'public' } },
      { id: 'CSECRET/2.0', content: 'secret deploy plans for the acquisition', visibility: { kind: 'private_channel', channelId: 'CSECRET' } },
      { id: 'G/3.0', content: 'group notes about deploy cadence', visibility: { kind: 'group', groupId: 'T1.COWN' } },
    ]);
  });

  afterAll(async () => {
    for (const connection of connections) await connection.close();
  });

  it('searches every cache and merges the hits by score', async () => {
    const results = await searchKnowledge(caches, 'deploy pipeline', { visibleTo: PUBLIC_ONLY });
    expect(results.map((result) => `${result.source}:${result.documentId}`).sort()).toEqual(['docs:runbook.md', 'slack:C1/1.0']);
    for (let index = 1; index < results.length; index += 1) expect(results[index - 1]!.score).toBeGreaterThanOrEqual(results[index]!.score);
    expect(results[0]!.snippet).toContain('**deploy**');
  });

  it('breaks a tie in score by recency', async () => {
    const results = await searchKnowledge(caches, 'quarterly budget', { visibleTo: PUBLIC_ONLY });
    expect(results.map((result) => result.documentId)).toEqual(['same-new.md', 'same-old.md']);
    expect(results[0]!.score).toBe(results[1]!.score);
  });

  it('filters by source', async () => {
    const results = await searchKnowledge(caches, 'deploy', { visibleTo: PUBLIC_ONLY, sources: ['docs'] });
    expect(results.map((result) => result.source)).toEqual(['docs']);
  });

  it('shows private documents only to those allowed', async () => {
    const ids = async (visibleTo: Parameters<typeof searchKnowledge>[2]['visibleTo']) =>
      (await searchKnowledge(caches, 'deploy', { visibleTo })).map((result) => result.documentId).sort();
    expect(await ids(PUBLIC_ONLY)).toEqual(['C1/1.0', 'runbook.md']);
    expect(await ids(groupAccess('T1.COWN'))).toEqual(['C1/1.0', 'G/3.0', 'runbook.md']);
    expect(await ids(groupAccess('T1.CSECRET'))).toEqual(['C1/1.0', 'CSECRET/2.0', 'runbook.md']);
    expect(await ids(groupAccess('T1.COTHER'))).toEqual(['C1/1.0', 'runbook.md']);
  });

  it('turns malformed FTS5 syntax into a KnowledgeQueryError, and never lets it widen access', async () => {
    for (const query of ['"unterminated', 'deploy AND (', 'NEAR(', 'nosuchcolumn: deploy', 'AND']) {
      await expect(searchKnowledge(caches, query, { visibleTo: PUBLIC_ONLY, syntax: 'fts5' }), query).rejects.toBeInstanceOf(KnowledgeQueryError);
    }
    const escape = await searchKnowledge(caches, 'secret OR deploy OR acquisition', { visibleTo: PUBLIC_ONLY, syntax: 'fts5' });
    expect(escape.map((result) => result.documentId)).not.toContain('CSECRET/2.0');
  });

  it('keeps one result per document and honours the limit', async () => {
    const results = await searchKnowledge(caches, 'deploy', { visibleTo: groupAccess('T1.COWN'), limit: 2 });
    expect(results).toHaveLength(2);
    await expect(searchKnowledge(caches, 'deploy', { visibleTo: PUBLIC_ONLY, limit: 0 })).rejects.toThrow(RangeError);
  });

  it('leaves out a hit whose document changed between ranking and showing it', async () => {
    const projection = knowledgeCacheProjection('moving');
    const db = await memoryReadModel(projection);
    connections.push(db);
    const add = (id: string, content: string, type = 'knowledge.document_added') =>
      projection.apply(db, stored('knowledge-moving', type, documentData('moving', id, content)));
    await add('a.md', 'invoice alpha');
    await add('b.md', 'invoice beta');
    let calls = 0;
    // The host applies a change right after the ranking query.
    const racing = {
      all: async (sql: string, params: unknown[]) => {
        const rows = await db.all(sql, params as never);
        calls += 1;
        if (calls === 1) await add('a.md', 'invoice alpha, edited', 'knowledge.document_changed');
        return rows;
      },
    } as unknown as SqliteConnection;
    const results = await searchKnowledge([{ source: 'moving', db: racing }], 'invoice', { visibleTo: PUBLIC_ONLY });
    expect(results.map((result) => result.documentId)).toEqual(['b.md']);
    expect(calls).toBe(2);
  });
});
