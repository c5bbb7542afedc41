/**
 * Where read models live: `<dataDir>/read-models/`, one SQLite file per build of a
 * projection (`<name>.v<version>.g<generation>.db`, its checkpoint inside), and
 * `catalog.db`, which names the build readers use. Swapping a finished rebuild in is one
 * row update in the catalog, so readers see the old read model or the new, never half of one.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteConnection } from '../events/adapters/sqlite/connection.js';

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
`;

/** The checkpoint table every read model file carries, written with its rows. */
export const CHECKPOINT_SCHEMA = `
  CREATE TABLE IF NOT EXISTS projection_checkpoint (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    position  TEXT NOT NULL
  ) STRICT;
`;

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

  /** The writer's catalog: creates the directory and the file. */
  static async open(dataDir: string): Promise<ReadModelCatalog> {
    const dir = readModelsDir(dataDir);
    await mkdir(dir, { recursive: true });
    const connection = await SqliteConnection.open(join(dir, CATALOG_FILE), { create: true });
    await connection.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; ${CATALOG_SCHEMA}`);
    return new ReadModelCatalog(connection, dir);
  }

  /** A reader's catalog, or undefined when no read model was ever built. */
  static async openForReading(dataDir: string): Promise<ReadModelCatalog | undefined> {
    const dir = readModelsDir(dataDir);
    if (!existsSync(join(dir, CATALOG_FILE))) return undefined;
    const connection = await SqliteConnection.open(join(dir, CATALOG_FILE), { create: false });
    await connection.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;');
    return new ReadModelCatalog(connection, dir);
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
    await this.connection.run(
      `UPDATE projections SET building_version = ?, building_file = ?, status = 'rebuilding', generation = ?, updated_at = ? WHERE name = ?`,
      [version, buildFileName(name, version, generation), generation, new Date().toISOString(), name],
    );
    return (await this.entry(name))!;
  }

  /** The finished build becomes the active one: one row update, atomic for every reader. */
  async swapIn(name: string): Promise<{ retiredFile: string }> {
    const current = await this.entry(name);
    if (!current?.buildingFile || current.buildingVersion === null) throw new Error(`projection ${name} has no build to swap in`);
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
    for (const suffix of ['', '-wal', '-shm']) await rm(this.path(file + suffix), { force: true });
  }

  /** Removes build files the catalog no longer names: builds replaced before the last stop. */
  async removeUnreferencedFiles(): Promise<void> {
    const referenced = new Set((await this.entries()).flatMap((entry) => [entry.activeFile, entry.buildingFile]));
    for (const file of await readdir(this.dir)) {
      const build = file.replace(/-(wal|shm)$/, '');
      if (build.endsWith('.db') && build !== CATALOG_FILE && !referenced.has(build)) await rm(join(this.dir, file), { force: true });
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** Opens a read model file for writing, with its schema and checkpoint table in place. */
export async function openReadModelForWriting(path: string, schema: string): Promise<SqliteConnection> {
  const connection = await SqliteConnection.open(path, { create: true });
  // A read model can always be rebuilt: durability of the last commit is not worth an fsync.
  await connection.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;`);
  await connection.exec(`BEGIN IMMEDIATE; ${CHECKPOINT_SCHEMA} COMMIT;`);
  const initialised = await connection.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'projection_schema_applied'");
  if (!initialised?.n) {
    await connection.exec(`BEGIN IMMEDIATE; ${schema}; CREATE TABLE projection_schema_applied (at TEXT); COMMIT;`);
  }
  return connection;
}

export async function readCheckpoint(connection: SqliteConnection): Promise<bigint | null> {
  const row = await connection.get<{ position: string }>('SELECT position FROM projection_checkpoint WHERE singleton = 1');
  return row ? BigInt(row.position) : null;
}

/** Opens the active build of a read model for queries, or undefined when none exists yet. */
export async function openReadModel(dataDir: string, name: string): Promise<SqliteConnection | undefined> {
  const catalog = await ReadModelCatalog.openForReading(dataDir);
  if (!catalog) return undefined;
  try {
    const entry = await catalog.entry(name);
    if (!entry || !existsSync(catalog.path(entry.activeFile))) return undefined;
    const connection = await SqliteConnection.open(catalog.path(entry.activeFile), { create: false });
    await connection.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;');
    return connection;
  } finally {
    await catalog.close();
  }
}
