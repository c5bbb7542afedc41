/**
 * The engine behind `events import` and `events migrate`: takes events in $all order from a
 * source (a file, another store) and writes them to a target exactly as they are, through
 * `importVerbatim`.
 *
 * - **Resumable and idempotent.** What the target holds already (positions up to its head)
 *   is compared, not written: the same event at the same position (every field) is skipped,
 *   anything else is refused. So a second run copies only what the first did not, and
 *   nothing twice.
 * - **Verified before written.** Every new event's links and hash are checked, continuing
 *   from the target's own chain (its head's chain value, each stream's stored head), so a
 *   tampered or reordered source is refused at the first event that does not fit, before
 *   the batch holding it is written.
 * - `dryRun` does every check and writes nothing: `events import` runs it over the whole
 *   file first, so a bad line or a broken chain anywhere in it writes nothing at all.
 */
import type { EventBackend, VerbatimImport } from '../backend.js';
import type { RawStoredEvent } from '../envelope.js';
import { GENESIS_HASH, nextChainTip } from '../hash-chain.js';
import { EMPTY_STORE_CHECKPOINT, hashMatches, verifyHashChains, type ChainCheckpoint } from '../verify.js';

export type TransferTarget = EventBackend & VerbatimImport;

/** An event from the source, with where it came from for messages (`line 12`, `position 40`). */
export interface SourcedEvent {
  readonly event: RawStoredEvent;
  readonly origin: string;
}

/** The source does not fit the target, or breaks its own chain; what was already written stays (and verifies). */
export class TransferRefusedError extends Error {
  readonly code = 'transfer_refused';
  constructor(message: string) {
    super(message);
    this.name = 'TransferRefusedError';
  }
}

export interface CopyOptions {
  /** Check everything, write nothing. */
  readonly dryRun?: boolean;
  /** Events a `importVerbatim` call takes at most. */
  readonly batchEvents?: number;
  /** Payload bytes a call takes at most (an event is never split). */
  readonly batchBytes?: number;
  /** After every batch (and every page of held events): events copied and skipped so far, and the last position seen. */
  readonly onProgress?: (progress: CopyProgress) => void;
}

export interface CopyProgress {
  readonly copied: number;
  readonly skipped: number;
  readonly position: bigint;
}

export interface CopyResult extends CopyProgress {
  /** The target's chain checkpoint after the copy (as a dry run would leave it). */
  readonly checkpoint: ChainCheckpoint;
}

/** Where the target's chain ends: its head, and the $all chain value after it. */
export async function targetCheckpoint(target: EventBackend): Promise<ChainCheckpoint> {
  const head = await target.headPosition();
  if (head === 0n) return EMPTY_STORE_CHECKPOINT;
  const [last] = await target.readAll({ from: head, until: head, direction: 'forwards', maxCount: 1 });
  if (!last) throw new TransferRefusedError(`the target (${target.location}) reports its head at position ${head} but holds no event there`);
  if (last.hashVersion === 2) return { position: last.position, hash: last.hash, chainTip: last.hash };
  // A store whose newest event is v1 has no $all link stored: fold it (this also verifies it).
  const walked = await verifyHashChains(target);
  if (!walked.ok) throw new TransferRefusedError(`the target (${target.location}) fails its own chain check at position ${walked.position}: ${walked.detail}`);
  return walked.checkpoint;
}

/** A stream's newest event in the target, for the first new event of that stream. */
async function targetStreamHead(target: EventBackend, streamId: string): Promise<{ revision: bigint; hash: string } | undefined> {
  const [info] = await target.listStreams({ prefix: streamId, limit: 1 });
  if (!info || info.streamId !== streamId) return undefined;
  const [last] = await target.readAll({ from: info.lastPosition, until: info.lastPosition, direction: 'forwards', maxCount: 1 });
  if (!last || last.streamId !== streamId || last.revision !== info.revision) {
    throw new TransferRefusedError(
      `the target (${target.location}) says stream ${streamId} ends at revision ${info.revision} (position ${info.lastPosition}), but holds no such event there`,
    );
  }
  return { revision: last.revision, hash: last.hash };
}

const FIELDS: readonly (keyof RawStoredEvent)[] = [
  'id', 'streamId', 'revision', 'position', 'type', 'version', 'recordedAt', 'dataJson', 'metadataJson', 'prevHash', 'hashVersion', 'hash',
];

function firstDifference(a: RawStoredEvent, b: RawStoredEvent): keyof RawStoredEvent | undefined {
  return FIELDS.find((field) => a[field] !== b[field]);
}

