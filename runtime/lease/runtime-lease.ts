/**
 * The runtime's hold on a shared store: it waits as a standby until the lease is free or
 * has lapsed, takes it, renews it, and guards every append with it. Once the lease is lost
 * (taken by another runtime, or not renewed in time) the guard refuses every append at
 * once and `lost` resolves, so the runtime can shut down; a supervisor restarts it, as a
 * standby. The rules themselves are pure (lease-decisions.ts); this is the clockwork.
 */
import type { Logger } from '../logger.js';
import { decideAcquire, decideRelease, decideRenew, observe, writableUntil, type LeaseObservation, type LeaseTiming } from './lease-decisions.js';
import { describeHolder, type FenceToken, type LeaseHolder } from './lease-events.js';
import { foldLease, type LeaseState } from './lease-state.js';
import { LeaseConflictError, type LeaseStream } from './lease-stream.js';

/** The clocks the lease runs on: monotonic for every decision, the wall clock only for what events say. */
export interface LeaseClock {
  now(): number;
  wall(): Date;
}

export const systemLeaseClock: LeaseClock = { now: () => performance.now(), wall: () => new Date() };

export type LeaseLoss =
  | { readonly reason: 'taken'; readonly holder: LeaseHolder | null; readonly fence: FenceToken }
  | { readonly reason: 'lapsed'; readonly lastRenewedMsAgo: number };

/** Thrown by the write guard once this runtime no longer holds the lease: the append is not made. */
export class LeaseLostError extends Error {
  readonly code = 'lease_lost';
  constructor(
    readonly fence: FenceToken,
    readonly loss: LeaseLoss,
  ) {
    super(`this runtime no longer holds the store's lease (fence ${fence}): ${lossText(loss)}; it writes nothing more`);
    this.name = 'LeaseLostError';
  }
}

export function lossText(loss: LeaseLoss): string {
  if (loss.reason === 'lapsed') return `it was not renewed in time (last renewed ${Math.round(loss.lastRenewedMsAgo)} ms ago)`;
  return loss.holder === null ? `it was released (fence ${loss.fence})` : `${describeHolder(loss.holder)} took it over with fence ${loss.fence}`;
}

/** What a standby tells the operator while it waits. */
export interface StandbyStatus {
  readonly holder: LeaseHolder;
  /** The holder's own figure, from its clock. */
  readonly expiresAt: string | null;
  /** How long this standby waits at most, unless the holder renews. */
  readonly takeoverInMs: number;
}

export interface LeaseOptions {
  readonly stream: LeaseStream;
  readonly me: LeaseHolder;
  readonly timing: LeaseTiming;
  readonly logger: Logger;
  /** How often a standby reads the stream; a fraction of the lease by default. */
  readonly pollEveryMs?: number;
  readonly clock?: LeaseClock;
  /** Called when this runtime starts waiting, and again whenever another holder appears. */
  onStandby?(status: StandbyStatus): void;
}

export interface AcquiredFacts {
  readonly fence: FenceToken;
  /** The runtime whose lease lapsed and was taken over; null when the lease was free. */
  readonly lapsed: LeaseHolder | null;
  /** How long this runtime waited as a standby. */
  readonly waitedMs: number;
}

/**
 * Takes the lease, waiting as a standby while another runtime holds it. Resolves with the
 * held lease, or null when `signal` aborted the wait (a shutdown while standing by).
 */
