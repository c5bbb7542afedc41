/** The lines `ledgerclaw start` prints about the lease, for the operator watching a standby. */
import { describeHolder } from './lease-events.js';
import type { LeaseNews } from './store-lease.js';

export function leaseLine(news: LeaseNews): string {
  if (news.kind === 'standby') {
    const { holder, expiresAt, takeoverInMs } = news.status;
    const until = expiresAt === null ? '' : ` (until ${expiresAt} by its clock)`;
    return `ledgerclaw standby: the store's lease is held by ${describeHolder(holder)}${until}; taking over in ${seconds(takeoverInMs)} unless it renews\n`;
  }
  const { fence, lapsed, waitedMs } = news.lease.acquired;
  const from = lapsed === null ? '' : ` from ${describeHolder(lapsed)}, whose lease lapsed,`;
  return `ledgerclaw active: took the store's lease${from} with fence ${fence} after ${seconds(waitedMs)}\n`;
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}
