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
    async rewritePlace(position, change) {
      await intruder.run('UPDATE events SET position = coalesce(?, position), recorded_at = coalesce(?, recorded_at) WHERE position = ?', [
        change.position === undefined ? null : Number(change.position),
        change.recordedAt ?? null,
        Number(position),
      ]);
    },
    async storeRaw(events) {
      // The stream index follows by its trigger, as it would have for the writer that stored them.
      for (const event of events) {
        await intruder.run(
          `INSERT INTO events (position, stream_id, revision, event_id, type, version, data, metadata, recorded_at, prev_hash, hash_version, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            Number(event.position), event.streamId, Number(event.revision), event.id, event.type, event.version,
            event.dataJson, event.metadataJson, event.recordedAt, event.prevHash, event.hashVersion, event.hash,
          ],
        );
      }
    },
    async close() {
      await intruder.close();
      await backend.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
});
