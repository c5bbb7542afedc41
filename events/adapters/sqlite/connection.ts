/**
 * A promise-shaped handle on one `sqlite3` connection, and the translation of SQLite's
 * error codes into the event store's typed errors (corrupt file, full disk).
 */
import sqlite3 from 'sqlite3';
import { StorageFullError, StoreCorruptError } from '../../errors.js';

/** A bound parameter: what sqlite3 accepts and what this adapter stores. */
export type SqlValue = string | number | null;

interface SqliteError extends Error {
  code?: string;
}

/** Wraps a driver error so the caller sees what happened to the store, not just an errno. */
export function translateSqliteError(error: unknown, path: string): unknown {
  const code = (error as SqliteError | null)?.code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StoreCorruptError(path, (error as Error).message, { cause: error });
  }
  if (code === 'SQLITE_FULL') return new StorageFullError(path, { cause: error });
  return error;
}

export class SqliteStatement {
  constructor(
    private readonly statement: sqlite3.Statement,
    private readonly path: string,
  ) {}

  run(params: readonly SqlValue[]): Promise<{ changes: number }> {
    const path = this.path;
    return new Promise((resolve, reject) => {
      // sqlite3 reports the row count on `this` of a non-arrow callback.
      this.statement.run(params, function (this: sqlite3.RunResult, error: Error | null) {
        if (error) reject(translateSqliteError(error, path));
        else resolve({ changes: this.changes });
      });
    });
  }

  finalize(): Promise<void> {
    return new Promise((resolve) => this.statement.finalize(() => resolve()));
  }
}

export class SqliteConnection {
  /** The statements `runPrepared` keeps, by their SQL; finalized by `close`. */
  private readonly prepared = new Map<string, Promise<SqliteStatement>>();

  private constructor(
    private readonly db: sqlite3.Database,
    readonly path: string,
  ) {}

  static open(path: string, options: { create: boolean }): Promise<SqliteConnection> {
    // Even read-only handles open read-write (and then set query_only): a strictly
    // read-only connection cannot open a WAL database whose -shm file was removed when
    // the last writer closed.
    const mode = sqlite3.OPEN_READWRITE | (options.create ? sqlite3.OPEN_CREATE : 0);
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(path, mode, (error) =>
        error ? reject(translateSqliteError(error, path)) : resolve(new SqliteConnection(db, path)),
      );
    });
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.db.exec(sql, (error) => (error ? reject(translateSqliteError(error, this.path)) : resolve()));
    });
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    const path = this.path;
    return new Promise((resolve, reject) => {
      // sqlite3 reports the row count on `this` of a non-arrow callback.
      this.db.run(sql, params, function (this: sqlite3.RunResult, error: Error | null) {
        if (error) reject(translateSqliteError(error, path));
        else resolve({ changes: this.changes });
      });
    });
  }

  all<TRow>(sql: string, params: readonly SqlValue[] = []): Promise<TRow[]> {
    return new Promise((resolve, reject) => {
      this.db.all(sql, params, (error: Error | null, rows: TRow[]) =>
        error ? reject(translateSqliteError(error, this.path)) : resolve(rows),
      );
    });
  }

  async get<TRow>(sql: string, params: readonly SqlValue[] = []): Promise<TRow | undefined> {
    const rows = await this.all<TRow>(sql, params);
    return rows[0];
  }

  /**
   * `run`, keeping the statement prepared for the next call with the same SQL. `run`
   * prepares, steps and finalizes: two trips to SQLite's thread and back through this one,
   * where a prepared statement takes one (and SQLite parses the SQL once). For statements
   * of fixed SQL run again and again (the parameters vary) that write: a statement kept
   * must run to its end, so that it holds no read open between calls.
   */
  async runPrepared(sql: string, params: readonly SqlValue[]): Promise<{ changes: number }> {
    let statement = this.prepared.get(sql);
    if (!statement) {
      const preparing = this.prepare(sql);
      statement = preparing;
      this.prepared.set(sql, preparing);
      // A statement that did not prepare is not kept; the caller gets the error below.
      preparing.catch(() => {
        if (this.prepared.get(sql) === preparing) this.prepared.delete(sql);
      });
    }
    return (await statement).run(params);
  }

  prepare(sql: string): Promise<SqliteStatement> {
    return new Promise((resolve, reject) => {
      const statement: sqlite3.Statement = this.db.prepare(sql, (error: Error | null) =>
        error ? reject(translateSqliteError(error, this.path)) : resolve(new SqliteStatement(statement, this.path)),
      );
    });
  }

  async close(): Promise<void> {
    // SQLite refuses to close a connection with statements not finalized.
    const kept = [...this.prepared.values()];
    this.prepared.clear();
    for (const statement of kept) await statement.then((prepared) => prepared.finalize(), () => undefined);
    return new Promise((resolve, reject) => {
      this.db.close((error) => (error ? reject(translateSqliteError(error, this.path)) : resolve()));
    });
  }
}
