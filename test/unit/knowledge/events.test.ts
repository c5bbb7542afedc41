/**
 * The knowledge events' schemas: what a document event may carry, and what it may not.
 */
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../events/errors.js';
import {
  knowledgeCursorAdvanced,
  knowledgeDocumentAdded,
  knowledgeDocumentRemoved,
  knowledgeStreamId,
  MAX_DOCUMENT_BYTES,
} from '../../../events/catalogue/knowledge.js';
import { documentData, knowledgeCatalogue } from './support.js';

const context = { defaultActor: 'test', now: () => new Date('2026-01-01T00:00:00.000Z') };

function prepare(event: Parameters<typeof knowledgeCatalogue.prepare>[0]) {
  return knowledgeCatalogue.prepare(event, context, 'test');
}

describe('knowledge.document_added', () => {
  it('takes a document with each kind of visibility', () => {
    for (const visibility of [
      { kind: 'public' as const },
      { kind: 'private_channel' as const, channelId: 'C0PRIVATE' },
      { kind: 'group' as const, groupId: 'T1.C1' },
    ]) {
      expect(() => prepare(knowledgeDocumentAdded.create(documentData('docs', 'a.md', 'hello', { visibility, url: 'https://example.com/a' })))).not.toThrow();
    }
  });

  it('refuses content above 1 MiB of UTF-8, counting bytes rather than characters', () => {
    const justFits = 'a'.repeat(MAX_DOCUMENT_BYTES);
    expect(() => prepare(knowledgeDocumentAdded.create(documentData('docs', 'a.md', justFits)))).not.toThrow();
    // 'é' is two bytes in UTF-8: half as many characters already reach the limit.
    const tooLong = 'é'.repeat(MAX_DOCUMENT_BYTES / 2 + 1);
    expect(() => prepare(knowledgeDocumentAdded.create(documentData('docs', 'a.md', tooLong)))).toThrow(/data\.content: longer than 1048576/);
  });

  it('refuses a source id that is not lower-case words with dashes, a bad hash, a bad visibility', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ source: 'Canton Docs' }, /data\.source/],
      [{ source: 'a.b' }, /data\.source/],
      [{ contentHash: 'abc' }, /data\.contentHash/],
      [{ visibility: { kind: 'private_channel' } }, /data\.visibility/],
      [{ visibility: { kind: 'secret' } }, /data\.visibility/],
      [{ updatedAt: '2026-01-01' }, /data\.updatedAt/],
      [{ documentId: 'a\nb' }, /data\.documentId/],
      [{ token: 'xoxb-secret' }, /data/],
    ];
    for (const [override, message] of cases) {
      const data = { ...documentData('docs', 'a.md', 'x'), ...override };
      expect(() => prepare({ type: 'knowledge.document_added', data }), JSON.stringify(override)).toThrow(InvalidEventError);
      expect(() => prepare({ type: 'knowledge.document_added', data })).toThrow(message);
    }
  });
});

describe('the other knowledge events', () => {
  it('a removal names the source and the document only', () => {
    expect(() => prepare(knowledgeDocumentRemoved.create({ source: 'docs', documentId: 'a.md' }))).not.toThrow();
    expect(() => prepare({ type: 'knowledge.document_removed', data: { source: 'docs', documentId: 'a.md', content: 'x' } })).toThrow(InvalidEventError);
  });

  it('a cursor is a non-empty string of bounded size', () => {
    expect(() => prepare(knowledgeCursorAdvanced.create({ source: 'docs', cursor: '{"v":1}' }))).not.toThrow();
    expect(() => prepare(knowledgeCursorAdvanced.create({ source: 'docs', cursor: '' }))).toThrow(InvalidEventError);
    expect(() => prepare(knowledgeCursorAdvanced.create({ source: 'docs', cursor: 'x'.repeat(1024 * 1024 + 1) }))).toThrow(/longer than/);
  });

  it('the stream of a source is knowledge-<source>', () => {
    expect(knowledgeStreamId('canton-docs')).toBe('knowledge-canton-docs');
  });
});
