/**
 * How a ledgerclaw event is stored as an EventStoreDB event, and back.
 *
 * - event id = our uuid, event type = our type;
 * - data = our canonical `dataJson` bytes, sent as application/octet-stream. The client
 *   (6.2.1) re-serializes JSON data with JSON.stringify on append and parses it on read, so
 *   bytes sent as application/json could not be read back exactly, and the hash covers the
 *   exact bytes (a change that keeps the value but not the bytes must be seen);
 * - custom metadata = JSON `{"$correlationId", "$causationId", "ledgerclaw": {format, position,
 *   version, recordedAt, prevHash, hashVersion, hash, metadata, fence?}}`. The `$` keys follow
 *   EventStoreDB's own convention, which its `$by_correlation_id` projection reads.
 *
 * `position` is ledgerclaw's logical $all position (see eventstoredb-backend.ts), a decimal
 * string because it is a bigint. On read the envelope is validated; a malformed one is an
 * error naming the stream and revision, never skipped.
 */
import { z } from 'zod';
import { canonicalJson } from '../../canonical-json.js';
import type { RawStoredEvent } from '../../envelope.js';
import type { HashVersion } from '../../hash-chain.js';
import type { StreamMetadata } from '../../port.js';
import { StoredFormError } from './errors.js';

export const STORED_FORM_VERSION = 1;

/** The stream the lease lives in (runtime/lease): plain EventStoreDB events, not chain events. */
export const RUNTIME_LEASE_STREAM = 'runtime-lease';

/** What the client hands to appendToStream for one event (a binaryEvent). */
export interface EsdbEventToWrite {
  readonly id: string;
  readonly type: string;
  readonly data: Uint8Array;
  readonly metadata: Uint8Array;
}

/** The parts of a recorded EventStoreDB event the codec reads, as the client gives them. */
export interface EsdbRecord {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly isJson: boolean;
  /** Uint8Array for a binary event; parsed JSON for a JSON one. */
  readonly data: unknown;
  /** Parsed JSON when the custom metadata is JSON; its bytes otherwise; undefined when empty. */
  readonly metadata: unknown;
}

const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/, 'expected a decimal integer');
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits');

const envelopeSchema = z.object({
  $correlationId: z.string().optional(),
  $causationId: z.string().optional(),
  ledgerclaw: z
    .object({
      format: z.literal(STORED_FORM_VERSION),
      position: decimal.refine((value) => value !== '0', 'positions start at 1'),
      version: z.number().int().positive(),
      recordedAt: z.string().min(1),
      prevHash: sha256Hex,
      // Any integer reaches the verifier as stored, which refuses an unknown rule by name.
      hashVersion: z.number().int(),
      hash: sha256Hex,
      metadata: z.record(z.string(), z.unknown()),
      fence: decimal.optional(),
    })
    .strict(),
});

export type StoredEnvelope = z.infer<typeof envelopeSchema>['ledgerclaw'];

/** A decoded event and what the adapter keeps beside it. */
export interface DecodedEvent {
  readonly event: RawStoredEvent;
  /** The lease's fencing token the writer held, when it wrote under a lease. */
  readonly fence: bigint | undefined;
}

/**
 * How ledgerclaw's stream ids are named in EventStoreDB. With a namespace (say `staging.`)
 * every stream is stored as `<namespace><stream id>`, so several ledgerclaw stores can share
 * one server (the contract suite gives each test its own against a real server); without
 * one, the server belongs to one ledgerclaw, and every stream but system streams and the
 * lease is its.
 */
export class StreamNames {
  constructor(readonly namespace = '') {
    if (namespace !== '' && !/^[a-z0-9][a-z0-9_-]*\.$/.test(namespace)) {
      throw new RangeError(`an EventStoreDB namespace is lower-case letters, digits, _ and -, ending with a dot (got ${JSON.stringify(namespace)})`);
    }
  }

  /** The EventStoreDB stream that holds a ledgerclaw stream. */
  esdb(streamId: string): string {
    return this.namespace + streamId;
  }

  /** The EventStoreDB stream the lease lives in. */
  get lease(): string {
    return this.namespace + RUNTIME_LEASE_STREAM;
  }

  /**
   * The ledgerclaw stream id of a record in EventStoreDB's $all, or undefined when the
   * record is not a ledgerclaw event of this store: system streams and event types (`$…`,
   * stream metadata in `$$…`), the lease, another namespace's streams.
   */
  ours(esdbStream: string, type: string): string | undefined {
    if (type.startsWith('$') || !esdbStream.startsWith(this.namespace)) return undefined;
    const streamId = esdbStream.slice(this.namespace.length);
    return streamId.startsWith('$') || streamId === RUNTIME_LEASE_STREAM ? undefined : streamId;
  }

