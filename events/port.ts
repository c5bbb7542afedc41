/**
 * The EventStore port: what the rest of ledgerclaw may ask of an event store. One
 * implementation (events/event-store.ts) puts the catalogue in front of a storage backend;
 * the backends (events/adapters/*) are the only code that knows where events live.
 */
import type { Observable } from 'rxjs';
import type { NewEvent, StoredEvent } from './envelope.js';

/**
 * Where the appender believes the stream is:
 * - `'no_stream'`: the stream has no events yet;
 * - `'stream_exists'`: it has at least one;
 * - `'any'`: no check;
 * - a bigint: the revision of its last event.
 */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

export interface AppendOptions {
  readonly expectedRevision: ExpectedRevision;
}

export interface AppendResult {
  /** The revision of the last event appended: pass it as the next `expectedRevision`. */
  readonly nextExpectedRevision: bigint;
  /** The $all position of the last event appended. */
  readonly position: bigint;
  /**
   * The events as stored, exactly as a read returns them (upcast, with their revisions,
   * positions and hashes), so a writer can fold what it wrote without reading it back.
   * A recognised retry returns the events the original append stored.
   */
  readonly events: readonly StoredEvent[];
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** First revision to return (inclusive); 'start' by default forwards, 'end' backwards. */
  readonly from?: 'start' | 'end' | bigint;
  readonly direction?: Direction;
  /** Unlimited by default: an actor's stream is read whole (snapshots keep that short). */
  readonly maxCount?: number;
  /** Hand out data at the version it was stored with, without upcasting. Default true. */
  readonly upcast?: boolean;
}

export interface EventFilter {
  /** Only events whose stream id starts with one of these. */
  readonly streamPrefixes?: readonly string[];
  /** Only events of these types. */
  readonly eventTypes?: readonly string[];
}

export interface ReadAllOptions {
  /** First $all position to return (inclusive). */
  readonly fromPosition?: 'start' | 'end' | bigint;
  readonly direction?: Direction;
  /** 1,000 by default: $all is read in pages. */
  readonly maxCount?: number;
  readonly filter?: EventFilter;
  readonly upcast?: boolean;
}

export interface SubscribeOptions {
  /**
   * Where to resume: `'start'` delivers everything, `'end'` only what is appended after the
   * subscription starts, and a bigint is a checkpoint: the position of the last event the
   * consumer has already handled, which is not delivered again.
   */
  readonly fromPosition?: 'start' | 'end' | bigint;
  readonly filter?: EventFilter;
  /** How many deliveries may be handed out and not yet acknowledged. Default 256. */
  readonly maxInFlight?: number;
  readonly upcast?: boolean;
}

/**
 * One event handed to a subscriber. The subscription hands out at most `maxInFlight`
 * deliveries before it waits for acknowledgements, so a slow consumer slows the
 * subscription down instead of growing a buffer. Pipe through `handleEach` (events/subscription.ts)
 * to acknowledge after an async handler.
 */
export interface Delivery<TEvent extends StoredEvent = StoredEvent> {
  readonly event: TEvent;
  ack(): void;
}

export interface StreamMetadata {
  /** Revisions below this are no longer read from the stream. */
  readonly truncateBefore?: bigint;
  /** Only the newest this many events are read from the stream. */
  readonly maxCount?: number;
}

export interface StreamInfo {
  readonly streamId: string;
  /** The revision of its last event. */
  readonly revision: bigint;
  readonly lastPosition: bigint;
  readonly lastRecordedAt: string;
}

export interface ListStreamsOptions {
  readonly prefix?: string;
  /** Stream id to continue after (exclusive), for paging. */
  readonly after?: string;
  readonly limit?: number;
}

export interface EventStore {
  append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  /** Every event that carries this correlation id, in $all order: one trigger followed through every actor. */
  readByCorrelation(correlationId: string, options?: { readonly maxCount?: number; readonly upcast?: boolean }): Promise<StoredEvent[]>;
  /** Catch-up from `fromPosition`, then live; no gap and no duplicate at the switch. */
  subscribe(options?: SubscribeOptions): Observable<Delivery>;
  /** The current revision of a stream, or null when it has no events. */
  streamRevision(streamId: string): Promise<bigint | null>;
  listStreams(options?: ListStreamsOptions): Promise<StreamInfo[]>;
  /** The position of the newest event in $all; 0 when the store is empty. */
  headPosition(): Promise<bigint>;
  getStreamMetadata(streamId: string): Promise<StreamMetadata>;
  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void>;
  close(): Promise<void>;
}
