/**
 * `events migrate`: copies one store onto another in $all order, keeping every id,
 * revision, position, recording time, metadata and hash, then verifies every chain on the
 * target. It reads the source from the target's head on: the target's newest event must be
 * the source's event at that position (copy-verbatim.ts compares it), and the $all chain
 * vouches for everything before it. So a second run copies only what is new, and a run cut
 * off part way picks up after the last batch it wrote.
 */
import type { EventBackend } from '../backend.js';
import { verifyHashChains, type VerifyResult } from '../verify.js';
import { copyVerbatim, TransferRefusedError, type CopyProgress, type CopyResult, type SourcedEvent, type TransferTarget } from './copy-verbatim.js';

export interface MigrateOptions {
  readonly batchEvents?: number;
  /** Before copying: where the target starts and the source ends. */
  readonly onStart?: (targetHead: bigint, sourceHead: bigint) => void;
  readonly onProgress?: (progress: CopyProgress) => void;
  /** When the final walk over the target begins, with the target's head. */
  readonly onVerifyStart?: (head: bigint) => void;
  /** While the target is verified at the end. */
  readonly onVerifyProgress?: (checked: number, position: bigint, head: bigint) => void;
}

export interface MigrateResult {
  readonly copy: CopyResult;
  readonly sourceHead: bigint;
  readonly verified: VerifyResult;
}

export async function migrateEvents(source: EventBackend, target: TransferTarget, options: MigrateOptions = {}): Promise<MigrateResult> {
  const sourceHead = await source.headPosition();
  const targetHead = await target.headPosition();
  if (targetHead > sourceHead) {
    throw new TransferRefusedError(
      `the target (${target.location}) holds events up to position ${targetHead}, past the source's newest (${sourceHead}): it is not a copy of this source`,
    );
  }
  options.onStart?.(targetHead, sourceHead);
  const copy = await copyVerbatim(readSource(source, targetHead > 0n ? targetHead : 1n, sourceHead, options.batchEvents ?? 1_000), target, {
    ...(options.batchEvents ? { batchEvents: options.batchEvents } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  options.onVerifyStart?.(await target.headPosition());
  const verified = await verifyHashChains(target, options.onVerifyProgress ? { onProgress: options.onVerifyProgress } : {});
  return { copy, sourceHead, verified };
}

/** The source's events from `from` up to its head when the migration began, a page at a time. */
async function* readSource(source: EventBackend, from: bigint, until: bigint, pageSize: number): AsyncGenerator<SourcedEvent> {
  for (let next = from; next <= until; ) {
    const page = await source.readAll({ from: next, until, direction: 'forwards', maxCount: pageSize });
    for (const event of page) yield { event, origin: `the source's event at position ${event.position}` };
    const last = page[page.length - 1];
    if (!last || page.length < pageSize) return;
    next = last.position + 1n;
  }
}
