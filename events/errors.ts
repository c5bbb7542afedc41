/**
 * Every way the event store can refuse or fail, as a typed error. Callers branch on the
 * class (or on `code`, which survives serialization); the message is written for the
 * operator who reads it in a log or a terminal.
 */
import type { ExpectedRevision } from './port.js';

export abstract class EventStoreError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

function describeExpected(expected: ExpectedRevision): string {
  return typeof expected === 'bigint' ? `revision ${expected}` : `'${expected}'`;
}

/** The stream was not where the decision assumed it was. Reload and decide again. */
export class WrongExpectedRevisionError extends EventStoreError {
  readonly code = 'wrong_expected_revision';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's current revision, or 'no_stream' when it has no events. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(
      `append to ${streamId} expected ${describeExpected(expected)} but the stream is at ${
        actual === 'no_stream' ? 'no_stream' : `revision ${actual}`
      }`,
    );
  }
}

/** An event id that is already stored somewhere other than the place this append asks for. */
export class EventIdConflictError extends EventStoreError {
  readonly code = 'event_id_conflict';
  constructor(
    readonly streamId: string,
    readonly eventId: string,
    readonly storedAt: { streamId: string; revision: bigint } | 'same_append',
  ) {
    super(
      storedAt === 'same_append'
        ? `append to ${streamId} carries event id ${eventId} more than once`
        : `append to ${streamId} reuses event id ${eventId}, already stored at ${storedAt.streamId}@${storedAt.revision}; ` +
            'a retry must resend exactly the original events at the original place',
    );
  }
}

export class UnknownEventTypeError extends EventStoreError {
  readonly code = 'unknown_event_type';
  constructor(
    readonly eventType: string,
    readonly where: string,
  ) {
    super(`unknown event type '${eventType}' (${where}); add it to the event catalogue in events/catalogue`);
  }
}

export interface FieldIssue {
  /** Dotted path inside the event, for example `data.dueAt`. */
  readonly path: string;
  readonly message: string;
}

/** Data or metadata that does not match the catalogue's schema for its type and version. */
export class InvalidEventError extends EventStoreError {
  readonly code = 'invalid_event';
  constructor(
    readonly eventType: string,
    readonly version: number | undefined,
    readonly issues: readonly FieldIssue[],
    readonly where: string,
  ) {
    super(
      `invalid ${eventType}${version === undefined ? '' : ` v${version}`} (${where}): ` +
        issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
    );
  }
}

/** A stream name, option or argument the port does not accept. */
export class InvalidArgumentError extends EventStoreError {
  readonly code = 'invalid_argument';
}

/** The database file is not a database, or its pages are damaged. */
export class StoreCorruptError extends EventStoreError {
  readonly code = 'store_corrupt';
  constructor(
    readonly path: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the event store at ${path} is corrupt or is not a ledgerclaw database (${detail}); ` +
        'restore it from a backup or move it aside; nothing was written',
      options,
    );
  }
}

/** The disk (or the configured size limit) is full. The batch that hit it was rolled back whole. */
export class StorageFullError extends EventStoreError {
  readonly code = 'storage_full';
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`no space left for the event store at ${path}; the append was rolled back and nothing was written`, options);
  }
}

/** The database schema is newer than this build, or older and this handle cannot migrate it. */
export class SchemaVersionError extends EventStoreError {
  readonly code = 'schema_version';
}

export class StoreClosedError extends EventStoreError {
  readonly code = 'store_closed';
  constructor() {
    super('the event store is closed');
  }
}

export class ReadOnlyStoreError extends EventStoreError {
  readonly code = 'read_only';
  constructor(operation: string) {
    super(`${operation} needs a writable event store; this handle was opened read-only`);
  }
}

/** A read-only handle was asked to open a store that has not been created yet. */
export class StoreNotFoundError extends EventStoreError {
  readonly code = 'store_not_found';
  constructor(readonly path: string) {
    super(`no event store at ${path} yet; \`ledgerclaw start\` creates it`);
  }
}
