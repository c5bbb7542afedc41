/**
 * The lease access of an opened store: the EventStoreDB backend's lease stream and write
 * guard; none for SQLite, whose data-directory lock already makes one process its writer.
 */
import { EventStoreDbBackend } from '../../events/adapters/eventstoredb/eventstoredb-backend.js';
import type { OpenedEventStore } from '../open-store.js';
import { EventStoreDbLeaseStream } from './eventstoredb-lease-stream.js';
import type { LeaseAccess } from './store-lease.js';

export function leaseAccessOf(opened: OpenedEventStore): LeaseAccess | undefined {
  const { backend } = opened;
  return backend instanceof EventStoreDbBackend ? leaseAccessOfBackend(backend) : undefined;
}

export function leaseAccessOfBackend(backend: EventStoreDbBackend): LeaseAccess {
  return { stream: new EventStoreDbLeaseStream(backend.leaseStream), setWriteGuard: (guard) => backend.setWriteGuard(guard) };
}
