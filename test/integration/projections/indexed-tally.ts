/**
 * The tally projection (test/support/tally-projection.ts: every event id under a primary
 * key, so an event applied twice fails) with a deferred schema: an index only readers use,
 * which a rebuild creates once it has caught up.
 */
import type { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { defineProjection, type Projection } from '../../../projections/projection.js';
import { tallyProjection } from '../../support/tally-projection.js';

export const DEFERRED_INDEX = 'applied_by_position';

export function indexedTally(version: number): Projection {
  return defineProjection({ ...tallyProjection({ version }), deferredSchema: `CREATE INDEX ${DEFERRED_INDEX} ON applied (position);` });
}

/** The names of the tables and indexes in a read model file. */
export async function schemaNames(db: SqliteConnection): Promise<string[]> {
  return (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")).map((row) => row.name);
}
