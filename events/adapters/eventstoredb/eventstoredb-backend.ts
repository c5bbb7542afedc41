/**
 * The EventStoreDB backend: ledgerclaw's events in a (possibly clustered) EventStoreDB,
 * through @eventstore/db-client.
 *
 * Positions. The hash chain covers each event's $all position, and the writer must hash
 * before it writes, but EventStoreDB assigns its commit/prepare position only at commit.
 * So `position` here is a logical $all sequence (1, 2, 3…) that the one writer (the lease
 * holder) assigns and stores in each event's metadata (stored-form.ts): the same meaning as
 * SQLite's, so a migration keeps positions and hashes byte for byte. The local index
 * (position-index.ts, a cache rebuilt from $all) maps it to EventStoreDB's position.
 *
 * One writer. Appends run one at a time, in call order. The index is caught up with $all
 * first; each append is decided with the shared rule (append-decision.ts), asks the write
 * guard (the lease) for its fencing token, is hashed, and is sent with the exact expected
 * revision it decided, so the server enforces it too. Appends that queued up meanwhile run
 * as a group behind one catch-up, each decided against the index plus the group's earlier
 * writes, and one catch-up after the group indexes them all (appendGroup). A server
 * WrongExpectedVersion means someone else wrote: catch up and decide once more.
 */
import { merge, Observable, share, Subject, takeUntil } from 'rxjs';
import { decideAppend, type StoredIdLocation } from '../../append-decision.js';
import {
  firstReadableRevision,
  matchesFilter,
  type BackendAppendResult,
  type BackendReadAll,
  type BackendReadStream,
  type EventBackend,
  type VerbatimImport,
} from '../../backend.js';
import type { PreparedEvent, RawStoredEvent } from '../../envelope.js';
import { EventIdConflictError, InvalidArgumentError, ReadOnlyStoreError, StoreClosedError, WrongExpectedRevisionError } from '../../errors.js';
import { chainHashV2, CURRENT_HASH_VERSION, GENESIS_HASH } from '../../hash-chain.js';
import type { ExpectedRevision, ListStreamsOptions, StreamInfo, StreamMetadata } from '../../port.js';
import { EsdbGateway, type EsdbPosition, type EsdbRecordAt } from './client.js';
import { WriteRefusedError } from './errors.js';
import { EsdbLeaseStream, type LeaseStream } from './lease-stream.js';
import { isAfter, PositionIndex, type IndexedTail, type IndexEntry, type MetadataEntry, type StaleFenceWrite } from './position-index.js';
import {
  decodeEvent,
  decodeStreamMetadata,
  encodeEvent,
  encodeStreamMetadata,
  RUNTIME_LEASE_STREAM,
  STREAM_METADATA_KEY,
  StreamNames,
  type EsdbRecord,
} from './stored-form.js';

/**
 * Called before every append (and import); returns the fencing token the event metadata
 * records as `fence`, or throws to refuse the append (the lease is lost or about to expire).
 */
export type WriteGuard = () => bigint | Promise<bigint>;

export interface EventStoreDbBackendOptions {
  /** From LEDGERCLAW_EVENTSTOREDB_URL; may hold credentials, never shown unredacted. */
  readonly connectionString: string;
  /** A reader never appends; it follows the writer through the index and the live subscription. */
  readonly mode: 'writer' | 'reader';
  /** The index file (a cache), for example `<dataDir>/eventstoredb-index.db`; `:memory:` for none. */
  readonly indexPath: string;
  /** The deadline of each call to EventStoreDB. */
  readonly requestTimeoutMs: number;
  /** Stores every stream as `<namespace><stream id>`, so several stores can share a server; none by default. */
  readonly namespace?: string;
  readonly now?: () => Date;
}

/** $all is read in pages this long when catching up or scanning. */
const PAGE = 1_000;
/** Backoff of the live subscription's resubscribe after a drop. */
const RESUBSCRIBE_FIRST_MS = 100;
const RESUBSCRIBE_MAX_MS = 5_000;

