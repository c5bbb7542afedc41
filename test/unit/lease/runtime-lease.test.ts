import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { leaseTiming } from '../../../runtime/lease/lease-decisions.js';
import type { LeaseEvent, LeaseHolder } from '../../../runtime/lease/lease-events.js';
import { InMemoryLeaseStream, type LeaseRead, type LeaseStream } from '../../../runtime/lease/lease-stream.js';
import { acquireLease, LeaseLostError, type HeldLease, type LeaseClock, type LeaseOptions, type StandbyStatus } from '../../../runtime/lease/runtime-lease.js';
import type { Logger } from '../../../runtime/logger.js';

const A: LeaseHolder = { runtimeId: 'rt-a', pid: 101, host: 'alpha' };
const B: LeaseHolder = { runtimeId: 'rt-b', pid: 202, host: 'beta' };
const C: LeaseHolder = { runtimeId: 'rt-c', pid: 303, host: 'gamma' };
// Margin 600 ms: a holder writes until 2.4 s after its last renewal was sent; a standby takes over 3.6 s after it last saw the stream move.
const timing = leaseTiming({ leaseTtlMs: 3_000, leaseRenewEveryMs: 1_000 });

/** One runtime's view of the shared stream, which a test can cut off (a network partition, a dead store). */
class Link implements LeaseStream {
  cut = false;
  constructor(private readonly shared: InMemoryLeaseStream) {}
  read(): Promise<LeaseRead> {
    return this.cut ? Promise.reject(new Error('UNAVAILABLE: no connection')) : this.shared.read();
  }
  append(expected: bigint | null, event: LeaseEvent): Promise<bigint> {
    return this.cut ? Promise.reject(new Error('UNAVAILABLE: no connection')) : this.shared.append(expected, event);
  }
}

/** A process's clock; `freeze` jumps it ahead as SIGSTOP then SIGCONT would, with no timer run in between. */
class ProcessClock implements LeaseClock {
  private jumped = 0;
  now(): number {
    return Date.now() + this.jumped;
  }
  wall(): Date {
    return new Date(this.now());
  }
  freeze(ms: number): void {
    this.jumped += ms;
  }
}

const logs: string[] = [];
const logger: Logger = {
  info: (_fields, message) => logs.push(`info ${message}`),
  warn: (_fields, message) => logs.push(`warn ${message}`),
  error: (fields, message) => logs.push(`error ${message} ${JSON.stringify(fields)}`),
};

let shared: InMemoryLeaseStream;
let aborts: AbortController;
const held: HeldLease[] = [];

function contender(me: LeaseHolder, extra: Partial<LeaseOptions> = {}): { link: Link; clock: ProcessClock; options: LeaseOptions; standby: StandbyStatus[] } {
  const link = new Link(shared);
  const clock = new ProcessClock();
  const standby: StandbyStatus[] = [];
  return { link, clock, standby, options: { stream: link, me, timing, logger, clock, pollEveryMs: 100, onStandby: (status) => standby.push(status), ...extra } };
}

async function take(options: LeaseOptions): Promise<HeldLease> {
  const lease = await acquireLease(options, aborts.signal);
  if (!lease) throw new Error('aborted');
  held.push(lease);
  return lease;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  shared = new InMemoryLeaseStream();
  aborts = new AbortController();
  logs.length = 0;
});

afterEach(async () => {
  aborts.abort();
  for (const lease of held.splice(0)) await lease.release();
  vi.useRealTimers();
});

