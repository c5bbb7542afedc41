/**
 * The check `start` makes before it appends anything: the hash chains from the position
 * verified last time (runtime/chain-checkpoint.ts) to the head. A broken link stops the
 * start naming the stream and position, so nothing is ever appended on top of a tampered
 * or damaged store. Only what was written since the last check is read, so a start stays
 * fast however long the history; `ledgerclaw events verify` walks all of it.
 */
import type { EventBackend } from '../events/backend.js';
import { describeBrokenLink, verifyHashChains, type VerifyResult } from '../events/verify.js';
import { chainCheckpointPath, readChainCheckpoint, writeChainCheckpoint } from './chain-checkpoint.js';
import type { Logger } from './logger.js';

export interface StartVerificationOptions {
  readonly backend: EventBackend;
  readonly dataDir: string;
  /** `start --skip-verify`: forensics on a store that fails the check. */
  readonly skip: boolean;
  readonly logger: Logger;
  /** Where the skip warning goes besides the log: the operator's terminal. */
  readonly warn: (line: string) => void;
}

export type StartVerification =
  | { readonly kind: 'verified'; readonly events: number; readonly from: bigint; readonly through: bigint }
  | { readonly kind: 'skipped' };

/** The hash chains are broken: the store must not be written to. */
export class ChainBrokenError extends Error {
  readonly code = 'chain_broken';
  constructor(
    location: string,
    readonly failure: Extract<VerifyResult, { ok: false }>,
    checkpointFile: string,
  ) {
    super(
      `the event store at ${location} failed its hash-chain check, so nothing was appended: hash chain broken ${describeBrokenLink(failure)}. ` +
        (failure.problem === 'checkpoint_mismatch'
          ? `If you restored the store from a backup on purpose, delete ${checkpointFile} and start again to verify it whole. `
          : '') +
        'Run `ledgerclaw events verify` to check the whole store, restore it from a backup, or start with --skip-verify to examine it as it is (forensics only)',
    );
    this.name = 'ChainBrokenError';
  }
}

export async function verifyStoreOnStart(options: StartVerificationOptions): Promise<StartVerification> {
  const { backend, dataDir, logger } = options;
  const checkpointFile = chainCheckpointPath(dataDir);
  if (options.skip) {
    // The checkpoint stays where it was: the next checked start reads everything since.
    const text =
      'HASH-CHAIN VERIFICATION SKIPPED (--skip-verify): the event store was NOT checked for tampering, and events are appended to it as it is. ' +
      'The verified position is not moved, so the next start without --skip-verify checks everything written since.';
    options.warn(`ledgerclaw: WARNING: ${text}\n`);
    logger.warn({ skipVerify: true }, text);
    return { kind: 'skipped' };
  }

  const read = await readChainCheckpoint(dataDir);
  if (read.kind === 'unreadable') {
    logger.warn({ file: checkpointFile, reason: read.reason }, 'the chain checkpoint cannot be read; verifying the whole event store');
  } else if (read.kind === 'none') {
    logger.info({ file: checkpointFile }, 'no chain checkpoint yet; verifying the whole event store');
  }
  const since = read.kind === 'found' ? read.remembered.checkpoint : undefined;
  const began = Date.now();
  const result = await verifyHashChains(backend, since ? { since } : {});
  if (!result.ok) throw new ChainBrokenError(backend.location, result, checkpointFile);

  await writeChainCheckpoint(dataDir, { checkpoint: result.checkpoint, verifiedAt: new Date().toISOString() });
  const from = since?.position ?? 0n;
  logger.info(
    { events: result.events, from: from.toString(), through: result.checkpoint.position.toString(), ms: Date.now() - began },
    'hash chains verified',
  );
  return { kind: 'verified', events: result.events, from, through: result.checkpoint.position };
}
