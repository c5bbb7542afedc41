/**
 * Shared by the knowledge integration tests: a real SQLite event store with the knowledge
 * events, the projection host building knowledge caches in a data directory, and search
 * over the caches found there (as the CLI finds them).
 */
import { join } from 'node:path';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { EventCatalogue } from '../../../events/catalogue.js';
import { knowledgeEvents } from '../../../events/catalogue/knowledge.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { knowledgeCacheProjection } from '../../../projections/knowledge-cache.js';
import { searchKnowledge, type KnowledgeSearchResult, type SearchKnowledgeOptions } from '../../../projections/knowledge-search.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { listKnowledgeCacheFiles, openKnowledgeCaches } from '../../../runtime/cli/search-command.js';

export const knowledgeCatalogue = new EventCatalogue(knowledgeEvents);

export async function openKnowledgeStore(dataDir: string): Promise<EventStore> {
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  return createEventStore(backend, knowledgeCatalogue);
}

/** Starts the projection host with a cache per source and waits until each has applied everything stored. */
export async function projectCaches(store: EventStore, dataDir: string, sources: readonly string[]): Promise<ProjectionHost> {
  const host = new ProjectionHost({ store, dataDir, projections: sources.map((source) => knowledgeCacheProjection(source)), batchSize: 200 });
  await host.start();
  await catchUp(host, store, sources);
  return host;
}

export async function catchUp(host: ProjectionHost, store: EventStore, sources: readonly string[]): Promise<void> {
  const head = await store.headPosition();
  for (const source of sources) await host.waitFor(`knowledge-${source}`, head);
}

/** Searches the caches of a data directory, as `ledgerclaw search` does. */
export async function searchDataDir(dataDir: string, query: string, options: SearchKnowledgeOptions): Promise<KnowledgeSearchResult[]> {
  const opened = await openKnowledgeCaches(await listKnowledgeCacheFiles(dataDir));
  try {
    return await searchKnowledge(opened.caches, query, options);
  } finally {
    await opened.close();
  }
}
