/**
 * Replay: an actor's stream folded event by event through its machine, keeping what each
 * event did: the state before and after, every change to the context, and the effects the
 * transition asked for. Pure, like the fold it is made of: effects are reported, never run,
 * and nothing is read or written. `ledgerclaw replay` prints it.
 */
import type { StoredEvent } from '../events/envelope.js';
import type { AnyActorKind, EffectRequest } from './actor-kind.js';
import { describeState, evolve, initialSnapshot, type ActorSnapshot } from './fold.js';
import { diffJson, type JsonChange } from './json-diff.js';

export interface ReplayStep {
  readonly event: StoredEvent;
  readonly stateBefore: string;
  readonly stateAfter: string;
  readonly contextChanges: readonly JsonChange[];
  /** What the transition asked the host to do; the host ran these when the event was new. */
  readonly effects: readonly EffectRequest[];
}

/** The actor after the last replayed event. */
export interface ReplayedActor {
  readonly snapshot: ActorSnapshot;
  readonly state: string;
  readonly value: unknown;
  readonly context: unknown;
  /** The revision of the last replayed event; null when there was none. */
  readonly revision: bigint | null;
}

export interface Replay {
  readonly steps: readonly ReplayStep[];
  readonly final: ReplayedActor;
}

export interface ReplayOptions {
  /** Stop after the event at this revision (inclusive): the actor exactly as it was then. */
  readonly to?: bigint;
}

/** The events cannot be replayed as given (a gap, another stream, a revision past the end). */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

function streamIdOf(kind: AnyActorKind, id: string): string {
  return id === '' ? kind.kind : `${kind.kind}-${id}`;
}

/**
 * Folds `events` (a stream from its first event, in order) from the kind's initial state.
 * Events after `options.to` are ignored, so the whole stream may be passed.
 */
export function replay(kind: AnyActorKind, id: string, events: readonly StoredEvent[], options: ReplayOptions = {}): Replay {
  const streamId = streamIdOf(kind, id);
  const { to } = options;
  if (to !== undefined) {
    const last = events[events.length - 1];
    if (!last) throw new ReplayError(`stream ${streamId} has no events, so no revision ${to}`);
    if (to > last.revision) throw new ReplayError(`stream ${streamId} has no revision ${to} (its last is ${last.revision})`);
  }

  let snapshot = initialSnapshot(kind, id);
  let revision: bigint | null = null;
  const steps: ReplayStep[] = [];
  for (const [index, event] of events.entries()) {
    if (to !== undefined && event.revision > to) break;
    if (event.streamId !== streamId) {
      throw new ReplayError(`event ${event.id} belongs to stream ${event.streamId}, not ${streamId}`);
    }
    // Starting from the initial state is only right for a stream read from its first event.
    if (event.revision !== BigInt(index)) {
      throw new ReplayError(
        `${streamId}: expected revision ${index}, found ${event.revision}; replay folds a whole stream from its first event`,
      );
    }
    const evolved = evolve(kind, snapshot, event);
    steps.push({
      event,
      stateBefore: describeState(snapshot),
      stateAfter: describeState(evolved.snapshot),
      contextChanges: diffJson(snapshot.context, evolved.snapshot.context),
      effects: evolved.effects,
    });
    snapshot = evolved.snapshot;
    revision = event.revision;
  }
  return {
    steps,
    final: { snapshot, state: describeState(snapshot), value: snapshot.value, context: snapshot.context, revision },
  };
}
