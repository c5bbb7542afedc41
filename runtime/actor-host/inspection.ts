/**
 * What the actor host reports as it works: the feed behind `ledgerclaw start --inspect`
 * (the Stately inspector) and any local console. Plain data; observing it changes nothing.
 */
import type { CommandMeta, EffectRequest } from '../../actors/actor-kind.js';
import type { StoredEvent } from '../../events/envelope.js';

export type InspectionEvent =
  /** An actor came into memory (loaded from its snapshot and stream). */
  | { readonly type: 'actor'; readonly streamId: string; readonly state: string; readonly value: unknown; readonly context: unknown }
  /** A command reached an actor (before it decided). */
  | { readonly type: 'command'; readonly streamId: string; readonly command: { readonly type: string; readonly meta: CommandMeta } }
  /** A newly stored event was folded into a live actor. */
  | { readonly type: 'event'; readonly streamId: string; readonly event: StoredEvent; readonly state: string; readonly value: unknown; readonly context: unknown }
  /** An effect was handed to its executor. */
  | { readonly type: 'effect'; readonly streamId: string; readonly effect: EffectRequest; readonly key: string }
  /** A snapshot was saved. */
  | { readonly type: 'snapshot'; readonly streamId: string; readonly revision: bigint }
  /** An idle actor was unloaded from memory (it comes back from its stream on demand). */
  | { readonly type: 'passivated'; readonly streamId: string };
