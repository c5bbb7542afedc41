/**
 * The events of the `runtime-lease` stream: which runtime may write to a shared EventStoreDB
 * store, until when, and under which fencing token. They are plain EventStoreDB events (no
 * hash chain: the lease is coordination, not history), and each carries the whole lease, so
 * the newest event alone says who holds it.
 */
import { z } from 'zod';

export const LEASE_STREAM = 'runtime-lease';

/** Who holds (or wants) the lease: the runtime of one process on one host. */
export interface LeaseHolder {
  /** Fresh for every process, so a restarted runtime is a new holder. */
  readonly runtimeId: string;
  readonly pid: number;
  readonly host: string;
}

/** A fencing token: grows by one at each acquisition and is written into every event appended under it. */
export type FenceToken = bigint;

const holderSchema = z
  .object({
    runtimeId: z.string().min(1),
    pid: z.number().int().positive(),
    host: z.string().min(1),
  })
  .strict();

/** Tokens travel as decimal strings: JSON numbers lose precision past 2^53. */
const tokenSchema = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'expected a fencing token as a positive decimal integer string')
  .transform((text) => BigInt(text));

const isoSchema = z.iso.datetime({ offset: false });

const acquiredSchema = z
  .object({
    holder: holderSchema,
    fence: tokenSchema,
    at: isoSchema,
    /** Informational for operators: standbys decide by what they observe, not by this clock. */
    expiresAt: isoSchema,
    ttlMs: z.number().int().positive(),
  })
  .strict();

const renewedSchema = acquiredSchema;

const releasedSchema = z
  .object({
    holder: holderSchema,
    fence: tokenSchema,
    at: isoSchema,
  })
  .strict();

export type LeaseEvent =
  | { readonly type: 'lease.acquired'; readonly data: z.output<typeof acquiredSchema> }
  | { readonly type: 'lease.renewed'; readonly data: z.output<typeof renewedSchema> }
  | { readonly type: 'lease.released'; readonly data: z.output<typeof releasedSchema> };

export type LeaseEventType = LeaseEvent['type'];

const schemas = {
  'lease.acquired': acquiredSchema,
  'lease.renewed': renewedSchema,
  'lease.released': releasedSchema,
} as const;

export class MalformedLeaseEventError extends Error {
  readonly code = 'malformed_lease_event';
  constructor(message: string) {
    super(message);
    this.name = 'MalformedLeaseEventError';
  }
}

/** The JSON an event is stored as: tokens as decimal strings. */
export function leaseEventJson(event: LeaseEvent): Record<string, unknown> {
  return { ...event.data, fence: event.data.fence.toString() };
}

/**
 * Reads a stored lease event back, refusing (naming the revision and what is wrong) one
 * that is not a lease event of a known shape: a lease we cannot read is not one we may take.
 */
export function parseLeaseEvent(type: string, data: unknown, revision: bigint): LeaseEvent {
  if (!(type in schemas)) {
    throw new MalformedLeaseEventError(`the ${LEASE_STREAM} stream holds an event of type '${type}' at revision ${revision}: expected one of ${Object.keys(schemas).join(', ')}`);
  }
  const leaseType = type as LeaseEventType;
  const parsed = schemas[leaseType].safeParse(data);
  if (!parsed.success) {
    const why = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(data)'}: ${issue.message}`).join('; ');
    throw new MalformedLeaseEventError(`the ${LEASE_STREAM} event '${type}' at revision ${revision} is malformed: ${why}`);
  }
  return { type: leaseType, data: parsed.data } as LeaseEvent;
}

export function describeHolder(holder: LeaseHolder): string {
  return `runtime ${holder.runtimeId} (pid ${holder.pid} on ${holder.host})`;
}
