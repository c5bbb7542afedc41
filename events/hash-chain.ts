/**
 * The hash chains. Every stored event carries the hash of its predecessor in the same
 * stream (`prevHash`) and its own `hash`, made by the rule of its `hashVersion`:
 *
 * - v1 (events written before the $all chain): the event's stream, revision, identity and
 *   stored bytes, and the stream link. Its position and recording time are not covered.
 * - v2: all of v1, plus the event's position and recording time, plus the $all link: the
 *   chain value of the event before it in $all. Changing, removing, inserting or moving any
 *   event, in any stream, breaks the hash of every v2 event after it.
 *
 * The $all chain value of an event is its hash for v2; for a v1 event it is folded from the
 * previous value and the v1 event's place, time and hash (`legacyChainLink`), so the first
 * v2 event of an upgraded store seals the positions and times of every v1 event before it.
 */
import { createHash } from 'node:crypto';
import type { PreparedEvent } from './envelope.js';

/** The predecessor of revision 0, and the $all chain value before the first event. */
export const GENESIS_HASH = '0'.repeat(64);

export type HashVersion = 1 | 2;

/** The rule every new event is hashed with. */
export const CURRENT_HASH_VERSION: HashVersion = 2;

/**
 * sha256 over the stream link, the event's place in its stream and its stored bytes (v1).
 * The header is a JSON array (no raw newlines), and canonical JSON never holds a raw
 * newline either, so the newline-joined parts cannot be confused with one another.
 */
export function chainHash(prevHash: string, streamId: string, revision: bigint, event: PreparedEvent): string {
  const header = JSON.stringify([prevHash, streamId, revision.toString(), event.id, event.type, event.version]);
  return hashParts(header, event);
}

/** Where an event sits and when it was recorded: what v2 covers beyond v1. */
export interface ChainPlace {
  /** The $all chain value of the event before this one in $all (GENESIS_HASH for the first). */
  readonly allPrevHash: string;
  /** The hash of the previous event in the same stream (GENESIS_HASH for revision 0). */
  readonly prevHash: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly recordedAt: string;
}

/**
 * sha256 over both links, the event's place in its stream and in $all, its recording time
 * and its stored bytes (v2). The header starts with a tag where a v1 header starts with a
 * 64-digit hash, so no v1 header can be read as a v2 one.
 */
export function chainHashV2(place: ChainPlace, event: PreparedEvent): string {
  const header = JSON.stringify([
    'ledgerclaw-event/2',
    place.allPrevHash,
    place.prevHash,
    place.streamId,
    place.revision.toString(),
    place.position.toString(),
    place.recordedAt,
    event.id,
    event.type,
    event.version,
  ]);
  return hashParts(header, event);
}

/** A v1 event as the $all chain sees it: its place, time and (v1) hash. */
export interface LegacyLink {
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly recordedAt: string;
  readonly hash: string;
}

/** The $all chain value after a v1 event, which has no $all link of its own. */
export function legacyChainLink(allPrevHash: string, event: LegacyLink): string {
  const header = JSON.stringify([
    'ledgerclaw-legacy-link/1',
    allPrevHash,
    event.streamId,
    event.revision.toString(),
    event.position.toString(),
    event.recordedAt,
    event.hash,
  ]);
  return createHash('sha256').update(header).digest('hex');
}

/** The $all chain value after `event`, given the value before it. */
export function nextChainTip(allPrevHash: string, event: LegacyLink & { readonly hashVersion: HashVersion }): string {
  return event.hashVersion === 1 ? legacyChainLink(allPrevHash, event) : event.hash;
}

function hashParts(header: string, event: PreparedEvent): string {
  return createHash('sha256')
    .update(header)
    .update('\n')
    .update(event.dataJson)
    .update('\n')
    .update(event.metadataJson)
    .digest('hex');
}
