/**
 * The pure rule every adapter applies to an append: write it, recognise it as a retry of
 * an append already stored, or refuse it. Kept apart from I/O so each adapter decides
 * exactly alike and the rule is tested without a database.
 */
import { EventIdConflictError, WrongExpectedRevisionError } from './errors.js';
import type { AppendResult, ExpectedRevision } from './port.js';

/** Where an event id is already stored. */
export interface StoredIdLocation {
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
}

export type AppendDecision =
  | { readonly kind: 'write'; readonly firstRevision: bigint }
  | { readonly kind: 'already_appended'; readonly result: Omit<AppendResult, 'events'> }
  | { readonly kind: 'refused'; readonly error: Error };

export interface AppendFacts {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  /** The stream's current revision, or null when it has no events. */
  readonly currentRevision: bigint | null;
  readonly eventIds: readonly string[];
  /** Where each of `eventIds` is stored already, if anywhere. */
  readonly storedAt: (eventId: string) => StoredIdLocation | undefined;
}

function expectationHolds(expected: ExpectedRevision, revisionBefore: bigint | null): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return revisionBefore === null;
  if (expected === 'stream_exists') return revisionBefore !== null;
  return revisionBefore === expected;
}

export function decideAppend(facts: AppendFacts): AppendDecision {
  const { streamId, expectedRevision, currentRevision, eventIds } = facts;
  const conflict = () =>
    new WrongExpectedRevisionError(streamId, expectedRevision, currentRevision ?? 'no_stream');

  const locations = eventIds.map((id) => facts.storedAt(id));
  const storedCount = locations.filter((location) => location !== undefined).length;

  if (storedCount === 0) {
    return expectationHolds(expectedRevision, currentRevision)
      ? { kind: 'write', firstRevision: currentRevision === null ? 0n : currentRevision + 1n }
      : { kind: 'refused', error: conflict() };
  }

  // A retry is recognised only when every event is already stored, in this stream, in the
  // same order, one after another: the exact place the original append put them.
  const first = locations[0];
  const isSamePlace =
    storedCount === eventIds.length &&
    first !== undefined &&
    locations.every(
      (location, index) =>
        location !== undefined && location.streamId === streamId && location.revision === first.revision + BigInt(index),
    );
  if (!isSamePlace) {
    const storedIndex = locations.findIndex((location) => location !== undefined);
    const stored = locations[storedIndex]!;
    return {
      kind: 'refused',
      error: new EventIdConflictError(streamId, eventIds[storedIndex]!, { streamId: stored.streamId, revision: stored.revision }),
    };
  }

  // The stream certainly exists now, so only the two expectations that pin a place can fail.
  const revisionBeforeOriginal = first.revision === 0n ? null : first.revision - 1n;
  if ((expectedRevision === 'no_stream' || typeof expectedRevision === 'bigint') && !expectationHolds(expectedRevision, revisionBeforeOriginal)) {
    return { kind: 'refused', error: conflict() };
  }
  const last = locations[locations.length - 1]!;
  return { kind: 'already_appended', result: { nextExpectedRevision: last.revision, position: last.position } };
}
