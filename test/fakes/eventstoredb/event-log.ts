/**
 * The fake's transaction log: every record of every stream, in `$all` order, in memory.
 *
 * What it keeps faithful, because clients and adapters rely on it:
 * - `$all` positions are byte-offset-like: each record moves the next position on by the
 *   record's size, so positions are increasing but not contiguous (nobody may assume 1, 2, 3).
 *   Commit and prepare positions are equal (a single node, one event per implicit transaction).
 * - Stream revisions count from 0; a tombstone takes revision long.MaxValue.
 * - The expected-revision decision is EventStoreDB's `IndexWriter.CheckCommit`, including
 *   its idempotency rules (same ids at the same place succeed again without writing; a batch
 *   whose first event was written but not the rest is a wrong expected version) and soft
 *   delete / undelete.
 * - Metadata lives in `$$<stream>` as `$metadata` events, and stream reads honour `$tb`,
 *   `$maxCount` and `$maxAge` (reads of `$all` do not: nothing is scavenged here).
 *
 * The backdoor edits records in place (tests tamper with a store through it); indexes are
 * rebuilt after each edit.
 */
import { randomUUID } from 'node:crypto';
import {
  DELETED_STREAM,
  METADATA_EVENT_TYPE,
  METASTREAM_MAX_COUNT,
  TOMBSTONE_EVENT_TYPE,
  isMetastream,
  metastreamOf,
  softDeleteMetadata,
  truncationOf,
  withTruncateBefore,
} from './stream-metadata.js';

export type ContentType = 'application/json' | 'application/octet-stream';

/** One record of the log, as a real server stores an event. */
export interface LogRecord {
  readonly position: bigint;
  readonly stream: string;
  readonly revision: bigint;
  readonly id: string;
  readonly type: string;
  readonly contentType: ContentType;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
  /** When the server wrote it (sent to clients as Unix-epoch ticks). */
  readonly created: Date;
}

/** An event as a client proposes it. */
export interface ProposedEvent {
  readonly id: string;
  readonly type: string;
  readonly contentType: ContentType;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
}

export type ExpectedRevision =
  | { readonly kind: 'any' }
  | { readonly kind: 'no_stream' }
  | { readonly kind: 'stream_exists' }
  | { readonly kind: 'revision'; readonly revision: bigint };

/** -1 stands for "no stream", as in the server. */
export const NO_STREAM = -1n;

export type WriteOutcome =
  | { readonly kind: 'written'; readonly currentRevision: bigint; readonly position: bigint | undefined }
  | { readonly kind: 'idempotent'; readonly currentRevision: bigint; readonly position: bigint | undefined }
  | { readonly kind: 'wrong-expected-version'; readonly currentRevision: bigint }
  | { readonly kind: 'stream-deleted' };

export type StreamReadOutcome =
  | { readonly kind: 'events'; readonly records: readonly LogRecord[] }
  | { readonly kind: 'stream-not-found' }
  | { readonly kind: 'stream-deleted' };

/** The numeric expected version the server reports for each expectation (`ExpectedVersion`). */
export function expectedVersionNumber(expected: ExpectedRevision): bigint {
  switch (expected.kind) {
    case 'any':
      return -2n;
    case 'no_stream':
      return -1n;
    case 'stream_exists':
      return -4n;
    case 'revision':
      return expected.revision;
  }
}

/** Size the fake charges a record in the log: a fixed header plus its variable parts. */
function recordSize(record: Omit<LogRecord, 'position'>): bigint {
  const header = 92;
  return BigInt(header + Buffer.byteLength(record.stream) + Buffer.byteLength(record.type) + record.data.length + record.metadata.length);
}

export interface EventLogOptions {
  readonly now?: () => Date;
  /** Write the records a fresh node writes at start (an `$epoch-information` event). Default true. */
  readonly seedSystemRecords?: boolean;
}

export type LogListener = (record: LogRecord) => void;

export class EventLog {
  private records: LogRecord[] = [];
  private byStream = new Map<string, LogRecord[]>();
  private byId = new Map<string, LogRecord[]>();
  private nextPosition = 0n;
  private readonly listeners = new Set<LogListener>();
  readonly now: () => Date;

  constructor(options: EventLogOptions = {}) {
    this.now = options.now ?? (() => new Date());
    if (options.seedSystemRecords ?? true) {
      this.writeRecords('$epoch-information', [
        {
          id: randomUUID(),
          type: '$epoch-information',
          contentType: 'application/json',
          data: Buffer.from(JSON.stringify({ epochId: randomUUID(), epochNumber: 0, epochPosition: 0, leaderInstanceId: randomUUID() })),
          metadata: new Uint8Array(),
        },
      ], 0n);
    }
  }

