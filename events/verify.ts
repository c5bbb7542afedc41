/**
 * Walks the hash chains in one pass over $all and reports the first broken link: every
 * stream's chain, and the $all chain that v2 events carry (events/hash-chain.ts). Reads the
 * stored bytes (no upcasting), because the hashes cover exactly what was stored.
 *
 * From the start of $all it checks everything. From a checkpoint (where an earlier walk
 * ended) it checks the event there is still the one that walk saw, then only what comes
 * after: the $all chain links every later event to it, so the tail needs nothing older.
 */
import type { EventBackend } from './backend.js';
import type { RawStoredEvent } from './envelope.js';
import { chainHash, chainHashV2, GENESIS_HASH, nextChainTip } from './hash-chain.js';

export type ChainProblem =
  | 'hash_mismatch'
  | 'previous_hash_mismatch'
  | 'revision_gap'
  | 'stream_head_mismatch'
  | 'hash_version_downgrade'
  | 'unknown_hash_version'
  | 'checkpoint_mismatch';

/** Where a walk ended: enough to check only what comes after it next time. */
export interface ChainCheckpoint {
  /** The last event checked; 0 when the store was empty. */
  readonly position: bigint;
  /** That event's stored hash (GENESIS_HASH for an empty store). */
  readonly hash: string;
  /** The $all chain value after that event: what the next event's v2 hash links to. */
  readonly chainTip: string;
}

export const EMPTY_STORE_CHECKPOINT: ChainCheckpoint = { position: 0n, hash: GENESIS_HASH, chainTip: GENESIS_HASH };

export type VerifyResult =
  | {
      readonly ok: true;
      /** Events checked (after the checkpoint, when given one). */
      readonly events: number;
      /** Streams those events belong to. */
      readonly streams: number;
      /** Where this walk ended: give it as `since` to the next. */
      readonly checkpoint: ChainCheckpoint;
    }
  | {
      readonly ok: false;
      readonly events: number;
      readonly position: bigint;
      /** The broken event's stream and revision; absent when no one event is to blame (a lost checkpoint event). */
      readonly streamId?: string;
      readonly revision?: bigint;
      readonly problem: ChainProblem;
      readonly detail: string;
    };

export interface VerifyOptions {
  readonly pageSize?: number;
  /** Check only what comes after this checkpoint (and that the event at it is unchanged). */
  readonly since?: ChainCheckpoint;
  /**
   * Where an earlier walk ended, for a walk from the start: the store must still hold that
   * event, with the same hash and $all chain value. Catches a store cut short (its stream
   * index fixed up to match) or swapped for an older copy, which leave every link intact.
   */
  readonly remembered?: ChainCheckpoint;
  /**
   * Check no further than this position (inclusive): a span, as `ledgerclaw audit` verifies
   * what it prints. The stream index is then not compared (the events after the span are
   * not read, so a stream's head may lie beyond it).
   */
  readonly until?: bigint;
  /** Called after each page with the events checked so far and the head position. */
  readonly onProgress?: (checked: number, position: bigint, head: bigint) => void;
}

type Failure = Extract<VerifyResult, { ok: false }>;

