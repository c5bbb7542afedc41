import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../events/event-store.js';
import { describeEventStoreContract } from '../contract/event-store.contract.js';
import { testCatalogue } from '../support/test-catalogue.js';

describeEventStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-contract-'));
  const path = join(dir, 'events.db');
  const backend = await openSqliteBackend({ path, mode: 'writer' });
  // Tampering goes around the store through a connection of its own, as an intruder would.
  const intruder = await SqliteConnection.open(path, { create: false });
  return {
    store: createEventStore(backend, testCatalogue),
    backend,
    async tamperData(position, dataJson) {
      await intruder.run('UPDATE events SET data = ? WHERE position = ?', [dataJson, Number(position)]);
    },
    async deleteEvent(position) {
      await intruder.run('DELETE FROM events WHERE position = ?', [Number(position)]);
    },
    async close() {
      await intruder.close();
      await backend.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
});
