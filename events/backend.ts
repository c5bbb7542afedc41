/**
 * The storage port: what an adapter must do so that events/event-store.ts can offer the
 * full EventStore on top of it. Adapters see events already validated and serialized;
 * they own ordering, atomicity, idempotency, the hash chain and durability.
 */
import type { Observable } from 'rxjs';
import type { PreparedEvent, RawStoredEvent } from './envelope.js';
import type {
  AppendResult,
  Direction,
  EventFilter,
  ExpectedRevision,
  ListStreamsOptions,
  StreamInfo,
  StreamMetadata,
} from './port.js';

/** An append's result as a backend gives it: the stored events still in their stored form. */
export interface BackendAppendResult extends Omit<AppendResult, 'events'> {
  readonly events: readonly RawStoredEvent[];
}

export interface BackendReadStream {
  /** Inclusive; 'end' means the newest event. */
  readonly from: bigint | 'end';
  readonly direction: Direction;
  readonly maxCount: number;
}

export interface BackendReadAll {
  /** Inclusive start position in the read direction; 'end' means the newest event. */
  readonly from: bigint | 'end';
  /** Forwards only: do not go past this position (inclusive). */
  readonly until?: bigint;
  readonly direction: Direction;
  readonly maxCount: number;
  readonly filter?: EventFilter;
}

export interface EventBackend {
  /** A human-readable location for messages: a file path, a connection string without secrets. */
  readonly location: string;
  readonly readOnly: boolean;
  /**
   * Appends atomically: all events at consecutive revisions, or none. Idempotent on event
   * ids (see events/append-decision.ts).
   */
  append(streamId: string, events: readonly PreparedEvent[], expectedRevision: ExpectedRevision): Promise<BackendAppendResult>;
  /** Honours the stream's truncateBefore and maxCount. */
  readStream(streamId: string, options: BackendReadStream): Promise<RawStoredEvent[]>;
  /** Every stored event, whatever its stream's metadata says (as EventStoreDB does before a scavenge). */
  readAll(options: BackendReadAll): Promise<RawStoredEvent[]>;
  /** Events whose metadata.correlationId is this, in $all order. */
  readByCorrelation(correlationId: string, maxCount: number): Promise<RawStoredEvent[]>;
  headPosition(): Promise<bigint>;
  streamRevision(streamId: string): Promise<bigint | null>;
  listStreams(options: ListStreamsOptions): Promise<StreamInfo[]>;
  getStreamMetadata(streamId: string): Promise<StreamMetadata>;
  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void>;
  /**
   * Ticks whenever events may have been committed since the last tick: at once for this
   * process's appends, and soon after for another process's. Carries no data; readers
   * re-read from their own position, which is what makes catch-up and live the same code.
   */
  readonly changes: Observable<void>;
  close(): Promise<void>;
}

/** The lowest revision a stream read may return, given the stream's metadata and its head. */
export function firstReadableRevision(metadata: StreamMetadata, headRevision: bigint): bigint {
  const byTruncation = metadata.truncateBefore ?? 0n;
  const byCount = metadata.maxCount === undefined ? 0n : headRevision - BigInt(metadata.maxCount) + 1n;
  return byTruncation > byCount ? byTruncation : byCount > 0n ? byCount : 0n;
}

/** Whether an event passes a subscription or readAll filter. */
export function matchesFilter(filter: EventFilter | undefined, streamId: string, type: string): boolean {
  if (!filter) return true;
  if (filter.eventTypes && !filter.eventTypes.includes(type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => streamId.startsWith(prefix))) return false;
  return true;
}

/**
 * A backend that can take events exactly as another store holds them (ids, revisions,
 * positions, recording times, hashes): what `events migrate` and `events import` write to.
 * The caller verifies the chains it copies; the backend checks that the events continue
 * what it holds (positions after its newest, each stream's next revision and link) and
 * writes all of a call or none.
 */
export interface VerbatimImport {
  importVerbatim(events: readonly RawStoredEvent[]): Promise<void>;
}
