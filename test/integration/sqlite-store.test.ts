/**
 * What only the SQLite adapter does, beyond the shared contract: group commit, durability
 * settings, migrations, a reader in another connection, and failing safely on a corrupt
 * file or a full disk.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../events/adapters/sqlite/migrations.js';
import { canonicalJson } from '../../events/canonical-json.js';
import { chainHash, GENESIS_HASH } from '../../events/hash-chain.js';
import { openSqliteBackend, type SqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import {
  ReadOnlyStoreError,
  SchemaVersionError,
  StorageFullError,
  StoreCorruptError,
  StoreNotFoundError,
  WrongExpectedRevisionError,
} from '../../events/errors.js';
import { createEventStore } from '../../events/event-store.js';
import { defineEvent, EventCatalogue } from '../../events/catalogue.js';
import { z } from 'zod';
import type { EventStore } from '../../events/port.js';
import { verifyHashChains } from '../../events/verify.js';

const noted = defineEvent('note.recorded', 1, z.object({ text: z.string() }).strict());
const testCatalogue = new EventCatalogue([noted]);

let dir: string;
let path: string;
const opened: SqliteBackend[] = [];

async function openWriter(options: { synchronous?: 'FULL' | 'NORMAL' } = {}): Promise<{ backend: SqliteBackend; store: EventStore }> {
  const backend = await openSqliteBackend({ path, mode: 'writer', ...options });
  opened.push(backend);
  return { backend, store: createEventStore(backend, testCatalogue) };
}

async function openReader(): Promise<{ backend: SqliteBackend; store: EventStore }> {
  const backend = await openSqliteBackend({ path, mode: 'reader' });
  opened.push(backend);
  return { backend, store: createEventStore(backend, testCatalogue) };
}

const note = (text: string) => noted.create({ text });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-sqlite-'));
  path = join(dir, 'events.db');
});

afterEach(async () => {
  for (const backend of opened.splice(0)) await backend.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('group commit', () => {
  it('commits concurrent appends from many appenders in one transaction', async () => {
    const { backend, store } = await openWriter();
    await Promise.all(
      Array.from({ length: 64 }, (_, index) => store.append(`note-${index}`, [note(`n${index}`)], { expectedRevision: 'no_stream' })),
    );
    expect(backend.writerStats).toMatchObject({ appends: 64, events: 64 });
    expect(backend.writerStats!.transactions).toBeLessThanOrEqual(2);
  });

  it('refuses one append of a batch without refusing its neighbours', async () => {
    const { store } = await openWriter();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, index) => store.append('note-contested', [note(`try ${index}`)], { expectedRevision: 'no_stream' })),
    );
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const outcome of lost) expect(outcome.reason).toBeInstanceOf(WrongExpectedRevisionError);
    expect(await store.readStream('note-contested')).toHaveLength(1);
  });
});

describe('durability and schema', () => {
  it('opens in WAL mode and fsyncs every commit (synchronous FULL) unless configured otherwise', async () => {
    const { backend } = await openWriter();
    expect(backend.durability).toBe('FULL');
    const probe = await SqliteConnection.open(path, { create: false });
    expect(await probe.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    await probe.close();
    await backend.close();
    const { backend: relaxed } = await openWriter({ synchronous: 'NORMAL' });
    expect(relaxed.durability).toBe('NORMAL');
  });

  it('records the applied migrations and the schema version', async () => {
    const { backend } = await openWriter();
    await backend.close();
    const probe = await SqliteConnection.open(path, { create: false });
    expect(await probe.get('PRAGMA user_version')).toEqual({ user_version: LATEST_SCHEMA_VERSION });
    expect(await probe.all('SELECT version FROM schema_migrations ORDER BY version')).toEqual(
      Array.from({ length: LATEST_SCHEMA_VERSION }, (_, index) => ({ version: index + 1 })),
    );
    await probe.close();
  });

  it('refuses a database written by a newer ledgerclaw, as writer and as reader', async () => {
    const { backend } = await openWriter();
    await backend.close();
    const probe = await SqliteConnection.open(path, { create: false });
    await probe.exec('PRAGMA user_version = 99');
    await probe.close();
    await expect(openSqliteBackend({ path, mode: 'writer' })).rejects.toThrow(SchemaVersionError);
    await expect(openSqliteBackend({ path, mode: 'reader' })).rejects.toThrow(/schema v99, newer than/);
  });

  it('keeps events and continues each hash chain across a reopen', async () => {
    const first = await openWriter();
    const before = await first.store.append('note-kept', [note('one'), note('two')], { expectedRevision: 'no_stream' });
    await first.backend.close();
    const second = await openWriter();
    const after = await second.store.append('note-kept', [note('three')], { expectedRevision: before.nextExpectedRevision });
    expect(after.nextExpectedRevision).toBe(2n);
    expect(after.position).toBeGreaterThan(before.position);
    const events = await second.store.readStream('note-kept');
    expect(events.map((event) => (event.data as { text: string }).text)).toEqual(['one', 'two', 'three']);
    expect(events[2]!.prevHash).toBe(events[1]!.hash);
    expect(await verifyHashChains(second.backend)).toMatchObject({ ok: true, events: 3 });
  });

  it('defect 7 (issue 16): migrates a store of v1-hashed events without rewriting a row; it keeps verifying and new events are v2', async () => {
    // The store as ledgerclaw left it at schema v2: no hash_version column, v1 hashes.
    const old = await SqliteConnection.open(path, { create: true });
    await old.exec('PRAGMA journal_mode = WAL');
    for (const migration of MIGRATIONS.filter((candidate) => candidate.version <= 2)) {
      await old.exec(migration.sql);
      await old.exec(`PRAGMA user_version = ${migration.version}`);
    }
    const heads = new Map<string, { revision: number; hash: string }>();
    for (const [index, streamId] of ['note-old', 'note-other', 'note-old'].entries()) {
      const head = heads.get(streamId);
      const revision = head ? head.revision + 1 : 0;
      const prepared = {
        id: `00000000-0000-4000-8000-00000000000${index}`,
        type: 'note.recorded',
        version: 1,
        dataJson: canonicalJson({ text: `old ${index}` }),
        metadataJson: canonicalJson({ actor: 'cli', causationId: null, correlationId: 'old', occurredAt: '2025-01-01T00:00:00.000Z' }),
      };
      const prevHash = head ? head.hash : GENESIS_HASH;
      const hash = chainHash(prevHash, streamId, BigInt(revision), prepared);
      await old.run(
        'INSERT INTO events (position, stream_id, revision, event_id, type, version, data, metadata, recorded_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [index + 1, streamId, revision, prepared.id, prepared.type, prepared.version, prepared.dataJson, prepared.metadataJson, '2025-01-01T00:00:01.000Z', prevHash, hash],
      );
      heads.set(streamId, { revision, hash });
    }
    const rowsBefore = await old.all('SELECT * FROM events ORDER BY position');
    await old.close();

    const first = await openWriter();
    const probe = await SqliteConnection.open(path, { create: false });
    const rowsAfter = await probe.all<Record<string, unknown>>('SELECT * FROM events ORDER BY position');
    expect(rowsAfter.map(({ hash_version: hashVersion, ...row }) => (expect(hashVersion).toBe(1), row))).toEqual(rowsBefore);
    expect(await verifyHashChains(first.backend)).toMatchObject({ ok: true, events: 3, streams: 2 });
    await first.store.append('note-old', [note('new one')], { expectedRevision: 1n });
    await first.backend.close();
    // Reopened, the writer links to the newest (v2) event directly.
    const second = await openWriter();
    await second.store.append('note-other', [note('new two')], { expectedRevision: 0n });
    expect((await second.store.readAll({ upcast: false })).map((event) => event.hashVersion)).toEqual([1, 1, 1, 2, 2]);
    expect(await verifyHashChains(second.backend)).toMatchObject({ ok: true, events: 5, streams: 2 });
    // The old rows are now sealed: re-timing one breaks the first v2 event's link.
    await probe.run('UPDATE events SET recorded_at = ? WHERE position = 2', ['2020-01-01T00:00:00.000Z']);
    expect(await verifyHashChains(second.backend)).toMatchObject({ ok: false, problem: 'hash_mismatch', position: 4n });
    await probe.close();
  });
});

describe('a reader beside the writer', () => {
  it('says the store does not exist yet instead of creating it', async () => {
    await expect(openSqliteBackend({ path, mode: 'reader' })).rejects.toThrow(StoreNotFoundError);
  });

  it('asks for a migration when the file predates the schema', async () => {
    await writeFile(path, '');
    await expect(openSqliteBackend({ path, mode: 'reader' })).rejects.toThrow(/schema v0.*Start the runtime once/);
  });

  it('refuses to write', async () => {
    await openWriter();
    const { store } = await openReader();
    await expect(store.append('note-x', [note('no')], { expectedRevision: 'any' })).rejects.toThrow(ReadOnlyStoreError);
    await expect(store.setStreamMetadata('note-x', { maxCount: 1 })).rejects.toThrow(ReadOnlyStoreError);
  });

  it("delivers the writer's new events to a live subscription on the reader", async () => {
    const writer = await openWriter();
    await writer.store.append('note-live', [note('before')], { expectedRevision: 'no_stream' });
    const reader = await openReader();
    const received = firstValueFrom(reader.store.subscribe({ fromPosition: 'end' }).pipe(take(5), toArray()));
    // Give the subscription a moment to resolve 'end' before the writer moves on.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let index = 0; index < 5; index += 1) {
      await writer.store.append('note-live', [note(`live ${index}`)], { expectedRevision: BigInt(index) });
    }
    const deliveries = await received;
    for (const delivery of deliveries) delivery.ack();
    expect(deliveries.map((delivery) => (delivery.event.data as { text: string }).text)).toEqual([
      'live 0',
      'live 1',
      'live 2',
      'live 3',
      'live 4',
    ]);
  });
});

describe('faults', () => {
  it('names a file that is not a database and writes nothing to it', async () => {
    const garbage = Buffer.from('this is not a sqlite database, it is a shopping list\n'.repeat(200));
    await writeFile(path, garbage);
    await expect(openSqliteBackend({ path, mode: 'writer' })).rejects.toThrow(StoreCorruptError);
    await expect(openSqliteBackend({ path, mode: 'reader' })).rejects.toThrow(/event store at .*events\.db is corrupt/);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(path)).toEqual(garbage);
  });

  it('reports damaged pages as corruption when they are read', async () => {
    const first = await openWriter();
    for (let batch = 0; batch < 20; batch += 1) {
      await first.store.append('note-bulk', Array.from({ length: 50 }, (_, index) => note(`${batch}:${index} ${'x'.repeat(200)}`)), {
        expectedRevision: 'any',
      });
    }
    await first.backend.close();
    // Scribble over the middle of the file, past the header and schema pages.
    const handle = await open(path, 'r+');
    const { size } = await handle.stat();
    await handle.write(Buffer.alloc(8192, 0xa5), 0, 8192, Math.floor(size / 2));
    await handle.close();
    const attempt = async () => {
      const { store, backend } = await openReader();
      await store.readStream('note-bulk');
      await verifyHashChains(backend);
    };
    await expect(attempt()).rejects.toThrow(StoreCorruptError);
  });

  it('rolls back a whole batch when the disk is full, and works again once space returns', async () => {
    const mountPoint = join(dir, 'small-disk');
    execFileSync('mkdir', ['-p', mountPoint]);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this test simulates a full disk with a 3 MiB tmpfs and needs root to mount it: ${String(error)}`);
    }
    try {
      path = join(mountPoint, 'events.db');
      await writeFile(join(mountPoint, 'ballast'), Buffer.alloc(1024 * 1024));
      const { store, backend } = await openWriter();
      const chunk = 'y'.repeat(64 * 1024);
      let accepted = 0;
      let failure: unknown;
      for (let index = 0; index < 200 && failure === undefined; index += 1) {
        // Four concurrent appenders: a failing transaction carries several appends.
        const outcomes = await Promise.allSettled(
          Array.from({ length: 4 }, (_, lane) =>
            store.append(`note-lane${lane}`, [note(`${index} ${chunk}`), note(`${index} again ${chunk}`)], { expectedRevision: 'any' }),
          ),
        );
        for (const outcome of outcomes) {
          if (outcome.status === 'fulfilled') accepted += 1;
          else failure ??= outcome.reason;
        }
      }
      expect(failure).toBeInstanceOf(StorageFullError);
      expect(String((failure as Error).message)).toMatch(/no space left .*rolled back/);

      // Nothing half-written: every stored event belongs to an accepted append, in pairs.
      const stored = (
        await Promise.all([0, 1, 2, 3].map((lane) => store.readStream(`note-lane${lane}`)))
      ).flat();
      expect(stored).toHaveLength(accepted * 2);
      expect(await verifyHashChains(backend)).toMatchObject({ ok: true, events: accepted * 2 });

      await rm(join(mountPoint, 'ballast'));
      const result = await store.append('note-lane0', [note('after the disk was cleared')], { expectedRevision: 'any' });
      expect(result.position).toBeGreaterThan(0n);
      expect(await verifyHashChains(backend)).toMatchObject({ ok: true, events: accepted * 2 + 1 });
      await backend.close();
    } finally {
      for (const backend of opened.splice(0)) await backend.close().catch(() => undefined);
      execFileSync('umount', ['-l', mountPoint]);
    }
  });
});
