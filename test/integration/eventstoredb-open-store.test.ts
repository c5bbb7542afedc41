/**
 * `openEventStore` with `eventStore.backend: eventstoredb`: the connection string from
 * LEDGERCLAW_EVENTSTOREDB_URL only, the adapter's index under the data directory, the data
 * directory's writer lock for a writer (its local caches and control socket; the store's own
 * one-writer rule is the lease), and a reader beside the writer. Against the fake EventStoreDB.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { EVENTSTOREDB_URL_ENV, EventStoreDbUrlError } from '../../runtime/eventstoredb-url.js';
import { EVENTSTOREDB_INDEX_FILE, openEventStore } from '../../runtime/open-store.js';
import { LOCK_FILE_NAME } from '../../runtime/data-dir-lock.js';
import { startFakeEventStoreDb, type FakeEventStoreDb } from '../fakes/eventstoredb/index.js';
import { happened, testCatalogue } from '../support/test-catalogue.js';

let fake: FakeEventStoreDb;
let dataDir: string;

beforeEach(async () => {
  fake = await startFakeEventStoreDb();
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-esdb-open-'));
});

afterEach(async () => {
  await fake.close();
  await rm(dataDir, { recursive: true, force: true });
});

function configFor(env: Record<string, string>) {
  return loadConfig({ flags: { data: dataDir }, env: { LEDGERCLAW_EVENT_STORE: 'eventstoredb', ...env }, cwd: dataDir }).config;
}

describe('openEventStore with the eventstoredb backend', () => {
  it('opens the store named by LEDGERCLAW_EVENTSTOREDB_URL, with its index in the data directory and the writer lock held while the writer is open', async () => {
    const env = { [EVENTSTOREDB_URL_ENV]: fake.url };
    const config = configFor(env);
    const writer = await openEventStore(config, { mode: 'writer', actor: 'runtime', catalogue: testCatalogue, env });
    try {
      expect(writer.lock?.path).toBe(join(dataDir, LOCK_FILE_NAME));
      expect(writer.backend.location).toBe(fake.url);
      await writer.store.append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
      expect(existsSync(join(dataDir, EVENTSTOREDB_INDEX_FILE))).toBe(true);
      expect(existsSync(join(dataDir, LOCK_FILE_NAME))).toBe(true);
      expect(fake.backdoor.streamRecords('order-1')).toHaveLength(1);

      const reader = await openEventStore(config, { mode: 'reader', actor: 'cli', catalogue: testCatalogue, env });
      try {
        expect((await reader.store.readStream('order-1')).map((event) => event.data)).toEqual([{ count: 1, label: 'event 1', tags: [] }]);
        expect(reader.backend.readOnly).toBe(true);
        // Both share the index file; each catches it up from where it read last.
        await writer.store.append('order-1', [happened(2)], { expectedRevision: 0n });
        await writer.store.append('order-2', [happened(3)], { expectedRevision: 'no_stream' });
        expect((await reader.store.listStreams()).map((stream) => [stream.streamId, stream.revision])).toEqual([
          ['order-1', 1n],
          ['order-2', 0n],
        ]);
        await writer.store.append('order-1', [happened(4)], { expectedRevision: 1n });
        expect(await writer.store.headPosition()).toBe(4n);
        expect(await reader.store.headPosition()).toBe(4n);
        expect(await reader.store.streamRevision('order-1')).toBe(2n);
      } finally {
        await reader.close();
      }
    } finally {
      await writer.close();
    }
    expect(existsSync(join(dataDir, LOCK_FILE_NAME))).toBe(false);
  });

  it('refuses to open without LEDGERCLAW_EVENTSTOREDB_URL, naming the variable', async () => {
    const config = configFor({});
    const error = await openEventStore(config, { mode: 'writer', actor: 'runtime', env: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventStoreDbUrlError);
    expect((error as Error).message).toContain(EVENTSTOREDB_URL_ENV);
  });

  it('shows the location without the credentials the connection string holds', async () => {
    const env = { [EVENTSTOREDB_URL_ENV]: `esdb://admin:changeit@127.0.0.1:${fake.port}?tls=false` };
    const opened = await openEventStore(configFor(env), { mode: 'reader', actor: 'cli', catalogue: testCatalogue, env });
    try {
      expect(opened.backend.location).toBe(`esdb://[redacted]@127.0.0.1:${fake.port}?tls=false`);
    } finally {
      await opened.close();
    }
  });
});
