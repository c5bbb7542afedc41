/**
 * The $all chain value after the newest stored event: what the writer links its next event
 * to. For a store whose newest event is v2 that is one indexed read. A store that has only
 * v1 events (written before the $all chain) is folded once from its first event, so the
 * first v2 event seals every v1 event's place and time (events/hash-chain.ts).
 */
import { GENESIS_HASH, nextChainTip, type HashVersion } from '../../hash-chain.js';
import type { SqliteConnection } from './connection.js';

interface LinkRow {
  position: number;
  stream_id: string;
  revision: number;
  recorded_at: string;
  hash_version: number;
  hash: string;
}

const LINK_SELECT = 'SELECT position, stream_id, revision, recorded_at, hash_version, hash FROM events';
const FOLD_PAGE = 10_000;

export async function readChainTip(connection: SqliteConnection): Promise<string> {
  const newest = await connection.get<LinkRow>(`${LINK_SELECT} ORDER BY position DESC LIMIT 1`);
  if (!newest) return GENESIS_HASH;
  if (newest.hash_version !== 1) return newest.hash;

  let tip = GENESIS_HASH;
  for (let after = 0; ; ) {
    const rows = await connection.all<LinkRow>(`${LINK_SELECT} WHERE position > ? ORDER BY position LIMIT ?`, [after, FOLD_PAGE]);
    for (const row of rows) {
      tip = nextChainTip(tip, {
        streamId: row.stream_id,
        revision: BigInt(row.revision),
        position: BigInt(row.position),
        recordedAt: row.recorded_at,
        hashVersion: row.hash_version as HashVersion,
        hash: row.hash,
      });
    }
    if (rows.length < FOLD_PAGE) return tip;
    after = rows[rows.length - 1]!.position;
  }
}
