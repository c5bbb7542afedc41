/**
 * The knowledge cache: chunking, and `apply` on an in-memory read model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import {
  CHUNK_CHARS,
  chunkText,
  estimateTokens,
  knowledgeCacheName,
  knowledgeCacheProjection,
  sanitizeKnowledgeSource,
} from '../../../projections/knowledge-cache.js';
import { documentData, memoryReadModel, stored } from './support.js';

describe('chunkText', () => {
  it('keeps a short document whole, and an empty one as one empty chunk', () => {
    expect(chunkText('one paragraph.\n\nanother.', 'prose')).toEqual(['one paragraph.\n\nanother.']);
    expect(chunkText('', 'prose')).toEqual(['']);
    expect(chunkText('\n\n  \n', 'code')).toEqual(['']);
  });

  it('holds every chunk to about 400 tokens (ceil(chars / 4)), splitting prose on paragraphs', () => {
    const paragraphs = Array.from({ length: 12 }, (_, index) => `Paragraph ${index}. ${'word '.repeat(100).trim()}.`);
    const chunks = chunkText(paragraphs.join('\n\n'), 'prose');
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(estimateTokens(chunk)).toBeLessThanOrEqual(400);
    // Paragraphs are never cut when they fit: each chunk starts at one.
    for (const chunk of chunks) expect(chunk).toMatch(/^Paragraph \d+\./);
    expect(chunks.join('\n\n')).toBe(paragraphs.join('\n\n'));
  });

  it('splits a paragraph too long for one chunk on sentences, then words', () => {
    const sentence = `${'lorem ipsum dolor '.repeat(20).trim()}.`;
    const paragraph = Array.from({ length: 10 }, () => sentence).join(' ');
    const chunks = chunkText(paragraph, 'prose');
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(CHUNK_CHARS);
      expect(chunk.endsWith('.')).toBe(true);
    }
    const word = 'x'.repeat(CHUNK_CHARS * 2 + 5);
    const cut = chunkText(word, 'prose');
    expect(cut.map((chunk) => chunk.length)).toEqual([CHUNK_CHARS, CHUNK_CHARS, 5]);
  });

  it('splits code on blank lines, then on whole lines, keeping indentation', () => {
    const fn = (index: number) => [`function f${index}() {`, ...Array.from({ length: 30 }, (_, line) => `  const v${line} = ${line}; // ${'.'.repeat(20)}`), '}'].join('\n');
    const source = Array.from({ length: 6 }, (_, index) => fn(index)).join('\n\n');
    const chunks = chunkText(source, 'code');
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(CHUNK_CHARS);
      for (const line of chunk.split('\n')) expect(source.split('\n')).toContain(line);
    }
    expect(chunks.some((chunk) => chunk.includes('\n  const v1 = 1;'))).toBe(true);
  });

  it('never cuts a surrogate pair', () => {
    const emoji = '😀'.repeat(CHUNK_CHARS);
    for (const chunk of chunkText(emoji, 'code')) expect(chunk.isWellFormed()).toBe(true);
  });

  it('is deterministic', () => {
    const text = Array.from({ length: 50 }, (_, index) => `line ${index} `.repeat(index % 7 + 1)).join('\n');
    expect(chunkText(text, 'code')).toEqual(chunkText(text, 'code'));
  });
});

describe('names', () => {
  it('a cache is the read model knowledge-<source>', () => {
    expect(knowledgeCacheName('canton-docs')).toBe('knowledge-canton-docs');
    expect(knowledgeCacheProjection('slack').name).toBe('knowledge-slack');
    expect(() => knowledgeCacheProjection('Not Valid')).toThrow();
  });

  it('sanitizeKnowledgeSource turns any name into a source id', () => {
    expect(sanitizeKnowledgeSource('Canton Docs')).toBe('canton-docs');
    expect(sanitizeKnowledgeSource('  GitHub / ledgerclaw.repo ')).toBe('github-ledgerclaw-repo');
    expect(sanitizeKnowledgeSource('Café')).toBe('cafe');
    expect(() => sanitizeKnowledgeSource('***')).toThrow(/no letters or digits/);
  });
});

describe('apply', () => {
  const projection = knowledgeCacheProjection('docs');
  let db: SqliteConnection | undefined;

  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  async function chunks(connection: SqliteConnection) {
    return connection.all<{ rowid: number; document_id: string; body: string; visibility_kind: string; visibility_id: string | null }>(
      'SELECT rowid, document_id, body, visibility_kind, visibility_id FROM knowledge_chunks ORDER BY rowid',
    );
  }

  it('adds a document as chunks, replaces them on a change, and deletes them on removal', async () => {
    db = await memoryReadModel(projection);
    const long = Array.from({ length: 8 }, (_, index) => `Section ${index}. ${'alpha beta gamma '.repeat(40)}`).join('\n\n');
    await projection.apply(db, stored('knowledge-docs', 'knowledge.document_added', documentData('docs', 'guide.md', long)));
    await projection.apply(db, stored('knowledge-docs', 'knowledge.document_added', documentData('docs', 'other.md', 'short note')));
    const first = await chunks(db);
    expect(first.filter((row) => row.document_id === 'guide.md').length).toBe(chunkText(long, 'prose').length);
    expect(first.filter((row) => row.document_id === 'other.md')).toHaveLength(1);

    await projection.apply(
      db,
      stored('knowledge-docs', 'knowledge.document_changed', documentData('docs', 'guide.md', 'now short', { visibility: { kind: 'private_channel', channelId: 'C9' } })),
    );
    const second = await chunks(db);
    expect(second.filter((row) => row.document_id === 'guide.md')).toEqual([
      expect.objectContaining({ body: 'now short', visibility_kind: 'private_channel', visibility_id: 'C9' }),
    ]);
    expect(await db.get('SELECT count(*) AS n FROM knowledge_chunks WHERE knowledge_chunks MATCH ?', ['alpha'])).toEqual({ n: 0 });

    await projection.apply(db, stored('knowledge-docs', 'knowledge.document_removed', { source: 'docs', documentId: 'guide.md' }));
    expect((await chunks(db)).map((row) => row.document_id)).toEqual(['other.md']);
    expect(await db.all('SELECT document_id FROM knowledge_documents')).toEqual([{ document_id: 'other.md' }]);
  });

  it("skips events of other sources' streams", async () => {
    db = await memoryReadModel(projection);
    await projection.apply(db, stored('knowledge-slack', 'knowledge.document_added', documentData('slack', 'C1/1.0', 'not mine')));
    expect(await chunks(db)).toEqual([]);
  });

  it('gives the same rows for the same events (a rebuild is identical)', async () => {
    const events = [
      stored('knowledge-docs', 'knowledge.document_added', documentData('docs', 'a.ts', 'const a = 1;\n\nconst b = 2;', { format: 'code' })),
      stored('knowledge-docs', 'knowledge.document_added', documentData('docs', 'b.md', 'hello world')),
      stored('knowledge-docs', 'knowledge.document_changed', documentData('docs', 'a.ts', 'const a = 3;', { format: 'code' })),
      stored('knowledge-docs', 'knowledge.document_removed', { source: 'docs', documentId: 'b.md' }),
      stored('knowledge-docs', 'knowledge.document_added', documentData('docs', 'b.md', 'back again')),
    ];
    const dump = async () => {
      const connection = await memoryReadModel(projection);
      for (const event of events) await projection.apply(connection, event);
      const rows = {
        chunks: await connection.all('SELECT rowid, * FROM knowledge_chunks ORDER BY rowid'),
        documents: await connection.all('SELECT * FROM knowledge_documents ORDER BY document_id'),
        info: await connection.all('SELECT * FROM knowledge_cache_info'),
      };
      await connection.close();
      return rows;
    };
    const first = await dump();
    expect(first.documents).toHaveLength(2);
    expect(await dump()).toEqual(first);
  });
});
