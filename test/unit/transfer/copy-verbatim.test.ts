/**
 * The transfer engine (events/transfer) on in-memory stores: migrate copies byte for byte,
 * resumes after an interruption without copying anything twice, and refuses a target that
 * is not a copy of the source or a source whose chain is broken.
 */
import { v4 as uuidv4 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../events/adapters/memory.js';
import type { RawStoredEvent } from '../../../events/envelope.js';
import { createEventStore } from '../../../events/event-store.js';
import { chainHash, GENESIS_HASH } from '../../../events/hash-chain.js';
import { TransferRefusedError } from '../../../events/transfer/copy-verbatim.js';
import { migrateEvents } from '../../../events/transfer/migrate-events.js';
import { verifyHashChains } from '../../../events/verify.js';
import { happened, testCatalogue } from '../../support/test-catalogue.js';

/** A store with `count` events spread over three streams. */
async function sourceWith(count: number, streams = ['task-a', 'task-b', 'runtime']): Promise<MemoryBackend> {
  const backend = new MemoryBackend();
  const store = createEventStore(backend, testCatalogue);
  for (let index = 0; index < count; index += 1) {
    await store.append(streams[index % streams.length]!, [happened(index)], { expectedRevision: 'any' });
  }
  return backend;
}

async function everything(backend: MemoryBackend): Promise<RawStoredEvent[]> {
  return backend.readAll({ from: 1n, direction: 'forwards', maxCount: Number.MAX_SAFE_INTEGER });
}

/** A target whose importVerbatim fails once it has taken `batches` batches, as a killed migration stops. */
class FailingAfter extends MemoryBackend {
  imported: RawStoredEvent[] = [];
  constructor(public batches: number) {
    super();
  }
  override async importVerbatim(events: readonly RawStoredEvent[]): Promise<void> {
    if (this.batches-- <= 0) throw new Error('connection lost');
    await super.importVerbatim(events);
    this.imported.push(...events);
  }
}

describe('migrateEvents', () => {
  it('copies every event byte for byte and the target verifies', async () => {
    const source = await sourceWith(25);
    const target = new MemoryBackend();
    const result = await migrateEvents(source, target, { batchEvents: 7 });
    expect(result.copy).toMatchObject({ copied: 25, skipped: 0, position: 25n });
    expect(result.verified).toMatchObject({ ok: true, events: 25, streams: 3 });
    expect(await everything(target)).toEqual(await everything(source));
    expect(await target.listStreams({})).toEqual(await source.listStreams({}));
  });

  it('a second run copies nothing, and after new source events copies only those', async () => {
    const source = await sourceWith(10);
    const target = new MemoryBackend();
    await migrateEvents(source, target);
    const again = await migrateEvents(source, target);
    expect(again.copy).toMatchObject({ copied: 0, skipped: 1 });
    await createEventStore(source, testCatalogue).append('task-c', [happened(99)], { expectedRevision: 'no_stream' });
    const more = await migrateEvents(source, target);
    expect(more.copy).toMatchObject({ copied: 1, position: 11n });
    expect(await everything(target)).toEqual(await everything(source));
  });

  it('resumes a run cut off part way: the second run copies only the rest, nothing twice', async () => {
    const source = await sourceWith(30);
    const target = new FailingAfter(2);
    await expect(migrateEvents(source, target, { batchEvents: 8 })).rejects.toThrow('connection lost');
    expect(await target.headPosition()).toBe(16n);
    target.batches = Number.POSITIVE_INFINITY;
    const resumed = await migrateEvents(source, target, { batchEvents: 8 });
    expect(resumed.copy).toMatchObject({ copied: 14, skipped: 1 });
    expect(resumed.verified.ok).toBe(true);
    const ids = target.imported.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(30);
    expect(await everything(target)).toEqual(await everything(source));
  });

  it('refuses a target that holds a different event at a position, and writes nothing', async () => {
    const source = await sourceWith(5);
    const target = await sourceWith(3, ['other']);
    const error = await migrateEvents(source, target).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransferRefusedError);
    expect((error as Error).message).toContain('the target holds a different event at position 3');
    expect(await target.headPosition()).toBe(3n);
  });

  it('refuses a target that holds more than the source', async () => {
    const source = await sourceWith(2);
    const target = await sourceWith(4);
    await expect(migrateEvents(source, target)).rejects.toThrow("past the source's newest (2)");
  });

  it('refuses a source event changed after it was written, before writing the batch that holds it', async () => {
    const source = await sourceWith(12);
    source.tamper(9n, (event) => ({ ...event, dataJson: event.dataJson.replace('event 8', 'event 80') }));
    const target = new MemoryBackend();
    const error = await migrateEvents(source, target, { batchEvents: 4 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransferRefusedError);
    expect((error as Error).message).toMatch(/position 9\): its hash does not match/);
    // The two batches before it were whole and verified; nothing from the broken one is stored.
    expect(await target.headPosition()).toBe(8n);
    expect((await verifyHashChains(target)).ok).toBe(true);
  });

  it('refuses a source with an event removed (the next one no longer links)', async () => {
    const source = await sourceWith(6);
    source.removeForTest(4n);
    const error = await migrateEvents(source, new MemoryBackend()).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/position 5\)/);
  });
});

