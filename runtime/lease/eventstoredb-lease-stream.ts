/**
 * The `runtime-lease` stream on EventStoreDB, through the client directly: the lease is
 * coordination, not history, so its events are plain JSON events outside the hash chain,
 * which the event store adapter leaves out of `$all` reads and refuses to append to. The
 * server's expected-revision check is what lets exactly one of two contenders win.
 */
import { BACKWARDS, END, jsonEvent, NO_STREAM, StreamNotFoundError, WrongExpectedVersionError, type EventStoreDBClient } from '@eventstore/db-client';
import { LEASE_STREAM, leaseEventJson, MalformedLeaseEventError, parseLeaseEvent, type LeaseEvent } from './lease-events.js';
import { LeaseConflictError, type LeaseRead, type LeaseStream } from './lease-stream.js';

/** The stream keeps its newest events only: each carries the whole lease. */
export const LEASE_STREAM_MAX_COUNT = 1_000;

export interface EventStoreDbLeaseStreamOptions {
  readonly client: EventStoreDBClient;
  /** The deadline of each call (eventStore.eventstoredb.requestTimeoutMs). */
  readonly requestTimeoutMs: number;
  /** Takes any credential out of a client's error text before it is rethrown. */
  readonly redact: (text: string) => string;
}

export class EventStoreDbLeaseStream implements LeaseStream {
  constructor(private readonly options: EventStoreDbLeaseStreamOptions) {}

  async read(): Promise<LeaseRead> {
    const { client, requestTimeoutMs } = this.options;
    try {
      for await (const resolved of client.readStream(LEASE_STREAM, { direction: BACKWARDS, fromRevision: END, maxCount: 1, deadline: requestTimeoutMs })) {
        const recorded = resolved.event;
        if (!recorded) continue;
        if (!recorded.isJson) throw new MalformedLeaseEventError(`the ${LEASE_STREAM} event at revision ${recorded.revision} is not JSON`);
        return { revision: recorded.revision, events: [parseLeaseEvent(recorded.type, recorded.data, recorded.revision)] };
      }
      return { revision: null, events: [] };
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { revision: null, events: [] };
      if (error instanceof MalformedLeaseEventError) throw error;
      throw this.redacted(error, 'read');
    }
  }

  async append(expected: bigint | null, event: LeaseEvent): Promise<bigint> {
    const { client, requestTimeoutMs } = this.options;
    let revision: bigint;
    try {
      const result = await client.appendToStream(LEASE_STREAM, jsonEvent({ type: event.type, data: leaseEventJson(event) }), {
        expectedRevision: expected ?? NO_STREAM,
        deadline: requestTimeoutMs,
      });
      revision = result.nextExpectedRevision;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw new LeaseConflictError(expected, typeof error.actualVersion === 'bigint' ? error.actualVersion : null);
      }
      throw this.redacted(error, 'append to');
    }
    if (expected === null) await this.capStream();
    return revision;
  }

  /** Once, when the stream is created: it would otherwise grow by a renewal every few seconds forever. */
  private async capStream(): Promise<void> {
    try {
      await this.options.client.setStreamMetadata(LEASE_STREAM, { maxCount: LEASE_STREAM_MAX_COUNT }, { deadline: this.options.requestTimeoutMs });
    } catch {
      // The lease works uncapped; the next runtime that creates the stream tries again.
    }
  }

  private redacted(error: unknown, what: string): Error {
    const text = error instanceof Error ? error.message : String(error);
    const wrapped = new Error(`could not ${what} the ${LEASE_STREAM} stream: ${this.options.redact(text)}`);
    wrapped.name = error instanceof Error ? error.name : 'Error';
    return wrapped;
  }
}
