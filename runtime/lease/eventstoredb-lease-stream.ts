/**
 * The `runtime-lease` stream on EventStoreDB, through the adapter's raw lease-stream access
 * (events/adapters/eventstoredb/lease-stream.ts: plain JSON events outside the hash chain,
 * expected revisions checked by the server, errors with the connection string redacted).
 * This side gives those events their meaning: it parses them with zod and maps a conflict
 * to LeaseConflictError.
 */
import { randomUUID } from 'node:crypto';
import { LeaseStreamConflictError, LeaseStreamMalformedError, type LeaseStream as RawLeaseStream } from '../../events/adapters/eventstoredb/lease-stream.js';
import { leaseEventJson, MalformedLeaseEventError, parseLeaseEvent, type LeaseEvent } from './lease-events.js';
import { LeaseConflictError, type LeaseRead, type LeaseStream } from './lease-stream.js';

export class EventStoreDbLeaseStream implements LeaseStream {
  constructor(private readonly raw: RawLeaseStream) {}

  async read(): Promise<LeaseRead> {
    let snapshot;
    try {
      snapshot = await this.raw.read({ last: 1 });
    } catch (error) {
      if (error instanceof LeaseStreamMalformedError) throw new MalformedLeaseEventError(error.message);
      throw error;
    }
    return { revision: snapshot.revision, events: snapshot.events.map((event) => parseLeaseEvent(event.type, event.data, event.revision)) };
  }

  async append(expected: bigint | null, event: LeaseEvent): Promise<bigint> {
    try {
      const { revision } = await this.raw.append(expected ?? 'no_stream', { id: randomUUID(), type: event.type, data: leaseEventJson(event) });
      return revision;
    } catch (error) {
      if (error instanceof LeaseStreamConflictError) {
        throw new LeaseConflictError(expected, error.actual === 'no_stream' ? null : error.actual);
      }
      throw error;
    }
  }
}