describe('migrateEvents on a store written before the $all chain', () => {
  /** Three v1 events (hashed without position, time or $all link), then three v2 ones appended after them. */
  async function upgradedStore(): Promise<MemoryBackend> {
    const backend = new MemoryBackend();
    const v1: RawStoredEvent[] = [];
    let prevHash = GENESIS_HASH;
    for (let revision = 0n; revision < 3n; revision += 1n) {
      const prepared = { id: uuidv4(), type: 'test.happened', version: 1, dataJson: `{"count":${revision},"label":"old"}`, metadataJson: metadataJson() };
      const hash = chainHash(prevHash, 'task-old', revision, prepared);
      v1.push({ ...prepared, streamId: 'task-old', revision, position: revision + 1n, recordedAt: '2025-01-01T00:00:00.000Z', prevHash, hashVersion: 1, hash });
      prevHash = hash;
    }
    backend.importForTest(v1);
    const store = createEventStore(backend, testCatalogue);
    for (let index = 0; index < 3; index += 1) await store.append('task-old', [happened(10 + index)], { expectedRevision: 'any' });
    return backend;
  }

  function metadataJson(): string {
    return JSON.stringify({ actor: 'system', causationId: null, correlationId: 'c-1', occurredAt: '2025-01-01T00:00:00.000Z' });
  }

  it('copies v1 and v2 events alike, and resumes on a target whose newest event is v1', async () => {
    const source = await upgradedStore();
    expect((await verifyHashChains(source)).ok).toBe(true);
    const target = new FailingAfter(1);
    await expect(migrateEvents(source, target, { batchEvents: 3 })).rejects.toThrow('connection lost');
    expect((await everything(target)).map((event) => event.hashVersion)).toEqual([1, 1, 1]);
    target.batches = Number.POSITIVE_INFINITY;
    const resumed = await migrateEvents(source, target, { batchEvents: 3 });
    expect(resumed.copy.copied).toBe(3);
    expect(resumed.verified).toMatchObject({ ok: true, events: 6 });
    expect(await everything(target)).toEqual(await everything(source));
  });

  it('refuses a v1 event after v2 ones (a downgrade forged into the source)', async () => {
    const source = await upgradedStore();
    const [newest] = await source.readAll({ from: 'end', direction: 'backwards', maxCount: 1 });
    const forged = { ...newest!, id: uuidv4(), revision: newest!.revision + 1n, position: newest!.position + 1n, prevHash: newest!.hash, hashVersion: 1 as const };
    source.importForTest([{ ...forged, hash: chainHash(forged.prevHash, forged.streamId, forged.revision, forged) }]);
    await expect(migrateEvents(source, new MemoryBackend())).rejects.toThrow('it claims the old v1 hash rule');
  });
});
