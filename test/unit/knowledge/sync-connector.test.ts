/**
 * syncConnector on the memory store, with a scripted connector: what it appends for new,
 * changed, unchanged and removed documents, cursors, batches, and racing syncs.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../events/adapters/memory.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import {
  foldKnowledgeStream,
  KnowledgeSyncConflictError,
  syncConnector,
  truncateUtf8,
  type Connector,
  type DocumentChange,
  type SourceDocument,
  type SyncBatch,
  type SyncContext,
} from '../../../runtime/knowledge/connector.js';
import { knowledgeCatalogue } from './support.js';

function newStore(): EventStore {
  return createEventStore(new MemoryBackend(), knowledgeCatalogue);
}

function doc(documentId: string, content: string, extra: Partial<SourceDocument> = {}): SourceDocument {
  return { documentId, title: documentId, content, updatedAt: '2026-01-01T00:00:00.000Z', visibility: { kind: 'public' }, ...extra };
}

const upsert = (document: SourceDocument): DocumentChange => ({ kind: 'upsert', document });

/** A connector that yields the batches it is given, and records the context it was started with. */
function scripted(source: string, batches: SyncBatch[]): Connector & { contexts: SyncContext[] } {
  const contexts: SyncContext[] = [];
  return {
    source,
    contexts,
    async *sync(context) {
      contexts.push({ cursor: context.cursor, documents: new Map(context.documents) });
      for (const batch of batches) yield batch;
    },
  };
}

async function events(store: EventStore, source = 'docs'): Promise<StoredEvent[]> {
  return store.readStream(`knowledge-${source}`);
}

const summary = (list: StoredEvent[]) =>
  list.map((event) => `${event.type.replace('knowledge.', '')}:${(event.data as { documentId?: string; cursor?: string }).documentId ?? (event.data as { cursor: string }).cursor}`);

