/**
 * The ways the EventStoreDB backend fails beyond the port's own errors. Every message names
 * the operation and the store by its redacted location: a connection string can carry a
 * password, and messages end up in logs and terminals.
 */
import { EventStoreError } from '../../errors.js';

/** The server could not be reached, timed out, or answered with an error we have no better name for. */
export class EventStoreUnavailableError extends EventStoreError {
  readonly code = 'store_unavailable';
  constructor(
    readonly operation: string,
    readonly location: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} on the EventStoreDB store at ${location} failed: ${detail}`, options);
  }
}

/** An event in a ledgerclaw stream that is not in the stored form this adapter writes. */
export class StoredFormError extends EventStoreError {
  readonly code = 'stored_form';
  constructor(
    readonly streamId: string,
    readonly revision: bigint,
    detail: string,
  ) {
    super(
      `the event at ${streamId}@${revision} in EventStoreDB is not a ledgerclaw event in the stored form (${detail}); ` +
        'only ledgerclaw may write to its streams',
    );
  }
}

/**
 * Two events in $all claim the same ledgerclaw position, or positions go backwards: a second
 * writer appended without the lease. Nothing more is written until an operator looks.
 */
export class SplitWriterError extends EventStoreError {
  readonly code = 'split_writer';
  constructor(detail: string) {
    super(`two writers appended to the EventStoreDB store: ${detail}; stop every runtime but one and run \`ledgerclaw events verify\``);
  }
}

/** The write guard (the lease) refused the append, or an append to a stream only the lease may write. */
export class WriteRefusedError extends EventStoreError {
  readonly code = 'write_refused';
}