  // -------------------------------------------------------------------------------------
  // Reading.

  all(): readonly LogRecord[] {
    return this.records;
  }

  /** The position just past the last record: where the next record will be written. */
  endPosition(): bigint {
    return this.nextPosition;
  }

  lastRecord(): LogRecord | undefined {
    return this.records.at(-1);
  }

  /** The stream's last revision, whatever its metadata hides; -1 when it has no event. */
  lastRevision(stream: string): bigint {
    return this.byStream.get(stream)?.at(-1)?.revision ?? NO_STREAM;
  }

  isTombstoned(stream: string): boolean {
    return this.lastRevision(stream) === DELETED_STREAM;
  }

  /** The stream's metadata bytes: the newest event of its metastream. */
  metadataOf(stream: string): Uint8Array | undefined {
    return this.byStream.get(metastreamOf(stream))?.at(-1)?.data;
  }

  isSoftDeleted(stream: string): boolean {
    return truncationOf(this.metadataOf(stream)).truncateBefore === DELETED_STREAM;
  }

  /**
   * The events of a stream a read may return, in revision order, with the server's errors:
   * a tombstoned stream is deleted; a stream without events, or soft-deleted, is not found.
   */
  visibleEvents(stream: string): StreamReadOutcome {
    const records = this.byStream.get(stream) ?? [];
    const last = records.at(-1);
    if (last === undefined) return { kind: 'stream-not-found' };
    if (last.revision === DELETED_STREAM) return { kind: 'stream-deleted' };
    const truncation = isMetastream(stream) ? { maxCount: METASTREAM_MAX_COUNT } : truncationOf(this.metadataOf(stream));
    if (truncation.truncateBefore === DELETED_STREAM) return { kind: 'stream-not-found' };
    let lowest = truncation.truncateBefore ?? 0n;
    if (truncation.maxCount !== undefined && last.revision - truncation.maxCount + 1n > lowest) lowest = last.revision - truncation.maxCount + 1n;
    const oldest = truncation.maxAgeSeconds === undefined ? undefined : this.now().getTime() - Number(truncation.maxAgeSeconds) * 1000;
    return {
      kind: 'events',
      records: records.filter((record) => record.revision >= lowest && (oldest === undefined || record.created.getTime() >= oldest)),
    };
  }

