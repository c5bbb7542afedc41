/**
 * A knowledge cache: one source's documents (`knowledge-<source>`) as an FTS5 index of
 * chunks, for `searchKnowledge` (projections/knowledge-search.ts).
 *
 * Each document is cut into chunks of about {@link CHUNK_TOKENS} tokens (estimated as
 * ceil(chars / 4)): code on blank lines, then on groups of lines; prose on paragraphs,
 * then on sentences, then on words. Every chunk row carries its document's title (indexed,
 * weighted twice the body in BM25), the document id, its visibility, `updatedAt` and url,
 * so a search filters, ranks and shows a result from the chunk row alone. `knowledge_documents` keeps one row
 * per document (title, url, hash, where its chunks are) so a change or removal deletes
 * exactly that document's chunks by rowid range.
 *
 * `apply` is deterministic: chunk rowids come from a counter in the read model, times come
 * from the events, so a rebuild gives the same rows. Events of other sources' streams
 * (the host hands every knowledge event to every cache) are skipped.
 */
import type { SqliteConnection, SqlValue } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import {
  knowledgeDocumentAdded,
  knowledgeDocumentChanged,
  knowledgeDocumentRemoved,
  knowledgeSourceSchema,
  knowledgeStreamId,
  type KnowledgeDocumentData,
  type KnowledgeFormat,
  type KnowledgeVisibility,
} from '../events/catalogue/knowledge.js';
import { defineProjection, type Projection } from './projection.js';

/** About this many tokens a chunk. */
export const CHUNK_TOKENS = 400;
/** Characters a token is estimated at. */
export const CHARS_PER_TOKEN = 4;
export const CHUNK_CHARS = CHUNK_TOKENS * CHARS_PER_TOKEN;

export const KNOWLEDGE_CACHE_VERSION = 1;
export const KNOWLEDGE_CACHE_PREFIX = 'knowledge-';

/** `ceil(chars / 4)`: the estimate chunk sizes are held to. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * A usable source id from any name: lower case, runs of anything but letters and digits
 * become one dash (`Canton Docs` → `canton-docs`). Throws when nothing is left.
 */
export function sanitizeKnowledgeSource(name: string): string {
  const source = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  if (source === '') throw new Error(`knowledge source name ${JSON.stringify(name)} has no letters or digits`);
  return source;
}

/** `knowledge-<source>`: the read model's name (and the stream's). */
export function knowledgeCacheName(source: string): string {
  return `${KNOWLEDGE_CACHE_PREFIX}${knowledgeSourceSchema.parse(source)}`;
}

// ---------------------------------------------------------------------------------------
// Chunking.

/** Cuts `text` at `max` characters or before, never between the halves of a surrogate pair. */
function hardSplit(text: string, max: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + max);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

/** Splits at the last whitespace at or before `max` while the text is longer; words longer than `max` are cut. */
function splitOnWhitespace(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const window = rest.slice(0, max + 1);
    const cut = Math.max(window.lastIndexOf(' '), window.lastIndexOf('\n'), window.lastIndexOf('\t'));
    if (cut <= 0) {
      const [head] = hardSplit(rest, max);
      pieces.push(head!);
      rest = rest.slice(head!.length);
    } else {
      pieces.push(rest.slice(0, cut).trimEnd());
      rest = rest.slice(cut + 1).trimStart();
    }
  }
  if (rest.trim() !== '') pieces.push(rest);
  return pieces;
}

/** A prose paragraph longer than `max`: sentences packed together, long sentences cut on words. */
function splitProse(paragraph: string, max: number): string[] {
  const sentences = paragraph.split(/(?<=[.!?])\s+/u).flatMap((sentence) => (sentence.length > max ? splitOnWhitespace(sentence, max) : [sentence]));
  return pack(sentences, max, ' ');
}

/** A code block longer than `max`: groups of whole lines, long lines cut. */
function splitCode(block: string, max: number): string[] {
  const lines = block.split('\n').flatMap((codeLine) => (codeLine.length > max ? hardSplit(codeLine, max) : [codeLine]));
  return pack(lines, max, '\n');
}

