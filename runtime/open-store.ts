/**
 * Opens the configured event store for the runtime or for a CLI command. A writer takes
 * the data directory's writer lock before it touches the database, so a second writer is
 * refused with a clear message instead of interleaving with the first; a reader takes no
 * lock and works beside a running writer.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openSqliteBackend, type SqliteBackend } from '../events/adapters/sqlite/sqlite-backend.js';
import type { EventCatalogue } from '../events/catalogue.js';
import { catalogue as registeredCatalogue } from '../events/catalogue/index.js';
import { createEventStore } from '../events/event-store.js';
import type { EventStore } from '../events/port.js';
import type { Config } from './config.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';

export const EVENTS_DB_FILE = 'events.db';

export type StoreMode = 'writer' | 'reader';

export interface OpenStoreOptions {
  readonly mode: StoreMode;
  /** `metadata.actor` for events appended without one: `runtime`, `cli`. */
  readonly actor: string;
  /** Written into the writer lock, for the operator who finds it. */
  readonly command?: string;
  /** The event types the store knows: events/catalogue/index.ts unless given (tests). */
  readonly catalogue?: EventCatalogue;
}

export interface OpenedEventStore {
  readonly store: EventStore;
  readonly backend: SqliteBackend;
  /** The writer lock; undefined for a reader. */
  readonly lock: DataDirLock | undefined;
  /** Closes the store, then releases the lock. */
  close(): Promise<void>;
}

export function eventsDbPath(config: Config): string {
  return join(config.dataDir, EVENTS_DB_FILE);
}

export async function openEventStore(config: Config, options: OpenStoreOptions): Promise<OpenedEventStore> {
  // Only 'sqlite' exists today; the switch is where 'eventstoredb' will go.
  switch (config.eventStore.backend) {
    case 'sqlite':
      return openSqliteStore(config, options);
  }
}

async function openSqliteStore(config: Config, options: OpenStoreOptions): Promise<OpenedEventStore> {
  let lock: DataDirLock | undefined;
  if (options.mode === 'writer') {
    await mkdir(config.dataDir, { recursive: true });
    lock = await acquireDataDirLock(config.dataDir, options.command === undefined ? {} : { command: options.command });
  }
  let backend: SqliteBackend;
  try {
    backend = await openSqliteBackend({ path: eventsDbPath(config), mode: options.mode, ...config.eventStore.sqlite });
  } catch (error) {
    lock?.release();
    throw error;
  }
  const store = createEventStore(backend, options.catalogue ?? registeredCatalogue, { defaultActor: options.actor });
  let closing: Promise<void> | undefined;
  return {
    store,
    backend,
    lock,
    close: () => {
      closing ??= store.close().finally(() => lock?.release());
      return closing;
    },
  };
}
