import { describe, expect, it } from 'vitest';
import { leaseTiming } from '../../../runtime/lease/lease-decisions.js';
import { leaseLine } from '../../../runtime/lease/lease-lines.js';
import { InMemoryLeaseStream } from '../../../runtime/lease/lease-stream.js';
import { HeldLease, systemLeaseClock } from '../../../runtime/lease/runtime-lease.js';

const holder = { runtimeId: 'rt-a', pid: 101, host: 'alpha' };
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('what start prints about the lease', () => {
  it('says who holds the lease, until when by its clock, and when the standby takes over', () => {
    expect(leaseLine({ kind: 'standby', status: { holder, expiresAt: '2026-12-08T03:00:03.000Z', takeoverInMs: 3_600 } })).toBe(
      "ledgerclaw standby: the store's lease is held by runtime rt-a (pid 101 on alpha) (until 2026-12-08T03:00:03.000Z by its clock); taking over in 3.6 s unless it renews\n",
    );
  });

  it('says whose lapsed lease was taken, with which fence, after how long', async () => {
    const timing = leaseTiming({ leaseTtlMs: 3_000, leaseRenewEveryMs: 1_000 });
    const me = { runtimeId: 'rt-b', pid: 202, host: 'beta' };
    const lease = new HeldLease({ stream: new InMemoryLeaseStream(), me, timing, logger: quiet }, systemLeaseClock, { fence: 7n, lapsed: holder, waitedMs: 4_250 }, null, systemLeaseClock.now());
    try {
      expect(leaseLine({ kind: 'acquired', lease })).toBe(
        "ledgerclaw active: took the store's lease from runtime rt-a (pid 101 on alpha), whose lease lapsed, with fence 7 after 4.3 s\n",
      );
    } finally {
      await lease.release();
    }
  });
});
