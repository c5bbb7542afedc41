/**
 * SQLite's importVerbatim: through the group-commit writer, all of a call or none, and the
 * writer's cached stream heads, head position and chain tip stay right, so appends made
 * after an import (in the same process, or after reopening) continue its chains.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../events/adapters/memory.js';
import { openSqliteBackend, type SqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import type { RawStoredEvent } from '../../events/envelope.js';
import { createEventStore } from '../../events/event-store.js';
import { VerbatimImportRefusedError } from '../../events/verbatim-import.js';
import { verifyHashChains } from '../../events/verify.js';
import { happened, testCatalogue } from '../support/test-catalogue.js';

let dir: string;
let path: string;
const opened: SqliteBackend[] = [];

async function open(): Promise<SqliteBackend> {
  const backend = await openSqliteBackend({ path, mode: 'writer' });
  opened.push(backend);
  return backend;
}

async function appendTo(backend: MemoryBackend | SqliteBackend, streamId: string, count: number, first = 0): Promise<void> {
  const store = createEventStore(backend, testCatalogue);
  for (let index = 0; index < count; index += 1) await store.append(streamId, [happened(first + index)], { expectedRevision: 'any' });
}

const all = (backend: MemoryBackend | SqliteBackend, from = 1n): Promise<RawStoredEvent[]> =>
  backend.readAll({ from, direction: 'forwards', maxCount: 100_000 });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-verbatim-'));
  path = join(dir, 'events.db');
});

afterEach(async () => {
  for (const backend of opened.splice(0)) await backend.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('SqliteBackend.importVerbatim', () => {
  it('stores events byte for byte, in more than one statement, and appends afterwards continue the chains', async () => {
    const source = new MemoryBackend();
    await appendTo(source, 'task-a', 90);
    await appendTo(source, 'task-b', 50);
    const target = await open();
    await target.importVerbatim(await all(source));
    expect(await all(target)).toEqual(await all(source));

    // The writer's cached heads and chain tip must be the imported ones: these appends link to them.
    await appendTo(target, 'task-a', 2, 1_000);
    await createEventStore(target, testCatalogue).append('task-c', [happened(7)], { expectedRevision: 'no_stream' });
    expect(await target.streamRevision('task-a')).toBe(91n);
    expect(await target.headPosition()).toBe(143n);
    expect(await verifyHashChains(target)).toMatchObject({ ok: true, events: 143, streams: 3 });
  });

  it('imports onto streams the writer has cached heads for, batch after batch', async () => {
    const source = new MemoryBackend();
    await appendTo(source, 'task-a', 3);
    const target = await open();
    await target.importVerbatim(await all(source));
    await appendTo(source, 'task-a', 3, 10);
    await target.importVerbatim(await all(source, 4n));
    await appendTo(target, 'task-a', 1, 20);
    expect(await target.streamRevision('task-a')).toBe(6n);
    expect((await verifyHashChains(target)).ok).toBe(true);
  });

  it('writes none of a call that has one event out of place, and the writer goes on as before', async () => {
    const source = new MemoryBackend();
    await appendTo(source, 'task-a', 10);
    const events = await all(source);
    const target = await open();
    const broken = [...events.slice(0, 9), { ...events[9]!, revision: 12n }];
    const error = await target.importVerbatim(broken).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VerbatimImportRefusedError);
    expect((error as Error).message).toContain('task-a@12 at position 10');
    expect(await target.headPosition()).toBe(0n);
    expect(await target.listStreams({})).toEqual([]);

    await target.importVerbatim(events);
    await appendTo(target, 'task-a', 1, 50);
    expect((await verifyHashChains(target)).ok).toBe(true);
  });

  it('refuses events that do not come after what the store holds', async () => {
    const source = new MemoryBackend();
    await appendTo(source, 'task-a', 2);
    const target = await open();
    await appendTo(target, 'task-z', 3);
    await expect(target.importVerbatim(await all(source))).rejects.toThrow("positions must grow past the store's newest (3)");
  });

  it('a reopened store continues the imported chain', async () => {
    const source = new MemoryBackend();
    await appendTo(source, 'task-a', 4);
    const first = await open();
    await first.importVerbatim(await all(source));
    await first.close();
    const again = await open();
    await appendTo(again, 'task-a', 1, 9);
    expect(await verifyHashChains(again)).toMatchObject({ ok: true, events: 5 });
  });

  it('is refused on a read-only handle', async () => {
    await (await open()).close();
    const reader = await openSqliteBackend({ path, mode: 'reader' });
    opened.push(reader);
    await expect(reader.importVerbatim([])).rejects.toThrow('importVerbatim needs a writable event store');
  });
});

describe('SqliteBackend.importVerbatim limits', () => {
  it('refuses a position beyond what SQLite keeps exactly, instead of storing it rounded', async () => {
    const source = new MemoryBackend();
    await appendTo(source, 'task-a', 1);
    const [event] = await all(source);
    const target = await open();
    await expect(target.importVerbatim([{ ...event!, position: 2n ** 53n + 1n }])).rejects.toThrow('exactly only up to 9007199254740991');
    expect(await target.headPosition()).toBe(0n);
  });
});
