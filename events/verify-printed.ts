/**
 * Verifies the events `ledgerclaw audit` prints, without walking the whole span between
 * them: a group active all year spans nearly the whole store, and a walk of a million
 * events takes tens of seconds.
 *
 * A v2 hash covers the event's contents, its place and the `$all` chain value before it
 * (the previous event's hash). So for each printed event the check is:
 * - its hash is what its contents, place and predecessor's hash give;
 * - the event after it in `$all` links to it (its hash is what its contents give with this
 *   event's hash as the link).
 * Changing a printed event then means recomputing every hash after it, up to the anchor:
 * the checkpoint `start` last verified the whole chain to (`chain-verified.json`, outside the
 * database). The anchor's event must still hold the hash remembered there, and what came
 * after the anchor (appended since the last start) is walked in full.
 *
 * Without an anchor, or where a printed event or its neighbour is older than the `$all`
 * chain (v1), nothing short of a walk proves it: the caller falls back to verifySpan.
 */
import type { EventBackend } from './backend.js';
import type { RawStoredEvent } from './envelope.js';
import { GENESIS_HASH } from './hash-chain.js';
import { hashMatches, verifyHashChains, type ChainCheckpoint, type VerifyResult } from './verify.js';

export type PrintedVerifyResult =
  /** Each printed event checked against its neighbours, anchored at `anchor`; the tail after it walked. */
  | { readonly kind: 'anchored'; readonly anchor: ChainCheckpoint; readonly printed: number; readonly tail: number; readonly result: VerifyResult }
  /** A printed event or a neighbour predates the $all chain: only a walk can prove it. */
  | { readonly kind: 'needs_walk'; readonly reason: string };

/** How many printed events are read back per query (each with its two neighbours). */
const WINDOW_EVENTS = 500;

export async function verifyPrinted(backend: EventBackend, positions: readonly bigint[], anchor: ChainCheckpoint): Promise<PrintedVerifyResult> {
  const sorted = [...new Set(positions)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const last = sorted[sorted.length - 1] ?? anchor.position;
  // The anchor first: its event must still hold the remembered hash (verifyHashChains checks
  // that before anything else), and every event after it up to the last printed is walked.
  const tail = await verifyHashChains(backend, { since: anchor, until: last > anchor.position ? last : anchor.position });
  if (!tail.ok) return { kind: 'anchored', anchor, printed: 0, tail: tail.events, result: tail };

  const before = sorted.filter((position) => position <= anchor.position);
  let checked = 0;
  for (let start = 0; start < before.length; start += WINDOW_EVENTS) {
    const window = before.slice(start, start + WINDOW_EVENTS);
    const neighbourhood = await readNeighbourhood(backend, window);
    for (const position of window) {
      const failure = checkPrinted(position, neighbourhood, anchor);
      if (failure === 'needs_walk') return { kind: 'needs_walk', reason: `the event at position ${position} or one beside it predates the $all chain (hash v1)` };
      if (failure) return { kind: 'anchored', anchor, printed: checked, tail: tail.events, result: { ...failure, events: checked } };
      checked += 1;
    }
  }
  return { kind: 'anchored', anchor, printed: checked, tail: tail.events, result: { ok: true, events: checked + tail.events, streams: tail.streams, checkpoint: tail.checkpoint } };
}

/** The printed events and the events on either side of each, by position. */
async function readNeighbourhood(backend: EventBackend, positions: readonly bigint[]): Promise<Map<bigint, RawStoredEvent>> {
  const events = new Map<bigint, RawStoredEvent>();
  // Runs of nearby positions are read as one range; far ones one by one (three events each).
  let runStart = positions[0];
  let runEnd = positions[0];
  const flush = async () => {
    if (runStart === undefined || runEnd === undefined) return;
    const from = runStart > 1n ? runStart - 1n : 1n;
    const until = runEnd + 1n;
    for (const event of await backend.readAll({ from, until, direction: 'forwards', maxCount: Number(until - from) + 1 })) events.set(event.position, event);
  };
  for (const position of positions.slice(1)) {
    if (runEnd !== undefined && position - runEnd <= 8n) {
      runEnd = position;
      continue;
    }
    await flush();
    runStart = position;
    runEnd = position;
  }
  await flush();
  return events;
}

type PrintedFailure = Extract<VerifyResult, { ok: false }>;

function checkPrinted(position: bigint, events: ReadonlyMap<bigint, RawStoredEvent>, anchor: ChainCheckpoint): PrintedFailure | 'needs_walk' | undefined {
  const event = events.get(position);
  const broken = (problem: PrintedFailure['problem'], detail: string, at: RawStoredEvent | undefined = event): PrintedFailure => ({
    ok: false,
    events: 0,
    position: at?.position ?? position,
    ...(at ? { streamId: at.streamId, revision: at.revision } : {}),
    problem,
    detail,
  });
  if (!event) return broken('checkpoint_mismatch', `the event at position ${position}, which the audit log names, is gone from the store: events were removed`);
  const previous = position > 1n ? events.get(position - 1n) : undefined;
  if (event.hashVersion !== 2 || (position > 1n && previous?.hashVersion !== 2)) return 'needs_walk';
  const link = position > 1n ? previous?.hash : GENESIS_HASH;
  if (link === undefined) return broken('hash_mismatch', `the event before position ${position} is gone: events were removed`);
  if (!hashMatches(event, link)) {
    return broken('hash_mismatch', 'its hash does not match its contents, its place, its recording time, or the event before it in $all: the event was changed or moved');
  }
  // The anchor's own hash was compared with the remembered one; after it, the walk vouches.
  if (position === anchor.position) return undefined;
  const next = events.get(position + 1n);
  if (!next) return broken('hash_mismatch', `the event after position ${position} is gone, though the chain was verified past it: events were removed`);
  if (next.hashVersion !== 2) return 'needs_walk';
  if (!hashMatches(next, event.hash)) {
    return broken('hash_mismatch', `the event after it in $all (position ${next.position}) no longer links to it: this event, or that one, was changed`, next);
  }
  return undefined;
}