const describeEvent = (event: RawStoredEvent) => `${event.streamId}@${event.revision} (position ${event.position})`;

/**
 * The target's events up to its head, read a page at a time, to match against the source's
 * events at the same positions.
 */
class HeldEvents {
  private page: RawStoredEvent[] = [];
  private next: bigint | undefined;

  constructor(
    private readonly target: EventBackend,
    private readonly head: bigint,
    private readonly pageSize: number,
  ) {}

  /** Matches a source event at or below the target's head with the target's event there. */
  async match(sourced: SourcedEvent): Promise<void> {
    const { event } = sourced;
    if (this.next === undefined) this.next = event.position;
    for (;;) {
      if (this.page.length === 0) await this.fill();
      const held = this.page[0];
      if (!held || held.position > event.position) {
        throw new TransferRefusedError(
          `${sourced.origin}: the target holds events up to position ${this.head} but not this one, ${describeEvent(event)}: ` +
            'it is not a copy of this source (or events were removed from it)',
        );
      }
      this.page.shift();
      if (held.position < event.position) {
        throw new TransferRefusedError(
          `the target holds ${describeEvent(held)}, which the source does not have (its next event, ${sourced.origin}, is at position ${event.position}): ` +
            'it is not a copy of this source',
        );
      }
      const differs = firstDifference(held, event);
      if (differs) {
        throw new TransferRefusedError(
          `${sourced.origin}: the target holds a different event at position ${event.position} ` +
            `(${describeEvent(held)}, id ${held.id}; its ${differs} differs from the source's ${describeEvent(event)}, id ${event.id}): ` +
            'refusing to copy onto a store that is not a copy of this source',
        );
      }
      return;
    }
  }

  /**
   * Once the source passed the target's head (or ended): the target must hold nothing the
   * source does not. `continuesHead`: the source says it starts right after the target's
   * head (an export --since), so it need not repeat any of it.
   */
  async finish(firstNew: SourcedEvent | undefined, continuesHead: boolean): Promise<void> {
    if (this.head === 0n) return;
    if (this.next === undefined) {
      if (continuesHead) return;
      throw new TransferRefusedError(
        `the target holds events up to position ${this.head}, but the source ${firstNew ? `starts after them (${firstNew.origin} is at position ${firstNew.event.position})` : 'holds none of them'}: ` +
          'it is not a copy of this source',
      );
    }
    if (this.page.length === 0) await this.fill();
    const held = this.page[0];
    if (held) {
      throw new TransferRefusedError(`the target holds ${describeEvent(held)}, which the source does not have: it is not a copy of this source`);
    }
  }

  private async fill(): Promise<void> {
    if (this.next === undefined || this.next > this.head) return;
    this.page = await this.target.readAll({ from: this.next, until: this.head, direction: 'forwards', maxCount: this.pageSize });
    const last = this.page[this.page.length - 1];
    this.next = last ? last.position + 1n : this.head + 1n;
  }
}

/**
 * Checks new events against the chain they continue: positions that grow past the target's
 * head, each stream's next revision and link, the hash (v1 or v2) against the $all chain
 * value before it, and no v1 event after a v2 one (events/verify.ts applies the same rules).
 */
class ChainContinuation {
  private readonly tips = new Map<string, { revision: bigint; hash: string } | null>();
  private seenV2: boolean;
  private readonly targetWasEmpty: boolean;

  constructor(
    private readonly target: EventBackend,
    private reached: ChainCheckpoint,
    targetHeadVersion: number | undefined,
  ) {
    this.seenV2 = targetHeadVersion === 2;
    this.targetWasEmpty = reached.position === 0n;
  }

  get checkpoint(): ChainCheckpoint {
    return this.reached;
  }