export async function verifyHashChains(backend: EventBackend, options: VerifyOptions = {}): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 2_000;
  const since = options.since;
  const storeHead = await backend.headPosition();
  const head = options.until !== undefined && options.until < storeHead ? options.until : storeHead;
  const tips = new Map<string, { revision: bigint; hash: string }>();
  let checked = 0;
  let reached = since ?? EMPTY_STORE_CHECKPOINT;
  // Checkpoints are written by code that stores only v2 events, so after one, v1 is a forgery.
  let seenV2 = since !== undefined;

  if (since && since.position > 0n) {
    const [at] = await backend.readAll({ from: since.position, until: since.position, direction: 'forwards', maxCount: 1 });
    if (!at || at.hash !== since.hash) {
      return {
        ok: false,
        events: 0,
        position: since.position,
        ...(at ? { streamId: at.streamId, revision: at.revision } : {}),
        problem: 'checkpoint_mismatch',
        detail: at
          ? `the event at position ${since.position} is not the one verified there before (its hash changed): it was changed or replaced`
          : `the event at position ${since.position}, verified before, is gone (the store ends at ${storeHead}): events were removed, or the store was replaced by an older copy`,
      };
    }
  }

  const remembered = since === undefined && options.remembered && options.remembered.position > 0n ? options.remembered : undefined;
  const rememberedGone = (position: bigint): Failure => ({
    ok: false,
    events: checked,
    position,
    problem: 'checkpoint_mismatch',
    detail: `the event at position ${position}, verified before, is gone (the store ends at ${storeHead}): events were removed, or the store was replaced by an older copy`,
  });

  for (let from = reached.position + 1n; ; ) {
    const page = await backend.readAll({ from, until: head, direction: 'forwards', maxCount: pageSize });
    for (const event of page) {
      const fail = (problem: ChainProblem, detail: string): Failure => ({
        ok: false,
        events: checked,
        position: event.position,
        streamId: event.streamId,
        revision: event.revision,
        problem,
        detail,
      });
      const hashVersion: number = event.hashVersion;
      if (hashVersion !== 1 && hashVersion !== 2) {
        return fail('unknown_hash_version', `its hash version ${hashVersion} is not one this ledgerclaw knows (1 or 2)`);
      }
      if (hashVersion === 1 && seenV2) {
        return fail(
          'hash_version_downgrade',
          'it claims the old v1 hash rule (no position, time or $all link), but comes after events hashed with v2: no v1 event can be written after the $all chain began',
        );
      }
      const tip = tips.get(event.streamId);
      // After a checkpoint a stream's earlier events are not read; the $all chain vouches for the link.
      const streamKnown = tip !== undefined || since === undefined || event.revision === 0n;
      if (streamKnown) {
        const expectedRevision = tip ? tip.revision + 1n : 0n;
        if (event.revision !== expectedRevision) {
          return fail('revision_gap', `expected revision ${expectedRevision} next, found ${event.revision}: events are missing or moved`);
        }
        if (event.prevHash !== (tip ? tip.hash : GENESIS_HASH)) {
          return fail('previous_hash_mismatch', 'its link to the previous event does not match that event: the previous event was changed or replaced');
        }
      }
      if (!hashMatches(event, reached.chainTip)) {
        return fail(
          'hash_mismatch',
          hashVersion === 1
            ? 'its stored contents no longer match its hash: the event was changed after it was written'
            : 'its hash does not match its contents, its place (stream, revision, position), its recording time, or what precedes it in $all: ' +
                'the event was changed or moved, or an event before it was removed, inserted, moved or re-timed',
        );
      }
      if (remembered && event.position > remembered.position && reached.position < remembered.position) {
        return rememberedGone(remembered.position);
      }
      tips.set(event.streamId, { revision: event.revision, hash: event.hash });
      seenV2 ||= hashVersion === 2;
      reached = { position: event.position, hash: event.hash, chainTip: nextChainTip(reached.chainTip, event) };
      checked += 1;
      if (remembered && event.position === remembered.position && (event.hash !== remembered.hash || reached.chainTip !== remembered.chainTip)) {
        return fail('checkpoint_mismatch', `the event at position ${event.position} is not the one verified there before: it, or an event before it, was changed or replaced`);
      }
    }
    const last = page[page.length - 1];
    if (last) options.onProgress?.(checked, last.position, head);
    if (page.length < pageSize || !last) break;
    from = last.position + 1n;
  }

  if (remembered && reached.position < remembered.position) return rememberedGone(remembered.position);
  if (options.until !== undefined) return { ok: true, events: checked, streams: tips.size, checkpoint: reached };
  const headProblem = await checkStreamHeads(backend, head, tips, since);
  if (headProblem) return { ...headProblem, events: checked };
  return { ok: true, events: checked, streams: tips.size, checkpoint: reached };
}

/** Whether an event's stored hash is the one its contents, place and links give (v1 or v2). */
export function hashMatches(event: RawStoredEvent, allPrevHash: string): boolean {
  const expected =
    event.hashVersion === 1
      ? chainHash(event.prevHash, event.streamId, event.revision, event)
      : chainHashV2(
          { allPrevHash, prevHash: event.prevHash, streamId: event.streamId, revision: event.revision, position: event.position, recordedAt: event.recordedAt },
          event,
        );
  return expected === event.hash;
}

/**
 * A removed tail leaves every link intact; the stream index still remembers the head. After
 * a checkpoint only streams that moved since are compared: the others were compared then.
 */
async function checkStreamHeads(
  backend: EventBackend,
  head: bigint,
  tips: ReadonlyMap<string, { revision: bigint }>,
  since: ChainCheckpoint | undefined,
): Promise<Omit<Failure, 'events'> | undefined> {
  for (let after: string | undefined; ; ) {
    const streams = await backend.listStreams({ after, limit: 1_000 });
    for (const stream of streams) {
      if (since && stream.lastPosition <= since.position) continue;
      const tip = tips.get(stream.streamId);
      if (stream.lastPosition > head) {
        // Appended while we walked, or the newest event was removed (which lowers the head
        // too): stored events never move, so the head the index names must still be there.
        const [last] = await backend.readAll({ from: stream.lastPosition, until: stream.lastPosition, direction: 'forwards', maxCount: 1 });
        if (last && last.streamId === stream.streamId && last.revision === stream.revision) continue;
      }
      if (!tip || tip.revision !== stream.revision) {
        return {
          ok: false,
          position: stream.lastPosition,
          streamId: stream.streamId,
          revision: stream.revision,
          problem: 'stream_head_mismatch',
          detail: `the stream index says the stream ends at revision ${stream.revision}, but its events end at ${tip ? tip.revision : 'nothing'}`,
        };
      }
    }
    if (streams.length < 1_000) return undefined;
    after = streams[streams.length - 1]!.streamId;
  }
}

/** "in stream S at revision R (position P): detail", or "at position P: detail" when no one event is to blame. */
export function describeBrokenLink(failure: Extract<VerifyResult, { ok: false }>): string {
  const where =
    failure.streamId === undefined
      ? `at position ${failure.position}`
      : `in stream ${failure.streamId} at revision ${failure.revision} (position ${failure.position})`;
  return `${where}: ${failure.detail}`;
}
