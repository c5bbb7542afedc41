/**
 * Where read models live: `<dataDir>/read-models/`, one SQLite file per build of a
 * projection (`<name>.v<version>.g<generation>.db`, its checkpoint inside), and
 * `catalog.db`, which names the build readers use. Swapping a finished rebuild in is one
 * row update in the catalog, so readers see the old read model or the new, never half of one.
 * All of it is a cache of the events: a corrupt catalog or build file is moved aside
 * (`<file>.corrupt-<time>`) by the writer and built again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { uptime } from 'node:os';
import { join } from 'node:path';
import { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { Logger } from '../runtime/actor-host/actor-host.js';
import { checkCacheIntegrity, corruptionDetail, isCorruptFile, moveCorruptFileAside, openCacheForReading } from '../runtime/cache-files.js';

export const READ_MODELS_DIR = 'read-models';
const CATALOG_FILE = 'catalog.db';

export type ProjectionStatus = 'catching_up' | 'live' | 'rebuilding' | 'failed';

export interface CatalogEntry {
  readonly name: string;
  readonly activeVersion: number;
  readonly activeFile: string;
  /** A build in progress beside the active one, or null. */
  readonly buildingVersion: number | null;
  readonly buildingFile: string | null;
  readonly status: ProjectionStatus;
  /** Why the projection stopped: the event it could not apply and the error. */
  readonly failure: { readonly position: string; readonly eventType: string; readonly error: string } | null;
  readonly generation: number;
}

interface CatalogRow {
  name: string;
  active_version: number;
  active_file: string;
  building_version: number | null;
  building_file: string | null;
  status: ProjectionStatus;
  failed_position: string | null;
  failed_event_type: string | null;
  error: string | null;
  generation: number;
}

const CATALOG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS projections (
    name              TEXT PRIMARY KEY,
    active_version    INTEGER NOT NULL,
    active_file       TEXT    NOT NULL,
    building_version  INTEGER,
    building_file     TEXT,
    status            TEXT    NOT NULL,
    failed_position   TEXT,
    failed_event_type TEXT,
    error             TEXT,
    generation        INTEGER NOT NULL,
    updated_at        TEXT    NOT NULL
  ) STRICT;
  -- Build files being written without fsync, and the boot of the machine that wrote them:
  -- after a restart of the machine their contents cannot be trusted.
  CREATE TABLE IF NOT EXISTS unsynced_builds (
    file    TEXT PRIMARY KEY,
    boot_id TEXT NOT NULL
  ) STRICT;
`;

/** The checkpoint table every read model file carries, written with its rows. */
export const CHECKPOINT_SCHEMA = `
  CREATE TABLE IF NOT EXISTS projection_checkpoint (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    position  TEXT NOT NULL
  ) STRICT;
