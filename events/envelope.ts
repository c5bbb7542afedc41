/**
 * The shape of an event on its way in (`NewEvent`) and as stored (`StoredEvent`), and the
 * zod schemas that guard the envelope at every boundary. The data inside belongs to the
 * catalogue; this module knows only the frame around it.
 */
import { z } from 'zod';
import type { HashVersion } from './hash-chain.js';

/** Who or what caused an event: `user:U123`, `agent:run-42`, `runtime`, `cli`. */
const actorSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII with no spaces');

export const eventMetadataSchema = z
  .object({
    /** Shared by every event that one outside trigger (a Slack message, a timer) led to. */
    correlationId: z.string().min(1).max(200),
    /** The event or command that directly caused this one; null for an outside trigger. */
    causationId: z.string().min(1).max(200).nullable(),
    actor: actorSchema,
    /** When the fact happened, as the producer saw it (ISO 8601, UTC). */
    occurredAt: z.iso.datetime({ offset: false }),
  })
  .strict();

export type EventMetadata = z.infer<typeof eventMetadataSchema>;

export const eventIdSchema = z.uuid();

/** What a producer hands to `append`. The catalogue stamps the version. */
export interface NewEvent<TType extends string = string, TData = unknown> {
  /** A uuid. Derive it from a natural key (see `eventIdFor`) so a retried delivery is the same event. */
  readonly id?: string;
  readonly type: TType;
  readonly data: TData;
  readonly metadata?: Partial<EventMetadata>;
}

/** An event as read back: its place in its stream and in $all, and its link in the hash chain. */
export interface StoredEvent<TType extends string = string, TData = unknown> {
  readonly id: string;
  readonly streamId: string;
  /** 0 for the first event of a stream. */
  readonly revision: bigint;
  /** Position in $all; increases with commit order, not necessarily by one. */
  readonly position: bigint;
  readonly type: TType;
  /** The version of `data` as handed out: the catalogue's newest unless read with `upcast: false`. */
  readonly version: number;
  /** The version the event was written with. */
  readonly storedVersion: number;
  readonly data: TData;
  readonly metadata: EventMetadata;
  /** When the store committed it (ISO 8601, UTC). */
  readonly recordedAt: string;
  /** The hash of the previous event in the same stream (all zeros for revision 0). */
  readonly prevHash: string;
  /** The rule `hash` was made with (events/hash-chain.ts): 1 for events written before the $all chain, 2 since. */
  readonly hashVersion: HashVersion;
  readonly hash: string;
}

/**
 * An event after validation, serialized once: the canonical JSON text is what is stored and
 * what the hash covers, so every adapter stores and verifies exactly the same bytes.
 */
export interface PreparedEvent {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly dataJson: string;
  readonly metadataJson: string;
}

/** A stored event in the form adapters keep it: the JSON still as text. */
export interface RawStoredEvent extends PreparedEvent {
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly recordedAt: string;
  readonly prevHash: string;
  readonly hashVersion: HashVersion;
  readonly hash: string;
}

/**
 * `<kind>` or `<kind>-<id>`: a lower-case kind, then any printable id. Well-formed UTF-16
 * only, since a lone surrogate cannot survive the trip to UTF-8 storage unchanged.
 */
export const streamIdSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[a-z][a-z0-9_]*(-[^\p{Cc}]+)?$/u, "expected '<kind>' or '<kind>-<id>' with a lower-case kind and no control characters")
  .refine((value) => value.isWellFormed(), 'contains a lone surrogate');

/** `<kind>.<past tense>`, for example `task.scheduled` or `run.model_called`. */
export const eventTypeSchema = z
  .string()
  .max(200)
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, "expected '<kind>.<past_tense>' in lower case");
