/**
 * The read models host tools query (the memory index, the knowledge caches), opened once
 * and kept open across calls, read-only beside the projection host that writes them.
 *
 * A read model's active build changes when a rebuild is swapped in, so every use first
 * asks the catalog which file is active: a connection to a replaced build is closed as
 * soon as no call is using it, and the next call opens the new one. (The projection host
 * keeps a replaced file for a grace period, so a call still reading it finishes.)
 */
import { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { KNOWLEDGE_CACHE_PREFIX } from '../../../projections/knowledge-cache.js';
import type { KnowledgeCache } from '../../../projections/knowledge-search.js';
import { ReadModelCatalog } from '../../../projections/read-model-files.js';

interface OpenBuild {
  readonly file: string;
  readonly connection: Promise<SqliteConnection>;
  leases: number;
  /** No longer the active build: closed once its last lease is released. */
  retired: boolean;
}

interface Lease {
  readonly db: SqliteConnection;
  release(): void;
}

export class ReadModelReaders {
  private catalog: Promise<ReadModelCatalog | undefined> | undefined;
  /** By read model name: the build this process has open. */
  private readonly builds = new Map<string, OpenBuild>();
  private closed = false;

  constructor(private readonly dataDir: string) {}

  /**
   * Runs `use` on the active build of one read model; `undefined` (and `use` not called)
   * when that read model has not been built yet.
   */
  async withReadModel<T>(name: string, use: (db: SqliteConnection) => Promise<T>): Promise<T | undefined> {
    const [lease] = await this.lease([name]);
    if (!lease) return undefined;
    try {
      return await use(lease.db);
    } finally {
      lease.release();
    }
  }

  /** Runs `use` on every knowledge cache built so far (possibly none), by source. */
  async withKnowledgeCaches<T>(use: (caches: readonly KnowledgeCache[]) => Promise<T>): Promise<T> {
    const catalog = await this.openCatalog();
    const names = catalog ? (await catalog.entries()).map((entry) => entry.name).filter((name) => name.startsWith(KNOWLEDGE_CACHE_PREFIX)) : [];
    const leases = await this.lease(names);
    try {
      const caches = leases.flatMap((lease, index) => (lease ? [{ source: names[index]!.slice(KNOWLEDGE_CACHE_PREFIX.length), db: lease.db }] : []));
      return await use(caches);
    } finally {
      for (const lease of leases) lease?.release();
    }
  }

  /** Closes every connection: now where no call is using it, else when the last call using it ends. */
  async close(): Promise<void> {
    this.closed = true;
    const builds = [...this.builds.values()];
    this.builds.clear();
    await Promise.all(builds.map((build) => this.retire(build)));
    const catalog = await this.catalog?.catch(() => undefined);
    this.catalog = undefined;
    await catalog?.close();
  }

  /** One lease per name, in order; undefined where the read model has no build on disk yet. */
  private async lease(names: readonly string[]): Promise<(Lease | undefined)[]> {
    if (this.closed) throw new Error('the tool gateway is closed');
    const catalog = await this.openCatalog();
    if (!catalog) return names.map(() => undefined);
    const leases: (Lease | undefined)[] = [];
    try {
      for (const name of names) leases.push(await this.leaseOne(catalog, name));
    } catch (error) {
      for (const lease of leases) lease?.release();
      throw error;
    }
    return leases;
  }

  private async leaseOne(catalog: ReadModelCatalog, name: string): Promise<Lease | undefined> {
    const entry = await catalog.entry(name);
    // Closed while the catalog was read: a build opened now would never be closed.
    if (this.closed) throw new Error('the tool gateway is closed');
    if (!entry) return undefined;
    let build = this.builds.get(name);
    if (build?.file !== entry.activeFile) {
      if (build) void this.retire(build);
      build = { file: entry.activeFile, connection: openForQueries(catalog.path(entry.activeFile)), leases: 0, retired: false };
      this.builds.set(name, build);
    }
    const current = build;
    current.leases += 1;
    let db: SqliteConnection;
    try {
      db = await current.connection;
    } catch (error) {
      current.leases -= 1;
      // A build that could not be opened (removed by a swap a moment ago, say) is tried afresh next time.
      if (this.builds.get(name) === current) this.builds.delete(name);
      if (isMissingFile(error)) return undefined;
      throw error;
    }
    let released = false;
    return {
      db,
      release: () => {
        if (released) return;
        released = true;
        current.leases -= 1;
        if (current.retired && current.leases === 0) void closeQuietly(current.connection);
      },
    };
  }

  private async retire(build: OpenBuild): Promise<void> {
    build.retired = true;
    if (build.leases === 0) await closeQuietly(build.connection);
  }

  /** The catalog, once it exists: a runtime that has never projected anything has none yet. */
  private async openCatalog(): Promise<ReadModelCatalog | undefined> {
    this.catalog ??= ReadModelCatalog.openForReading(this.dataDir);
    const catalog = await this.catalog.catch((error: unknown) => {
      this.catalog = undefined;
      throw error;
    });
    if (!catalog) this.catalog = undefined; // look again next time
    return catalog;
  }
}

async function openForQueries(path: string): Promise<SqliteConnection> {
  const connection = await SqliteConnection.open(path, { create: false });
  try {
    await connection.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;');
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
  return connection;
}

async function closeQuietly(connection: Promise<SqliteConnection>): Promise<void> {
  await connection.then((db) => db.close()).catch(() => undefined);
}

function isMissingFile(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CANTOPEN' || code === 'ENOENT';
}
