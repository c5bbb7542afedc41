/**
 * The lease's rules, as pure decisions over what a runtime has read of the `runtime-lease`
 * stream and its own monotonic clock.
 *
 * Clocks: no decision compares one machine's clock with another's. The holder counts its
 * lease from the moment it SENT the append that acquired or renewed it (which is before the
 * server committed it), and stops writing `marginMs` before `ttlMs` is up. A standby counts
 * from the moment it first SAW the stream at its current revision (which is after the
 * commit), and takes over only once the stream has stood still for `ttlMs + marginMs`. So
 * the holder's last permitted write comes at least `2 × marginMs` before the standby's
 * first, whatever the clocks on the two machines say; only their rates must roughly agree.
 * What the margins cannot cover is an append that passed the holder's check and then spent
 * longer than that in flight; see events/README.md on fencing.
 */
import type { FenceToken, LeaseEvent, LeaseHolder } from './lease-events.js';
import { isHeldBy, type LeaseState } from './lease-state.js';

export interface LeaseTiming {
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  /** Kept by both sides: the holder stops this early, a standby waits this much longer. */
  readonly marginMs: number;
}

const MIN_MARGIN_MS = 100;
const MAX_MARGIN_MS = 5_000;

/** The timing from the config (eventStore.eventstoredb); the margin is a fifth of the lease. */
export function leaseTiming(settings: { readonly leaseTtlMs: number; readonly leaseRenewEveryMs: number }): LeaseTiming {
  const marginMs = Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, Math.floor(settings.leaseTtlMs / 5)));
  if (settings.leaseRenewEveryMs >= settings.leaseTtlMs - marginMs) {
    throw new Error(`leaseRenewEveryMs (${settings.leaseRenewEveryMs}) must be well under leaseTtlMs (${settings.leaseTtlMs}) less its margin (${marginMs})`);
  }
  return { ttlMs: settings.leaseTtlMs, renewEveryMs: settings.leaseRenewEveryMs, marginMs };
}

/** What a contender has seen of the stream, and since when (its monotonic clock) it has stood still. */
export interface LeaseObservation {
  /** The stream's newest revision; null when the stream does not exist yet. */
  readonly revision: bigint | null;
  readonly state: LeaseState;
  readonly since: number;
}

/** The observation after a read: the clock restarts only when the stream moved. */
export function observe(previous: LeaseObservation | undefined, read: { readonly revision: bigint | null; readonly state: LeaseState }, now: number): LeaseObservation {
  if (previous && previous.revision === read.revision) return previous;
  return { revision: read.revision, state: read.state, since: now };
}

/** When a standby may take over a lease it has watched stand still since `since`. */
export function takeoverAt(observation: LeaseObservation, timing: LeaseTiming): number {
  return observation.since + timing.ttlMs + timing.marginMs;
}

/** Until when a holder may write, counting from when it sent its last acquisition or renewal. */
export function writableUntil(sentAt: number, timing: LeaseTiming): number {
  return sentAt + timing.ttlMs - timing.marginMs;
}

export type AcquireDecision =
  | {
      readonly kind: 'acquire';
      readonly event: Extract<LeaseEvent, { type: 'lease.acquired' }>;
      readonly expectedRevision: bigint | null;
      /** The holder whose lease lapsed (it stopped renewing), or null when the lease was free. */
      readonly lapsed: LeaseHolder | null;
    }
  | { readonly kind: 'wait'; readonly holder: LeaseHolder; readonly expiresAt: string | null; readonly untilMs: number };

/**
 * Whether `me` may take the lease now. A free lease (never taken, or released) is taken at
 * once; a held one only after it stood still for the lease and the margin.
 */
export function decideAcquire(observation: LeaseObservation, now: number, wallNow: Date, me: LeaseHolder, timing: LeaseTiming): AcquireDecision {
  const { state } = observation;
  const lapsed = state.holder;
  if (lapsed !== null && lapsed.runtimeId !== me.runtimeId) {
    const untilMs = takeoverAt(observation, timing);
    if (now < untilMs) return { kind: 'wait', holder: lapsed, expiresAt: state.expiresAt, untilMs };
  }
  return {
    kind: 'acquire',
    event: { type: 'lease.acquired', data: { holder: me, fence: state.token + 1n, ...expiry(wallNow, timing) } },
    expectedRevision: observation.revision,
    lapsed: lapsed !== null && lapsed.runtimeId !== me.runtimeId ? lapsed : null,
  };
}

export type RenewDecision =
  | { readonly kind: 'renew'; readonly event: Extract<LeaseEvent, { type: 'lease.renewed' }> }
  | { readonly kind: 'lost'; readonly holder: LeaseHolder | null; readonly token: FenceToken };

/** Whether the holder of `token` still holds the lease the stream shows, and the renewal if so. */
export function decideRenew(state: LeaseState, me: LeaseHolder, token: FenceToken, wallNow: Date, timing: LeaseTiming): RenewDecision {
  if (!isHeldBy(state, me, token)) return { kind: 'lost', holder: state.holder, token: state.token };
  return { kind: 'renew', event: { type: 'lease.renewed', data: { holder: me, fence: token, ...expiry(wallNow, timing) } } };
}

export type ReleaseDecision =
  | { readonly kind: 'release'; readonly event: Extract<LeaseEvent, { type: 'lease.released' }> }
  | { readonly kind: 'not_held' };

/** A release by its holder; a lease someone else holds by now is left alone. */
export function decideRelease(state: LeaseState, me: LeaseHolder, token: FenceToken, wallNow: Date): ReleaseDecision {
  if (!isHeldBy(state, me, token)) return { kind: 'not_held' };
  return { kind: 'release', event: { type: 'lease.released', data: { holder: me, fence: token, at: wallNow.toISOString() } } };
}

function expiry(wallNow: Date, timing: LeaseTiming): { at: string; expiresAt: string; ttlMs: number } {
  return { at: wallNow.toISOString(), expiresAt: new Date(wallNow.getTime() + timing.ttlMs).toISOString(), ttlMs: timing.ttlMs };
}
