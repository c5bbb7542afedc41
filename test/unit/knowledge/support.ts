/**
 * Helpers for the knowledge unit tests: stored events made by hand, a read model in
 * memory with a cache's schema, and a catalogue of the knowledge events.
 */
import { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { EventCatalogue } from '../../../events/catalogue.js';
import { knowledgeEvents, type KnowledgeDocumentData } from '../../../events/catalogue/knowledge.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { sha256Hex } from '../../../runtime/knowledge/connector.js';
import type { Projection } from '../../../projections/projection.js';

export const knowledgeCatalogue = new EventCatalogue(knowledgeEvents);

let position = 0n;

/** A stored event as the host would hand it to `apply`. */
export function stored(streamId: string, type: string, data: unknown, revision = 0n): StoredEvent {
  position += 1n;
  return {
    id: `00000000-0000-4000-8000-${position.toString().padStart(12, '0')}`,
    streamId,
    revision,
    position,
    type,
    version: 1,
    storedVersion: 1,
    data,
    metadata: { correlationId: 'test', causationId: null, actor: 'test', occurredAt: '2026-01-01T00:00:00.000Z' },
    recordedAt: '2026-01-01T00:00:00.000Z',
    prevHash: '0'.repeat(64),
    hashVersion: 2,
    hash: '0'.repeat(64),
  };
}

export function documentData(source: string, documentId: string, content: string, extra: Partial<KnowledgeDocumentData> = {}): KnowledgeDocumentData {
  return {
    source,
    documentId,
    title: documentId,
    content,
    contentHash: sha256Hex(content),
    updatedAt: '2026-01-01T00:00:00.000Z',
    visibility: { kind: 'public' },
    ...extra,
  };
}

/** A fresh in-memory read model with the projection's schema. */
export async function memoryReadModel(projection: Projection): Promise<SqliteConnection> {
  const db = await SqliteConnection.open(':memory:', { create: true });
  await db.exec(`BEGIN; ${projection.schema}; COMMIT;`);
  return db;
}
