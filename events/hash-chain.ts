/**
 * The per-stream hash chain. Each stored event carries the hash of its predecessor in the
 * same stream and a hash over its own stored bytes plus that link, so changing, removing
 * or reordering any stored event breaks every hash after it.
 */
import { createHash } from 'node:crypto';
import type { PreparedEvent } from './envelope.js';

/** The predecessor of revision 0. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * sha256 over the link and the event's place and stored bytes. The header is a JSON array
 * (no raw newlines), and canonical JSON never holds a raw newline either, so the
 * newline-joined parts cannot be confused with one another.
 */
export function chainHash(prevHash: string, streamId: string, revision: bigint, event: PreparedEvent): string {
  const header = JSON.stringify([prevHash, streamId, revision.toString(), event.id, event.type, event.version]);
  return createHash('sha256')
    .update(header)
    .update('\n')
    .update(event.dataJson)
    .update('\n')
    .update(event.metadataJson)
    .digest('hex');
}
