/**
 * The lease as the runtime takes it on a shared store: appends are refused until the lease
 * is held (a standby writes nothing), then guarded by it; a store the runtime is the only
 * writer of by other means (SQLite and its data-directory lock) needs none.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { decideAcquire, leaseTiming, observe, type LeaseObservation } from './lease-decisions.js';
import { describeHolder, type FenceToken, type LeaseHolder } from './lease-events.js';
import { foldLease } from './lease-state.js';
import { LeaseConflictError, type LeaseStream } from './lease-stream.js';
import { acquireLease, HeldLease, systemLeaseClock, type LeaseClock, type StandbyStatus } from './runtime-lease.js';

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

/** A command that would write found a live runtime holding the store's lease. */
export class StoreLeaseHeldError extends Error {
  readonly code = 'store_lease_held';
  constructor(readonly holder: LeaseHolder) {
    super(
      `${describeHolder(holder)} holds the store's lease and writes to it: ` +
        'run this command with that runtime\'s data directory (it goes through the runtime), or stop the runtime first',
    );
    this.name = 'StoreLeaseHeldError';
  }
}

export interface CommandLeaseOptions {
  readonly config: Config;
  readonly logger?: Logger;
  readonly clock?: LeaseClock;
  /** How often the stream is read while waiting; a fraction of the lease by default. */
  readonly pollEveryMs?: number;
}

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The lease for a CLI command that writes (`tasks add` with no runtime, `projections
 * rebuild`, a migration's target): taken when free; when another runtime holds it, the
 * command waits to see whether that runtime is alive, refusing with StoreLeaseHeldError as
 * soon as it renews, and taking the lease once it has lapsed. A command never stands by.
 */
export async function takeLeaseForCommand(access: LeaseAccess, options: CommandLeaseOptions): Promise<HeldLease> {
  access.setWriteGuard(() => {
    throw new LeaseNotHeldError();
  });
  const clock = options.clock ?? systemLeaseClock;
  const timing = leaseTiming(options.config.eventStore.eventstoredb);
  const me = thisRuntime();
  const logger = options.logger ?? quiet;
  const pollEveryMs = options.pollEveryMs ?? Math.max(50, Math.min(500, Math.floor(timing.renewEveryMs / 2)));
  let observation: LeaseObservation | undefined;
  for (;;) {
    const read = await access.stream.read();
    const next = observe(observation, { revision: read.revision, state: foldLease(read.events) }, clock.now());
    // The stream moved while another runtime held it: that runtime is alive.
    if (observation !== undefined && next !== observation && next.state.holder !== null) throw new StoreLeaseHeldError(next.state.holder);
    observation = next;
    const decision = decideAcquire(observation, clock.now(), clock.wall(), me, timing);
    if (decision.kind === 'wait') {
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(pollEveryMs, decision.untilMs - clock.now()))));
      continue;
    }
    const sentAt = clock.now();
    let revision: bigint;
    try {
      revision = await access.stream.append(decision.expectedRevision, decision.event);
    } catch (error) {
      // Someone took it first: the next read sees the stream moved, and names them.
      if (error instanceof LeaseConflictError) continue;
      throw error;
    }
    const lease = new HeldLease({ stream: access.stream, me, timing, logger, clock }, clock, { fence: decision.event.data.fence, lapsed: decision.lapsed, waitedMs: 0 }, revision, sentAt);
    access.setWriteGuard(lease.guard);
    return lease;
  }
}
