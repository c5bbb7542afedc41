/**
 * The lease as its events leave it. Every event carries the whole lease (holder and token),
 * so folding the newest event alone gives the same state as folding the stream from its
 * start: the stream can be capped ($maxCount) without losing the token count.
 */
import type { FenceToken, LeaseEvent, LeaseHolder } from './lease-events.js';

export interface LeaseState {
  /** Who holds the lease; null when it was never taken or was released. */
  readonly holder: LeaseHolder | null;
  /** The newest token issued; 0 before the first acquisition. */
  readonly token: FenceToken;
  /** The holder's own figure for its expiry, for operators' messages (standbys do not trust clocks). */
  readonly expiresAt: string | null;
}

export const NO_LEASE: LeaseState = { holder: null, token: 0n, expiresAt: null };

export function evolveLease(_state: LeaseState, event: LeaseEvent): LeaseState {
  switch (event.type) {
    case 'lease.acquired':
    case 'lease.renewed':
      return { holder: event.data.holder, token: event.data.fence, expiresAt: event.data.expiresAt };
    case 'lease.released':
      return { holder: null, token: event.data.fence, expiresAt: null };
  }
}

export function foldLease(events: readonly LeaseEvent[]): LeaseState {
  return events.reduce(evolveLease, NO_LEASE);
}

export function isHeldBy(state: LeaseState, me: LeaseHolder, token: FenceToken): boolean {
  return state.holder !== null && state.holder.runtimeId === me.runtimeId && state.token === token;
}