/** At most this many queued appends are taken together, so one group cannot hold the queue for long. */
const MAX_GROUP = 64;

interface QueuedAppend {
  readonly streamId: string;
  readonly events: readonly PreparedEvent[];
  readonly expectedRevision: ExpectedRevision;
  readonly resolve: (result: BackendAppendResult) => void;
  readonly reject: (error: unknown) => void;
}

type GroupOutcome =
  | { readonly kind: 'written' | 'retry'; readonly result: BackendAppendResult }
  | { readonly kind: 'conflict'; readonly actual: bigint | 'no_stream' };

/**
 * The index as it stands plus what the running group wrote since the last catch-up (not
 * indexed yet): what each append of the group is decided and hashed against.
 */
class Unindexed {
  head: bigint;
  chainTip: string;
  private readonly heads = new Map<string, { readonly revision: bigint; readonly hash: string }>();
  private readonly ids = new Map<string, StoredIdLocation>();

  constructor(private readonly index: PositionIndex) {
    this.head = index.head;
    this.chainTip = index.chainTip;
  }

  async streamHead(streamId: string): Promise<{ readonly revision: bigint; readonly hash: string } | undefined> {
    return this.heads.get(streamId) ?? (await this.index.streamHead(streamId));
  }

  async locate(eventIds: readonly string[]): Promise<Map<string, StoredIdLocation>> {
    const found = await this.index.locate(eventIds);
    for (const id of eventIds) {
      const written = this.ids.get(id);
      if (written && !found.has(id)) found.set(id, written);
    }
    return found;
  }

  wrote(events: readonly RawStoredEvent[]): void {
    for (const event of events) {
      this.ids.set(event.id, { streamId: event.streamId, revision: event.revision, position: event.position });
      this.heads.set(event.streamId, { revision: event.revision, hash: event.hash });
      this.head = event.position;
      this.chainTip = event.hash;
    }
  }
}

function samePosition(a: EsdbPosition, b: EsdbPosition): boolean {
  return a.commit === b.commit && a.prepare === b.prepare;
}

export class EventStoreDbBackend implements EventBackend, VerbatimImport {
  readonly readOnly: boolean;
  /**
   * What an acknowledged append survives, for the start banner beside SQLite's synchronous
   * level: EventStoreDB acknowledges a write once a majority of the cluster's nodes has
   * written and flushed it (one node on a single-node server).
   */
  readonly durability = 'quorum';
  readonly changes: Observable<void>;
  /** The `runtime-lease` stream, for the lease (runtime/lease). */
  readonly leaseStream: LeaseStream;
  private readonly ownCommits = new Subject<void>();
  private readonly closing = new Subject<void>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Appends queued behind the running operation, not started yet: later appends join them. */
  private openGroup: QueuedAppend[] | undefined;
  private guard: WriteGuard | undefined;
  private closed = false;

  private constructor(
    private readonly gateway: EsdbGateway,
    private readonly index: PositionIndex,
    private readonly names: StreamNames,
    private readonly now: () => Date,
    mode: 'writer' | 'reader',
  ) {
    this.readOnly = mode === 'reader';
    this.leaseStream = new EsdbLeaseStream(gateway, names.lease, () => this.assertOpen());
    this.changes = merge(this.ownCommits, this.foreignCommits()).pipe(takeUntil(this.closing), share());
  }

  static async open(options: EventStoreDbBackendOptions): Promise<EventStoreDbBackend> {
    const names = new StreamNames(options.namespace);
    const gateway = new EsdbGateway({ connectionString: options.connectionString, requestTimeoutMs: options.requestTimeoutMs });
    let index: PositionIndex | undefined;
    try {
      index = await PositionIndex.open(options.indexPath, `${gateway.location} ${names.namespace}`.trim(), {
        onMismatch: options.mode === 'reader' ? 'memory' : 'reset',
        belongs: (tail) => indexedTailIsThere(gateway, tail),
      });
      const backend = new EventStoreDbBackend(gateway, index, names, options.now ?? (() => new Date()), options.mode);
      await backend.exclusive(() => backend.catchUp());
      return backend;
    } catch (error) {
      await index?.close().catch(() => undefined);
      await gateway.close();
      throw error;
    }
  }

