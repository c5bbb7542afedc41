import { describe, expect, it } from 'vitest';
import { decideAcquire, decideRelease, decideRenew, leaseTiming, observe, takeoverAt, writableUntil } from '../../../runtime/lease/lease-decisions.js';
import { leaseEventJson, parseLeaseEvent, type LeaseEvent, type LeaseHolder } from '../../../runtime/lease/lease-events.js';
import { evolveLease, foldLease, NO_LEASE } from '../../../runtime/lease/lease-state.js';

const A: LeaseHolder = { runtimeId: 'rt-a', pid: 101, host: 'alpha' };
const B: LeaseHolder = { runtimeId: 'rt-b', pid: 202, host: 'beta' };
const timing = leaseTiming({ leaseTtlMs: 3_000, leaseRenewEveryMs: 1_000 });
const wall = new Date('2026-12-08T03:00:00.000Z');

function acquired(holder: LeaseHolder, fence: bigint): LeaseEvent {
  return { type: 'lease.acquired', data: { holder, fence, at: wall.toISOString(), expiresAt: '2026-12-08T03:00:03.000Z', ttlMs: 3_000 } };
}

describe('lease timing', () => {
  it('keeps a margin of a fifth of the lease, between 100 ms and 5 s', () => {
    expect(timing.marginMs).toBe(600);
    expect(leaseTiming({ leaseTtlMs: 1_000, leaseRenewEveryMs: 100 }).marginMs).toBe(200);
    expect(leaseTiming({ leaseTtlMs: 600_000, leaseRenewEveryMs: 1_000 }).marginMs).toBe(5_000);
  });

  it('refuses a renewal interval that leaves no room before the holder stops writing', () => {
    expect(() => leaseTiming({ leaseTtlMs: 1_000, leaseRenewEveryMs: 900 })).toThrow(/leaseRenewEveryMs \(900\) must be well under leaseTtlMs \(1000\)/);
  });

  it("ends the holder's writes two margins before any standby may take over, whatever the delay between them", () => {
    const sentAt = 10_000;
    // The standby saw the renewal no earlier than it was sent.
    for (const seenAfterMs of [0, 5, 400]) {
      const observation = observe(undefined, { revision: 3n, state: foldLease([acquired(A, 1n)]) }, sentAt + seenAfterMs);
      expect(takeoverAt(observation, timing) - writableUntil(sentAt, timing)).toBeGreaterThanOrEqual(2 * timing.marginMs);
    }
  });
});

describe('the lease state', () => {
  it('follows acquisitions, renewals and releases, keeping the newest fence', () => {
    const state = foldLease([acquired(A, 1n), { type: 'lease.released', data: { holder: A, fence: 1n, at: wall.toISOString() } }, acquired(B, 2n)]);
    expect(state).toMatchObject({ holder: B, token: 2n });
    const released = evolveLease(state, { type: 'lease.released', data: { holder: B, fence: 2n, at: wall.toISOString() } });
    expect(released).toEqual({ holder: null, token: 2n, expiresAt: null });
  });
});

describe('acquiring', () => {
  it('takes a lease that was never held with fence 1, expecting no stream', () => {
    const decision = decideAcquire(observe(undefined, { revision: null, state: NO_LEASE }, 0), 0, wall, A, timing);
    expect(decision).toMatchObject({ kind: 'acquire', expectedRevision: null, lapsed: null, event: { type: 'lease.acquired', data: { holder: A, fence: 1n, ttlMs: 3_000 } } });
  });

  it('takes a released lease at once with the next fence', () => {
    const state = foldLease([acquired(A, 4n), { type: 'lease.released', data: { holder: A, fence: 4n, at: wall.toISOString() } }]);
    const decision = decideAcquire(observe(undefined, { revision: 9n, state }, 50), 50, wall, B, timing);
    expect(decision).toMatchObject({ kind: 'acquire', expectedRevision: 9n, lapsed: null, event: { data: { fence: 5n } } });
  });

  it("waits on a held lease until it has stood still for the lease and the margin, by the standby's own clock", () => {
    const state = foldLease([acquired(A, 4n)]);
    const first = observe(undefined, { revision: 7n, state }, 1_000);
    const early = decideAcquire(first, 1_000 + 3_599, wall, B, timing);
    expect(early).toEqual({ kind: 'wait', holder: A, expiresAt: '2026-12-08T03:00:03.000Z', untilMs: 4_600 });
    // The same revision read again later does not restart the wait.
    const again = observe(first, { revision: 7n, state }, 3_000);
    expect(again.since).toBe(1_000);
    const late = decideAcquire(again, 4_600, wall, B, timing);
    expect(late).toMatchObject({ kind: 'acquire', expectedRevision: 7n, lapsed: A, event: { data: { holder: B, fence: 5n } } });
  });

  it('starts the wait again when the holder renews', () => {
    const state = foldLease([acquired(A, 4n)]);
    const first = observe(undefined, { revision: 7n, state }, 1_000);
    const renewed = observe(first, { revision: 8n, state }, 2_000);
    expect(renewed.since).toBe(2_000);
    expect(decideAcquire(renewed, 4_600, wall, B, timing)).toMatchObject({ kind: 'wait', untilMs: 5_600 });
  });
});

describe('renewing and releasing', () => {
  it('renews a lease still held under our fence', () => {
    const decision = decideRenew(foldLease([acquired(A, 3n)]), A, 3n, wall, timing);
    expect(decision).toMatchObject({ kind: 'renew', event: { type: 'lease.renewed', data: { holder: A, fence: 3n, expiresAt: '2026-12-08T03:00:03.000Z' } } });
  });

  it('reports the lease lost, naming who holds it now, once another runtime took it', () => {
    expect(decideRenew(foldLease([acquired(A, 3n), acquired(B, 4n)]), A, 3n, wall, timing)).toEqual({ kind: 'lost', holder: B, token: 4n });
  });

  it('reports the lease lost when a newer acquisition is our own runtime under another fence', () => {
    expect(decideRenew(foldLease([acquired(A, 5n)]), A, 3n, wall, timing)).toMatchObject({ kind: 'lost', token: 5n });
  });

  it('releases only a lease still ours', () => {
    expect(decideRelease(foldLease([acquired(A, 3n)]), A, 3n, wall)).toMatchObject({ kind: 'release', event: { type: 'lease.released', data: { holder: A, fence: 3n } } });
    expect(decideRelease(foldLease([acquired(B, 4n)]), A, 3n, wall)).toEqual({ kind: 'not_held' });
  });
});

describe('stored lease events', () => {
  it('round-trip through JSON with the fence as a decimal string, beyond 2^53', () => {
    const event = acquired(A, 2n ** 60n + 1n);
    const json = JSON.parse(JSON.stringify(leaseEventJson(event))) as unknown;
    expect(json).toMatchObject({ fence: '1152921504606846977' });
    expect(parseLeaseEvent(event.type, json, 0n)).toEqual(event);
  });

  it('refuses an unknown type or a malformed event, naming the revision and the field', () => {
    expect(() => parseLeaseEvent('lease.stolen', {}, 12n)).toThrow(/'lease.stolen' at revision 12/);
    expect(() => parseLeaseEvent('lease.renewed', { ...leaseEventJson(acquired(A, 1n)), fence: '0' }, 13n)).toThrow(/'lease.renewed' at revision 13 is malformed: fence:/);
    expect(() => parseLeaseEvent('lease.released', { holder: { ...A, pid: -1 }, fence: '2', at: wall.toISOString() }, 14n)).toThrow(/holder.pid/);
  });
});
