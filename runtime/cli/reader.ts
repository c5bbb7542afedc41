/**
 * Read-only access to the event store for the `events` commands. A reader takes no lock,
 * so these commands work while `ledgerclaw start` holds the data directory. A data
 * directory where nothing was written yet has no database; that is an empty store, not
 * an error.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventCatalogue } from '../../events/catalogue.js';
import { SchemaVersionError, StoreNotFoundError } from '../../events/errors.js';
import type { Config } from '../config.js';
import { openEventStore, type OpenedEventStore } from '../open-store.js';

const READER_ACTOR = 'cli';

export interface ReaderOptions {
  /** The catalogue events are decoded with; the registered one unless given. */
  readonly catalogue?: EventCatalogue;
}

/** The store opened read-only, or null when no database exists yet. */
export async function openReader(config: Config, options: ReaderOptions = {}): Promise<OpenedEventStore | null> {
  try {
    return await openEventStore(config, { mode: 'reader', actor: READER_ACTOR, ...options });
  } catch (error) {
    if (error instanceof StoreNotFoundError) return null;
    throw error;
  }
}

/** Runs `use` with a reader (null for a store not created yet), then closes it. */
export async function withReader<T>(
  config: Config,
  use: (opened: OpenedEventStore | null) => Promise<T>,
  options: ReaderOptions = {},
): Promise<T> {
  const opened = await openReader(config, options);
  try {
    return await use(opened);
  } finally {
    await opened?.close();
  }
}

const CREATION_POLL_MS = 250;
/** How long a just-created database may stay unmigrated before that counts as a real error. */
const MIGRATION_GRACE_POLLS = 40;

/**
 * Waits until the database exists and can be read, for a follower started before the
 * runtime ever ran. Resolves null if `stopped()` turns true first.
 */
export async function waitForReader(config: Config, stopped: () => boolean): Promise<OpenedEventStore | null> {
  let unmigratedPolls = 0;
  while (!stopped()) {
    try {
      const opened = await openReader(config);
      if (opened) return opened;
    } catch (error) {
      // The runtime creates the file a moment before it migrates it.
      if (!(error instanceof SchemaVersionError) || ++unmigratedPolls > MIGRATION_GRACE_POLLS) throw error;
    }
    await sleep(CREATION_POLL_MS);
  }
  return null;
}
