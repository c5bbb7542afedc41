import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../../../runtime/config.js';
import type { FenceToken, LeaseHolder } from '../../../runtime/lease/lease-events.js';
import { InMemoryLeaseStream } from '../../../runtime/lease/lease-stream.js';
import { LeaseLostError, type HeldLease, type LeaseClock } from '../../../runtime/lease/runtime-lease.js';
import { LeaseNotHeldError, StoreLeaseHeldError, takeLeaseForCommand, type LeaseAccess } from '../../../runtime/lease/store-lease.js';

const A: LeaseHolder = { runtimeId: 'rt-a', pid: 101, host: 'alpha' };
const clock: LeaseClock = { now: () => Date.now(), wall: () => new Date() };

let config: Config;
let shared: InMemoryLeaseStream;
let guard: (() => FenceToken) | undefined;
const access = (): LeaseAccess => ({ stream: shared, setWriteGuard: (next) => (guard = next) });
const held: HeldLease[] = [];

function acquiredBy(holder: LeaseHolder, fence: bigint) {
  const at = new Date().toISOString();
  return { type: 'lease.acquired' as const, data: { holder, fence, at, expiresAt: at, ttlMs: 3_000 } };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 5_000_000 });
  config = loadConfig({ flags: {}, env: { LEDGERCLAW_EVENTSTOREDB_LEASE_TTL_MS: '3000', LEDGERCLAW_EVENTSTOREDB_LEASE_RENEW_MS: '1000' }, cwd: '/tmp' }).config;
  shared = new InMemoryLeaseStream();
  guard = undefined;
});

afterEach(async () => {
  for (const lease of held.splice(0)) await lease.release();
  vi.useRealTimers();
});

describe("a CLI command's lease on a shared store", () => {
  it('is taken at once when free, and guards the appends with its fence', async () => {
    const lease = await takeLeaseForCommand(access(), { config, clock });
    held.push(lease);
    expect(lease.fence).toBe(1n);
    expect(guard?.()).toBe(1n);
  });

  it('is refused, naming the runtime, as soon as the holder shows it is alive by renewing', async () => {
    await shared.append(null, acquiredBy(A, 1n));
    let outcome: unknown;
    void takeLeaseForCommand(access(), { config, clock }).then(
      (lease) => (outcome = lease),
      (error: unknown) => (outcome = error),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    // Nothing may be written while the command waits.
    expect(() => guard?.()).toThrow(LeaseNotHeldError);
    await shared.append(0n, { type: 'lease.renewed', data: acquiredBy(A, 1n).data });
    await vi.advanceTimersByTimeAsync(600);
    expect(outcome).toBeInstanceOf(StoreLeaseHeldError);
    expect((outcome as Error).message).toMatch(/^runtime rt-a \(pid 101 on alpha\) holds the store's lease and writes to it: run this command with that runtime's data directory/);
    expect(shared.all()).toHaveLength(2);
  });

  it('is taken over from a holder that stopped renewing, once its lease has lapsed', async () => {
    await shared.append(null, acquiredBy(A, 4n));
    let lease: HeldLease | undefined;
    void takeLeaseForCommand(access(), { config, clock }).then((taken) => (lease = taken));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(lease).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lease?.fence).toBe(5n);
    expect(lease?.acquired.lapsed).toEqual(A);
    held.push(lease!);
  });

  it('refuses appends again once released', async () => {
    const lease = await takeLeaseForCommand(access(), { config, clock });
    await lease.release();
    expect(() => guard?.()).toThrow(LeaseLostError);
    expect(shared.all().map((event) => event.type)).toEqual(['lease.acquired', 'lease.released']);
  });
});
