/** How a stored event is laid out in the `events` table, and how a row becomes a RawStoredEvent. */
import type { RawStoredEvent } from '../../envelope.js';
import type { HashVersion } from '../../hash-chain.js';

export interface EventRow {
  position: number;
  stream_id: string;
  revision: number;
  event_id: string;
  type: string;
  version: number;
  data: string;
  metadata: string;
  recorded_at: string;
  prev_hash: string;
  hash_version: number;
  hash: string;
}

export const EVENT_SELECT =
  'SELECT position, stream_id, revision, event_id, type, version, data, metadata, recorded_at, prev_hash, hash_version, hash FROM events';

export function toRawEvent(row: EventRow): RawStoredEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    revision: BigInt(row.revision),
    position: BigInt(row.position),
    type: row.type,
    version: row.version,
    dataJson: row.data,
    metadataJson: row.metadata,
    recordedAt: row.recorded_at,
    prevHash: row.prev_hash,
    // Any other number reaches the verifier as stored, which refuses it by name.
    hashVersion: row.hash_version as HashVersion,
    hash: row.hash,
  };
}
