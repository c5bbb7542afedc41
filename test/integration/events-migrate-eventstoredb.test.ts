/**
 * `ledgerclaw events migrate` between SQLite and EventStoreDB (the built CLI, the real
 * @eventstore/db-client against the fake EventStoreDB in this process): a round trip
 * sqlite → eventstoredb → sqlite keeps every event and hash byte for byte, an interrupted
 * migration resumes without writing anything twice, and a target holding other events is
 * refused.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventStoreDbBackend } from '../../events/adapters/eventstoredb/eventstoredb-backend.js';
import { RUNTIME_LEASE_STREAM } from '../../events/adapters/eventstoredb/stored-form.js';
import type { RawStoredEvent } from '../../events/envelope.js';
import { startFakeEventStoreDb, type FakeEventStoreDb } from '../fakes/eventstoredb/index.js';
import { killLeftoverProcesses } from '../support/child-process.js';
import { ledgerclawWith, seedStore, startLedgerclawWith, storeContents, tempDir } from '../support/transfer-stores.js';

let fake: FakeEventStoreDb;
let toEsdb: Record<string, string>;
let fromEsdb: Record<string, string>;

beforeEach(async () => {
  fake = await startFakeEventStoreDb();
  toEsdb = { LEDGERCLAW_EVENTSTOREDB_URL: fake.url };
  fromEsdb = { ...toEsdb, LEDGERCLAW_EVENT_STORE: 'eventstoredb' };
});

afterEach(async () => {
  await killLeftoverProcesses();
  await fake.close();
});

/** Every event the fake holds, read back through the adapter with an index of its own. */
async function esdbEvents(): Promise<RawStoredEvent[]> {
  const backend = await openEventStoreDbBackend({
    connectionString: fake.url,
    mode: 'reader',
    indexPath: join(tempDir(), 'index.db'),
    requestTimeoutMs: 20_000,
  });
  try {
    return await backend.readAll({ from: 1n, direction: 'forwards', maxCount: Number.MAX_SAFE_INTEGER });
  } finally {
    await backend.close();
  }
}

/** The fake's records that are ledgerclaw events (not EventStoreDB's own `$` records, nor the runtime lease's). */
function ledgerclawRecords(): number {
  return fake.backdoor
    .records()
    .filter((record) => !record.stream.startsWith('$') && !record.type.startsWith('$') && record.stream !== RUNTIME_LEASE_STREAM).length;
}

describe('events migrate with eventstoredb', () => {
  it('sqlite → eventstoredb → sqlite keeps every event and hash byte for byte', async () => {
    const first = tempDir();
    await seedStore(first, 150);
    const source = await storeContents(first);

    const there = await ledgerclawWith(toEsdb, first, 'events', 'migrate', '--to', 'eventstoredb', '--data', first);
    expect(there.stdout).toContain('copied 150 events (up to position 150)');
    expect(there.stdout).toContain('hash chains intact on the target: 150 events in 3 streams');
    expect(there.code).toBe(0);
    // The connection string is shown only as the adapter names it (no credentials here to hide).
    expect(there.stderr).toContain(`migrating from ${first}/events.db to esdb://`);
    expect(await esdbEvents()).toEqual(source.events);

    const again = await ledgerclawWith(toEsdb, first, 'events', 'migrate', '--to', 'eventstoredb', '--data', first);
    expect(again.stdout).toContain('nothing to copy');
    expect(ledgerclawRecords()).toBe(150);

    const back = tempDir();
    const returned = await ledgerclawWith(fromEsdb, first, 'events', 'migrate', '--to', 'sqlite', '--into', back, '--data', first);
    expect(returned.stdout).toContain('copied 150 events (up to position 150)');
    expect(returned.code).toBe(0);
    expect(await storeContents(back)).toEqual(source);
  });

  it('an export of the eventstoredb store imports into SQLite byte for byte', async () => {
    const first = tempDir();
    await seedStore(first, 40);
    expect((await ledgerclawWith(toEsdb, first, 'events', 'migrate', '--to', 'eventstoredb', '--data', first)).code).toBe(0);
    const file = join(tempDir(), 'esdb.jsonl');
    const exported = await ledgerclawWith(fromEsdb, first, 'events', 'export', '--out', file, '--data', first);
    expect(exported.code).toBe(0);
    const target = tempDir();
    const imported = await ledgerclawWith({}, target, 'events', 'import', file, '--data', target);
    expect(imported.stdout).toContain('imported 40 events');
    expect(await storeContents(target)).toEqual(await storeContents(first));
  });

  it('imports an export into eventstoredb, and never shows the password of the connection string', async () => {
    const first = tempDir();
    await seedStore(first, 30);
    const file = join(tempDir(), 'backup.jsonl');
    expect((await ledgerclawWith({}, first, 'events', 'export', '--out', file, '--data', first)).code).toBe(0);
    const withPassword = { LEDGERCLAW_EVENTSTOREDB_URL: fake.url.replace('esdb://', 'esdb://admin:hunter2-secret@'), LEDGERCLAW_EVENT_STORE: 'eventstoredb' };
    const target = tempDir();
    const imported = await ledgerclawWith(withPassword, target, 'events', 'import', file, '--data', target);
    expect(imported.stdout).toContain('imported 30 events');
    expect(imported.code).toBe(0);
    expect(await esdbEvents()).toEqual((await storeContents(first)).events);

    const migrated = await ledgerclawWith(withPassword, target, 'events', 'migrate', '--to', 'sqlite', '--into', tempDir(), '--data', target);
    expect(migrated.code).toBe(0);
    expect(migrated.stderr).toContain('migrating from esdb://[redacted]@');
    expect(`${imported.stdout}${imported.stderr}${migrated.stdout}${migrated.stderr}`).not.toContain('hunter2');
  });

  it('resumes a migration killed part way: the second run copies only the rest, and nothing is stored twice', async () => {
    const first = tempDir();
    await seedStore(first, 2_500, { streams: ['task-a'] });
    // Slow calls, so the migration is surely between batches when it is killed.
    fake.setDelay(150);
    const running = startLedgerclawWith(toEsdb, first, 'events', 'migrate', '--to', 'eventstoredb', '--data', first);
    await expect.poll(ledgerclawRecords, { timeout: 30_000, interval: 10 }).toBeGreaterThan(0);
    running.kill('SIGKILL');
    await running.exited;
    const copiedBefore = ledgerclawRecords();
    expect(copiedBefore).toBeLessThan(2_500);
    fake.setDelay(0);

    const resumed = await ledgerclawWith(toEsdb, first, 'events', 'migrate', '--to', 'eventstoredb', '--data', first);
    expect(resumed.stdout).toContain(`copied ${2_500 - copiedBefore} events (up to position 2500)`);
    expect(resumed.stdout).toContain('hash chains intact on the target: 2500 events in 1 stream');
    expect(ledgerclawRecords()).toBe(2_500);
    expect(await esdbEvents()).toEqual((await storeContents(first)).events);
  });

  it('refuses an eventstoredb store that holds other events, and writes nothing to it', async () => {
    const other = tempDir();
    await seedStore(other, 3, { streams: ['runtime'] });
    expect((await ledgerclawWith(toEsdb, other, 'events', 'migrate', '--to', 'eventstoredb', '--data', other)).code).toBe(0);
    const first = tempDir();
    await seedStore(first, 10);
    const refused = await ledgerclawWith(toEsdb, first, 'events', 'migrate', '--to', 'eventstoredb', '--data', first);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the target holds a different event at position 3');
    expect(ledgerclawRecords()).toBe(3);
  });
});
