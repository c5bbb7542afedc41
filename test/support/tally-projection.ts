/**
 * A projection for host tests: it tallies events by stream and records every event id it
 * applied under a primary key, so applying any event twice fails loudly.
 */
import type { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../../events/envelope.js';
import { defineProjection, type Projection } from '../../projections/projection.js';

export function tallyProjection(options: { name?: string; version?: number; failOn?: (event: StoredEvent) => boolean } = {}): Projection {
  return defineProjection({
    name: options.name ?? 'tally',
    version: options.version ?? 1,
    eventTypes: ['counter.incremented', 'counter.reset', 'counter.closed'],
    schema: `
      CREATE TABLE applied (event_id TEXT PRIMARY KEY, position INTEGER NOT NULL) STRICT;
      CREATE TABLE tally (stream_id TEXT PRIMARY KEY, events INTEGER NOT NULL) STRICT;
    `,
    async apply(db: SqliteConnection, event: StoredEvent) {
      if (options.failOn?.(event)) throw new Error(`cannot tally ${event.streamId}@${event.revision}`);
      await db.run('INSERT INTO applied (event_id, position) VALUES (?, ?)', [event.id, Number(event.position)]);
      await db.run('INSERT INTO tally (stream_id, events) VALUES (?, 1) ON CONFLICT (stream_id) DO UPDATE SET events = events + 1', [event.streamId]);
    },
  });
}

export async function tallyOf(db: SqliteConnection): Promise<Record<string, number>> {
  const rows = await db.all<{ stream_id: string; events: number }>('SELECT stream_id, events FROM tally ORDER BY stream_id');
  return Object.fromEntries(rows.map((row) => [row.stream_id, row.events]));
}
