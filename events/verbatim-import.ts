/**
 * The pure rule every adapter applies to `importVerbatim` (events/backend.ts): events taken
 * exactly as another store holds them must continue what this store holds. Positions come
 * after its newest and only grow, each stream goes on at its next revision with a link to
 * its stored head, and no event id is stored twice. Kept apart from I/O, as
 * append-decision.ts is, so every adapter refuses exactly alike.
 *
 * What this rule does not check is whether the hashes are right: the caller (events/transfer)
 * walks the chains of what it copies before it hands them over.
 */
import { GENESIS_HASH } from './hash-chain.js';
import type { RawStoredEvent } from './envelope.js';
import { EventStoreError } from './errors.js';

/** A batch of verbatim events that does not continue the store; nothing of it was written. */
export class VerbatimImportRefusedError extends EventStoreError {
  readonly code = 'verbatim_import_refused';
  constructor(
    /** Where the first offending event would have gone. */
    readonly position: bigint,
    readonly streamId: string,
    readonly revision: bigint,
    detail: string,
  ) {
    super(`cannot import the event for ${streamId}@${revision} at position ${position}: ${detail}; nothing of this batch was written`);
  }
}

/** A stream's newest stored event, as far as an import needs it. */
export interface VerbatimStreamHead {
  readonly revision: bigint;
  readonly hash: string;
}

export interface VerbatimFacts {
  /** The store's newest position (0 when empty). */
  readonly headPosition: bigint;
  /** The stored head of each stream the batch touches; absent for a stream with no events. */
  readonly streamHeads: ReadonlyMap<string, VerbatimStreamHead>;
  /** Where an event id is stored already, if anywhere. */
  readonly storedId: (eventId: string) => { readonly streamId: string; readonly revision: bigint } | undefined;
}

export interface VerbatimPlan {
  /** The store's newest position once the batch is written. */
  readonly headPosition: bigint;
  /** Each touched stream's head once the batch is written. */
  readonly streamHeads: ReadonlyMap<string, VerbatimStreamHead>;
}

/** Checks that `events` continue the store described by `facts`; throws VerbatimImportRefusedError if not. */
export function planVerbatimImport(events: readonly RawStoredEvent[], facts: VerbatimFacts): VerbatimPlan {
  let headPosition = facts.headPosition;
  const heads = new Map<string, VerbatimStreamHead>();
  const ids = new Set<string>();
  for (const event of events) {
    const refuse = (detail: string) => new VerbatimImportRefusedError(event.position, event.streamId, event.revision, detail);
    if (event.position <= headPosition) {
      throw refuse(`positions must grow past the store's newest (${headPosition})`);
    }
    const head = heads.get(event.streamId) ?? facts.streamHeads.get(event.streamId);
    const expectedRevision = head ? head.revision + 1n : 0n;
    if (event.revision !== expectedRevision) {
      throw refuse(`the stream ${head ? `ends at revision ${head.revision}` : 'has no events'}, so its next revision is ${expectedRevision}`);
    }
    if (event.prevHash !== (head ? head.hash : GENESIS_HASH)) {
      throw refuse("its link to the previous event (prevHash) is not the hash of the stream's stored head");
    }
    const stored = facts.storedId(event.id);
    if (stored || ids.has(event.id)) {
      throw refuse(`its id ${event.id} is stored already${stored ? ` at ${stored.streamId}@${stored.revision}` : ' (twice in this batch)'}`);
    }
    ids.add(event.id);
    heads.set(event.streamId, { revision: event.revision, hash: event.hash });
    headPosition = event.position;
  }
  return { headPosition, streamHeads: heads };
}
