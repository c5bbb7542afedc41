/**
 * The single writer of a SQLite event store. Appends that arrive while a transaction is
 * being committed wait in a queue; the next transaction takes all of them at once and
 * writes them with multi-row INSERTs, so one fsync makes many appends durable (group
 * commit). Each append is still decided on its own: one refused append does not refuse
 * its neighbours, and a failed transaction fails only the appends it would have written.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decideAppend, type AppendDecision, type StoredIdLocation } from '../../append-decision.js';
import type { PreparedEvent } from '../../envelope.js';
import { StoreClosedError } from '../../errors.js';
import { chainHash, GENESIS_HASH } from '../../hash-chain.js';
import type { AppendResult, ExpectedRevision } from '../../port.js';
import type { SqlValue, SqliteConnection, SqliteStatement } from './connection.js';

export interface WriterOptions {
  /** Most events one transaction takes from the queue (an append is never split). */
  readonly maxBatchEvents: number;
  /** Most payload bytes one transaction takes, so 1 MiB events do not build huge transactions. */
  readonly maxBatchBytes: number;
  /** Called after every commit that wrote events, with the new head position. */
  readonly onCommit: (headPosition: bigint) => void;
}

interface QueuedAppend {
  readonly kind: 'append';
  readonly streamId: string;
  readonly events: readonly PreparedEvent[];
  readonly expectedRevision: ExpectedRevision;
  readonly bytes: number;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Any other write (stream metadata), run alone in its own transaction, in queue order. */
interface QueuedJob {
  readonly kind: 'job';
  readonly run: (connection: SqliteConnection) => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type Queued = QueuedAppend | QueuedJob;

/** What the writer has done since it started: how well group commit is batching. */
export interface WriterStats {
  readonly transactions: number;
  readonly appends: number;
  readonly events: number;
}

interface StreamHead {
  readonly revision: bigint;
  readonly hash: string;
}

const EVENT_COLUMNS = 11;
const STREAM_COLUMNS = 5;
/** Rows per multi-row INSERT; prepared statements are cached for every count up to this. */
const ROWS_PER_STATEMENT = 64;
/** Stream heads kept in memory; a miss costs one indexed read. */
const HEAD_CACHE_LIMIT = 50_000;

function placeholders(rows: number, columns: number): string {
  const row = `(${new Array<string>(columns).fill('?').join(', ')})`;
  return new Array<string>(rows).fill(row).join(', ');
}

export class GroupCommitWriter {
  private readonly queue: Queued[] = [];
  private draining = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private headPosition = 0n;
  /** Least recently used first: re-inserting a key moves it to the end. */
  private readonly heads = new Map<string, StreamHead>();
  private readonly insertEvents = new Map<number, SqliteStatement>();
  private readonly upsertStreams = new Map<number, SqliteStatement>();
  private counters = { transactions: 0, appends: 0, events: 0 };

  constructor(
    private readonly connection: SqliteConnection,
    private readonly options: WriterOptions,
  ) {}

  async start(): Promise<void> {
    this.headPosition = await this.readHeadPosition();
  }

  get stats(): WriterStats {
    return { ...this.counters };
  }