describe('the runtime lease', () => {
  it('is taken at once when free, with fence 1, and the guard hands out that fence', async () => {
    const a = await take(contender(A).options);
    expect(a.fence).toBe(1n);
    expect(a.acquired.lapsed).toBeNull();
    expect(a.guard()).toBe(1n);
    expect(shared.all().map((event) => event.type)).toEqual(['lease.acquired']);
  });

  it('is kept by renewals while the holder lives, and a standby waits, saying who holds it', async () => {
    const a = await take(contender(A).options);
    const b = contender(B);
    let taken: HeldLease | null | undefined;
    void acquireLease(b.options, aborts.signal).then((lease) => (taken = lease));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(taken).toBeUndefined();
    expect(b.standby).toEqual([expect.objectContaining({ holder: A })]);
    expect(shared.all().filter((event) => event.type === 'lease.renewed').length).toBeGreaterThanOrEqual(19);
    expect(a.guard()).toBe(1n);
  });

  it('passes to the standby once the holder stops renewing, and the old holder refuses appends before the standby may write', async () => {
    const a = contender(A);
    const aLease = await take(a.options);
    const b = contender(B);
    const bTaking = acquireLease(b.options, aborts.signal);
    await vi.advanceTimersByTimeAsync(500);
    // The holder is cut off from the store: its renewals fail from now on.
    a.link.cut = true;
    const cutAt = Date.now();
    let bLease: HeldLease | null | undefined;
    void bTaking.then((lease) => (bLease = lease));
    let aLostAt: number | undefined;
    void aLease.lost.then(() => (aLostAt = Date.now()));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(bLease?.fence).toBe(2n);
    expect(bLease?.acquired.lapsed).toEqual(A);
    const bTookAt = Date.parse(shared.all().find((event) => event.type === 'lease.acquired' && event.data.fence === 2n)!.data.at);
    // A stopped writing, by its own clock, at least two margins before B's takeover.
    expect(aLostAt).toBeDefined();
    expect(bTookAt - aLostAt!).toBeGreaterThanOrEqual(2 * timing.marginMs);
    expect(bTookAt - cutAt).toBeLessThanOrEqual(timing.ttlMs + timing.marginMs + timing.renewEveryMs);
    expect(() => aLease.guard()).toThrow(LeaseLostError);
    expect(() => aLease.guard()).toThrow(/no longer holds the store's lease \(fence 1\): it was not renewed in time/);
    held.push(bLease!);
  });

  it('refuses appends at once in a process frozen past its lease, before any timer runs, and learns who took over', async () => {
    const a = contender(A);
    const aLease = await take(a.options);
    const b = contender(B);
    const bTaking = acquireLease(b.options, aborts.signal);
    await vi.advanceTimersByTimeAsync(50);
    // While A is frozen no timer of A's would run; model it by keeping A off the store and jumping its clock.
    a.link.cut = true;
    await vi.advanceTimersByTimeAsync(5_000);
    const bLease = await bTaking;
    held.push(bLease!);
    a.link.cut = false;
    a.clock.freeze(5_000);
    expect(() => aLease.guard()).toThrow(LeaseLostError);
    expect(await aLease.lost).toMatchObject({ reason: 'lapsed' });
    expect(logs.some((line) => line.startsWith('error lost the store lease'))).toBe(true);
    // Nothing of A's reached the stream after B's acquisition.
    expect(shared.all().at(-1)).toMatchObject({ type: expect.stringMatching(/lease\.(acquired|renewed)/), data: { holder: B, fence: 2n } });
  });

  it("tells a holder whose lease was taken over at its next renewal, naming the new holder", async () => {
    const aLease = await take(contender(A).options);
    // Another runtime writes the stream directly (say, one whose clock ran fast).
    await shared.append(shared.revision, { type: 'lease.acquired', data: { holder: C, fence: 2n, at: new Date().toISOString(), expiresAt: new Date().toISOString(), ttlMs: 3_000 } });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await aLease.lost).toEqual({ reason: 'taken', holder: C, fence: 2n });
    expect(() => aLease.guard()).toThrow(/runtime rt-c \(pid 303 on gamma\) took it over with fence 2/);
    expect(shared.all().at(-1)!.data.holder).toEqual(C);
  });

  it('goes to the standby at its next read once the holder releases it', async () => {
    const aLease = await take(contender(A).options);
    const b = contender(B);
    const bTaking = acquireLease(b.options, aborts.signal);
    await vi.advanceTimersByTimeAsync(1_500);
    await aLease.release();
    const releasedAt = Date.now();
    let bLease: HeldLease | null | undefined;
    void bTaking.then((lease) => (bLease = lease));
    await vi.advanceTimersByTimeAsync(100);
    expect(bLease?.fence).toBe(2n);
    expect(bLease?.acquired.lapsed).toBeNull();
    expect(Date.now() - releasedAt).toBeLessThanOrEqual(100);
    expect(() => aLease.guard()).toThrow(/it was released/);
    expect(shared.all().map((event) => event.type)).toEqual(['lease.acquired', 'lease.renewed', 'lease.released', 'lease.acquired']);
    held.push(bLease!);
  });

  it('gives a free lease to exactly one of two contenders; the other stands by', async () => {
    const b = contender(B);
    const c = contender(C);
    const results: Array<HeldLease | null> = [];
    void acquireLease(b.options, aborts.signal).then((lease) => results.push(lease));
    void acquireLease(c.options, aborts.signal).then((lease) => results.push(lease));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(results).toHaveLength(1);
    expect(results[0]!.fence).toBe(1n);
    held.push(results[0]!);
    expect(shared.all().filter((event) => event.type === 'lease.acquired')).toHaveLength(1);
    expect([...b.standby, ...c.standby]).toHaveLength(1);
  });

  it('keeps a standby waiting through an outage of the store, and ends the wait on abort', async () => {
    await take(contender(A).options);
    const b = contender(B);
    b.link.cut = true;
    const bTaking = acquireLease(b.options, aborts.signal);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(logs.filter((line) => line === 'warn could not read the runtime lease; still trying')).toHaveLength(1);
    aborts.abort();
    expect(await bTaking).toBeNull();
  });

  it("keeps the lease through one renewal that failed, and stops writing when they keep failing", async () => {
    const a = contender(A);
    const aLease = await take(a.options);
    a.link.cut = true;
    await vi.advanceTimersByTimeAsync(1_100);
    a.link.cut = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(aLease.guard()).toBe(1n);
    a.link.cut = true;
    await vi.advanceTimersByTimeAsync(2_400);
    expect(aLease.isLost).toBe(true);
    expect(() => aLease.guard()).toThrow(LeaseLostError);
  });
});
