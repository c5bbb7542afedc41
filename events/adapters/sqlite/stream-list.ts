/**
 * `listStreams` over a `streams` table (id, revision, last position, time of the last
 * event): the SQLite store's stream index and the EventStoreDB adapter's local index have
 * one, and must page and match prefixes exactly alike for the contract suite.
 */
import type { ListStreamsOptions, StreamInfo } from '../../port.js';
import type { SqlValue, SqliteConnection } from './connection.js';

/** The column that holds when a stream's newest event was recorded: named differently in the two tables. */
export type RecordedAtColumn = 'updated_at' | 'last_recorded_at';

export async function listStreamsIn(connection: SqliteConnection, recordedAtColumn: RecordedAtColumn, options: ListStreamsOptions): Promise<StreamInfo[]> {
  const conditions: string[] = [];
  const params: SqlValue[] = [];
  if (options.prefix !== undefined) {
    // substr, not LIKE: a prefix is matched literally, with no wildcard characters.
    conditions.push('substr(stream_id, 1, ?) = ?');
    params.push(options.prefix.length, options.prefix);
  }
  if (options.after !== undefined) {
    conditions.push('stream_id > ?');
    params.push(options.after);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const limit = options.limit === undefined || options.limit >= Number.MAX_SAFE_INTEGER ? -1 : options.limit;
  const rows = await connection.all<{ stream_id: string; revision: number; last_position: number; recorded_at: string }>(
    `SELECT stream_id, revision, last_position, ${recordedAtColumn} AS recorded_at FROM streams ${where} ORDER BY stream_id LIMIT ?`,
    [...params, limit],
  );
  return rows.map((row) => ({
    streamId: row.stream_id,
    revision: BigInt(row.revision),
    lastPosition: BigInt(row.last_position),
    lastRecordedAt: row.recorded_at,
  }));
}
