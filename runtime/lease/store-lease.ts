/**
 * The lease as the runtime takes it on a shared store: appends are refused until the lease
 * is held (a standby writes nothing), then guarded by it; a store the runtime is the only
 * writer of by other means (SQLite and its data-directory lock) needs none.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { leaseTiming } from './lease-decisions.js';
import type { FenceToken, LeaseHolder } from './lease-events.js';
import type { LeaseStream } from './lease-stream.js';
import { acquireLease, type HeldLease, type LeaseClock, type StandbyStatus } from './runtime-lease.js';

/** What the lease needs of a store's backend: its lease stream, and a guard on every append. */
export interface LeaseAccess {
  readonly stream: LeaseStream;
  /** Called before every append; what it throws refuses the append, what it returns is stamped on the events. */
  setWriteGuard(guard: () => FenceToken): void;
}

/** Thrown by the guard of a runtime that is still standing by. */
export class LeaseNotHeldError extends Error {
  readonly code = 'lease_not_held';
  constructor() {
    super("this runtime does not hold the store's lease (it is standing by): it writes nothing");
    this.name = 'LeaseNotHeldError';
  }
}

/** What a runtime tells its operator about the lease. */
export type LeaseNews = { readonly kind: 'standby'; readonly status: StandbyStatus } | { readonly kind: 'acquired'; readonly lease: HeldLease };

export interface StoreLeaseOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Aborted by a shutdown while standing by. */
  readonly signal: AbortSignal;
  readonly onNews: (news: LeaseNews) => void;
  readonly clock?: LeaseClock;
}

export function thisRuntime(): LeaseHolder {
  return { runtimeId: randomUUID(), pid: process.pid, host: hostname() };
}

/**
 * Takes the store's lease, standing by while another runtime holds it, and guards the
 * backend's appends with it. Null when a shutdown came while standing by.
 */
export async function holdStoreLease(access: LeaseAccess, options: StoreLeaseOptions): Promise<HeldLease | null> {
  access.setWriteGuard(() => {
    throw new LeaseNotHeldError();
  });
  const lease = await acquireLease(
    {
      stream: access.stream,
      me: thisRuntime(),
      timing: leaseTiming(options.config.eventStore.eventstoredb),
      logger: options.logger,
      ...(options.clock ? { clock: options.clock } : {}),
      onStandby: (status) => options.onNews({ kind: 'standby', status }),
    },
    options.signal,
  );
  if (lease === null) return null;
  access.setWriteGuard(lease.guard);
  options.onNews({ kind: 'acquired', lease });
  return lease;
}
