/**
 * A runtime process for the projection crash test: the projection host on a data
 * directory's event store, building and following the tally projection until it has
 * caught up with the head, or until it is killed. Run: node projection-runner.js <dataDir>
 */
import { join } from 'node:path';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../events/event-store.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { counterCatalogue } from './counter-kind.js';
import { tallyProjection } from './tally-projection.js';

async function main(): Promise<void> {
  const [dataDir] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: projection-runner <dataDir>');
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'reader' });
  const store = createEventStore(backend, counterCatalogue);
  const host = new ProjectionHost({ store, projections: [tallyProjection()], dataDir, batchSize: 100 });
  await host.start();
  process.stdout.write('started\n');
  await host.waitFor('tally', await store.headPosition());
  const [entry] = await host.entries();
  process.stdout.write(`caught up ${entry?.status}\n`);
  await host.stop();
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
