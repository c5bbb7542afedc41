/**
 * An in-memory backend for unit tests and throwaway runs. It follows the same contract as
 * the durable adapters (test/contract), including idempotency and the hash chain.
 */
import { Subject, type Observable } from 'rxjs';
import { decideAppend, type StoredIdLocation } from '../append-decision.js';
import {
  firstReadableRevision,
  matchesFilter,
  type BackendAppendResult,
  type BackendReadAll,
  type BackendReadStream,
  type EventBackend,
  type VerbatimImport,
} from '../backend.js';
import type { PreparedEvent, RawStoredEvent } from '../envelope.js';
import { StoreClosedError } from '../errors.js';
import { chainHashV2, CURRENT_HASH_VERSION, GENESIS_HASH, nextChainTip } from '../hash-chain.js';
import type { ExpectedRevision, ListStreamsOptions, StreamInfo, StreamMetadata } from '../port.js';
import { planVerbatimImport } from '../verbatim-import.js';

export class MemoryBackend implements EventBackend, VerbatimImport {
  readonly location = 'memory';
  readonly readOnly = false;
  /** Every event in position order. Positions are values, not indexes: a removed event leaves a gap. */
  private readonly all: RawStoredEvent[] = [];
  private lastPosition = 0n;
  /** The $all chain value after the newest event: the next event's $all link. */
  private chainTip = GENESIS_HASH;
  private readonly streams = new Map<string, RawStoredEvent[]>();
  /** Each stream's newest event, kept apart from the events as the SQLite adapter's stream index is. */
  private readonly heads = new Map<string, RawStoredEvent>();
  private readonly ids = new Map<string, StoredIdLocation>();
  private readonly metadata = new Map<string, StreamMetadata>();
  private readonly changed = new Subject<void>();
  private closed = false;

  get changes(): Observable<void> {
    return this.changed.asObservable();
  }

  constructor(private readonly now: () => Date = () => new Date()) {}

  async append(streamId: string, events: readonly PreparedEvent[], expectedRevision: ExpectedRevision): Promise<BackendAppendResult> {
    this.assertOpen();
    const stream = this.streams.get(streamId) ?? [];
    const tip = this.heads.get(streamId);
    const decision = decideAppend({
      streamId,
      expectedRevision,
      currentRevision: tip ? tip.revision : null,
      eventIds: events.map((event) => event.id),
      storedAt: (id) => this.ids.get(id),
    });
    if (decision.kind === 'refused') throw decision.error;
    if (decision.kind === 'already_appended') {
      const first = decision.result.nextExpectedRevision - BigInt(events.length - 1);
      return { ...decision.result, events: stream.filter((event) => event.revision >= first && event.revision <= decision.result.nextExpectedRevision) };
    }

    const recordedAt = this.now().toISOString();
    let prevHash = tip ? tip.hash : GENESIS_HASH;
    let revision = decision.firstRevision;
    let position = this.lastPosition;
    let chainTip = this.chainTip;
    const written: RawStoredEvent[] = [];
    for (const event of events) {
      position += 1n;
      const hash = chainHashV2({ allPrevHash: chainTip, prevHash, streamId, revision, position, recordedAt }, event);
      written.push({ ...event, streamId, revision, position, recordedAt, prevHash, hashVersion: CURRENT_HASH_VERSION, hash });
      prevHash = hash;
      chainTip = hash;
      revision += 1n;
    }
    for (const event of written) {
      this.all.push(event);
      stream.push(event);
      this.ids.set(event.id, { streamId, revision: event.revision, position: event.position });
    }
    this.streams.set(streamId, stream);
    this.heads.set(streamId, written[written.length - 1]!);
    this.lastPosition = position;
    this.chainTip = chainTip;
    this.changed.next();
    const last = written[written.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position, events: written };
  }

  /** Checked whole by the shared rule (events/verbatim-import.ts) before anything is stored: all or none. */
  async importVerbatim(events: readonly RawStoredEvent[]): Promise<void> {
    this.assertOpen();
    if (events.length === 0) return;
    planVerbatimImport(events, { headPosition: this.lastPosition, streamHeads: this.heads, storedId: (id) => this.ids.get(id) });
    this.storeAsGiven(events);
    this.changed.next();
  }

  async readStream(streamId: string, options: BackendReadStream): Promise<RawStoredEvent[]> {
    this.assertOpen();
    const stream = this.streams.get(streamId) ?? [];
    const tip = this.heads.get(streamId);
    if (!tip) return [];
    const floor = firstReadableRevision(this.metadata.get(streamId) ?? {}, tip.revision);
    const from = options.from === 'end' ? tip.revision : options.from;
    const readable = stream.filter((event) =>
      event.revision >= floor && (options.direction === 'forwards' ? event.revision >= from : event.revision <= from),
    );
    if (options.direction === 'backwards') readable.reverse();
    return readable.slice(0, options.maxCount);
  }

