/**
 * Opens the configured event store for the runtime or for a CLI command.
 *
 * SQLite: a writer takes the data directory's writer lock before it touches the database,
 * so a second writer is refused with a clear message instead of interleaving with the
 * first; a reader takes no lock and works beside a running writer.
 *
 * EventStoreDB: the connection string comes from LEDGERCLAW_EVENTSTOREDB_URL only, and the
 * adapter's local index (a cache) lives in the data directory. The store is shared between
 * machines, so its one-writer rule is the lease on the `runtime-lease` stream (runtime/lease),
 * which sets the backend's write guard; a writer still takes the data directory's lock, for
 * the caches in it.
 */
import { join } from 'node:path';
import { openEventStoreDbBackend, type EventStoreDbBackend } from '../events/adapters/eventstoredb/eventstoredb-backend.js';
import { openSqliteBackend, type SqliteBackend } from '../events/adapters/sqlite/sqlite-backend.js';
import type { EventCatalogue } from '../events/catalogue.js';
import { catalogue as registeredCatalogue } from '../events/catalogue/index.js';
import { createEventStore } from '../events/event-store.js';
import type { EventStore } from '../events/port.js';
import type { Logger } from './logger.js';
import type { Config } from './config.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { ensurePrivateDataDir, modeText } from './data-dir-permissions.js';
import { readEventStoreDbUrl } from './eventstoredb-url.js';
import { leaseAccessOfBackend } from './lease/lease-access.js';
import type { HeldLease } from './lease/runtime-lease.js';
import { takeLeaseForCommand } from './lease/store-lease.js';

export const EVENTS_DB_FILE = 'events.db';
/** The EventStoreDB adapter's local index: a cache, rebuilt from $all when missing. */
export const EVENTSTOREDB_INDEX_FILE = 'eventstoredb-index.db';

export type StoreMode = 'writer' | 'reader';

export interface OpenStoreOptions {
  readonly mode: StoreMode;
  /** `metadata.actor` for events appended without one: `runtime`, `cli`. */
  readonly actor: string;
  /** Written into the writer lock, for the operator who finds it. */
  readonly command?: string;
  /** The event types the store knows: events/catalogue/index.ts unless given (tests). */
  readonly catalogue?: EventCatalogue;
  /** Told when the writer found the data directory open to others (and tightened it). */
  readonly logger?: Logger;
  /**
   * EventStoreDB: the caller takes the store's lease itself (the runtime, which stands by
   * for it). Any other writer takes it here, or is refused while a live runtime holds it.
   */
  readonly leaseByCaller?: boolean;
  /** Where LEDGERCLAW_EVENTSTOREDB_URL is read from: process.env unless given (tests). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface OpenedEventStore {
  readonly store: EventStore;
  readonly backend: SqliteBackend | EventStoreDbBackend;
  /** The data directory's writer lock; undefined for a reader. On EventStoreDB it covers the local caches; the lease covers the store. */
  readonly lock: DataDirLock | undefined;
  /** Closes the store, then releases the lock. */
  close(): Promise<void>;
}

export function eventsDbPath(config: Config): string {
  return join(config.dataDir, EVENTS_DB_FILE);
}

export async function openEventStore(config: Config, options: OpenStoreOptions): Promise<OpenedEventStore> {
  switch (config.eventStore.backend) {
    case 'sqlite':
      return openSqliteStore(config, options);
    case 'eventstoredb':
      return openEventStoreDbStore(config, options);
  }
}

export function eventStoreDbIndexPath(config: Config): string {
  return join(config.dataDir, EVENTSTOREDB_INDEX_FILE);
}

async function openEventStoreDbStore(config: Config, options: OpenStoreOptions): Promise<OpenedEventStore> {
  const connectionString = readEventStoreDbUrl(options.env ?? process.env);
  // The index names every stream and correlation id: private like the SQLite store.
  let lock: DataDirLock | undefined;
  if (options.mode === 'writer') {
    await makeDataDirPrivate(config.dataDir, options.logger);
    // The lease makes one runtime the store's writer; the data directory's caches (this
    // index, snapshots, read models, the control socket) still have one writer process,
    // and a CLI command finds the runtime that holds them by this lock and goes through it.
    lock = await acquireDataDirLock(config.dataDir, options.command === undefined ? {} : { command: options.command });
  }
  let backend: EventStoreDbBackend;
  try {
    backend = await openEventStoreDbBackend({
      connectionString,
      mode: options.mode,
      indexPath: eventStoreDbIndexPath(config),
      requestTimeoutMs: config.eventStore.eventstoredb.requestTimeoutMs,
    });
  } catch (error) {
    lock?.release();
    throw error;
  }
  let lease: HeldLease | undefined;
  if (options.mode === 'writer' && options.leaseByCaller !== true) {
    try {
      lease = await takeLeaseForCommand(leaseAccessOfBackend(backend), { config, ...(options.logger ? { logger: options.logger } : {}) });
    } catch (error) {
      await backend.close();
      lock?.release();
      throw error;
    }
  }
  return openedStore(backend, lock, options, () => lease?.release());
}

async function openSqliteStore(config: Config, options: OpenStoreOptions): Promise<OpenedEventStore> {
  let lock: DataDirLock | undefined;
  if (options.mode === 'writer') {
    await makeDataDirPrivate(config.dataDir, options.logger);
    lock = await acquireDataDirLock(config.dataDir, options.command === undefined ? {} : { command: options.command });
  }
  let backend: SqliteBackend;
  try {
    backend = await openSqliteBackend({ path: eventsDbPath(config), mode: options.mode, ...config.eventStore.sqlite });
  } catch (error) {
    lock?.release();
    throw error;
  }
  return openedStore(backend, lock, options);
}

/**
 * The store over an opened backend. Closing it runs `beforeClose` (releasing the lease on
 * EventStoreDB, so a standby takes over at once), closes the store, then releases the lock;
 * a second call waits for the first.
 */
function openedStore(
  backend: SqliteBackend | EventStoreDbBackend,
  lock: DataDirLock | undefined,
  options: OpenStoreOptions,
  beforeClose: () => Promise<void> | undefined = () => undefined,
): OpenedEventStore {
  const store = createEventStore(backend, options.catalogue ?? registeredCatalogue, { defaultActor: options.actor });
  let closing: Promise<void> | undefined;
  return {
    store,
    backend,
    lock,
    close: () => {
      closing ??= Promise.resolve(beforeClose())
        .then(() => store.close())
        .finally(() => lock?.release());
      return closing;
    },
  };
}

/** The writer creates the data directory 0700, and tightens one that others can enter. */
async function makeDataDirPrivate(dataDir: string, logger: Logger | undefined): Promise<void> {
  const change = await ensurePrivateDataDir(dataDir);
  if (change?.kind === 'tightened') {
    logger?.warn({ dataDir, from: modeText(change.from), to: modeText(change.from & ~0o077) }, 'the data directory was open to other users; tightened it to its owner only');
  } else if (change?.kind === 'too_open') {
    logger?.warn({ dataDir, mode: modeText(change.mode), reason: change.reason }, 'the data directory is open to other users and could not be tightened: chmod 700 it');
  }
}