  /** Called with each record written from now on (live subscriptions). */
  onRecord(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // -------------------------------------------------------------------------------------
  // Writing, with the server's decisions.

  append(stream: string, expected: ExpectedRevision, events: readonly ProposedEvent[]): WriteOutcome {
    const decision = this.checkCommit(stream, expected, events.map((event) => event.id));
    switch (decision.kind) {
      case 'deleted':
        return { kind: 'stream-deleted' };
      case 'wrong':
        return { kind: 'wrong-expected-version', currentRevision: decision.current };
      case 'idempotent':
        return { kind: 'idempotent', currentRevision: decision.end, position: decision.position };
      case 'ok': {
        if (events.length === 0) return { kind: 'written', currentRevision: decision.current, position: undefined };
        if (decision.softDeleted) {
          // The stream is written again after a soft delete: its metadata's `$tb` moves to the
          // first new revision, so the events from before the delete stay hidden.
          this.writeRecords(metastreamOf(stream), [this.metadataEvent(withTruncateBefore(this.metadataOf(stream), decision.current + 1n))], this.lastRevision(metastreamOf(stream)) + 1n);
        }
        const written = this.writeRecords(stream, events, decision.current + 1n);
        const last = written.at(-1);
        return { kind: 'written', currentRevision: last?.revision ?? decision.current, position: last?.position };
      }
    }
  }

  /** Soft delete (`Streams.Delete`): the metastream gets `{"$tb": long.MaxValue}`. */
  softDelete(stream: string, expected: ExpectedRevision): WriteOutcome {
    if (this.isTombstoned(stream)) return { kind: 'stream-deleted' };
    const current = this.lastRevision(stream);
    if (current === NO_STREAM && this.lastRevision(metastreamOf(stream)) === NO_STREAM) return { kind: 'wrong-expected-version', currentRevision: current };
    const decision = this.checkCommit(stream, expected, []);
    if (decision.kind === 'deleted') return { kind: 'stream-deleted' };
    if (decision.kind !== 'ok') return { kind: 'wrong-expected-version', currentRevision: current };
    const [record] = this.writeRecords(metastreamOf(stream), [this.metadataEvent(softDeleteMetadata())], this.lastRevision(metastreamOf(stream)) + 1n);
    return { kind: 'written', currentRevision: current, position: record?.position };
  }

  /** Hard delete (`Streams.Tombstone`): a `$streamDeleted` record at revision long.MaxValue. */
  tombstone(stream: string, expected: ExpectedRevision): WriteOutcome {
    if (this.isTombstoned(stream)) return { kind: 'stream-deleted' };
    const decision = this.checkCommit(stream, expected, []);
    if (decision.kind === 'deleted') return { kind: 'stream-deleted' };
    if (decision.kind !== 'ok') return { kind: 'wrong-expected-version', currentRevision: this.lastRevision(stream) };
    const [record] = this.writeRecords(stream, [{ id: randomUUID(), type: TOMBSTONE_EVENT_TYPE, contentType: 'application/octet-stream', data: new Uint8Array(), metadata: new Uint8Array() }], DELETED_STREAM);
    return { kind: 'written', currentRevision: DELETED_STREAM, position: record?.position };
  }

  private metadataEvent(data: Uint8Array): ProposedEvent {
    return { id: randomUUID(), type: METADATA_EVENT_TYPE, contentType: 'application/json', data, metadata: new Uint8Array() };
  }

  /**
   * EventStoreDB's commit check (IndexWriter.CheckCommit), for one stream and the proposed ids.
   * Every event ever written counts as "recently committed" for idempotency (the server keeps
   * a bounded cache; an unbounded one only makes the fake more forgiving for `any`).
   */
  private checkCommit(
    stream: string,
    expected: ExpectedRevision,
    ids: readonly string[],
  ):
    | { kind: 'ok'; current: bigint; softDeleted: boolean }
    | { kind: 'idempotent'; end: bigint; position: bigint | undefined }
    | { kind: 'wrong'; current: bigint }
    | { kind: 'deleted' } {
    const records = this.byStream.get(stream) ?? [];
    const current = records.at(-1)?.revision ?? NO_STREAM;
    if (current === DELETED_STREAM) return { kind: 'deleted' };
    const softDeleted = this.isSoftDeleted(stream);
    if (records.length === 0 && this.lastRevision(metastreamOf(stream)) === NO_STREAM) {
      // A stream never written (no events, no metadata).
      return expected.kind === 'any' || expected.kind === 'no_stream' ? { kind: 'ok', current, softDeleted: false } : { kind: 'wrong', current };
    }
    if (expected.kind === 'stream_exists' && softDeleted) return { kind: 'deleted' };
    // A stream with metadata but no events "exists" for `stream_exists`.

    if (expected.kind === 'any' || expected.kind === 'stream_exists') {
      let end: LogRecord | undefined;
      for (const [index, id] of ids.entries()) {
        const found = this.byId.get(id)?.find((record) => record.stream === stream);
        if (found === undefined) return index === 0 ? { kind: 'ok', current, softDeleted } : { kind: 'wrong', current };
        end = found;
      }
      if (end === undefined) return { kind: 'ok', current, softDeleted };
      return { kind: 'idempotent', end: end.revision, position: end.position };
    }

    const expectedNumber = expected.kind === 'no_stream' ? NO_STREAM : expected.revision;
    if (expectedNumber < current) {
      let revision = expectedNumber;
      let end: LogRecord | undefined;
      for (const id of ids) {
        revision += 1n;
        const atRevision = findByRevision(records, revision);
        if (atRevision !== undefined && atRevision.id === id) {
          end = atRevision;
          continue;
        }
        if (revision !== expectedNumber + 1n) return { kind: 'wrong', current };
        if (expected.kind === 'no_stream' && softDeleted) return { kind: 'ok', current, softDeleted };
        return { kind: 'wrong', current };
      }
      if (end === undefined) return { kind: 'wrong', current };
      return { kind: 'idempotent', end: end.revision, position: end.position };
    }
    if (expectedNumber > current) return { kind: 'wrong', current };
    return { kind: 'ok', current, softDeleted };
  }

  /** Appends records with consecutive revisions from `firstRevision` and tells the listeners. */
  private writeRecords(stream: string, events: readonly ProposedEvent[], firstRevision: bigint): LogRecord[] {
    const created = this.now();
    const written: LogRecord[] = [];
    let revision = firstRevision;
    for (const event of events) {
      const withoutPosition = { stream, revision, id: event.id, type: event.type, contentType: event.contentType, data: event.data, metadata: event.metadata, created };
      const record: LogRecord = { position: this.nextPosition, ...withoutPosition };
      this.nextPosition += recordSize(withoutPosition);
      this.records.push(record);
      const streamRecords = this.byStream.get(stream);
      if (streamRecords === undefined) this.byStream.set(stream, [record]);
      else streamRecords.push(record);
      const sameId = this.byId.get(record.id);
      if (sameId === undefined) this.byId.set(record.id, [record]);
      else sameId.push(record);
      written.push(record);
      revision += 1n;
    }
    for (const record of written) for (const listener of [...this.listeners]) listener(record);
    return written;
  }

  // -------------------------------------------------------------------------------------
  // The backdoor: direct edits of the log for tests (a real server offers none of this).

  /** Replaces a record (found by position) with the given fields. */
  replaceRecord(position: bigint, change: Partial<Omit<LogRecord, 'position'>>): LogRecord {
    const index = this.indexAt(position);
    const existing = this.records[index];
    if (existing === undefined) throw new Error(`fake EventStoreDB backdoor: no record at position ${position}`);
    const replaced: LogRecord = { ...existing, ...change, position };
    this.records[index] = replaced;
    this.reindex();
    return replaced;
  }

  /** Removes a record; its position stays vacant. */
  deleteRecord(position: bigint): LogRecord {
    const index = this.indexAt(position);
    const [removed] = this.records.splice(index, 1);
    if (removed === undefined) throw new Error(`fake EventStoreDB backdoor: no record at position ${position}`);
    this.reindex();
    return removed;
  }

  /** Moves a record to another position, which must be free (a vacated slot, or past the end). */
  moveRecord(from: bigint, to: bigint): LogRecord {
    const record = this.deleteRecord(from);
    try {
      return this.insertRecord({ ...record, position: to });
    } catch (error) {
      this.insertRecord(record);
      throw error;
    }
  }

  /**
   * Puts a record exactly as given. Its position must be free; past the end it moves the
   * end on. Live subscribers see it when it lands at the end (as a write would).
   */
  insertRecord(record: LogRecord): LogRecord {
    if (this.records.some((existing) => existing.position === record.position)) {
      throw new Error(`fake EventStoreDB backdoor: position ${record.position} is taken`);
    }
    const atEnd = record.position >= this.nextPosition;
    const index = this.records.findIndex((existing) => existing.position > record.position);
    if (index === -1) this.records.push(record);
    else this.records.splice(index, 0, record);
    const { position: _position, ...rest } = record;
    const after = record.position + recordSize(rest);
    if (after > this.nextPosition) this.nextPosition = after;
    this.reindex();
    if (atEnd) for (const listener of [...this.listeners]) listener(record);
    return record;
  }

  /** Writes raw records at the end, as appends would, without any expected-revision check. */
  appendRaw(stream: string, events: readonly ProposedEvent[], firstRevision?: bigint): LogRecord[] {
    return this.writeRecords(stream, events, firstRevision ?? this.lastRevision(stream) + 1n);
  }

  private indexAt(position: bigint): number {
    const index = this.records.findIndex((record) => record.position === position);
    if (index === -1) throw new Error(`fake EventStoreDB backdoor: no record at position ${position}`);
    return index;
  }

  private reindex(): void {
    const byStream = new Map<string, LogRecord[]>();
    const byId = new Map<string, LogRecord[]>();
    for (const record of this.records) {
      const sameId = byId.get(record.id);
      if (sameId === undefined) byId.set(record.id, [record]);
      else sameId.push(record);
      const list = byStream.get(record.stream);
      if (list === undefined) byStream.set(record.stream, [record]);
      else list.push(record);
    }
    for (const list of byStream.values()) list.sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));
    this.byStream = byStream;
    this.byId = byId;
  }
}

/** The record with that revision in a list sorted by revision (binary search). */
export function findByRevision(records: readonly LogRecord[], revision: bigint): LogRecord | undefined {
  const index = firstIndexWhere(records, (record) => record.revision >= revision);
  const found = records[index];
  return found !== undefined && found.revision === revision ? found : undefined;
}

/** The first index whose record satisfies a predicate that is monotonic over the list (binary search); the length when none does. */
export function firstIndexWhere(records: readonly LogRecord[], predicate: (record: LogRecord) => boolean): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const record = records[middle];
    if (record !== undefined && predicate(record)) high = middle;
    else low = middle + 1;
  }
  return low;
}
