/**
 * The single writer of a SQLite event store. Appends that arrive while a transaction is
 * being committed wait in a queue; the next transaction takes all of them at once and
 * writes them with multi-row INSERTs, so one fsync makes many appends durable (group
 * commit). Each append is still decided on its own: one refused append does not refuse
 * its neighbours, and a failed transaction fails only the appends it would have written.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decideAppend, type AppendDecision, type StoredIdLocation } from '../../append-decision.js';
import type { PreparedEvent, RawStoredEvent } from '../../envelope.js';
import { StoreClosedError } from '../../errors.js';
import { chainHashV2, CURRENT_HASH_VERSION, GENESIS_HASH, nextChainTip } from '../../hash-chain.js';
import type { BackendAppendResult } from '../../backend.js';
import type { ExpectedRevision } from '../../port.js';
import type { SqlValue, SqliteConnection, SqliteStatement } from './connection.js';
import { readChainTip } from './chain-tip.js';
import { EVENT_SELECT, toRawEvent, type EventRow } from './event-rows.js';
import { planVerbatimImport, VerbatimImportRefusedError } from '../../verbatim-import.js';

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
  readonly resolve: (result: BackendAppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Any other write (stream metadata), run alone in its own transaction, in queue order. */
interface QueuedJob {
  readonly kind: 'job';
  readonly run: (connection: SqliteConnection) => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Events taken as another store holds them (`importVerbatim`): written alone, all or none. */
interface QueuedImport {
  readonly kind: 'import';
  readonly events: readonly RawStoredEvent[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type Queued = QueuedAppend | QueuedJob | QueuedImport;

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

/** What one batch will write, decided before anything is written. */
interface BatchPlan {
  readonly decisions: AppendDecision[];
  readonly rows: SqlValue[];
  /** For each append the batch writes (by its index in the batch), its events as they will be stored. */
  readonly written: Map<number, RawStoredEvent[]>;
  readonly newHeads: Map<string, StreamHead>;
  headPosition: bigint;
  /** The $all chain value after the batch's last planned event. */
  chainTip: string;
  /** Where each event id of the batch is stored, or will be once the rows are written. */
  readonly stored: Map<string, StoredIdLocation>;
}

const EVENT_COLUMNS = 12;
const INSERT_EVENTS =
  'INSERT INTO events (position, stream_id, revision, event_id, type, version, data, metadata, recorded_at, prev_hash, hash_version, hash) VALUES ';
/** Rows per multi-row INSERT; prepared statements are cached for every count up to this. */
const ROWS_PER_STATEMENT = 64;
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);
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
  /** The $all chain value after the newest stored event: the next event's $all link. */
  private chainTip = GENESIS_HASH;
  /** Least recently used first: re-inserting a key moves it to the end. */
  private readonly heads = new Map<string, StreamHead>();
  /** Prepared multi-row INSERTs, by row count. */
  private readonly insertStatements = new Map<number, SqliteStatement>();
  private counters = { transactions: 0, appends: 0, events: 0 };

  constructor(
    private readonly connection: SqliteConnection,
    private readonly options: WriterOptions,
  ) {}

  async start(): Promise<void> {
    this.headPosition = await this.readHeadPosition();
    this.chainTip = await readChainTip(this.connection);
  }

  get stats(): WriterStats {
    return { ...this.counters };
  }