  async accept(sourced: SourcedEvent): Promise<void> {
    const { event, origin } = sourced;
    const refuse = (detail: string) =>
      new TransferRefusedError(`${origin}: hash chain broken in stream ${event.streamId} at revision ${event.revision} (position ${event.position}): ${detail}`);
    if (event.position <= this.reached.position) {
      throw refuse(`positions must grow, but the event before it is at position ${this.reached.position}`);
    }
    if (event.hashVersion === 1 && this.seenV2) {
      throw refuse('it claims the old v1 hash rule, but comes after events hashed with v2: no v1 event can follow the $all chain');
    }
    let tip = this.tips.get(event.streamId);
    if (tip === undefined) {
      // An empty target holds no stream: no need to ask it (one read a stream, on a remote store).
      tip = this.targetWasEmpty ? null : ((await targetStreamHead(this.target, event.streamId)) ?? null);
      this.tips.set(event.streamId, tip);
    }
    const expectedRevision = tip ? tip.revision + 1n : 0n;
    if (event.revision !== expectedRevision) {
      throw refuse(`expected revision ${expectedRevision} next, found ${event.revision}: events are missing or moved`);
    }
    if (event.prevHash !== (tip ? tip.hash : GENESIS_HASH)) {
      throw refuse('its link to the previous event in its stream does not match that event: the previous event was changed or replaced');
    }
    if (!hashMatches(event, this.reached.chainTip)) {
      throw refuse(
        'its hash does not match its contents, its place, its recording time or what precedes it in $all: the event was changed or moved, ' +
          'or an event before it was removed, inserted or changed',
      );
    }
    this.tips.set(event.streamId, { revision: event.revision, hash: event.hash });
    this.seenV2 ||= event.hashVersion === 2;
    this.reached = { position: event.position, hash: event.hash, chainTip: nextChainTip(this.reached.chainTip, event) };
  }
}

export interface CopyStart {
  /** The chain checkpoint the source continues (an export `--since`): the target must hold it. */
  readonly continues?: ChainCheckpoint;
}

/** Copies `source` onto `target` (see the module comment). */
export async function copyVerbatim(
  source: AsyncIterable<SourcedEvent>,
  target: TransferTarget,
  options: CopyOptions & CopyStart = {},
): Promise<CopyResult> {
  const batchEvents = options.batchEvents ?? 1_000;
  const batchBytes = options.batchBytes ?? 8 * 1024 * 1024;
  const start = await targetCheckpoint(target);
  const [headEvent] = start.position === 0n ? [] : await target.readAll({ from: start.position, until: start.position, direction: 'forwards', maxCount: 1 });
  if (options.continues && options.continues.position > 0n) await requireContinuation(target, options.continues, start);

  const held = new HeldEvents(target, start.position, batchEvents);
  const chain = new ChainContinuation(target, start, headEvent?.hashVersion);
  let batch: RawStoredEvent[] = [];
  let bytes = 0;
  let copied = 0;
  let skipped = 0;
  let position = start.position;
  let lastSourcePosition: bigint | undefined;
  let passedHead = false;
  const continuesHead = options.continues !== undefined && options.continues.position === start.position;

  const flush = async () => {
    if (batch.length === 0) return;
    if (!options.dryRun) await target.importVerbatim(batch);
    copied += batch.length;
    batch = [];
    bytes = 0;
    options.onProgress?.({ copied, skipped, position });
  };

  for await (const sourced of source) {
    const { event } = sourced;
    if (lastSourcePosition !== undefined && event.position <= lastSourcePosition) {
      throw new TransferRefusedError(`${sourced.origin}: positions must grow, but the event before it is at position ${lastSourcePosition}`);
    }
    lastSourcePosition = event.position;
    if (event.position <= start.position) {
      await held.match(sourced);
      skipped += 1;
      position = event.position;
      if (skipped % batchEvents === 0) options.onProgress?.({ copied, skipped, position });
      continue;
    }
    if (!passedHead) {
      await held.finish(sourced, continuesHead);
      passedHead = true;
    }
    await chain.accept(sourced);
    batch.push(event);
    bytes += event.dataJson.length + event.metadataJson.length;
    position = event.position;
    if (batch.length >= batchEvents || bytes >= batchBytes) await flush();
  }
  if (!passedHead) await held.finish(undefined, continuesHead);
  await flush();
  options.onProgress?.({ copied, skipped, position });
  return { copied, skipped, position, checkpoint: chain.checkpoint };
}

/** An export `--since` continues one event: the target must hold exactly it. */
async function requireContinuation(target: EventBackend, continues: ChainCheckpoint, start: ChainCheckpoint): Promise<void> {
  if (start.position < continues.position) {
    throw new TransferRefusedError(
      `the source continues from position ${continues.position}, but the target (${target.location}) ends at ${start.position}: ` +
        'import the export that holds the events up to there first',
    );
  }
  const [at] = await target.readAll({ from: continues.position, until: continues.position, direction: 'forwards', maxCount: 1 });
  if (!at || at.hash !== continues.hash) {
    throw new TransferRefusedError(
      `the source continues from the event at position ${continues.position}, but the target holds ${at ? 'a different event' : 'no event'} there: ` +
        'it is not the store this export was taken from, or a copy of it',
    );
  }
  if (at.position === start.position && start.chainTip !== continues.chainTip) {
    throw new TransferRefusedError(`the source continues from a chain value at position ${continues.position} that the target does not have`);
  }
}
