/**
 * The embedded event store: one SQLite file in WAL mode. A writer connection, owned by
 * the group-commit writer, does every write; a second connection does every read, so
 * readers never wait behind a transaction (WAL lets them read the last committed state).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Subject, type Observable } from 'rxjs';
import {
  firstReadableRevision,
  type BackendAppendResult,
  type BackendReadAll,
  type BackendReadStream,
  type EventBackend,
  type VerbatimImport,
} from '../../backend.js';
import type { PreparedEvent, RawStoredEvent } from '../../envelope.js';
import { ReadOnlyStoreError, StoreClosedError, StoreNotFoundError } from '../../errors.js';
import type { EventFilter, ExpectedRevision, ListStreamsOptions, StreamInfo, StreamMetadata } from '../../port.js';
import { watchForeignCommits } from './commit-watcher.js';
import { listStreamsIn } from './stream-list.js';
import { SqliteConnection, type SqlValue } from './connection.js';
import { EVENT_SELECT, toRawEvent, type EventRow } from './event-rows.js';
import { GroupCommitWriter, type WriterStats } from './group-commit-writer.js';
import { migrate, requireCurrentSchema } from './migrations.js';

export type SqliteSynchronous = 'FULL' | 'NORMAL' | 'EXTRA';

export interface SqliteBackendOptions {
  /** The database file, for example `<dataDir>/events.db`. */
  readonly path: string;
  /** A reader never writes or migrates; it notices the writer's commits by watching the file. */
  readonly mode: 'writer' | 'reader';
  /** FULL (the default) fsyncs the WAL at every commit: an acknowledged append survives power loss. */
  readonly synchronous?: SqliteSynchronous;
  readonly busyTimeoutMs?: number;
  readonly maxBatchEvents?: number;
  readonly maxBatchBytes?: number;
}

/** `PRAGMA synchronous` answers with a number. */
const SYNCHRONOUS_LEVELS: Record<number, SqliteSynchronous> = { 1: 'NORMAL', 2: 'FULL', 3: 'EXTRA' };

/** SQLite integers are 64-bit; LIMIT -1 means no limit. */
function sqlLimit(maxCount: number): number {
  return maxCount >= Number.MAX_SAFE_INTEGER ? -1 : maxCount;
}

function filterClause(filter: EventFilter | undefined): { sql: string; params: SqlValue[] } {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (filter?.eventTypes) {
    parts.push(filter.eventTypes.length === 0 ? '0' : `type IN (${filter.eventTypes.map(() => '?').join(', ')})`);
    params.push(...filter.eventTypes);
  }
  if (filter?.streamPrefixes) {
    const prefixes = filter.streamPrefixes.map(() => 'substr(stream_id, 1, ?) = ?');
    parts.push(prefixes.length === 0 ? '0' : `(${prefixes.join(' OR ')})`);
    for (const prefix of filter.streamPrefixes) params.push(prefix.length, prefix);
  }
  return { sql: parts.map((part) => ` AND ${part}`).join(''), params };
}

export class SqliteBackend implements EventBackend, VerbatimImport {
  readonly readOnly: boolean;
  /** The synchronous level SQLite reports it is using, read back after setting it. */
  durability: SqliteSynchronous | 'unknown' = 'unknown';
  private readonly committed = new Subject<void>();
  readonly changes: Observable<void>;
  private closed = false;

  private constructor(
    readonly location: string,
    private readonly reader: SqliteConnection,
    private readonly writer: { connection: SqliteConnection; commits: GroupCommitWriter } | undefined,
  ) {
    this.readOnly = writer === undefined;
    this.changes = writer ? this.committed.asObservable() : watchForeignCommits(location, () => this.dataVersion());
  }