export async function acquireLease(options: LeaseOptions, signal: AbortSignal): Promise<HeldLease | null> {
  const clock = options.clock ?? systemLeaseClock;
  const { timing, me, logger } = options;
  const pollEveryMs = options.pollEveryMs ?? Math.max(50, Math.min(500, Math.floor(timing.renewEveryMs / 2)));
  const began = clock.now();
  let observation: LeaseObservation | undefined;
  let announced: string | undefined;
  let unreachableSince: number | undefined;
  while (!signal.aborted) {
    let read;
    try {
      read = await options.stream.read();
      unreachableSince = undefined;
    } catch (error) {
      if (!isTransient(error)) throw error;
      // A standby keeps waiting through an outage of the store; it says so once.
      if (unreachableSince === undefined) logger.warn({ err: errorText(error) }, 'could not read the runtime lease; still trying');
      unreachableSince ??= clock.now();
      observation = undefined;
      if (!(await pause(pollEveryMs, signal))) return null;
      continue;
    }
    observation = observe(observation, { revision: read.revision, state: foldLease(read.events) }, clock.now());
    const decision = decideAcquire(observation, clock.now(), clock.wall(), me, timing);
    if (decision.kind === 'wait') {
      if (announced !== decision.holder.runtimeId) {
        announced = decision.holder.runtimeId;
        const status = { holder: decision.holder, expiresAt: decision.expiresAt, takeoverInMs: Math.max(0, decision.untilMs - clock.now()) };
        logger.info({ holder: decision.holder, expiresAt: decision.expiresAt, takeoverInMs: status.takeoverInMs }, 'standing by: another runtime holds the store lease');
        options.onStandby?.(status);
      }
      if (!(await pause(Math.max(1, Math.min(pollEveryMs, decision.untilMs - clock.now())), signal))) return null;
      continue;
    }
    const sentAt = clock.now();
    let revision: bigint;
    try {
      revision = await options.stream.append(decision.expectedRevision, decision.event);
    } catch (error) {
      // Another contender wrote first: read again and wait on whoever won.
      if (error instanceof LeaseConflictError) continue;
      if (!isTransient(error)) throw error;
      logger.warn({ err: errorText(error) }, 'could not write the runtime lease; trying again');
      if (!(await pause(pollEveryMs, signal))) return null;
      continue;
    }
    const facts: AcquiredFacts = { fence: decision.event.data.fence, lapsed: decision.lapsed, waitedMs: clock.now() - began };
    logger.info({ fence: facts.fence.toString(), lapsed: facts.lapsed, waitedMs: Math.round(facts.waitedMs) }, 'took the store lease');
    return new HeldLease(options, clock, facts, revision, sentAt);
  }
  return null;
}

/** The lease while this runtime holds it: the write guard, the renewals, and the release. */
export class HeldLease {
  readonly fence: FenceToken;
  /** Resolves once, when the lease is lost; never when it is released. */
  readonly lost: Promise<LeaseLoss>;
  private loss: LeaseLoss | undefined;
  private resolveLost!: (loss: LeaseLoss) => void;
  private validUntil: number;
  private lastSentAt: number;
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  private released = false;

  constructor(
    private readonly options: LeaseOptions,
    private readonly clock: LeaseClock,
    readonly acquired: AcquiredFacts,
    private revision: bigint | null,
    sentAt: number,
  ) {
    this.fence = acquired.fence;
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
    this.lastSentAt = sentAt;
    this.validUntil = writableUntil(sentAt, options.timing);
    this.scheduleRenewal();
    this.scheduleExpiry();
  }

  /**
   * The write guard: the fence to stamp on an append, or LeaseLostError when the lease is
   * lost or too close to lapsing by our own clock. Checked before every append.
   */
  readonly guard = (): FenceToken => {
    if (this.loss === undefined && this.clock.now() >= this.validUntil) this.lose({ reason: 'lapsed', lastRenewedMsAgo: this.clock.now() - this.lastSentAt });
    if (this.loss !== undefined) throw new LeaseLostError(this.fence, this.loss);
    return this.fence;
  };

  /** Lost, as opposed to released by this runtime. */
  get isLost(): boolean {
    return this.loss !== undefined && !this.released;
  }

  /** The error the guard throws once the lease is lost; undefined while it is held (or was released). */
  lostError(): LeaseLostError | undefined {
    return this.isLost && this.loss ? new LeaseLostError(this.fence, this.loss) : undefined;
  }

