/**
 * Raw access to the `runtime-lease` stream for the lease (runtime/lease): plain JSON
 * EventStoreDB events, not chain events, written with expected revisions so that two
 * contenders cannot both win. The store's own `append` refuses this stream, and `readAll`,
 * subscriptions and the index skip it.
 */
import { z } from 'zod';
import { EventStoreError } from '../../errors.js';
import type { EsdbGateway } from './client.js';
import { RUNTIME_LEASE_STREAM } from './stored-form.js';

/** Lease events are kept this many: enough to read who held it lately, never a growing stream. */
export const LEASE_STREAM_MAX_COUNT = 1_000;

export interface LeaseStreamEvent {
  readonly id: string;
  readonly type: string;
  readonly revision: bigint;
  readonly data: Record<string, unknown>;
}

export interface LeaseStreamSnapshot {
  /** The revision of the stream's newest event, or null when it has none. */
  readonly revision: bigint | null;
  /** The newest events asked for, oldest first. */
  readonly events: readonly LeaseStreamEvent[];
}

export interface LeaseEventToWrite {
  /** A uuid. */
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/** Someone else appended to the lease stream since it was read: read again and decide again. */
export class LeaseStreamConflictError extends EventStoreError {
  readonly code = 'lease_stream_conflict';
  constructor(
    readonly expected: bigint | 'no_stream',
    readonly actual: bigint | 'no_stream',
  ) {
    super(`the ${RUNTIME_LEASE_STREAM} stream moved: expected ${expected === 'no_stream' ? 'no stream' : `revision ${expected}`}, it is at ${actual === 'no_stream' ? 'no stream' : `revision ${actual}`}`);
  }
}

/** An event in the lease stream that the lease did not write. */
export class LeaseStreamMalformedError extends EventStoreError {
  readonly code = 'lease_stream_malformed';
}

export interface LeaseStream {
  /** The EventStoreDB stream name (`runtime-lease`, after the store's namespace if it has one). */
  readonly streamId: string;
  /** The newest `last` events (1 by default) and the stream's revision. */
  read(options?: { readonly last?: number }): Promise<LeaseStreamSnapshot>;
  /** Appends one event if the stream is still at `expected`; else LeaseStreamConflictError. */
  append(expected: bigint | 'no_stream', event: LeaseEventToWrite): Promise<{ readonly revision: bigint }>;
}

const jsonObject = z.record(z.string(), z.unknown());

export class EsdbLeaseStream implements LeaseStream {
  constructor(
    private readonly gateway: EsdbGateway,
    readonly streamId: string,
    private readonly assertOpen: () => void,
  ) {}

  async read(options: { readonly last?: number } = {}): Promise<LeaseStreamSnapshot> {
    this.assertOpen();
    const last = options.last ?? 1;
    if (!Number.isInteger(last) || last < 1) throw new RangeError(`read ${RUNTIME_LEASE_STREAM}: last must be a positive integer, got ${last}`);
    const records = await this.gateway.readStream(`read ${RUNTIME_LEASE_STREAM}`, this.streamId, { from: 'end', direction: 'backwards', maxCount: last });
    const events = records.reverse().map((record) => {
      const data = jsonObject.safeParse(record.isJson ? record.data : undefined);
      if (!data.success) {
        throw new LeaseStreamMalformedError(`the event at ${RUNTIME_LEASE_STREAM}@${record.revision} is not a JSON object; only the lease writes this stream`);
      }
      return { id: record.id, type: record.type, revision: record.revision, data: data.data };
    });
    return { revision: events.length > 0 ? events[events.length - 1]!.revision : null, events };
  }

  async append(expected: bigint | 'no_stream', event: LeaseEventToWrite): Promise<{ readonly revision: bigint }> {
    this.assertOpen();
    const outcome = await this.gateway.appendJson(`append to ${RUNTIME_LEASE_STREAM}`, this.streamId, [event], expected);
    if (!outcome.ok) throw new LeaseStreamConflictError(expected, outcome.actual);
    if (expected === 'no_stream') {
      // Old lease events have no use once a newer one exists: let the server scavenge them.
      await this.gateway.setStreamMetadata(`limit ${RUNTIME_LEASE_STREAM}`, this.streamId, { maxCount: LEASE_STREAM_MAX_COUNT });
    }
    return { revision: outcome.nextExpectedRevision };
  }
}