  append(streamId: string, events: readonly PreparedEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    const bytes = events.reduce((sum, event) => sum + event.dataJson.length + event.metadataJson.length, 0);
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'append', streamId, events, expectedRevision, bytes, resolve, reject });
    });
  }

  runExclusive(run: (connection: SqliteConnection) => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return new Promise((resolve, reject) => this.enqueue({ kind: 'job', run, resolve, reject }));
  }

  /** Lets queued writes finish, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle;
    for (const statement of [...this.insertEvents.values(), ...this.upsertStreams.values()]) {
      await statement.finalize();
    }
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    if (!this.draining) {
      this.draining = true;
      this.idle = this.drain();
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // Let every appender whose promise just resolved enqueue its next append, so the
        // next transaction carries as many appends as are really waiting.
        await nextTurn();
        const first = this.queue[0]!;
        if (first.kind === 'job') {
          this.queue.shift();
          await this.runJob(first);
        } else {
          await this.commitBatch(this.takeAppends());
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private takeAppends(): QueuedAppend[] {
    const batch: QueuedAppend[] = [];
    let events = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.kind !== 'append') break;
      const full = events + next.events.length > this.options.maxBatchEvents || bytes + next.bytes > this.options.maxBatchBytes;
      if (batch.length > 0 && full) break;
      batch.push(next);
      events += next.events.length;
      bytes += next.bytes;
      this.queue.shift();
    }
    return batch;
  }

  private async runJob(job: QueuedJob): Promise<void> {
    try {
      await this.connection.exec('BEGIN IMMEDIATE');
      await job.run(this.connection);
      await this.connection.exec('COMMIT');
      job.resolve();
    } catch (error) {
      await this.rollback();
      job.reject(error);
    }
  }

  private async commitBatch(batch: readonly QueuedAppend[]): Promise<void> {
    const decisions: AppendDecision[] = [];
    const newHeads = new Map<string, StreamHead & { position: bigint }>();
    let headPosition = this.headPosition;
    let stored = new Map<string, StoredIdLocation>();
    let rows: SqlValue[] = [];
    try {
      await this.connection.exec('BEGIN IMMEDIATE');
      await this.guardAgainstForeignWrites();
      const heads = await this.loadHeads(batch);
      stored = await this.findStoredIds(batch);
      rows = [];
      const recordedAt = new Date().toISOString();

      for (const append of batch) {
        const head = newHeads.get(append.streamId) ?? heads.get(append.streamId);
        const decision = decideAppend({
          streamId: append.streamId,
          expectedRevision: append.expectedRevision,
          currentRevision: head ? head.revision : null,
          eventIds: append.events.map((event) => event.id),
          storedAt: (id) => stored.get(id),
        });
        decisions.push(decision);
        if (decision.kind !== 'write') continue;

        let prevHash = head ? head.hash : GENESIS_HASH;
        let revision = decision.firstRevision;
        for (const event of append.events) {
          headPosition += 1n;
          const hash = chainHash(prevHash, append.streamId, revision, event);
          rows.push(
            Number(headPosition), append.streamId, Number(revision), event.id, event.type, event.version,
            event.dataJson, event.metadataJson, recordedAt, prevHash, hash,
          );
          // Later appends in this batch see this one, exactly as if it were already stored.
          stored.set(event.id, { streamId: append.streamId, revision, position: headPosition });
          prevHash = hash;
          revision += 1n;
        }
        newHeads.set(append.streamId, { revision: revision - 1n, hash: prevHash, position: headPosition });
      }

      if (rows.length > 0) {
        await this.insertRows(this.insertEvents, 'INSERT INTO events (position, stream_id, revision, event_id, type, version, data, metadata, recorded_at, prev_hash, hash) VALUES ', EVENT_COLUMNS, rows);
        const streamRows: SqlValue[] = [];
        for (const [streamId, head] of newHeads) {
          streamRows.push(streamId, Number(head.revision), head.hash, Number(head.position), recordedAt);
        }
        await this.insertRows(
          this.upsertStreams,
          'INSERT INTO streams (stream_id, revision, last_hash, last_position, updated_at) VALUES ',
          STREAM_COLUMNS,
          streamRows,
          ' ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, last_hash = excluded.last_hash, last_position = excluded.last_position, updated_at = excluded.updated_at',
        );
      }
      await this.connection.exec('COMMIT');
    } catch (error) {
      await this.rollback();
      // Nothing of this batch is stored. Appends already refused keep their own reason;
      // every other append fails with the storage error.
      batch.forEach((append, index) => {
        const decision = decisions[index];
        if (decision?.kind === 'refused') append.reject(decision.error);
        else append.reject(error);
      });
      return;
    }

    this.headPosition = headPosition;
    this.counters.transactions += 1;
    this.counters.appends += batch.length;
    this.counters.events += rows.length / EVENT_COLUMNS;
    for (const [streamId, head] of newHeads) this.rememberHead(streamId, head);
    batch.forEach((append, index) => {
      const decision = decisions[index]!;
      if (decision.kind === 'refused') append.reject(decision.error);
      else if (decision.kind === 'already_appended') append.resolve(decision.result);
      else {
        const last = stored.get(append.events[append.events.length - 1]!.id)!;
        append.resolve({ nextExpectedRevision: last.revision, position: last.position });
      }
    });
    if (newHeads.size > 0) this.options.onCommit(headPosition);
  }

  /**
   * The caches are valid only while this writer is the only one. The data-directory lock
   * makes it so; this check, one indexed read a batch, keeps a stray second writer from
   * corrupting the chain even if the lock was bypassed.
   */
  private async guardAgainstForeignWrites(): Promise<void> {
    const head = await this.readHeadPosition();
    if (head !== this.headPosition) {
      this.heads.clear();
      this.headPosition = head;
    }
  }

  private async readHeadPosition(): Promise<bigint> {
    const row = await this.connection.get<{ head: number | null }>('SELECT max(position) AS head FROM events');
    return BigInt(row?.head ?? 0);
  }

  private async loadHeads(batch: readonly QueuedAppend[]): Promise<Map<string, StreamHead>> {
    const heads = new Map<string, StreamHead>();
    const missing = new Set<string>();
    for (const { streamId } of batch) {
      const cached = this.heads.get(streamId);
      if (cached) heads.set(streamId, cached);
      else missing.add(streamId);
    }
    if (missing.size > 0) {
      const ids = [...missing];
      const rows = await this.connection.all<{ stream_id: string; revision: number; last_hash: string }>(
        `SELECT stream_id, revision, last_hash FROM streams WHERE stream_id IN (${ids.map(() => '?').join(', ')})`,
        ids,
      );
      for (const row of rows) {
        const head = { revision: BigInt(row.revision), hash: row.last_hash };
        heads.set(row.stream_id, head);
        this.rememberHead(row.stream_id, head);
      }
    }
    return heads;
  }

  private async findStoredIds(batch: readonly QueuedAppend[]): Promise<Map<string, StoredIdLocation>> {
    const ids = batch.flatMap((append) => append.events.map((event) => event.id));
    const stored = new Map<string, StoredIdLocation>();
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      const rows = await this.connection.all<{ event_id: string; stream_id: string; revision: number; position: number }>(
        `SELECT event_id, stream_id, revision, position FROM events WHERE event_id IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) {
        stored.set(row.event_id, { streamId: row.stream_id, revision: BigInt(row.revision), position: BigInt(row.position) });
      }
    }
    return stored;
  }

  private async insertRows(
    cache: Map<number, SqliteStatement>,
    prefix: string,
    columns: number,
    values: readonly SqlValue[],
    suffix = '',
  ): Promise<void> {
    const totalRows = values.length / columns;
    for (let row = 0; row < totalRows; row += ROWS_PER_STATEMENT) {
      const count = Math.min(ROWS_PER_STATEMENT, totalRows - row);
      let statement = cache.get(count);
      if (!statement) {
        statement = await this.connection.prepare(`${prefix}${placeholders(count, columns)}${suffix}`);
        cache.set(count, statement);
      }
      await statement.run(values.slice(row * columns, (row + count) * columns));
    }
  }

  private rememberHead(streamId: string, head: StreamHead): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, { revision: head.revision, hash: head.hash });
    if (this.heads.size > HEAD_CACHE_LIMIT) this.heads.delete(this.heads.keys().next().value!);
  }

  private async rollback(): Promise<void> {
    // SQLite may already have rolled back on its own (it does on SQLITE_FULL); that is fine.
    await this.connection.exec('ROLLBACK').catch(() => undefined);
  }
}
