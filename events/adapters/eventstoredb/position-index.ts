/**
 * The local index of an EventStoreDB store: from ledgerclaw's logical $all position to
 * where EventStoreDB keeps the event (its commit/prepare position), and by stream, event id
 * and correlation id. EventStoreDB cannot answer those questions about our positions
 * itself, so `readAll({ fromPosition })`, `listStreams`, `streamRevision`, `headPosition`,
 * `readByCorrelation` and the id lookups that make appends idempotent are answered here.
 *
 * It is a cache. It holds no event data, is filled only from what EventStoreDB's $all
 * returns, and is rebuilt from $all when it is missing, unreadable, of another format, or
 * belongs to another store (the backend checks the event it last indexed is still there).
 * So it is kept with `synchronous = OFF`: a crash can lose its tail, which the next
 * catch-up reads again.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { StoredIdLocation } from '../../append-decision.js';
import type { RawStoredEvent } from '../../envelope.js';
import { GENESIS_HASH, nextChainTip } from '../../hash-chain.js';
import type { ListStreamsOptions, StreamInfo, StreamMetadata } from '../../port.js';
import { SqliteConnection } from '../sqlite/connection.js';
import { listStreamsIn } from '../sqlite/stream-list.js';
import type { EsdbPosition } from './client.js';
import { SplitWriterError } from './errors.js';

/** Bumped whenever the tables change: an index of another format is dropped and rebuilt. */
const INDEX_FORMAT = '4';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS events (
    position       INTEGER PRIMARY KEY,
    esdb_commit    TEXT    NOT NULL,
    esdb_prepare   TEXT    NOT NULL,
    stream_id      TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    event_id       TEXT    NOT NULL,
    correlation_id TEXT
  ) STRICT;
  CREATE INDEX IF NOT EXISTS events_by_id ON events (event_id);
  CREATE INDEX IF NOT EXISTS events_by_correlation ON events (correlation_id, position);
  -- Events written under a fencing token lower than one already in $all: a runtime that had
  -- lost its lease wrote them. Reported (stale fence), not refused: the chain may be whole.
  CREATE TABLE IF NOT EXISTS stale_fences (
    position    INTEGER PRIMARY KEY,
    stream_id   TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    fence       TEXT    NOT NULL,
    newer_fence TEXT    NOT NULL
  ) STRICT;
  -- ledgerclaw's limits of each stream (read from its $metadata events in $all), with where
  -- that event is, so a process that lags behind never puts older limits back.
  CREATE TABLE IF NOT EXISTS stream_metadata (
    stream_id       TEXT PRIMARY KEY,
    truncate_before TEXT,
    max_count       INTEGER,
    esdb_commit     TEXT NOT NULL,
    esdb_prepare    TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS streams (
    stream_id        TEXT    PRIMARY KEY,
    revision         INTEGER NOT NULL,
    last_position    INTEGER NOT NULL,
    last_recorded_at TEXT    NOT NULL,
    last_hash        TEXT    NOT NULL
  ) STRICT, WITHOUT ROWID;
`;

export interface OpenIndexOptions {
  /** What to do with a file that does not match this store: start it again (the default) or leave it and use memory. */
  readonly onMismatch?: 'reset' | 'memory';
  /** Whether the event the index read last is still at that place in the store. */
  readonly belongs?: (tail: IndexedTail) => Promise<boolean>;
}

/** Where an indexed event sits: its logical position and its EventStoreDB position. */
export interface IndexedPlace {
  readonly position: bigint;
  readonly esdbPosition: EsdbPosition;
}

export interface StreamHead {
  readonly revision: bigint;
  readonly lastPosition: bigint;
  readonly lastRecordedAt: string;
  readonly hash: string;
}

/** The newest event read from $all (a ledgerclaw event or not): where the next catch-up starts. */
export interface IndexedTail {
  readonly esdbPosition: EsdbPosition;
  readonly eventId: string;
}

/** New limits for a stream, from a `$metadata` event of $all. */
export interface MetadataEntry {
  readonly streamId: string;
  readonly metadata: StreamMetadata;
  readonly esdbPosition: EsdbPosition;
}

export interface IndexEntry {
  readonly event: RawStoredEvent;
  readonly esdbPosition: EsdbPosition;
  /** The fencing token the writer held, if it wrote under a lease. */
  readonly fence?: bigint | undefined;
}

/** An event written under an older fencing token than one seen before it in $all. */
export interface StaleFenceWrite {
  readonly position: bigint;
  readonly streamId: string;
  readonly revision: bigint;
  readonly fence: bigint;
  /** The highest token seen before it. */
  readonly newerFence: bigint;
}

interface PlaceRow {
  position: number;
  esdb_commit: string;
  esdb_prepare: string;
}

function placeOf(row: PlaceRow): IndexedPlace {
  return { position: BigInt(row.position), esdbPosition: { commit: BigInt(row.esdb_commit), prepare: BigInt(row.esdb_prepare) } };
}

/** How far the index has read $all, and what that gave: one value, so it never half-moves. */
interface Progress {
  readonly tail: IndexedTail;
  readonly head: bigint;
  readonly chainTip: string;
  readonly maxFence: bigint | undefined;
}

const decimalText = z.string().regex(/^(0|[1-9][0-9]*)$/);
const progressSchema = z
  .object({
    commit: decimalText,
    prepare: decimalText,
    eventId: z.string(),
    head: decimalText,
    chainTip: z.string().regex(/^[0-9a-f]{64}$/),
    maxFence: decimalText.optional(),
  })
  .strict();

function progressText(progress: Progress): string {
  return JSON.stringify({
    commit: progress.tail.esdbPosition.commit.toString(),
    prepare: progress.tail.esdbPosition.prepare.toString(),
    eventId: progress.tail.eventId,
    head: progress.head.toString(),
    chainTip: progress.chainTip,
    ...(progress.maxFence === undefined ? {} : { maxFence: progress.maxFence.toString() }),
  });
}

/** Whether EventStoreDB position `a` comes after `b` in its $all. */
export function isAfter(a: EsdbPosition, b: EsdbPosition): boolean {
  return a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);
}

function correlationOf(metadataJson: string): string | null {
  const value = (JSON.parse(metadataJson) as { correlationId?: unknown }).correlationId;
  return typeof value === 'string' ? value : null;
}

export class PositionIndex {
  private headValue = 0n;
  private chainTipValue = GENESIS_HASH;
  private maxFence: bigint | undefined;
  private tailValue: IndexedTail | undefined;

  private constructor(
    private readonly connection: SqliteConnection,
    /** The store the index belongs to (its redacted location), kept to notice a change of store. */
    private readonly storeLocation: string,
  ) {}

  /**
   * Opens (or creates) the index file; `:memory:` keeps it in memory only. An index of
   * another format or store, or whose last event `belongs` denies, is started again, unless
   * `onMismatch` is 'memory': then the file is left as it is (a reader must not empty the
   * index a running writer uses) and an index in memory is built instead.
   */
  static async open(path: string, storeLocation: string, options: OpenIndexOptions = {}): Promise<PositionIndex> {
    if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
    let connection: SqliteConnection;
    try {
      connection = await PositionIndex.connect(path);
    } catch {
      // Unreadable (corrupt, or not a database): it is a cache, so start it again.
      if (options.onMismatch === 'memory') return PositionIndex.open(':memory:', storeLocation);
      if (path !== ':memory:') for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(`${path}${suffix}`, { force: true });
      connection = await PositionIndex.connect(path);
    }
    const index = new PositionIndex(connection, storeLocation);
    // A file nobody has set up yet is anyone's to set up.
    if ((await index.meta('format')) === undefined) {
      await index.reset();
      return index;
    }
    const matches =
      (await index.meta('format')) === INDEX_FORMAT &&
      (await index.meta('store')) === storeLocation &&
      (await index.loadTail().then(() => true, () => false)) &&
      (index.tail === undefined || options.belongs === undefined || (await options.belongs(index.tail)));
    if (matches) return index;
    if (options.onMismatch === 'memory' && path !== ':memory:') {
      await index.close();
      return PositionIndex.open(':memory:', storeLocation);
    }
    await index.reset();
    return index;
  }

  private static async connect(path: string): Promise<SqliteConnection> {
    const connection = await SqliteConnection.open(path, { create: true });
    try {
      // Readers and the writer may share the file; every row they write is the same fact read from $all.
      await connection.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA busy_timeout = 5000;');
      await connection.exec(SCHEMA);
      return connection;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** The highest logical position indexed; 0 when none. */
  get head(): bigint {
    return this.headValue;
  }

  /** The $all chain value after the newest indexed event: what the next event links to. */
  get chainTip(): string {
    return this.chainTipValue;
  }

  get tail(): IndexedTail | undefined {
    return this.tailValue;
  }

  /** Forgets everything: the next catch-up reads $all from its start. */
  async reset(): Promise<void> {
    await this.connection.exec('BEGIN IMMEDIATE; DELETE FROM events; DELETE FROM streams; DELETE FROM stale_fences; DELETE FROM stream_metadata; DELETE FROM meta; COMMIT;');
    await this.setMeta('format', INDEX_FORMAT);
    await this.setMeta('store', this.storeLocation);
    this.headValue = 0n;
    this.chainTipValue = GENESIS_HASH;
    this.tailValue = undefined;
    this.maxFence = undefined;
  }

  /**
   * Adds events read from $all, in $all order, and moves the tail to `tail` (the last record
   * read, whether ledgerclaw's or not), all in one transaction. A logical position at or
   * below the head means two writers assigned positions: refused, nothing is added.
   *
   * Several processes may share the file (the runtime and a CLI reader): each catches up
   * from its own tail, so rows another process added already are skipped when they are the
   * same event, the stream index and the stored progress only ever move forwards, and a
   * different event at a position already indexed is a second writer.
   */
  async apply(entries: readonly IndexEntry[], tail: IndexedTail, metadata: readonly MetadataEntry[] = []): Promise<void> {
    let head = this.headValue;
    let chainTip = this.chainTipValue;
    let maxFence = this.maxFence;
    const stale: StaleFenceWrite[] = [];
    for (const { event, fence } of entries) {
      if (fence !== undefined) {
        if (maxFence !== undefined && fence < maxFence) {
          stale.push({ position: event.position, streamId: event.streamId, revision: event.revision, fence, newerFence: maxFence });
        } else {
          maxFence = fence;
        }
      }
      if (event.position <= head) {
        throw new SplitWriterError(
          `${event.streamId}@${event.revision} (event ${event.id}) claims position ${event.position}, but position ${head} was already written before it in $all`,
        );
      }
      head = event.position;
      chainTip = nextChainTip(chainTip, event);
    }
    const progress: Progress = { tail, head, chainTip, maxFence };
    await this.connection.exec('BEGIN IMMEDIATE');
    try {
      for (const { event, esdbPosition } of entries) {
        const inserted = await this.connection.runPrepared(
          `INSERT INTO events (position, esdb_commit, esdb_prepare, stream_id, revision, event_id, correlation_id) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (position) DO NOTHING`,
          [
            Number(event.position),
            esdbPosition.commit.toString(),
            esdbPosition.prepare.toString(),
            event.streamId,
            Number(event.revision),
            event.id,
            correlationOf(event.metadataJson),
          ],
        );
        if (inserted.changes === 0) {
          const held = await this.connection.get<{ event_id: string }>('SELECT event_id FROM events WHERE position = ?', [Number(event.position)]);
          if (held?.event_id !== event.id) {
            throw new SplitWriterError(`${event.streamId}@${event.revision} (event ${event.id}) claims position ${event.position}, already held by event ${held?.event_id}`);
          }
        }
        await this.connection.runPrepared(
          `INSERT INTO streams (stream_id, revision, last_position, last_recorded_at, last_hash) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, last_position = excluded.last_position,
             last_recorded_at = excluded.last_recorded_at, last_hash = excluded.last_hash
           WHERE excluded.last_position > streams.last_position`,
          [event.streamId, Number(event.revision), Number(event.position), event.recordedAt, event.hash],
        );
      }
      for (const entry of metadata) {
        const held = await this.connection.get<{ esdb_commit: string; esdb_prepare: string }>(
          'SELECT esdb_commit, esdb_prepare FROM stream_metadata WHERE stream_id = ?',
          [entry.streamId],
        );
        if (held && !isAfter(entry.esdbPosition, { commit: BigInt(held.esdb_commit), prepare: BigInt(held.esdb_prepare) })) continue;
        await this.connection.runPrepared(
          `INSERT INTO stream_metadata (stream_id, truncate_before, max_count, esdb_commit, esdb_prepare) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (stream_id) DO UPDATE SET truncate_before = excluded.truncate_before, max_count = excluded.max_count,
             esdb_commit = excluded.esdb_commit, esdb_prepare = excluded.esdb_prepare`,
          [
            entry.streamId,
            entry.metadata.truncateBefore === undefined ? null : entry.metadata.truncateBefore.toString(),
            entry.metadata.maxCount ?? null,
            entry.esdbPosition.commit.toString(),
            entry.esdbPosition.prepare.toString(),
          ],
        );
      }
      for (const write of stale) {
        await this.connection.runPrepared(
          'INSERT OR REPLACE INTO stale_fences (position, stream_id, revision, fence, newer_fence) VALUES (?, ?, ?, ?, ?)',
          [Number(write.position), write.streamId, Number(write.revision), write.fence.toString(), write.newerFence.toString()],
        );
      }
      const stored = await this.readProgress();
      if (!stored || isAfter(progress.tail.esdbPosition, stored.tail.esdbPosition)) await this.setMeta('progress', progressText(progress));
      await this.connection.exec('COMMIT');
    } catch (error) {
      await this.connection.exec('ROLLBACK').catch(() => undefined);
      throw error;
    }
    this.headValue = head;
    this.chainTipValue = chainTip;
    this.tailValue = tail;
    this.maxFence = maxFence;
  }

  /** Every event written under a fencing token older than one before it, in position order. */
  async staleFenceWrites(): Promise<StaleFenceWrite[]> {
    const rows = await this.connection.all<{ position: number; stream_id: string; revision: number; fence: string; newer_fence: string }>(
      'SELECT position, stream_id, revision, fence, newer_fence FROM stale_fences ORDER BY position',
    );
    return rows.map((row) => ({
      position: BigInt(row.position),
      streamId: row.stream_id,
      revision: BigInt(row.revision),
      fence: BigInt(row.fence),
      newerFence: BigInt(row.newer_fence),
    }));
  }

  async streamHead(streamId: string): Promise<StreamHead | undefined> {
    const row = await this.connection.get<{ revision: number; last_position: number; last_recorded_at: string; last_hash: string }>(
      'SELECT revision, last_position, last_recorded_at, last_hash FROM streams WHERE stream_id = ?',
      [streamId],
    );
    return row
      ? { revision: BigInt(row.revision), lastPosition: BigInt(row.last_position), lastRecordedAt: row.last_recorded_at, hash: row.last_hash }
      : undefined;
  }

  /** A stream's limits, as its newest `$metadata` event read from $all sets them. */
  async streamMetadata(streamId: string): Promise<StreamMetadata> {
    const row = await this.connection.get<{ truncate_before: string | null; max_count: number | null }>(
      'SELECT truncate_before, max_count FROM stream_metadata WHERE stream_id = ?',
      [streamId],
    );
    return {
      ...(row?.truncate_before == null ? {} : { truncateBefore: BigInt(row.truncate_before) }),
      ...(row?.max_count == null ? {} : { maxCount: row.max_count }),
    };
  }

  /** Where each of these event ids is stored, if anywhere. */
  async locate(eventIds: readonly string[]): Promise<Map<string, StoredIdLocation>> {
    const found = new Map<string, StoredIdLocation>();
    for (let start = 0; start < eventIds.length; start += 500) {
      const ids = eventIds.slice(start, start + 500);
      const rows = await this.connection.all<{ event_id: string; stream_id: string; revision: number; position: number }>(
        `SELECT event_id, stream_id, revision, position FROM events WHERE event_id IN (${ids.map(() => '?').join(', ')}) ORDER BY position`,
        ids,
      );
      for (const row of rows) {
        if (!found.has(row.event_id)) {
          found.set(row.event_id, { streamId: row.stream_id, revision: BigInt(row.revision), position: BigInt(row.position) });
        }
      }
    }
    return found;
  }

  /** The indexed event with the highest position at or below this one. */
  async placeAtOrBefore(position: bigint): Promise<IndexedPlace | undefined> {
    const row = await this.connection.get<PlaceRow>(
      'SELECT position, esdb_commit, esdb_prepare FROM events WHERE position <= ? ORDER BY position DESC LIMIT 1',
      [Number(position)],
    );
    return row ? placeOf(row) : undefined;
  }

  /** The indexed event with the lowest position above this one. */
  async placeAfter(position: bigint): Promise<IndexedPlace | undefined> {
    const row = await this.connection.get<PlaceRow>(
      'SELECT position, esdb_commit, esdb_prepare FROM events WHERE position > ? ORDER BY position ASC LIMIT 1',
      [Number(position)],
    );
    return row ? placeOf(row) : undefined;
  }

  /** Where the events carrying this correlation id are, in position order. */
  async correlated(correlationId: string, maxCount: number): Promise<IndexedPlace[]> {
    const rows = await this.connection.all<PlaceRow>(
      'SELECT position, esdb_commit, esdb_prepare FROM events WHERE correlation_id = ? ORDER BY position LIMIT ?',
      [correlationId, maxCount >= Number.MAX_SAFE_INTEGER ? -1 : maxCount],
    );
    return rows.map(placeOf);
  }

  async listStreams(options: ListStreamsOptions): Promise<StreamInfo[]> {
    return listStreamsIn(this.connection, 'last_recorded_at', options);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  private async loadTail(): Promise<void> {
    const progress = await this.readProgress();
    this.headValue = progress?.head ?? 0n;
    this.chainTipValue = progress?.chainTip ?? GENESIS_HASH;
    this.maxFence = progress?.maxFence;
    this.tailValue = progress?.tail;
  }

  private async readProgress(): Promise<Progress | undefined> {
    const text = await this.meta('progress');
    if (text === undefined) return undefined;
    const parsed = progressSchema.parse(JSON.parse(text));
    return {
      tail: { esdbPosition: { commit: BigInt(parsed.commit), prepare: BigInt(parsed.prepare) }, eventId: parsed.eventId },
      head: BigInt(parsed.head),
      chainTip: parsed.chainTip,
      maxFence: parsed.maxFence === undefined ? undefined : BigInt(parsed.maxFence),
    };
  }

  private async meta(key: string): Promise<string | undefined> {
    const row = await this.connection.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
    return row?.value;
  }

  private async setMeta(key: string, value: string): Promise<void> {
    await this.connection.runPrepared('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }
}