`;

let bootId: string | undefined;

/**
 * Names this boot of the machine: what survives a process crash (the OS page cache) is lost
 * when it changes. Linux says so directly; elsewhere the boot time, to the minute, stands in
 * (a wrong guess only restarts a build that could have gone on).
 */
export function currentBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = `booted-at-minute-${Math.round((Date.now() - uptime() * 1000) / 60_000)}`;
    }
  }
  return bootId;
}

export function readModelsDir(dataDir: string): string {
  return join(dataDir, READ_MODELS_DIR);
}

export function buildFileName(name: string, version: number, generation: number): string {
  return `${name}.v${version}.g${generation}.db`;
}

function toEntry(row: CatalogRow): CatalogEntry {
  return {
    name: row.name,
    activeVersion: row.active_version,
    activeFile: row.active_file,
    buildingVersion: row.building_version,
    buildingFile: row.building_file,
    status: row.status,
    failure:
      row.failed_position === null
        ? null
        : { position: row.failed_position, eventType: row.failed_event_type ?? '', error: row.error ?? '' },
    generation: row.generation,
  };
}

export class ReadModelCatalog {
  private constructor(
    private readonly connection: SqliteConnection,
    readonly dir: string,
  ) {}

  /**
   * The writer's catalog: creates the directory and the file. A catalog that is corrupt
   * (checked page by page: it is small) is moved aside and started again empty; the build
   * files it named are then unreferenced, removed by `removeUnreferencedFiles`, and every
   * read model is built again from the events.
   */
  static async open(dataDir: string, options: { readonly logger?: Logger } = {}): Promise<ReadModelCatalog> {
    const dir = readModelsDir(dataDir);
    const path = join(dir, CATALOG_FILE);
    await mkdir(dir, { recursive: true });
    try {
      return await ReadModelCatalog.openWriter(path, dir);
    } catch (error) {
      if (!isCorruptFile(error)) throw error;
      const movedTo = await moveCorruptFileAside(path);
      options.logger?.warn({ path, movedTo, reason: corruptionDetail(error) }, 'the read-model catalog was corrupt: moved aside; every read model is built again from the events');
      return ReadModelCatalog.openWriter(path, dir);
    }
  }

  private static async openWriter(path: string, dir: string): Promise<ReadModelCatalog> {
    const connection = await SqliteConnection.open(path, { create: true });
    try {
      await connection.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; ${CATALOG_SCHEMA}`);
      await checkCacheIntegrity(connection);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    return new ReadModelCatalog(connection, dir);
  }

  /**
   * A reader's catalog, or undefined when no read model was ever built. A corrupt one is a
   * CacheCorruptError (a reader holds no lock, so it leaves the file where it is).
   */
  static async openForReading(dataDir: string): Promise<ReadModelCatalog | undefined> {
    const dir = readModelsDir(dataDir);
    const path = join(dir, CATALOG_FILE);
    if (!existsSync(path)) return undefined;
    const connection = await SqliteConnection.open(path, { create: false });
    return openCacheForReading(path, async () => {
      try {
        await connection.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;');
        // The schema is read here, so a file that is no database fails now, not at the first query.
        await connection.get('SELECT count(*) FROM projections');
      } catch (error) {
        await connection.close().catch(() => undefined);
        throw error;
      }
      return new ReadModelCatalog(connection, dir);
    });
  }

  async entries(): Promise<CatalogEntry[]> {
    return (await this.connection.all<CatalogRow>('SELECT * FROM projections ORDER BY name')).map(toEntry);
  }

  async entry(name: string): Promise<CatalogEntry | undefined> {
    const row = await this.connection.get<CatalogRow>('SELECT * FROM projections WHERE name = ?', [name]);
    return row && toEntry(row);
  }

  async create(name: string, version: number): Promise<CatalogEntry> {
    const file = buildFileName(name, version, 1);
    await this.connection.run(
      `INSERT INTO projections (name, active_version, active_file, status, generation, updated_at) VALUES (?, ?, ?, 'catching_up', 1, ?)`,
      [name, version, file, new Date().toISOString()],
    );
    return (await this.entry(name))!;
  }

  /** Names a new build beside the active one. */
  async startBuild(name: string, version: number): Promise<CatalogEntry> {
    const current = await this.entry(name);
    if (!current) throw new Error(`projection ${name} is not in the catalog`);
    const generation = current.generation + 1;
    const file = buildFileName(name, version, generation);
    // Marked before the catalog names it, so a named build without a mark was synced.
    await this.markUnsynced(file);
    await this.connection.run(
      `UPDATE projections SET building_version = ?, building_file = ?, status = 'rebuilding', generation = ?, updated_at = ? WHERE name = ?`,
      [version, file, generation, new Date().toISOString(), name],
    );
    return (await this.entry(name))!;
  }

  /** A build file is about to be written without fsync by this boot of the machine. */
  async markUnsynced(file: string): Promise<void> {
    await this.connection.run('INSERT INTO unsynced_builds (file, boot_id) VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET boot_id = excluded.boot_id', [
      file,
      currentBootId(),
    ]);
  }

  /** The build file is on disk, whole (it was synced): a restart of the machine keeps it. */
  async markSynced(file: string): Promise<void> {
    await this.connection.run('DELETE FROM unsynced_builds WHERE file = ?', [file]);
  }

  /**
   * Whether a build file can be carried on: it was synced, or written without fsync during
   * this boot (a crashed process leaves its writes in the OS page cache; a power loss or a
   * reboot does not, and may leave the file torn).
   */
  async trustsBuild(file: string): Promise<boolean> {
    const row = await this.connection.get<{ boot_id: string }>('SELECT boot_id FROM unsynced_builds WHERE file = ?', [file]);
    return !row || row.boot_id === currentBootId();
  }

  /** The finished build becomes the active one: one row update, atomic for every reader. */
  async swapIn(name: string): Promise<{ retiredFile: string }> {
    const current = await this.entry(name);
    if (!current?.buildingFile || current.buildingVersion === null) throw new Error(`projection ${name} has no build to swap in`);
    // The host synced the file before the swap (finishBuild).
    await this.markSynced(current.buildingFile);
    await this.connection.run(
      `UPDATE projections SET active_version = building_version, active_file = building_file, building_version = NULL,
         building_file = NULL, status = 'live', failed_position = NULL, failed_event_type = NULL, error = NULL, updated_at = ?
       WHERE name = ?`,
      [new Date().toISOString(), name],
    );
    return { retiredFile: current.activeFile };
  }

  async setStatus(name: string, status: ProjectionStatus): Promise<void> {
    await this.connection.run('UPDATE projections SET status = ?, updated_at = ? WHERE name = ?', [status, new Date().toISOString(), name]);
  }

  async markFailed(name: string, failure: { position: bigint; eventType: string; error: string }): Promise<void> {
    await this.connection.run(
      `UPDATE projections SET status = 'failed', failed_position = ?, failed_event_type = ?, error = ?, updated_at = ? WHERE name = ?`,
      [failure.position.toString(), failure.eventType, failure.error, new Date().toISOString(), name],
    );
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  async removeFile(file: string): Promise<void> {
    for (const suffix of BUILD_FILE_SUFFIXES) await rm(this.path(file + suffix), { force: true });
    await this.markSynced(file);
  }

  /** Removes build files the catalog no longer names: builds replaced before the last stop. */
  async removeUnreferencedFiles(): Promise<void> {
    const referenced = new Set((await this.entries()).flatMap((entry) => [entry.activeFile, entry.buildingFile]));
    for (const file of await readdir(this.dir)) {
      const build = file.replace(/-(wal|shm|journal)$/, '');
      if (build.endsWith('.db') && build !== CATALOG_FILE && !referenced.has(build)) await rm(join(this.dir, file), { force: true });
    }
    const building = (await this.entries()).flatMap((entry) => (entry.buildingFile ? [entry.buildingFile] : []));
    await this.connection.run(`DELETE FROM unsynced_builds WHERE file NOT IN (${building.map(() => '?').join(', ')})`, building);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** A read model file and the files SQLite keeps beside it: WAL, shared memory, rollback journal (a build's). */
const BUILD_FILE_SUFFIXES = ['', '-wal', '-shm', '-journal'];

/** Marks a build whose deferred schema is still to be created; holds that DDL. */
const DEFERRED_SCHEMA_TABLE = 'projection_deferred_schema';

export interface ReadModelWriteOptions {
  /** The projection's `deferredSchema`: created with the schema, or for a build by `finishBuild`. */
  readonly deferredSchema?: string;
  /**
   * A build beside the live read model, that no reader opens until it is swapped in. It is
   * written without fsync (`synchronous = OFF`: a crashed process loses nothing, the OS has
   * the writes; a power loss may tear the file, which is why the catalog marks it unsynced
   * and a new boot starts it again), with a rollback journal rather than a WAL (see
   * BUILD_JOURNAL_MODE), and its deferred schema waits for `finishBuild`.
   */
  readonly build?: boolean;
}

async function hasTable(connection: SqliteConnection, name: string): Promise<boolean> {
  const row = await connection.get<{ n: number }>('SELECT count(*) AS n FROM sqlite_master WHERE name = ?', [name]);
  return (row?.n ?? 0) > 0;
}

/**
 * How a build is journaled until `finishBuild` turns it into a live read model (WAL).
 *
 * A WAL lets readers read while the writer writes; a build has no readers, and in WAL
 * mode every page it writes goes to disk twice, once to the WAL at each commit and again
 * into the file at each checkpoint (about a sixth of the memory index's rebuild time). A
 * rollback journal keeps only the old content of pages a transaction changes; a build
 * mostly adds pages at the end of the file, which need none. It is as safe for a build:
 * - a crashed process leaves the journal of an unfinished transaction (hot, in the OS page
 *   cache with every other write); the next open rolls it back, so the file holds the last
 *   commit, rows and checkpoint together, and the build goes on from there, as with a WAL;
 * - a power loss may tear the file whatever the journal, as `synchronous = OFF` always
 *   could: the catalog marks the build unsynced, and a new boot builds it again;
 * - ROLLBACK works as with a WAL (the host's retry of a batch event by event, savepoints).
 * Not `OFF` or `MEMORY`: a process killed in the middle of a commit would leave a torn
 * file with nothing to roll it back, and the build could not go on.
 * `TRUNCATE` rather than `DELETE`: the journal file is kept (empty) between transactions
 * instead of being created and unlinked at each.
 */
const BUILD_JOURNAL_MODE = 'TRUNCATE';

/** Opens a read model file for writing, with its schema and checkpoint table in place. */
export async function openReadModelForWriting(path: string, schema: string, options: ReadModelWriteOptions = {}): Promise<SqliteConnection> {
  const connection = await SqliteConnection.open(path, { create: true });
  try {
    // A read model can always be rebuilt: durability of the last commit is not worth an fsync.
    await connection.exec(
      `PRAGMA journal_mode = ${options.build ? BUILD_JOURNAL_MODE : 'WAL'}; PRAGMA synchronous = ${options.build ? 'OFF' : 'NORMAL'}; PRAGMA busy_timeout = 5000;`,
    );
    await connection.exec(`BEGIN IMMEDIATE; ${CHECKPOINT_SCHEMA} COMMIT;`);
    if (!(await hasTable(connection, 'projection_schema_applied'))) {
      const deferred = options.deferredSchema?.trim() ?? '';
      await connection.exec('BEGIN IMMEDIATE');
      try {
        await connection.exec(`${schema}; CREATE TABLE projection_schema_applied (at TEXT);`);
        if (options.build && deferred !== '') {
          await connection.exec(`CREATE TABLE ${DEFERRED_SCHEMA_TABLE} (ddl TEXT NOT NULL);`);
          await connection.run(`INSERT INTO ${DEFERRED_SCHEMA_TABLE} (ddl) VALUES (?)`, [deferred]);
        } else if (deferred !== '') {
          await connection.exec(deferred);
        }
        await connection.exec('COMMIT');
      } catch (error) {
        await connection.exec('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
    // A live read model always has its deferred schema.
    if (!options.build) await createDeferredSchema(connection);
    return connection;
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}

/** Creates the deferred schema a build left for later, if it did; in one transaction. */
async function createDeferredSchema(connection: SqliteConnection): Promise<void> {
  if (!(await hasTable(connection, DEFERRED_SCHEMA_TABLE))) return;
  const rows = await connection.all<{ ddl: string }>(`SELECT ddl FROM ${DEFERRED_SCHEMA_TABLE}`);
  await connection.exec(`BEGIN IMMEDIATE; ${rows.map((row) => `${row.ddl};`).join('\n')} DROP TABLE ${DEFERRED_SCHEMA_TABLE}; COMMIT;`).catch(async (error: unknown) => {
    await connection.exec('ROLLBACK').catch(() => undefined);
    throw error;
  });
}

/**
 * Turns a build that has caught up into a read model fit to be swapped in: its deferred
 * schema created, in WAL mode like every live read model (readers read while it follows
 * new events), and everything written so far on disk (it was written without fsync), so
 * the file survives a power loss from here on like any live read model.
 */
export async function finishBuild(connection: SqliteConnection): Promise<void> {
  // The rows go to disk while SQLite builds the indexes (an fsync runs on its own thread):
  // the sync that follows has little more than the indexes left to write.
  // Its failure fails the build: after a failed fsync, Linux may report the next one clean.
  const rowsSynced = syncFile(connection.path);
  try {
    await createDeferredSchema(connection);
  } catch (error) {
    await rowsSynced.catch(() => undefined);
    throw error;
  }
  await rowsSynced;
  // Synced by syncBuild below, with the header that now says WAL.
  await connection.exec('PRAGMA journal_mode = WAL;');
  await syncBuild(connection);
}

/** fsync of a file, if it exists. */
async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  try {
    await handle?.sync();
  } finally {
    await handle?.close();
  }
}

/**
 * Stops writing a build without fsync, and puts what it wrote on disk: the file and its
 * journal (a rollback journal while it builds, a WAL once finishBuild made it live) synced
 * while nothing writes make the state on disk the state SQLite knows, as if it had synced
 * all along; from there on it writes like any live read model (`synchronous = NORMAL`).
 * Syncing the rollback journal, empty between transactions, makes that emptiness durable:
 * after a power loss no stale journal could be taken for a hot one.
 * Called between batches, never while one is being applied.
 */
export async function syncBuild(connection: SqliteConnection): Promise<void> {
  await connection.exec('PRAGMA synchronous = NORMAL;');
  for (const file of [connection.path, `${connection.path}-wal`, `${connection.path}-journal`]) await syncFile(file);
  // Moves the WAL into the file (synced by SQLite itself now), so its readers start small.
  await connection.get('PRAGMA wal_checkpoint(TRUNCATE)');
}

export async function readCheckpoint(connection: SqliteConnection): Promise<bigint | null> {
  const row = await connection.get<{ position: string }>('SELECT position FROM projection_checkpoint WHERE singleton = 1');
  return row ? BigInt(row.position) : null;
}

/**
 * Opens the active build of a read model for queries, or undefined when none exists yet. A
 * corrupt file is a CacheCorruptError: the writer moves it aside and builds it again.
 */
export async function openReadModel(dataDir: string, name: string): Promise<SqliteConnection | undefined> {
  const catalog = await ReadModelCatalog.openForReading(dataDir);
  if (!catalog) return undefined;
  try {
    const entry = await catalog.entry(name);
    const path = entry && catalog.path(entry.activeFile);
    if (!path || !existsSync(path)) return undefined;
    const connection = await SqliteConnection.open(path, { create: false });
    return await openCacheForReading(path, async () => {
      try {
        await connection.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;');
        await readCheckpoint(connection);
      } catch (error) {
        await connection.close().catch(() => undefined);
        throw error;
      }
      return connection;
    });
  } finally {
    await catalog.close();
  }
}
