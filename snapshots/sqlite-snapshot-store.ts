/**
 * Snapshots in their own SQLite file in the data directory (`snapshots.db`), apart from
 * the events: deleting the file is always safe. Being a cache, it is written with
 * synchronous=NORMAL; a snapshot lost to a power cut is rebuilt from the events, and a file
 * found corrupt is moved aside by its opener (runtime/actor-runtime.ts).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import { checkCacheIntegrity } from '../runtime/cache-files.js';
import type { SnapshotStore, StoredSnapshot } from './snapshot-store.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS snapshots (
    stream_id    TEXT    NOT NULL,
    machine_hash TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    saved_at     TEXT    NOT NULL,
    PRIMARY KEY (stream_id, machine_hash)
  ) STRICT, WITHOUT ROWID;
`;

export class SqliteSnapshotStore implements SnapshotStore {
  private constructor(private readonly connection: SqliteConnection) {}

  /**
   * Opens (creating) the file. A file that is not a database, or is damaged, throws the
   * driver's StoreCorruptError; `checkIntegrity` reads every page first (`quick_check`), so
   * damage anywhere in the file is found now rather than at some actor's load.
   */
  static async open(path: string, options: { readOnly?: boolean; checkIntegrity?: boolean } = {}): Promise<SqliteSnapshotStore> {
    await mkdir(dirname(path), { recursive: true });
    const connection = await SqliteConnection.open(path, { create: true });
    try {
      await connection.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; ${SCHEMA}`);
      if (options.checkIntegrity) await checkCacheIntegrity(connection);
      if (options.readOnly) await connection.exec('PRAGMA query_only = ON');
    } catch (error) {
      // Closed, so the caller may move the file aside.
      await connection.close().catch(() => undefined);
      throw error;
    }
    return new SqliteSnapshotStore(connection);
  }

  async load(streamId: string, machineHash: string): Promise<StoredSnapshot | undefined> {
    const row = await this.connection.get<{ revision: number; state: string }>(
      'SELECT revision, state FROM snapshots WHERE stream_id = ? AND machine_hash = ?',
      [streamId, machineHash],
    );
    return row && { revision: BigInt(row.revision), state: JSON.parse(row.state) as unknown };
  }

  async save(streamId: string, machineHash: string, snapshot: StoredSnapshot): Promise<void> {
    // Only ever forwards: a slow save must not replace a newer one.
    await this.connection.run(
      `INSERT INTO snapshots (stream_id, machine_hash, revision, state, saved_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (stream_id, machine_hash) DO UPDATE SET revision = excluded.revision, state = excluded.state,
         saved_at = excluded.saved_at WHERE excluded.revision > snapshots.revision`,
      [streamId, machineHash, Number(snapshot.revision), JSON.stringify(snapshot.state), new Date().toISOString()],
    );
  }

  async clear(): Promise<void> {
    await this.connection.run('DELETE FROM snapshots');
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