  static async open(options: SqliteBackendOptions): Promise<SqliteBackend> {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    if (options.mode === 'reader') {
      if (!existsSync(options.path)) throw new StoreNotFoundError(options.path);
      const reader = await SqliteConnection.open(options.path, { create: false });
      try {
        await reader.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}; PRAGMA query_only = ON;`);
        await requireCurrentSchema(reader);
      } catch (error) {
        await reader.close().catch(() => undefined);
        throw error;
      }
      return new SqliteBackend(options.path, reader, undefined);
    }

    await mkdir(dirname(options.path), { recursive: true });
    const connection = await SqliteConnection.open(options.path, { create: true });
    let reader: SqliteConnection | undefined;
    try {
      // The first statement is the first to read the file: a corrupt one fails here.
      await connection.exec(
        `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.synchronous ?? 'FULL'}; PRAGMA busy_timeout = ${busyTimeoutMs};`,
      );
      await migrate(connection);
      reader = await SqliteConnection.open(options.path, { create: false });
      await reader.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}; PRAGMA query_only = ON;`);
    } catch (error) {
      await reader?.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      throw error;
    }
    let backend: SqliteBackend | undefined;
    const commits = new GroupCommitWriter(connection, {
      maxBatchEvents: options.maxBatchEvents ?? 2_000,
      maxBatchBytes: options.maxBatchBytes ?? 16 * 1024 * 1024,
      onCommit: () => backend?.committed.next(),
    });
    await commits.start();
    backend = new SqliteBackend(options.path, reader, { connection, commits });
    const level = await connection.get<{ synchronous: number }>('PRAGMA synchronous');
    backend.durability = SYNCHRONOUS_LEVELS[level?.synchronous ?? -1] ?? 'unknown';
    return backend;
  }

  append(streamId: string, events: readonly PreparedEvent[], expectedRevision: ExpectedRevision): Promise<BackendAppendResult> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (!this.writer) return Promise.reject(new ReadOnlyStoreError('append'));
    return this.writer.commits.append(streamId, events, expectedRevision);
  }

  /** Through the group-commit writer's queue, in one transaction (events/verbatim-import.ts says what is refused). */
  importVerbatim(events: readonly RawStoredEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (!this.writer) return Promise.reject(new ReadOnlyStoreError('importVerbatim'));
    return this.writer.commits.importVerbatim(events);
  }

  async readStream(streamId: string, options: BackendReadStream): Promise<RawStoredEvent[]> {
    this.assertOpen();
    const head = await this.reader.get<{ revision: number; truncate_before: number | null; max_count: number | null }>(
      `SELECT s.revision, m.truncate_before, m.max_count
         FROM streams s LEFT JOIN stream_metadata m ON m.stream_id = s.stream_id
        WHERE s.stream_id = ?`,
      [streamId],
    );
    if (!head) return [];
    const headRevision = BigInt(head.revision);
    const floor = firstReadableRevision(
      {
        ...(head.truncate_before === null ? {} : { truncateBefore: BigInt(head.truncate_before) }),
        ...(head.max_count === null ? {} : { maxCount: head.max_count }),
      },
      headRevision,
    );
    const from = options.from === 'end' ? headRevision : options.from;
    const rows =
      options.direction === 'forwards'
        ? await this.reader.all<EventRow>(
            `${EVENT_SELECT} WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?`,
            [streamId, Number(from > floor ? from : floor), sqlLimit(options.maxCount)],
          )
        : await this.reader.all<EventRow>(
            `${EVENT_SELECT} WHERE stream_id = ? AND revision <= ? AND revision >= ? ORDER BY revision DESC LIMIT ?`,
            [streamId, Number(from), Number(floor), sqlLimit(options.maxCount)],
          );
    return rows.map(toRawEvent);
  }

  async readAll(options: BackendReadAll): Promise<RawStoredEvent[]> {
    this.assertOpen();
    const filter = filterClause(options.filter);
    if (options.direction === 'forwards') {
      const from = options.from === 'end' ? Number(await this.headPosition()) : Number(options.from);
      const until = options.until === undefined ? Number.MAX_SAFE_INTEGER : Number(options.until);
      const rows = await this.reader.all<EventRow>(
        `${EVENT_SELECT} WHERE position >= ? AND position <= ?${filter.sql} ORDER BY position ASC LIMIT ?`,
        [from, until, ...filter.params, sqlLimit(options.maxCount)],
      );
      return rows.map(toRawEvent);
    }
    const from = options.from === 'end' ? Number.MAX_SAFE_INTEGER : Number(options.from);
    const rows = await this.reader.all<EventRow>(
      `${EVENT_SELECT} WHERE position <= ?${filter.sql} ORDER BY position DESC LIMIT ?`,
      [from, ...filter.params, sqlLimit(options.maxCount)],
    );
    return rows.map(toRawEvent);
  }

  async readByCorrelation(correlationId: string, maxCount: number): Promise<RawStoredEvent[]> {
    this.assertOpen();
    // The expression must match the index's (migration 2) for SQLite to use it.
    const rows = await this.reader.all<EventRow>(
      `${EVENT_SELECT} WHERE json_extract(metadata, '$.correlationId') = ? ORDER BY position LIMIT ?`,
      [correlationId, sqlLimit(maxCount)],
    );
    return rows.map(toRawEvent);
  }

  async headPosition(): Promise<bigint> {
    this.assertOpen();
    const row = await this.reader.get<{ head: number | null }>('SELECT max(position) AS head FROM events');
    return BigInt(row?.head ?? 0);
  }

  async streamRevision(streamId: string): Promise<bigint | null> {
    this.assertOpen();
    const row = await this.reader.get<{ revision: number }>('SELECT revision FROM streams WHERE stream_id = ?', [streamId]);
    return row ? BigInt(row.revision) : null;
  }

  async listStreams(options: ListStreamsOptions): Promise<StreamInfo[]> {
    this.assertOpen();
    return listStreamsIn(this.reader, 'updated_at', options);
  }

  async getStreamMetadata(streamId: string): Promise<StreamMetadata> {
    this.assertOpen();
    const row = await this.reader.get<{ truncate_before: number | null; max_count: number | null }>(
      'SELECT truncate_before, max_count FROM stream_metadata WHERE stream_id = ?',
      [streamId],
    );
    return {
      ...(row?.truncate_before == null ? {} : { truncateBefore: BigInt(row.truncate_before) }),
      ...(row?.max_count == null ? {} : { maxCount: row.max_count }),
    };
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    if (!this.writer) throw new ReadOnlyStoreError('setStreamMetadata');
    await this.writer.commits.runExclusive((connection) =>
      connection
        .run(
          `INSERT INTO stream_metadata (stream_id, truncate_before, max_count, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (stream_id) DO UPDATE SET truncate_before = excluded.truncate_before,
             max_count = excluded.max_count, updated_at = excluded.updated_at`,
          [
            streamId,
            metadata.truncateBefore === undefined ? null : Number(metadata.truncateBefore),
            metadata.maxCount ?? null,
            new Date().toISOString(),
          ],
        )
        .then(() => undefined),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.writer) {
      await this.writer.commits.close();
      await this.writer.connection.close();
    }
    this.committed.complete();
    await this.reader.close();
  }

  /** Group-commit figures for benchmarks and diagnostics; undefined for a reader. */
  get writerStats(): WriterStats | undefined {
    return this.writer?.commits.stats;
  }

  /** SQLite's counter of commits made by other connections; it changes when another process writes. */
  private async dataVersion(): Promise<number> {
    const row = await this.reader.get<{ data_version: number }>('PRAGMA data_version');
    return row?.data_version ?? 0;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

export const openSqliteBackend = (options: SqliteBackendOptions): Promise<SqliteBackend> => SqliteBackend.open(options);