  append(streamId: string, events: readonly PreparedEvent[], expectedRevision: ExpectedRevision): Promise<BackendAppendResult> {
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

  /**
   * Stores events exactly as given, in the queue like every other write, so the cached
   * stream heads, head position and chain tip stay the writer's own truth. All or none.
   */
  importVerbatim(events: readonly RawStoredEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (events.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.enqueue({ kind: 'import', events, resolve, reject }));
  }

  /** Lets queued writes finish, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle;
    for (const statement of this.insertStatements.values()) {
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
        } else if (first.kind === 'import') {
          this.queue.shift();
          await this.runImport(first);
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

  private async runImport(item: QueuedImport): Promise<void> {
    const { events } = item;
    let plan: ReturnType<typeof planVerbatimImport>;
    try {
      const heads = await this.loadHeads(events.map((event) => event.streamId));
      const stored = await this.findStoredIdsOf(events.map((event) => event.id));
      plan = planVerbatimImport(events, { headPosition: this.headPosition, streamHeads: heads, storedId: (id) => stored.get(id) });
      // The driver binds JavaScript numbers: beyond 2^53 a position or revision would be stored rounded.
      const beyond = events.find((event) => event.position > MAX_EXACT || event.revision > MAX_EXACT);
      if (beyond) {
        throw new VerbatimImportRefusedError(beyond.position, beyond.streamId, beyond.revision, `SQLite stores positions and revisions exactly only up to ${MAX_EXACT}`);
      }
      const rows: SqlValue[] = [];
      for (const event of events) {
        rows.push(
          Number(event.position), event.streamId, Number(event.revision), event.id, event.type, event.version,
          event.dataJson, event.metadataJson, event.recordedAt, event.prevHash, event.hashVersion, event.hash,
        );
      }
      // Always one explicit transaction: an import is all of the call or none of it.
      await this.connection.exec('BEGIN IMMEDIATE');
      try {
        for (let row = 0; row < events.length; row += ROWS_PER_STATEMENT) {
          await this.insertEvents(rows, row, Math.min(ROWS_PER_STATEMENT, events.length - row));
        }
        await this.connection.exec('COMMIT');
      } catch (error) {
        await this.rollback();
        throw error;
      }
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT') {
        // Rows this writer did not know of: what it cached is no longer the disk's truth.
        await this.reloadFromDisk().catch(() => undefined);
      }
      item.reject(error);
      return;
    }
    let chainTip = this.chainTip;
    for (const event of events) chainTip = nextChainTip(chainTip, event);
    this.chainTip = chainTip;
    this.headPosition = plan.headPosition;
    for (const [streamId, head] of plan.streamHeads) this.rememberHead(streamId, head);
    this.counters.transactions += 1;
    this.counters.events += events.length;
    this.options.onCommit(plan.headPosition);
    item.resolve();
  }

  private async reloadFromDisk(): Promise<void> {
    this.heads.clear();
    this.headPosition = await this.readHeadPosition();
    this.chainTip = await readChainTip(this.connection);
  }

  private async commitBatch(batch: readonly QueuedAppend[]): Promise<void> {
    let plan: BatchPlan | undefined;
    try {
      plan = await this.planBatch(batch, 'optimistic');
      try {
        await this.writePlan(plan);
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT') throw error;
        // A stored event id that no decision expected (a retry sent with 'any'), or rows
        // from a writer this one did not know of: plan again from what is on disk.
        await this.reloadFromDisk();
        plan = await this.planBatch(batch, 'checked');
        await this.writePlan(plan);
      }
    } catch (error) {
      // Nothing of this batch is stored. Appends already refused keep their own reason;
      // every other append fails with the storage error.
      batch.forEach((append, index) => {
        const decision = plan?.decisions[index];
        append.reject(decision?.kind === 'refused' ? decision.error : error);
      });
      return;
    }

    const written = plan.rows.length / EVENT_COLUMNS;
    this.headPosition = plan.headPosition;
    this.chainTip = plan.chainTip;
    this.counters.transactions += 1;
    this.counters.appends += batch.length;
    this.counters.events += written;
    for (const [streamId, head] of plan.newHeads) this.rememberHead(streamId, head);
    if (written > 0) this.options.onCommit(plan.headPosition);
    const retried = await this.readStoredRetries(batch, plan).catch((error: unknown) => error as Error);
    const settled = plan;
    batch.forEach((append, index) => {
      const decision = settled.decisions[index]!;
      if (decision.kind === 'refused') append.reject(decision.error);
      else if (decision.kind === 'already_appended') {
        if (retried instanceof Error) append.reject(retried);
        else append.resolve({ ...decision.result, events: append.events.map((event) => retried.get(event.id)!) });
      } else {
        const events = settled.written.get(index)!;
        const last = events[events.length - 1]!;
        append.resolve({ nextExpectedRevision: last.revision, position: last.position, events });
      }
    });
  }

  /** The originally stored events of the appends recognised as retries (rare: one read). */
  private async readStoredRetries(batch: readonly QueuedAppend[], plan: BatchPlan): Promise<Map<string, RawStoredEvent>> {
    const ids = batch.flatMap((append, index) => (plan.decisions[index]!.kind === 'already_appended' ? append.events.map((event) => event.id) : []));
    const found = new Map<string, RawStoredEvent>();
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      const rows = await this.connection.all<EventRow>(`${EVENT_SELECT} WHERE event_id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      for (const row of rows) found.set(row.event_id, toRawEvent(row));
    }
    return found;
  }

  /**
   * Decides every append of a batch and lays out the rows to insert; reads, never writes.
   * `optimistic` trusts the cached heads and looks up stored event ids only for appends
   * the rule would refuse (a retry looks like a conflict until its ids are found); the
   * unique index on event ids catches the rest. `checked` looks up every id first.
   */
  private async planBatch(batch: readonly QueuedAppend[], mode: 'optimistic' | 'checked'): Promise<BatchPlan> {
    const heads = await this.loadHeads(batch.map((append) => append.streamId));
    const stored = mode === 'checked' ? await this.findStoredIds(batch) : new Map<string, StoredIdLocation>();
    const plan: BatchPlan = { decisions: [], rows: [], written: new Map(), newHeads: new Map(), headPosition: this.headPosition, chainTip: this.chainTip, stored };
    const recordedAt = new Date().toISOString();

    for (const [index, append] of batch.entries()) {
      const head = plan.newHeads.get(append.streamId) ?? heads.get(append.streamId);
      const decide = () =>
        decideAppend({
          streamId: append.streamId,
          expectedRevision: append.expectedRevision,
          currentRevision: head ? head.revision : null,
          eventIds: append.events.map((event) => event.id),
          storedAt: (id) => stored.get(id),
        });
      let decision = decide();
      if (decision.kind === 'refused' && mode === 'optimistic') {
        const found = await this.findStoredIds([append]);
        if (found.size > 0) {
          for (const [id, location] of found) stored.set(id, location);
          decision = decide();
        }
      }
      plan.decisions.push(decision);
      if (decision.kind !== 'write') continue;

      let prevHash = head ? head.hash : GENESIS_HASH;
      let revision = decision.firstRevision;
      const written: RawStoredEvent[] = [];
      plan.written.set(index, written);
      for (const event of append.events) {
        plan.headPosition += 1n;
        const position = plan.headPosition;
        const hash = chainHashV2({ allPrevHash: plan.chainTip, prevHash, streamId: append.streamId, revision, position, recordedAt }, event);
        plan.rows.push(
          Number(position), append.streamId, Number(revision), event.id, event.type, event.version,
          event.dataJson, event.metadataJson, recordedAt, prevHash, CURRENT_HASH_VERSION, hash,
        );
        written.push({ ...event, streamId: append.streamId, revision, position, recordedAt, prevHash, hashVersion: CURRENT_HASH_VERSION, hash });
        plan.chainTip = hash;
        // Later appends in this batch see this one, exactly as if it were already stored.
        stored.set(event.id, { streamId: append.streamId, revision, position });
        prevHash = hash;
        revision += 1n;
      }
      plan.newHeads.set(append.streamId, { revision: revision - 1n, hash: prevHash });
    }
    return plan;
  }

  /**
   * Inserts a plan's rows atomically. Rows that fit one statement go in one autocommit
   * INSERT (a statement is atomic, and the trigger that advances the stream index runs
   * inside it); more take an explicit transaction.
   */
  private async writePlan(plan: BatchPlan): Promise<void> {
    const rowCount = plan.rows.length / EVENT_COLUMNS;
    if (rowCount === 0) return;
    if (rowCount <= ROWS_PER_STATEMENT) {
      await this.insertEvents(plan.rows, 0, rowCount);
      return;
    }
    await this.connection.exec('BEGIN IMMEDIATE');
    try {
      for (let row = 0; row < rowCount; row += ROWS_PER_STATEMENT) {
        await this.insertEvents(plan.rows, row, Math.min(ROWS_PER_STATEMENT, rowCount - row));
      }
      await this.connection.exec('COMMIT');
    } catch (error) {
      await this.rollback();
      throw error;
    }
  }

  private async insertEvents(rows: readonly SqlValue[], firstRow: number, count: number): Promise<void> {
    let statement = this.insertStatements.get(count);
    if (!statement) {
      statement = await this.connection.prepare(`${INSERT_EVENTS}${placeholders(count, EVENT_COLUMNS)}`);
      this.insertStatements.set(count, statement);
    }
    await statement.run(rows.slice(firstRow * EVENT_COLUMNS, (firstRow + count) * EVENT_COLUMNS));
  }

  private async readHeadPosition(): Promise<bigint> {
    const row = await this.connection.get<{ head: number | null }>('SELECT max(position) AS head FROM events');
    return BigInt(row?.head ?? 0);
  }

  private async loadHeads(streamIds: readonly string[]): Promise<Map<string, StreamHead>> {
    const heads = new Map<string, StreamHead>();
    const missing = new Set<string>();
    for (const streamId of streamIds) {
      const cached = this.heads.get(streamId);
      if (cached) heads.set(streamId, cached);
      else missing.add(streamId);
    }
    const all = [...missing];
    // SQLite binds at most 32,766 parameters a statement; an import batch may name many streams.
    for (let start = 0; start < all.length; start += 500) {
      const ids = all.slice(start, start + 500);
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

  private findStoredIds(batch: readonly QueuedAppend[]): Promise<Map<string, StoredIdLocation>> {
    return this.findStoredIdsOf(batch.flatMap((append) => append.events.map((event) => event.id)));
  }

  private async findStoredIdsOf(ids: readonly string[]): Promise<Map<string, StoredIdLocation>> {
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
