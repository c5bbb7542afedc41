/**
 * The SQLite files in the data directory that are caches of the events: `snapshots.db`,
 * `read-models/catalog.db` and the read-model files the catalog names. Only `events.db` is
 * the store. A cache that turns out corrupt is moved aside (kept, for whoever wants to know
 * why) and built again from the events; it never stops the runtime, and it is never
 * reported as a corrupt event store.
 */
import { rename } from 'node:fs/promises';
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import { StoreCorruptError } from '../events/errors.js';

/** The files SQLite keeps beside a database: WAL, shared memory, rollback journal. */
const SIDE_FILE_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

/** The driver said the file is not a database or its pages are damaged. */
export function isCorruptFile(error: unknown): error is StoreCorruptError {
  return error instanceof StoreCorruptError;
}

/**
 * Renames `path` to `<path>.corrupt-<time>`, and each of its side files to the same name
 * with its suffix (so SQLite can still open the copy with its WAL). Returns the new path.
 */
export async function moveCorruptFileAside(path: string, now: Date = new Date()): Promise<string> {
  // No colons: the name stays usable on every filesystem and in a Docker bind.
  const aside = `${path}.corrupt-${now.toISOString().replace(/:/g, '-')}`;
  for (const suffix of ['', ...SIDE_FILE_SUFFIXES]) {
    await rename(`${path}${suffix}`, `${aside}${suffix}`).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  return aside;
}

/**
 * A reader (which may not move anything: it holds no lock) found a cache corrupt. Says what
 * it is and what mends it, instead of "the event store is corrupt, restore it from a backup".
 */
export class CacheCorruptError extends Error {
  readonly code = 'cache_corrupt';
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(
      `the cache ${path} is corrupt (${corruptionDetail(cause)}); the events it is built from are not affected, ` +
        'and the next `ledgerclaw start` moves it aside and builds it again',
      { cause },
    );
    this.name = 'CacheCorruptError';
  }
}

/** `open()`, with a corrupt file reported as the cache it is. */
export async function openCacheForReading<T>(path: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    throw isCorruptFile(error) ? new CacheCorruptError(path, error) : error;
  }
}

/** What the driver said, for a log line: StoreCorruptError's own message speaks of the event store. */
export function corruptionDetail(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Runs SQLite's `quick_check` (every page read once; no index cross-check) on an open cache
 * and throws a corruption when it finds anything: damage the first reads did not reach.
 */
export async function checkCacheIntegrity(connection: SqliteConnection): Promise<void> {
  const rows = await connection.all<{ quick_check: string }>('PRAGMA quick_check(3)');
  const findings = rows.map((row) => row.quick_check).filter((finding) => finding !== 'ok');
  if (findings.length === 0) return;
  const detail = `quick_check: ${findings.join('; ')}`;
  throw new StoreCorruptError(connection.path, detail, { cause: new Error(detail) });
}
