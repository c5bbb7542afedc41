/**
 * Stream metadata as EventStoreDB keeps it: the newest `$metadata` event of the stream's
 * metastream `$$<stream>`, a JSON object whose system keys shape what a read of the stream
 * returns. The fake honours the three that bound what a stream read sees; `$acl` and
 * `$cacheControl` are stored (they are the client's business) but not enforced.
 */
import { z } from 'zod';

/** `EventNumber.DeletedStream` (long.MaxValue): the `$tb` a soft delete writes. */
export const DELETED_STREAM = 9_223_372_036_854_775_807n;

/** A metastream reads as if it had `$maxCount: 1` (EventStoreDB's metastream default). */
export const METASTREAM_MAX_COUNT = 1n;

export const METADATA_EVENT_TYPE = '$metadata';
export const TOMBSTONE_EVENT_TYPE = '$streamDeleted';

const nonNegativeInteger = z.union([z.number().int().nonnegative(), z.bigint().nonnegative()]).transform((value) => BigInt(value));

// A real server ignores system keys with a value of the wrong type rather than failing the
// read, so each key is parsed on its own and a bad one is dropped.
const metadataObject = z.record(z.string(), z.unknown());

export interface StreamTruncation {
  readonly maxCount?: bigint;
  readonly maxAgeSeconds?: bigint;
  readonly truncateBefore?: bigint;
}

/**
 * The truncation keys of a metadata event's JSON bytes. Integers beyond 2^53 (`$tb` of a soft
 * delete is long.MaxValue) are read exactly from the text, not through a float.
 */
export function truncationOf(metadataJson: Uint8Array | undefined): StreamTruncation {
  if (metadataJson === undefined || metadataJson.length === 0) return {};
  const text = Buffer.from(metadataJson).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  const object = metadataObject.safeParse(parsed);
  if (!object.success) return {};
  const pick = (key: string): bigint | undefined => {
    const value = object.data[key];
    // JSON.parse reads long.MaxValue as a float; take the digits from the text instead.
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      const digits = new RegExp(`"${key.replace('$', '\\$')}"\\s*:\\s*(\\d+)`).exec(text)?.[1];
      return digits === undefined ? undefined : BigInt(digits);
    }
    const parsedValue = nonNegativeInteger.safeParse(value);
    return parsedValue.success ? parsedValue.data : undefined;
  };
  const maxCount = pick('$maxCount');
  const maxAgeSeconds = pick('$maxAge');
  const truncateBefore = pick('$tb');
  return {
    ...(maxCount !== undefined && maxCount > 0n ? { maxCount } : {}),
    ...(maxAgeSeconds !== undefined && maxAgeSeconds > 0n ? { maxAgeSeconds } : {}),
    ...(truncateBefore !== undefined ? { truncateBefore } : {}),
  };
}

/**
 * The same metadata with `$tb` replaced, the way the server rewrites a soft-deleted stream's
 * metadata when the stream is written again ("soft undelete"). Other keys are kept.
 */
export function withTruncateBefore(metadataJson: Uint8Array | undefined, truncateBefore: bigint): Uint8Array {
  let object: Record<string, unknown> = {};
  if (metadataJson !== undefined && metadataJson.length > 0) {
    try {
      const parsed = metadataObject.safeParse(JSON.parse(Buffer.from(metadataJson).toString('utf8')));
      if (parsed.success) object = parsed.data;
    } catch {
      object = {};
    }
  }
  const { $tb: _replaced, ...rest } = object;
  const body = JSON.stringify(rest);
  const tbText = `"$tb":${truncateBefore.toString()}`;
  const text = body === '{}' ? `{${tbText}}` : `{${body.slice(1, -1)},${tbText}}`;
  return Buffer.from(text, 'utf8');
}

/** `{"$tb": long.MaxValue}`, the whole metadata a soft delete writes (other keys are dropped). */
export function softDeleteMetadata(): Uint8Array {
  return Buffer.from(`{"$tb":${DELETED_STREAM.toString()}}`, 'utf8');
}

export function isMetastream(stream: string): boolean {
  return stream.startsWith('$$');
}

export function metastreamOf(stream: string): string {
  return `$$${stream}`;
}