  /**
   * Stops renewing and, if the lease is still ours, releases it so that a standby takes
   * over at once instead of waiting for it to lapse. Best effort: a release that fails
   * leaves a lease that lapses.
   */
  async release(): Promise<void> {
    this.stopTimers();
    await this.renewing;
    if (this.loss !== undefined) return;
    // No append may pass the guard while the release is on its way, or after it.
    this.released = true;
    this.loss = { reason: 'taken', holder: null, fence: this.fence };
    try {
      const { revision, state } = await this.readState();
      const decision = decideRelease(state, this.options.me, this.fence, this.clock.wall());
      if (decision.kind === 'release') await this.options.stream.append(revision, decision.event);
      this.options.logger.info({ fence: this.fence.toString() }, 'released the store lease');
    } catch (error) {
      this.options.logger.warn({ err: errorText(error) }, 'could not release the store lease; a standby takes over once it lapses');
    }
  }

  private stopTimers(): void {
    this.stopped = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
  }

  private scheduleRenewal(): void {
    if (this.stopped) return;
    this.renewTimer = setTimeout(() => {
      this.renewing = this.renew().finally(() => {
        this.renewing = undefined;
        this.scheduleRenewal();
      });
    }, this.options.timing.renewEveryMs);
  }

  /** Fires when the lease would lapse unrenewed (a renewal stuck on a slow store, a frozen process). */
  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.stopped) return;
    this.expiryTimer = setTimeout(() => {
      if (this.clock.now() >= this.validUntil) this.lose({ reason: 'lapsed', lastRenewedMsAgo: this.clock.now() - this.lastSentAt });
      else this.scheduleExpiry();
    }, Math.max(1, this.validUntil - this.clock.now()));
  }

  private async renew(): Promise<void> {
    if (this.loss !== undefined || this.stopped) return;
    // A process frozen past its lease renews nothing: it may have been taken over already.
    if (this.clock.now() >= this.validUntil) {
      this.lose({ reason: 'lapsed', lastRenewedMsAgo: this.clock.now() - this.lastSentAt });
      return;
    }
    const { me, timing, stream } = this.options;
    const ours: LeaseState = { holder: me, token: this.fence, expiresAt: null };
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const decision = attempt === 0 ? decideRenew(ours, me, this.fence, this.clock.wall(), timing) : await this.decideFromStream();
      if (decision === undefined) return;
      if (decision.kind === 'lost') {
        this.lose({ reason: 'taken', holder: decision.holder, fence: decision.token });
        return;
      }
      const sentAt = this.clock.now();
      try {
        this.revision = await stream.append(this.revision, decision.event);
      } catch (error) {
        // The stream moved: another runtime took it, or our own earlier renewal landed
        // though its answer was lost. Read and decide once more.
        if (error instanceof LeaseConflictError) continue;
        this.options.logger.warn({ err: errorText(error), fence: this.fence.toString() }, 'could not renew the store lease; trying again');
        return;
      }
      if (this.loss !== undefined) return;
      this.lastSentAt = sentAt;
      this.validUntil = writableUntil(sentAt, timing);
      this.scheduleExpiry();
      return;
    }
  }

  private async decideFromStream() {
    try {
      const { revision, state } = await this.readState();
      this.revision = revision;
      return decideRenew(state, this.options.me, this.fence, this.clock.wall(), this.options.timing);
    } catch (error) {
      this.options.logger.warn({ err: errorText(error), fence: this.fence.toString() }, 'could not read the store lease to renew it; trying again');
      return undefined;
    }
  }

  private async readState(): Promise<{ revision: bigint | null; state: LeaseState }> {
    const read = await this.options.stream.read();
    return { revision: read.revision, state: foldLease(read.events) };
  }

  private lose(loss: LeaseLoss): void {
    if (this.loss !== undefined) return;
    this.loss = loss;
    this.stopTimers();
    this.options.logger.error({ fence: this.fence.toString(), loss: lossText(loss) }, 'lost the store lease: refusing every append from now on');
    this.resolveLost(loss);
  }
}

/** Waits, or returns false at once when the wait was aborted. (The global timer, so tests can drive it.) */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const aborted = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', aborted);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', aborted, { once: true });
  });
}

/** Errors a waiting standby rides out: the store is unreachable or slow, not wrong. */
function isTransient(error: unknown): boolean {
  return !(error instanceof TypeError || error instanceof RangeError || (error instanceof Error && 'code' in error && error.code === 'malformed_lease_event'));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