describe('syncConnector', () => {
  it('appends new documents with the cursor, then nothing when the source is unchanged', async () => {
    const store = newStore();
    const first = await syncConnector(store, scripted('docs', [{ changes: [upsert(doc('a.md', 'alpha')), upsert(doc('b.md', 'beta'))], cursor: 'c1' }]));
    expect(first).toMatchObject({ source: 'docs', added: 2, changed: 0, removed: 0, unchanged: 0, appends: 1, cursor: 'c1', revision: 2n });
    expect(summary(await events(store))).toEqual(['document_added:a.md', 'document_added:b.md', 'cursor_advanced:c1']);
    const stored = await events(store);
    expect(new Set(stored.map((event) => event.metadata.correlationId))).toEqual(new Set([first.correlationId]));
    expect(stored[0]!.metadata.actor).toBe('connector:docs');
    expect((stored[0]!.data as { contentHash: string }).contentHash).toMatch(/^[0-9a-f]{64}$/);

    const connector = scripted('docs', [{ changes: [upsert(doc('a.md', 'alpha')), upsert(doc('b.md', 'beta'))], cursor: 'c1' }]);
    const second = await syncConnector(store, connector);
    expect(second).toMatchObject({ added: 0, changed: 0, unchanged: 2, appends: 0, cursor: 'c1', revision: 2n });
    expect(await events(store)).toHaveLength(3);
    // The connector was told where it stopped and what is stored.
    expect(connector.contexts[0]!.cursor).toBe('c1');
    expect([...connector.contexts[0]!.documents.keys()]).toEqual(['a.md', 'b.md']);
  });

  it('records changes and removals; a removal of an unknown document appends nothing', async () => {
    const store = newStore();
    await syncConnector(store, scripted('docs', [{ changes: [upsert(doc('a.md', 'alpha')), upsert(doc('b.md', 'beta'))], cursor: 'c1' }]));
    const report = await syncConnector(
      store,
      scripted('docs', [{ changes: [upsert(doc('a.md', 'alpha v2')), { kind: 'remove', documentId: 'b.md' }, { kind: 'remove', documentId: 'never.md' }], cursor: 'c2' }]),
    );
    expect(report).toMatchObject({ added: 0, changed: 1, removed: 1, appends: 1, cursor: 'c2' });
    expect(summary(await events(store)).slice(3)).toEqual(['document_changed:a.md', 'document_removed:b.md', 'cursor_advanced:c2']);
  });

  it('counts a new title, url, format or visibility as a change, but not a new mtime alone', async () => {
    const store = newStore();
    await syncConnector(store, scripted('docs', [{ changes: [upsert(doc('a.md', 'alpha'))] }]));
    const touched = await syncConnector(store, scripted('docs', [{ changes: [upsert(doc('a.md', 'alpha', { updatedAt: '2026-05-01T00:00:00.000Z', sourceVersion: 'v2' }))] }]));
    expect(touched).toMatchObject({ changed: 0, unchanged: 1, appends: 0 });
    const nowPrivate = await syncConnector(
      store,
      scripted('docs', [{ changes: [upsert(doc('a.md', 'alpha', { visibility: { kind: 'private_channel', channelId: 'C1' } }))] }]),
    );
    expect(nowPrivate).toMatchObject({ changed: 1 });
    for (const extra of [{ title: 'A' }, { url: 'https://example.com/a' }, { format: 'code' as const }]) {
      const report = await syncConnector(
        store,
        scripted('docs', [{ changes: [upsert(doc('a.md', 'alpha', { visibility: { kind: 'private_channel', channelId: 'C1' }, ...extra }))] }]),
      );
      expect(report.changed, JSON.stringify(extra)).toBe(1);
    }
  });

  it('gives a document that returns to earlier content (A, B, A) fresh event ids, and a retry the same ones', async () => {
    const store = newStore();
    for (const content of ['A', 'B', 'A']) await syncConnector(store, scripted('docs', [{ changes: [upsert(doc('a.md', content))] }]));
    const stored = await events(store);
    expect(stored.map((event) => event.type)).toEqual(['knowledge.document_added', 'knowledge.document_changed', 'knowledge.document_changed']);
    expect(new Set(stored.map((event) => event.id)).size).toBe(3);

    // Two stores, same history, same decision: the same ids (derived from natural keys).
    const other = newStore();
    for (const content of ['A', 'B', 'A']) await syncConnector(other, scripted('docs', [{ changes: [upsert(doc('a.md', content))] }]));
    expect((await events(other)).map((event) => event.id)).toEqual(stored.map((event) => event.id));
  });

  it('appends batch by batch: a failure part-way keeps what was stored, and the next sync resumes from its cursor', async () => {
    const store = newStore();
    const failing: Connector = {
      source: 'docs',
      async *sync() {
        yield { changes: [upsert(doc('a.md', 'alpha'))], cursor: 'after-a' };
        yield { changes: [upsert(doc('b.md', 'beta'))], cursor: 'after-b' };
        throw new Error('source went away');
      },
    };
    await expect(syncConnector(store, failing)).rejects.toThrow('source went away');
    expect(summary(await events(store))).toEqual(['document_added:a.md', 'cursor_advanced:after-a', 'document_added:b.md', 'cursor_advanced:after-b']);
    const resumed = scripted('docs', []);
    await syncConnector(store, resumed);
    expect(resumed.contexts[0]!.cursor).toBe('after-b');
  });

  it('splits a large batch into appends of bounded size, the cursor with the last', async () => {
    const store = newStore();
    const big = 'x'.repeat(600_000);
    const report = await syncConnector(
      store,
      scripted('docs', [{ changes: [upsert(doc('a', `a${big}`)), upsert(doc('b', `b${big}`)), upsert(doc('c', 'small'))], cursor: 'done' }]),
      { maxAppendBytes: 1_000_000 },
    );
    expect(report).toMatchObject({ added: 3, appends: 2 });
    expect(summary(await events(store))).toEqual(['document_added:a', 'document_added:b', 'document_added:c', 'cursor_advanced:done']);
  });

  it('refuses to write when another sync appended meanwhile', async () => {
    const store = newStore();
    const racing: Connector = {
      source: 'docs',
      async *sync() {
        // Someone else syncs the same source while this one is reading it.
        await syncConnector(store, scripted('docs', [{ changes: [upsert(doc('x.md', 'theirs'))], cursor: 'theirs' }]));
        yield { changes: [upsert(doc('y.md', 'mine'))], cursor: 'mine' };
      },
    };
    await expect(syncConnector(store, racing)).rejects.toBeInstanceOf(KnowledgeSyncConflictError);
    expect(summary(await events(store))).toEqual(['document_added:x.md', 'cursor_advanced:theirs']);
  });

  it('refuses a source id that is not one', async () => {
    await expect(syncConnector(newStore(), scripted('Not Valid', []))).rejects.toThrow();
  });
});

describe('foldKnowledgeStream', () => {
  it('knows the documents present, the cursor and the revision', async () => {
    const store = newStore();
    await syncConnector(store, scripted('docs', [{ changes: [upsert(doc('a', '1')), upsert(doc('b', '2'))], cursor: 'one' }]));
    await syncConnector(store, scripted('docs', [{ changes: [{ kind: 'remove', documentId: 'a' }], cursor: 'two' }]));
    const state = foldKnowledgeStream(await events(store));
    expect(state.cursor).toBe('two');
    expect(state.revision).toBe(4n);
    expect([...state.documents.keys()]).toEqual(['b']);
    expect(state.eventCounts.get('a')).toBe(2);
  });
});

describe('truncateUtf8', () => {
  it('cuts at a byte limit without splitting a character', () => {
    expect(truncateUtf8('héllo', 2)).toBe('h');
    expect(truncateUtf8('héllo', 3)).toBe('hé');
    expect(truncateUtf8('ok', 10)).toBe('ok');
    expect(Buffer.byteLength(truncateUtf8('😀😀😀', 5))).toBe(4);
  });
});

describe('racing syncs that decided alike', () => {
  it('a second sync that would append exactly what the first did is a recognised retry', async () => {
    const store = newStore();
    const batches = [{ changes: [upsert(doc('a.md', 'alpha'))], cursor: 'c1' }];
    const racing: Connector = {
      source: 'docs',
      async *sync() {
        await syncConnector(store, scripted('docs', batches));
        yield* batches;
      },
    };
    await expect(syncConnector(store, racing)).resolves.toMatchObject({ added: 1, cursor: 'c1' });
    expect(summary(await events(store))).toEqual(['document_added:a.md', 'cursor_advanced:c1']);
  });
});