  /** The connection string without credentials. */
  get location(): string {
    return this.gateway.location;
  }

  /**
   * Sets (or with undefined, removes) the guard every append asks first. The lease sets it
   * before the runtime writes anything; see runtime/lease.
   */
  setWriteGuard(guard: WriteGuard | undefined): void {
    this.guard = guard;
  }

  append(streamId: string, events: readonly PreparedEvent[], expectedRevision: ExpectedRevision): Promise<BackendAppendResult> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (this.readOnly) return Promise.reject(new ReadOnlyStoreError('append'));
    if (streamId === RUNTIME_LEASE_STREAM) {
      return Promise.reject(new WriteRefusedError(`${RUNTIME_LEASE_STREAM} belongs to the lease; the event store does not append to it`));
    }
    return new Promise<BackendAppendResult>((resolve, reject) => {
      const request: QueuedAppend = { streamId, events, expectedRevision, resolve, reject };
      // Appends that queue up while another operation runs are taken together (see appendGroup).
      if (this.openGroup && this.openGroup.length < MAX_GROUP) {
        this.openGroup.push(request);
        return;
      }
      const group = [request];
      this.openGroup = group;
      void this.exclusive(async () => {
        if (this.openGroup === group) this.openGroup = undefined;
        await this.appendGroup(group);
      });
    });
  }

  /**
   * Appends a group of queued appends, in call order, with one catch-up before and one after
   * instead of two each. Each is still decided with the shared rule, against the index plus
   * what the group wrote before it (an `Unindexed` view), hashed after it, and sent with the
   * exact expected revision it decided, so the server enforces each. When the server refuses
   * one (someone else wrote) or a call fails (whether it was written is unknown), the view is
   * dropped and the next attempt starts from a fresh catch-up, so the ones after it are
   * decided against what is really there. Every request is settled only after the final
   * catch-up has indexed the group's writes, as a lone append was.
   */
  private async appendGroup(group: readonly QueuedAppend[]): Promise<void> {
    // How each request is answered once the group is indexed; `wrote` marks the ones whose write the final catch-up must index.
    const settle: Array<{ readonly request: QueuedAppend; readonly wrote: boolean; answer(): void }> = [];
    let view: Unindexed | undefined;
    let unindexedWrites = false;
    let wroteAny = false;
    try {
      for (const request of group) {
        try {
          for (let attempt = 1; ; attempt += 1) {
            this.assertOpen();
            if (!view) {
              await this.catchUp();
              unindexedWrites = false;
              view = new Unindexed(this.index);
            }
            const outcome = await this.appendWithin(view, request);
            if (outcome.kind === 'written') {
              unindexedWrites = true;
              wroteAny = true;
            }
            if (outcome.kind !== 'conflict') {
              const result = outcome.result;
              settle.push({ request, wrote: outcome.kind === 'written', answer: () => request.resolve(result) });
              break;
            }
            // Someone else wrote to the stream: learn what, and decide once more.
            view = undefined;
            if (attempt >= 2) throw new WrongExpectedRevisionError(request.streamId, request.expectedRevision, outcome.actual);
          }
        } catch (error) {
          // The view may no longer match the store (a failed call may or may not have written).
          view = undefined;
          settle.push({ request, wrote: false, answer: () => request.reject(error) });
        }
      }
      if (unindexedWrites) {
        // Indexes what was written at the places EventStoreDB gave it.
        try {
          await this.catchUp();
        } catch (error) {
          // As for a lone append whose catch-up failed after its write: its caller hears of the failure.
          for (const [at, settled] of settle.entries()) {
            if (settled.wrote) settle[at] = { ...settled, answer: () => settled.request.reject(error) };
          }
        }
      }
      if (wroteAny) this.ownCommits.next();
    } finally {
      for (const settled of settle) settled.answer();
    }
  }

  /** Decides one append against the view, and writes it. */
  private async appendWithin(view: Unindexed, request: QueuedAppend): Promise<GroupOutcome> {
    const { streamId, events, expectedRevision } = request;
    const eventIds = events.map((event) => event.id);
    const head = await view.streamHead(streamId);
    const located = await view.locate(eventIds);
    const decision = decideAppend({
      streamId,
      expectedRevision,
      currentRevision: head ? head.revision : null,
      eventIds,
      storedAt: (id) => located.get(id),
    });
    if (decision.kind === 'refused') throw decision.error;
    if (decision.kind === 'already_appended') {
      const first = decision.result.nextExpectedRevision - BigInt(events.length - 1);
      const stored = await this.gateway.readStream(`read the original of a retried append to ${streamId}`, this.names.esdb(streamId), {
        from: first,
        direction: 'forwards',
        maxCount: events.length,
      });
      return { kind: 'retry', result: { ...decision.result, events: stored.map((record) => this.decodeIn(streamId, record)) } };
    }

    const fence = this.guard ? await this.guard() : undefined;
    const written = this.chain(view, streamId, events, decision.firstRevision, head?.hash ?? GENESIS_HASH);
    const outcome = await this.gateway.appendBinary(
      `append to ${streamId}`,
      this.names.esdb(streamId),
      written.map((event) => encodeEvent(event, fence)),
      head ? head.revision : 'no_stream',
    );
    if (!outcome.ok) return { kind: 'conflict', actual: outcome.actual };
    view.wrote(written);
    const last = written[written.length - 1]!;
    return { kind: 'written', result: { nextExpectedRevision: last.revision, position: last.position, events: written } };
  }

  /** The events hashed at the places after the view's head. */
  private chain(view: Unindexed, streamId: string, events: readonly PreparedEvent[], firstRevision: bigint, streamPrevHash: string): RawStoredEvent[] {
    const recordedAt = this.now().toISOString();
    let prevHash = streamPrevHash;
    let allPrevHash = view.chainTip;
    let position = view.head;
    let revision = firstRevision;
    return events.map((event) => {
      position += 1n;
      const hash = chainHashV2({ allPrevHash, prevHash, streamId, revision, position, recordedAt }, event);
      const stored: RawStoredEvent = { ...event, streamId, revision, position, recordedAt, prevHash, hashVersion: CURRENT_HASH_VERSION, hash };
      prevHash = hash;
      allPrevHash = hash;
      revision += 1n;
      return stored;
    });
  }

  async importVerbatim(events: readonly RawStoredEvent[]): Promise<void> {
    this.assertOpen();
    if (this.readOnly) throw new ReadOnlyStoreError('importVerbatim');
    if (events.length === 0) return;
    // Appends called after this import must not join a group queued before it.
    this.openGroup = undefined;
    await this.exclusive(async () => {
      await this.catchUp();
      await this.checkContinues(events);
      if (this.guard) await this.guard();
      // EventStoreDB has no transaction across streams: each run of one stream's events is one atomic append.
      for (let start = 0; start < events.length; ) {
        const streamId = events[start]!.streamId;
        let end = start + 1;
        while (end < events.length && events[end]!.streamId === streamId) end += 1;
        const run = events.slice(start, end);
        const first = run[0]!;
        const outcome = await this.gateway.appendBinary(
          `import into ${streamId}`,
          this.names.esdb(streamId),
          run.map((event) => encodeEvent(event)),
          first.revision === 0n ? 'no_stream' : first.revision - 1n,
        );
        if (!outcome.ok) throw new WrongExpectedRevisionError(streamId, first.revision === 0n ? 'no_stream' : first.revision - 1n, outcome.actual);
        start = end;
      }
      await this.catchUp();
      this.ownCommits.next();
    });
  }

  /** Imported events must come after the head, in order, each continuing its stream's revisions and links. */
  private async checkContinues(events: readonly RawStoredEvent[]): Promise<void> {
    let position = this.index.head;
    const heads = new Map<string, { revision: bigint; hash: string } | null>();
    const ids = await this.index.locate(events.map((event) => event.id));
    const seen = new Set<string>();
    for (const event of events) {
      const where = `import of ${event.streamId}@${event.revision} (position ${event.position})`;
      if (event.streamId === RUNTIME_LEASE_STREAM || event.streamId.startsWith('$')) throw new InvalidArgumentError(`${where}: not a ledgerclaw stream`);
      if (event.position <= position) throw new InvalidArgumentError(`${where}: positions must grow past ${position}, the store's newest or the previous event's`);
      position = event.position;
      const stored = ids.get(event.id);
      if (stored || seen.has(event.id)) {
        throw new EventIdConflictError(event.streamId, event.id, stored ? { streamId: stored.streamId, revision: stored.revision } : 'same_append');
      }
      seen.add(event.id);
      if (!heads.has(event.streamId)) {
        const head = await this.index.streamHead(event.streamId);
        heads.set(event.streamId, head ? { revision: head.revision, hash: head.hash } : null);
      }
      const head = heads.get(event.streamId) ?? null;
      const revision = head ? head.revision + 1n : 0n;
      if (event.revision !== revision) throw new InvalidArgumentError(`${where}: the stream's next revision is ${revision}`);
      if (event.prevHash !== (head ? head.hash : GENESIS_HASH)) throw new InvalidArgumentError(`${where}: its link does not match the stream's newest event`);
      heads.set(event.streamId, { revision: event.revision, hash: event.hash });
    }
  }

  async readStream(streamId: string, options: BackendReadStream): Promise<RawStoredEvent[]> {
    this.assertOpen();
    await this.refresh();
    const head = await this.index.streamHead(streamId);
    if (!head) return [];
    const floor = firstReadableRevision(await this.index.streamMetadata(streamId), head.revision);
    if (options.direction === 'forwards') {
      const wanted = options.from === 'end' ? head.revision : options.from;
      const from = wanted > floor ? wanted : floor;
      if (from > head.revision) return [];
      const records = await this.gateway.readStream(`read ${streamId}`, this.names.esdb(streamId), { from, direction: 'forwards', maxCount: options.maxCount });
      return records.map((record) => this.decodeIn(streamId, record));
    }
    const from = options.from === 'end' || options.from > head.revision ? head.revision : options.from;
    if (from < floor) return [];
    const records = await this.gateway.readStream(`read ${streamId}`, this.names.esdb(streamId), { from, direction: 'backwards', maxCount: options.maxCount });
    return records.filter((record) => record.revision >= floor).map((record) => this.decodeIn(streamId, record));
  }

  async readAll(options: BackendReadAll): Promise<RawStoredEvent[]> {
    this.assertOpen();
    await this.refresh();
    return options.direction === 'forwards' ? this.readAllForwards(options) : this.readAllBackwards(options);
  }

  private async readAllForwards(options: BackendReadAll): Promise<RawStoredEvent[]> {
    const from = options.from === 'end' ? this.index.head : options.from;
    const result: RawStoredEvent[] = [];
    if (options.until !== undefined && from > options.until) return result;
    // Start where the index puts the nearest event at or before `from`: $all is in position order.
    const start = await this.index.placeAtOrBefore(from);
    let cursor: EsdbPosition | 'start' = start ? start.esdbPosition : 'start';
    let skipAtCursor = false;
    const pageSize = options.filter ? PAGE : Math.min(options.maxCount + 1, PAGE);
    for (;;) {
      const page = await this.gateway.readAll('read $all', { from: cursor, direction: 'forwards', maxCount: pageSize });
      for (const record of page) {
        if (skipAtCursor && cursor !== 'start' && !isAfter(record.esdbPosition, cursor)) continue;
        const event = this.decodeOurs(record);
        if (!event || event.position < from) continue;
        if (options.until !== undefined && event.position > options.until) return result;
        if (!matchesFilter(options.filter, event.streamId, event.type)) continue;
        result.push(event);
        if (result.length >= options.maxCount) return result;
      }
      const last = page[page.length - 1];
      if (!last || page.length < pageSize) return result;
      cursor = last.esdbPosition;
      skipAtCursor = true;
    }
  }

  private async readAllBackwards(options: BackendReadAll): Promise<RawStoredEvent[]> {
    const from = options.from;
    const result: RawStoredEvent[] = [];
    // Start at the nearest indexed event after `from` (or the end): whether EventStoreDB
    // includes the event at its start position or not, the position check below decides.
    const start = from === 'end' ? undefined : await this.index.placeAfter(from);
    let cursor: EsdbPosition | 'end' = start ? start.esdbPosition : 'end';
    let skipAtCursor = false;
    const pageSize = options.filter ? PAGE : Math.min(options.maxCount + 1, PAGE);
    for (;;) {
      const page = await this.gateway.readAll('read $all backwards', { from: cursor, direction: 'backwards', maxCount: pageSize });
      for (const record of page) {
        if (skipAtCursor && cursor !== 'end' && !isAfter(cursor, record.esdbPosition)) continue;
        const event = this.decodeOurs(record);
        if (!event || (from !== 'end' && event.position > from)) continue;
        if (!matchesFilter(options.filter, event.streamId, event.type)) continue;
        result.push(event);
        if (result.length >= options.maxCount) return result;
      }
      const last = page[page.length - 1];
      if (!last || page.length < pageSize) return result;
      cursor = last.esdbPosition;
      skipAtCursor = true;
    }
  }

  async readByCorrelation(correlationId: string, maxCount: number): Promise<RawStoredEvent[]> {
    this.assertOpen();
    await this.refresh();
    const places = await this.index.correlated(correlationId, maxCount);
    const events: RawStoredEvent[] = [];
    for (const place of places) {
      const [record] = await this.gateway.readAll('read by correlation', { from: place.esdbPosition, direction: 'forwards', maxCount: 1 });
      const event = record && samePosition(record.esdbPosition, place.esdbPosition) ? this.decodeOurs(record) : undefined;
      if (event) events.push(event);
    }
    return events;
  }

  async headPosition(): Promise<bigint> {
    this.assertOpen();
    await this.refresh();
    return this.index.head;
  }

  async streamRevision(streamId: string): Promise<bigint | null> {
    this.assertOpen();
    await this.refresh();
    return (await this.index.streamHead(streamId))?.revision ?? null;
  }

  async listStreams(options: ListStreamsOptions): Promise<StreamInfo[]> {
    this.assertOpen();
    await this.refresh();
    return this.index.listStreams(options);
  }

  /** Kept under the `ledgerclaw` key of EventStoreDB's stream metadata (stored-form.ts says why), and read from the index. */
  async getStreamMetadata(streamId: string): Promise<StreamMetadata> {
    this.assertOpen();
    await this.refresh();
    return this.index.streamMetadata(streamId);
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    if (this.readOnly) throw new ReadOnlyStoreError('setStreamMetadata');
    const current = await this.gateway.getStreamMetadata(`read the metadata of ${streamId}`, this.names.esdb(streamId));
    // Whatever else an operator put in the stream's metadata (an ACL) stays.
    await this.gateway.setStreamMetadata(`set the metadata of ${streamId}`, this.names.esdb(streamId), {
      ...current,
      [STREAM_METADATA_KEY]: encodeStreamMetadata(metadata),
    });
  }

  /**
   * Events a runtime wrote after it had lost its lease (a fencing token older than one
   * already in $all), in position order: what `events verify` reports for this backend.
   * The guard stops a runtime before its lease ends, so this is empty unless a clock or a
   * frozen process beat it.
   */
  async staleFenceWrites(): Promise<StaleFenceWrite[]> {
    this.assertOpen();
    await this.refresh();
    return this.index.staleFenceWrites();
  }

  /** Where EventStoreDB keeps the event at this logical position, as far as the index knows. */
  async esdbPositionOf(position: bigint): Promise<EsdbPosition | undefined> {
    this.assertOpen();
    await this.refresh();
    const place = await this.index.placeAtOrBefore(position);
    return place && place.position === position ? place.esdbPosition : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.closing.next();
    this.ownCommits.complete();
    await this.index.close().catch(() => undefined);
    await this.gateway.close();
  }

  /** Catches the index up, after whatever append or catch-up is running. */
  private refresh(): Promise<void> {
    return this.exclusive(() => this.catchUp());
  }

  /** Runs one index-changing operation at a time, in call order. */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Reads $all after the index's tail and indexes every ledgerclaw event in it. Inside `exclusive` only. */
  private async catchUp(): Promise<void> {
    for (;;) {
      const tail = this.index.tail;
      const page = await this.gateway.readAll('catch up with $all', { from: tail ? tail.esdbPosition : 'start', direction: 'forwards', maxCount: PAGE });
      const fresh = tail ? page.filter((record) => isAfter(record.esdbPosition, tail.esdbPosition)) : page;
      const last = fresh[fresh.length - 1];
      if (!last) return;
      const entries: IndexEntry[] = [];
      const limits: MetadataEntry[] = [];
      for (const record of fresh) {
        const streamId = this.names.ours(record.streamId, record.type);
        if (streamId !== undefined) {
          const { event, fence } = decodeEvent({ ...record, streamId });
          entries.push({ event, esdbPosition: record.esdbPosition, fence });
          continue;
        }
        const limited = this.names.metadataOf(record.streamId, record.type);
        if (limited !== undefined && record.isJson) {
          limits.push({ streamId: limited, metadata: decodeStreamMetadata(limited, record.revision, record.data), esdbPosition: record.esdbPosition });
        }
      }
      await this.index.apply(entries, { esdbPosition: last.esdbPosition, eventId: last.id }, limits);
      if (page.length < PAGE) return;
    }
  }

  /**
   * Ticks when another process may have written: a live subscription to $all from its end,
   * used as a doorbell only (readers re-read from their own positions), so after a dropped
   * connection it resubscribes from the end with backoff and rings once, which loses nothing.
   */
  private foreignCommits(): Observable<void> {
    return new Observable<void>((subscriber) => {
      let live: { stop(): void } | undefined;
      let timer: NodeJS.Timeout | undefined;
      let delay = RESUBSCRIBE_FIRST_MS;
      let stopped = false;
      const connect = () => {
        if (stopped || this.closed) return;
        live = this.gateway.subscribeToAllFromEnd(
          () => {
            delay = RESUBSCRIBE_FIRST_MS;
            subscriber.next();
          },
          () => {
            live = undefined;
            if (stopped || this.closed) return;
            timer = setTimeout(() => {
              connect();
              // Whatever was committed while it was down is found by the readers' re-read.
              subscriber.next();
            }, delay);
            timer.unref();
            delay = Math.min(delay * 2, RESUBSCRIBE_MAX_MS);
          },
        );
      };
      connect();
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        live?.stop();
      };
    });
  }

  /** A record of $all as a ledgerclaw event, or undefined when it is not one of this store's. */
  private decodeOurs(record: EsdbRecordAt): RawStoredEvent | undefined {
    const streamId = this.names.ours(record.streamId, record.type);
    return streamId === undefined ? undefined : this.decodeIn(streamId, record);
  }

  /** A record read from the EventStoreDB stream of `streamId`. */
  private decodeIn(streamId: string, record: EsdbRecord): RawStoredEvent {
    return decodeEvent({ ...record, streamId }).event;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

/**
 * Whether the event an index read last is still at that place in the store: if not, the
 * index belongs to another store at the same address, or to one wiped since.
 */
async function indexedTailIsThere(gateway: EsdbGateway, tail: IndexedTail): Promise<boolean> {
  const [record] = await gateway.readAll('check the local index', { from: tail.esdbPosition, direction: 'forwards', maxCount: 1 });
  return record !== undefined && record.id === tail.eventId && samePosition(record.esdbPosition, tail.esdbPosition);
}

export const openEventStoreDbBackend = (options: EventStoreDbBackendOptions): Promise<EventStoreDbBackend> => EventStoreDbBackend.open(options);