  async readAll(options: BackendReadAll): Promise<RawStoredEvent[]> {
    this.assertOpen();
    const head = this.lastPosition;
    const from = options.from === 'end' ? head : options.from;
    const inRange =
      options.direction === 'forwards'
        ? (event: RawStoredEvent) => event.position >= from && (options.until === undefined || event.position <= options.until)
        : (event: RawStoredEvent) => event.position <= from;
    const ordered = options.direction === 'forwards' ? this.all : [...this.all].reverse();
    const result: RawStoredEvent[] = [];
    for (const event of ordered) {
      if (!inRange(event) || !matchesFilter(options.filter, event.streamId, event.type)) continue;
      result.push(event);
      if (result.length >= options.maxCount) break;
    }
    return result;
  }

  async readByCorrelation(correlationId: string, maxCount: number): Promise<RawStoredEvent[]> {
    this.assertOpen();
    return this.all
      .filter((event) => (JSON.parse(event.metadataJson) as { correlationId: string }).correlationId === correlationId)
      .slice(0, maxCount);
  }

  async headPosition(): Promise<bigint> {
    this.assertOpen();
    return this.lastPosition;
  }

  async streamRevision(streamId: string): Promise<bigint | null> {
    this.assertOpen();
    return this.heads.get(streamId)?.revision ?? null;
  }

  async listStreams(options: ListStreamsOptions): Promise<StreamInfo[]> {
    this.assertOpen();
    const ids = [...this.heads.keys()]
      .filter((id) => (options.prefix === undefined || id.startsWith(options.prefix)) && (options.after === undefined || id > options.after))
      .sort()
      .slice(0, options.limit ?? Number.MAX_SAFE_INTEGER);
    return ids.map((streamId) => {
      const tip = this.heads.get(streamId)!;
      return { streamId, revision: tip.revision, lastPosition: tip.position, lastRecordedAt: tip.recordedAt };
    });
  }

  async getStreamMetadata(streamId: string): Promise<StreamMetadata> {
    this.assertOpen();
    return this.metadata.get(streamId) ?? {};
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    this.assertOpen();
    this.metadata.set(streamId, { ...metadata });
  }

  /**
   * Test hook: change a stored event in place, as someone with write access to the disk
   * could. A changed position moves the event within $all.
   */
  tamper(position: bigint, change: (event: RawStoredEvent) => RawStoredEvent): void {
    const index = this.indexOf(position);
    const original = this.all[index]!;
    const changed = change(original);
    this.all[index] = changed;
    if (changed.position !== original.position) {
      this.all.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
      // The head is the highest position stored, as SQLite's max(position) is.
      if (changed.position > this.lastPosition) this.lastPosition = changed.position;
    }
    const stream = this.streams.get(original.streamId)!;
    stream[stream.indexOf(original)] = changed;
  }

  /**
   * Test hook: store events exactly as given (hashes and all) after the newest, as an old
   * version of ledgerclaw or a forger with disk access would have; the stream index follows.
   */
  importForTest(events: readonly RawStoredEvent[]): void {
    let last = this.lastPosition;
    for (const event of events) {
      if (event.position <= last) throw new Error(`position ${event.position} is not after the newest (${last})`);
      last = event.position;
    }
    this.storeAsGiven(events);
  }

  private storeAsGiven(events: readonly RawStoredEvent[]): void {
    for (const event of events) {
      this.all.push(event);
      const stream = this.streams.get(event.streamId) ?? [];
      stream.push(event);
      this.streams.set(event.streamId, stream);
      this.heads.set(event.streamId, event);
      this.ids.set(event.id, { streamId: event.streamId, revision: event.revision, position: event.position });
      this.lastPosition = event.position;
      this.chainTip = nextChainTip(this.chainTip, event);
    }
  }

  /**
   * Test hook: remove a stored event from $all and its stream, as deleting its row would,
   * while the stream index (what `listStreams` and `streamRevision` report) keeps its head.
   */
  removeForTest(position: bigint): void {
    const index = this.indexOf(position);
    const [removed] = this.all.splice(index, 1);
    const stream = this.streams.get(removed!.streamId)!;
    stream.splice(stream.indexOf(removed!), 1);
  }

  private indexOf(position: bigint): number {
    const index = this.all.findIndex((event) => event.position === position);
    if (index < 0) throw new Error(`no event at position ${position}`);
    return index;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.changed.complete();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
