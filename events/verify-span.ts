/**
 * Verifies the hash chains over a span of `$all`, as `ledgerclaw audit` does for what it
 * prints: every event from `from` to `until` must match its hash and link to the event
 * before it, in its stream and in `$all`.
 *
 * The span is anchored on the stored hash of the event just before it: a v2 hash is that
 * event's `$all` chain value, which the first event of the span links to. Before the `$all`
 * chain (a v1 event there, or no event), nothing short of the start anchors it, so the walk
 * starts at the beginning of `$all`.
 */
import type { EventBackend } from './backend.js';
import { verifyHashChains, type VerifyOptions, type VerifyResult } from './verify.js';

export interface SpanVerifyResult {
  /** Where the walk began: `from`, or 1 when the span could only be anchored at the start. */
  readonly from: bigint;
  readonly until: bigint;
  readonly result: VerifyResult;
}

export async function verifySpan(backend: EventBackend, from: bigint, until: bigint, options: Pick<VerifyOptions, 'onProgress'> = {}): Promise<SpanVerifyResult> {
  const [before] = from > 1n ? await backend.readAll({ from: from - 1n, direction: 'backwards', maxCount: 1 }) : [];
  if (!before || before.hashVersion !== 2) return { from: 1n, until, result: await verifyHashChains(backend, { ...options, until }) };
  const since = { position: before.position, hash: before.hash, chainTip: before.hash };
  return { from, until, result: await verifyHashChains(backend, { ...options, since, until }) };
}
