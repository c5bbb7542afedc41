/**
 * A runtime process for the build-mode tests: the projection host on a data directory's
 * event store with the tally projection at the version given (raise it to rebuild beside
 * the live read model), running until its read model has caught up with the head or until
 * it is killed. Run: node build-runner.js <dataDir> <version>
 */
import { join } from 'node:path';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../../events/event-store.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { counterCatalogue } from '../../support/counter-kind.js';
import { indexedTally } from './indexed-tally.js';

async function main(): Promise<void> {
  const [dataDir, version] = process.argv.slice(2);
  if (!dataDir || !version) throw new Error('usage: build-runner <dataDir> <version>');
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'reader' });
  const store = createEventStore(backend, counterCatalogue);
  const host = new ProjectionHost({ store, projections: [indexedTally(Number(version))], dataDir, batchSize: 100 });
  await host.start();
  process.stdout.write('started\n');
  await host.waitFor('tally', await store.headPosition());
  const [entry] = await host.entries();
  process.stdout.write(`caught up ${entry?.status} v${entry?.activeVersion}\n`);
  await host.stop();
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
