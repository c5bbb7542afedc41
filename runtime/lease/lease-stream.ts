/**
 * The port to the `runtime-lease` stream: read its newest state, and append at an exact
 * expected revision so that of two contenders writing at the same revision exactly one
 * wins. runtime/lease/eventstoredb-lease-stream.ts is the store's; the in-memory one here
 * serves the unit tests.
 */
import { LEASE_STREAM, type LeaseEvent } from './lease-events.js';

export interface LeaseRead {
  /** The stream's newest revision; null when it does not exist yet. */
  readonly revision: bigint | null;
  /** The newest events, oldest first (at least the newest one when there is any). */
  readonly events: readonly LeaseEvent[];
}

export interface LeaseStream {
  read(): Promise<LeaseRead>;
  /**
   * Appends `event` if the stream is at `expected` (null: the stream must not exist yet),
   * and returns the revision it was written at; throws LeaseConflictError otherwise.
   */
  append(expected: bigint | null, event: LeaseEvent): Promise<bigint>;
}

/** Someone else wrote the lease stream since we read it. */
export class LeaseConflictError extends Error {
  readonly code = 'lease_conflict';
  constructor(
    readonly expected: bigint | null,
    readonly actual: bigint | null,
  ) {
    super(`the ${LEASE_STREAM} stream moved: expected it at ${expected === null ? 'no stream' : `revision ${expected}`}, it is at ${actual === null ? 'no stream' : `revision ${actual}`}`);
    this.name = 'LeaseConflictError';
  }
}

/** The lease stream in memory: for unit tests, and for two contenders in one process. */
export class InMemoryLeaseStream implements LeaseStream {
  private readonly events: LeaseEvent[] = [];

  get revision(): bigint | null {
    return this.events.length === 0 ? null : BigInt(this.events.length - 1);
  }

  all(): readonly LeaseEvent[] {
    return [...this.events];
  }

  read(): Promise<LeaseRead> {
    return Promise.resolve({ revision: this.revision, events: this.events.slice(-1) });
  }

  append(expected: bigint | null, event: LeaseEvent): Promise<bigint> {
    if (expected !== this.revision) return Promise.reject(new LeaseConflictError(expected, this.revision));
    this.events.push(event);
    return Promise.resolve(BigInt(this.events.length - 1));
  }
}
