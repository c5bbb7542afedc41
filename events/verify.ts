/**
 * Walks every hash chain in one pass over $all and reports the first broken link. Reads
 * the stored bytes (no upcasting), because the hashes cover exactly what was stored.
 */
import type { EventBackend } from './backend.js';
import { chainHash, GENESIS_HASH } from './hash-chain.js';

export type ChainProblem =
  | 'hash_mismatch'
  | 'previous_hash_mismatch'
  | 'revision_gap'
  | 'stream_head_mismatch';

export type VerifyResult =
  | { readonly ok: true; readonly events: number; readonly streams: number }
  | {
      readonly ok: false;
      readonly events: number;
      readonly streamId: string;
      readonly revision: bigint;
      readonly problem: ChainProblem;
      readonly detail: string;
    };

export interface VerifyOptions {
  readonly pageSize?: number;
  /** Called after each page with the events checked so far and the head position. */
  readonly onProgress?: (checked: number, position: bigint, head: bigint) => void;
}

export async function verifyHashChains(backend: EventBackend, options: VerifyOptions = {}): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 2_000;
  const head = await backend.headPosition();
  const tips = new Map<string, { revision: bigint; hash: string }>();
  let checked = 0;
  let from = 0n;

  for (;;) {
    const page = await backend.readAll({ from, until: head, direction: 'forwards', maxCount: pageSize });
    for (const event of page) {
      const tip = tips.get(event.streamId);
      const expectedRevision = tip ? tip.revision + 1n : 0n;
      const fail = (problem: ChainProblem, detail: string): VerifyResult => ({
        ok: false,
        events: checked,
        streamId: event.streamId,
        revision: event.revision,
        problem,
        detail,
      });
      if (event.revision !== expectedRevision) {
        return fail('revision_gap', `expected revision ${expectedRevision} next, found ${event.revision}: events are missing or moved`);
      }
      const expectedPrev = tip ? tip.hash : GENESIS_HASH;
      if (event.prevHash !== expectedPrev) {
        return fail('previous_hash_mismatch', 'its link to the previous event does not match that event: the previous event was changed or replaced');
      }
      if (chainHash(event.prevHash, event.streamId, event.revision, event) !== event.hash) {
        return fail('hash_mismatch', 'its stored contents no longer match its hash: the event was changed after it was written');
      }
      tips.set(event.streamId, { revision: event.revision, hash: event.hash });
      checked += 1;
    }
    const last = page[page.length - 1];
    if (last) options.onProgress?.(checked, last.position, head);
    if (page.length < pageSize || !last) break;
    from = last.position + 1n;
  }

  // A removed tail leaves every link intact; the stream index still remembers the head.
  for (let after: string | undefined; ; ) {
    const streams = await backend.listStreams({ after, limit: 1_000 });
    for (const stream of streams) {
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
          events: checked,
          streamId: stream.streamId,
          revision: stream.revision,
          problem: 'stream_head_mismatch',
          detail: `the stream index says the stream ends at revision ${stream.revision}, but its events end at ${tip ? tip.revision : 'nothing'}`,
        };
      }
    }
    if (streams.length < 1_000) break;
    after = streams[streams.length - 1]!.streamId;
  }

  return { ok: true, events: checked, streams: tips.size };
}