/** Greedy packing: pieces joined with `separator` while the result stays within `max`. */
function pack(pieces: readonly string[], max: number, separator: string): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current === '') current = piece;
    else if (current.length + separator.length + piece.length <= max) current += separator + piece;
    else {
      chunks.push(current);
      current = piece;
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

/**
 * The chunks of a document, in order, each at most `maxChars` long. Blocks (separated by
 * blank lines) are packed together up to the limit; a block longer than that is split as
 * its format says. An empty document is one empty chunk, so its title is still found.
 */
export function chunkText(content: string, format: KnowledgeFormat, maxChars: number = CHUNK_CHARS): string[] {
  const text = content.replace(/\r\n?/g, '\n');
  const blocks = text
    .split(/\n[ \t]*\n/)
    .map((block) => (format === 'code' ? block.replace(/^\n+|\s+$/g, '') : block.trim()))
    .filter((block) => block.trim() !== '');
  const pieces = blocks.flatMap((block) => {
    if (block.length <= maxChars) return [block];
    return format === 'code' ? splitCode(block, maxChars) : splitProse(block, maxChars);
  });
  const chunks = pack(pieces, maxChars, '\n\n');
  return chunks.length === 0 ? [''] : chunks;
}

// ---------------------------------------------------------------------------------------
// Schema and apply.

/** The FTS5 table searched; `knowledge-search.ts` queries it by these names. */
export const CHUNKS_TABLE = 'knowledge_chunks';
export const DOCUMENTS_TABLE = 'knowledge_documents';
export const INFO_TABLE = 'knowledge_cache_info';

/** Weights of the indexed columns (title, body) in BM25; the rest are unindexed. */
export const BM25_WEIGHTS = [2.0, 1.0] as const;

function schemaFor(source: string): string {
  return `
    CREATE TABLE ${INFO_TABLE} (
      singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
      source     TEXT    NOT NULL,
      next_chunk INTEGER NOT NULL
    ) STRICT;
    INSERT INTO ${INFO_TABLE} (singleton, source, next_chunk) VALUES (1, '${source}', 1);
    CREATE TABLE ${DOCUMENTS_TABLE} (
      document_id     TEXT    PRIMARY KEY,
      title           TEXT    NOT NULL,
      url             TEXT,
      updated_at      TEXT    NOT NULL,
      content_hash    TEXT    NOT NULL,
      visibility_kind TEXT    NOT NULL,
      visibility_id   TEXT,
      format          TEXT    NOT NULL,
      first_chunk     INTEGER NOT NULL,
      chunk_count     INTEGER NOT NULL
    ) STRICT;
    CREATE VIRTUAL TABLE ${CHUNKS_TABLE} USING fts5(
      title,
      body,
      document_id     UNINDEXED,
      visibility_kind UNINDEXED,
      visibility_id   UNINDEXED,
      updated_at      UNINDEXED,
      url             UNINDEXED,
      tokenize = 'porter unicode61 remove_diacritics 2'
    );
    INSERT INTO ${CHUNKS_TABLE} (${CHUNKS_TABLE}, rank) VALUES ('rank', 'bm25(${BM25_WEIGHTS.map((weight) => weight.toFixed(1)).join(', ')})');
  `;
}

/** The visibility as two columns: kind, and the channel or group id (null when public). */
export function visibilityColumns(visibility: KnowledgeVisibility): [string, string | null] {
  switch (visibility.kind) {
    case 'public':
      return ['public', null];
    case 'private_channel':
      return ['private_channel', visibility.channelId];
    case 'group':
      return ['group', visibility.groupId];
  }
}

/** Rows per INSERT statement: 8 parameters each, far below SQLite's 32,766. */
const INSERT_ROWS = 500;

async function deleteDocument(db: SqliteConnection, documentId: string): Promise<void> {
  const existing = await db.get<{ first_chunk: number; chunk_count: number }>(
    `SELECT first_chunk, chunk_count FROM ${DOCUMENTS_TABLE} WHERE document_id = ?`,
    [documentId],
  );
  if (!existing) return;
  await db.run(`DELETE FROM ${CHUNKS_TABLE} WHERE rowid >= ? AND rowid < ?`, [existing.first_chunk, existing.first_chunk + existing.chunk_count]);
  await db.run(`DELETE FROM ${DOCUMENTS_TABLE} WHERE document_id = ?`, [documentId]);
}

/** Replaces a document's chunks and row with those of `data`. */
export async function writeKnowledgeDocument(db: SqliteConnection, data: KnowledgeDocumentData): Promise<void> {
  await deleteDocument(db, data.documentId);
  const format = data.format ?? 'prose';
  const chunks = chunkText(data.content, format);
  const info = await db.get<{ next_chunk: number }>(`SELECT next_chunk FROM ${INFO_TABLE} WHERE singleton = 1`);
  if (!info) throw new Error(`${INFO_TABLE} is missing its row: the read model was not created from its schema`);
  const first = info.next_chunk;
  const [visibilityKind, visibilityId] = visibilityColumns(data.visibility);
  for (let start = 0; start < chunks.length; start += INSERT_ROWS) {
    const slice = chunks.slice(start, start + INSERT_ROWS);
    const params: SqlValue[] = [];
    slice.forEach((body, index) => {
      params.push(first + start + index, data.title, body, data.documentId, visibilityKind, visibilityId, data.updatedAt, data.url ?? null);
    });
    await db.run(
      `INSERT INTO ${CHUNKS_TABLE} (rowid, title, body, document_id, visibility_kind, visibility_id, updated_at, url) VALUES ${slice
        .map(() => '(?, ?, ?, ?, ?, ?, ?, ?)')
        .join(', ')}`,
      params,
    );
  }
  await db.run(
    `INSERT INTO ${DOCUMENTS_TABLE}
       (document_id, title, url, updated_at, content_hash, visibility_kind, visibility_id, format, first_chunk, chunk_count)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [data.documentId, data.title, data.url ?? null, data.updatedAt, data.contentHash, visibilityKind, visibilityId, format, first, chunks.length],
  );
  await db.run(`UPDATE ${INFO_TABLE} SET next_chunk = ? WHERE singleton = 1`, [first + chunks.length]);
}

export interface KnowledgeCacheProjection extends Projection {
  readonly source: string;
}

/** The cache of one source: read model `knowledge-<source>`. */
export function knowledgeCacheProjection(source: string): KnowledgeCacheProjection {
  const name = knowledgeCacheName(source);
  const streamId = knowledgeStreamId(source);
  const projection = defineProjection({
    name,
    version: KNOWLEDGE_CACHE_VERSION,
    eventTypes: [knowledgeDocumentAdded.type, knowledgeDocumentChanged.type, knowledgeDocumentRemoved.type],
    schema: schemaFor(source),
    async apply(db: SqliteConnection, event: StoredEvent): Promise<void> {
      if (event.streamId !== streamId) return;
      if (knowledgeDocumentAdded.is(event) || knowledgeDocumentChanged.is(event)) {
        await writeKnowledgeDocument(db, event.data);
      } else if (knowledgeDocumentRemoved.is(event)) {
        await deleteDocument(db, event.data.documentId);
      }
    },
  });
  return Object.assign(projection, { source });
}
