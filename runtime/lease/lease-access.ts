/**
 * The lease access of an opened store: the EventStoreDB backend's lease stream and write
 * guard; none for SQLite, whose data-directory lock already makes one process its writer.
 */
import type { OpenedEventStore } from '../open-store.js';
import type { LeaseAccess } from './store-lease.js';

export function leaseAccessOf(opened: OpenedEventStore): LeaseAccess | undefined {
  // Only the SQLite backend opens on this branch until the EventStoreDB adapter is merged.
  void opened;
  return undefined;
}