  /** The ledgerclaw stream whose metadata a `$metadata` record of $all sets, if it is one of ours. */
  metadataOf(esdbStream: string, type: string): string | undefined {
    return type === '$metadata' && esdbStream.startsWith('$$') ? this.ours(esdbStream.slice(2), '') : undefined;
  }
}

/**
 * ledgerclaw's stream metadata, kept under its own key of EventStoreDB's stream metadata
 * rather than as `$tb` and `$maxCount`: those tell a scavenge to delete events, and the hash
 * chain over $all needs every event. The limits apply to `readStream` only, as the port says.
 */
const storedStreamMetadataSchema = z
  .object({
    truncateBefore: decimal.optional(),
    maxCount: z.number().int().positive().optional(),
  })
  .strict();

export const STREAM_METADATA_KEY = 'ledgerclaw';

/** ledgerclaw's limits out of a stream's EventStoreDB metadata (its custom properties as the client reads them). */
export function decodeStreamMetadata(streamId: string, revision: bigint, metadata: unknown): StreamMetadata {
  const own = metadata !== null && typeof metadata === 'object' ? (metadata as Record<string, unknown>)[STREAM_METADATA_KEY] : undefined;
  const parsed = storedStreamMetadataSchema.safeParse(own ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StoredFormError(`$$${streamId}`, revision, `the ${STREAM_METADATA_KEY} entry of the stream metadata of ${streamId}: ${[...issue.path].join('.') || 'value'}: ${issue.message}`);
  }
  return {
    ...(parsed.data.truncateBefore === undefined ? {} : { truncateBefore: BigInt(parsed.data.truncateBefore) }),
    ...(parsed.data.maxCount === undefined ? {} : { maxCount: parsed.data.maxCount }),
  };
}

export function encodeStreamMetadata(metadata: StreamMetadata): Record<string, unknown> {
  return {
    ...(metadata.truncateBefore === undefined ? {} : { truncateBefore: metadata.truncateBefore.toString() }),
    ...(metadata.maxCount === undefined ? {} : { maxCount: metadata.maxCount }),
  };
}

const encoder = new TextEncoder();

export function encodeEvent(event: RawStoredEvent, fence?: bigint): EsdbEventToWrite {
  const metadata = JSON.parse(event.metadataJson) as { correlationId?: unknown; causationId?: unknown };
  const envelope = {
    ...(typeof metadata.correlationId === 'string' ? { $correlationId: metadata.correlationId } : {}),
    ...(typeof metadata.causationId === 'string' ? { $causationId: metadata.causationId } : {}),
    ledgerclaw: {
      format: STORED_FORM_VERSION,
      position: event.position.toString(),
      version: event.version,
      recordedAt: event.recordedAt,
      prevHash: event.prevHash,
      hashVersion: event.hashVersion,
      hash: event.hash,
      metadata,
      ...(fence === undefined ? {} : { fence: fence.toString() }),
    },
  };
  return {
    id: event.id,
    type: event.type,
    data: encoder.encode(event.dataJson),
    // A plain Uint8Array (not a Buffer): the client sends those bytes as they are.
    metadata: encoder.encode(JSON.stringify(envelope)),
  };
}

export function decodeEvent(record: EsdbRecord): DecodedEvent {
  const fail = (detail: string) => new StoredFormError(record.streamId, record.revision, detail);
  if (record.isJson || !(record.data instanceof Uint8Array)) {
    throw fail('its data is not binary: ledgerclaw stores the exact canonical JSON bytes as application/octet-stream');
  }
  if (record.metadata === undefined || record.metadata instanceof Uint8Array) {
    throw fail(record.metadata === undefined ? 'it has no metadata' : 'its metadata is not JSON');
  }
  const parsed = envelopeSchema.safeParse(record.metadata);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw fail(`metadata.${issue.path.join('.')}: ${issue.message}`);
  }
  const stored = parsed.data.ledgerclaw;
  const event: RawStoredEvent = {
    id: record.id,
    streamId: record.streamId,
    revision: record.revision,
    position: BigInt(stored.position),
    type: record.type,
    version: stored.version,
    dataJson: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString('utf8'),
    metadataJson: canonicalJson(stored.metadata),
    recordedAt: stored.recordedAt,
    prevHash: stored.prevHash,
    hashVersion: stored.hashVersion as HashVersion,
    hash: stored.hash,
  };
  return { event, fence: stored.fence === undefined ? undefined : BigInt(stored.fence) };
}
