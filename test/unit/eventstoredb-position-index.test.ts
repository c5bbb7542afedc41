/**
 * The EventStoreDB adapter's local index: logical positions to EventStoreDB positions, by
 * stream, id and correlation. A cache, so it must notice when it is not this store's, and
 * start again from nothing when it is unreadable.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v4 as uuidv4 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SplitWriterError } from '../../events/adapters/eventstoredb/errors.js';
import { PositionIndex, type IndexEntry } from '../../events/adapters/eventstoredb/position-index.js';
import { canonicalJson } from '../../events/canonical-json.js';
import type { RawStoredEvent } from '../../events/envelope.js';
import { chainHash, GENESIS_HASH, legacyChainLink } from '../../events/hash-chain.js';

const STORE = 'esdb://127.0.0.1:2113?tls=false';

function entry(streamId: string, revision: bigint, position: bigint, options: { correlationId?: string; hashVersion?: 1 | 2 } = {}): IndexEntry {
  const event: RawStoredEvent = {
    id: uuidv4(),
    streamId,
    revision,
    position,
    type: 'test.happened',
    version: 2,
    dataJson: '{}',
    metadataJson: canonicalJson({ actor: 'system', causationId: null, correlationId: options.correlationId ?? 'c', occurredAt: '2024-01-01T00:00:00.000Z' }),
    recordedAt: `2024-01-01T00:00:${String(position).padStart(2, '0')}.000Z`,
    prevHash: GENESIS_HASH,
    hashVersion: options.hashVersion ?? 2,
    hash: position.toString(16).padStart(64, '0'),
  };
  // EventStoreDB positions are byte offsets: far apart and not 1, 2, 3.
  return { event, esdbPosition: { commit: position * 1_000n, prepare: position * 1_000n } };
}

function tailOf(entries: readonly IndexEntry[]) {
  const last = entries[entries.length - 1]!;
  return { esdbPosition: last.esdbPosition, eventId: last.event.id };
}

describe('the EventStoreDB position index', () => {
  let dir: string;
  let index: PositionIndex;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-esdb-index-'));
    index = await PositionIndex.open(join(dir, 'index.db'), STORE);
  });

  afterEach(async () => {
    await index.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function seed(): Promise<IndexEntry[]> {
    const entries = [
      entry('order-1', 0n, 1n, { correlationId: 'trace-1' }),
      entry('order-2', 0n, 2n),
      entry('order-1', 1n, 3n, { correlationId: 'trace-1' }),
      entry('order_x-1', 0n, 5n),
    ];
    await index.apply(entries, tailOf(entries));
    return entries;
  }

  it('starts empty: head 0, the genesis chain value, no tail', () => {
    expect(index.head).toBe(0n);
    expect(index.chainTip).toBe(GENESIS_HASH);
    expect(index.tail).toBeUndefined();
  });

  it('answers head, chain value, stream heads and id locations from what it was given', async () => {
    const entries = await seed();
    expect(index.head).toBe(5n);
    expect(index.chainTip).toBe(entries[3]!.event.hash);
    expect(await index.streamHead('order-1')).toEqual({ revision: 1n, lastPosition: 3n, lastRecordedAt: entries[2]!.event.recordedAt, hash: entries[2]!.event.hash });
    expect(await index.streamHead('order-9')).toBeUndefined();
    const located = await index.locate([entries[1]!.event.id, uuidv4()]);
    expect([...located.values()]).toEqual([{ streamId: 'order-2', revision: 0n, position: 2n }]);
  });

  it('finds the indexed place at or before a position, and the next one after it, across gaps', async () => {
    await seed();
    expect((await index.placeAtOrBefore(4n))?.position).toBe(3n);
    expect((await index.placeAtOrBefore(3n))?.esdbPosition).toEqual({ commit: 3_000n, prepare: 3_000n });
    expect(await index.placeAtOrBefore(0n)).toBeUndefined();
    expect((await index.placeAfter(3n))?.position).toBe(5n);
    expect(await index.placeAfter(5n)).toBeUndefined();
  });

  it('lists events of a correlation in position order, up to maxCount', async () => {
    await seed();
    expect((await index.correlated('trace-1', 10)).map((place) => place.position)).toEqual([1n, 3n]);
    expect(await index.correlated('trace-1', 1)).toHaveLength(1);
    expect(await index.correlated('nobody', 10)).toEqual([]);
  });

  it('lists streams in id order, matching a prefix literally, with after and limit', async () => {
    await seed();
    expect((await index.listStreams({})).map((stream) => stream.streamId)).toEqual(['order-1', 'order-2', 'order_x-1']);
    expect((await index.listStreams({ prefix: 'order_' })).map((stream) => stream.streamId)).toEqual(['order_x-1']);
    expect((await index.listStreams({ after: 'order-1', limit: 1 })).map((stream) => stream.streamId)).toEqual(['order-2']);
  });

  it('refuses a position at or below its head, as a second writer would have written it, and adds nothing', async () => {
    await seed();
    const late = [entry('order-3', 0n, 6n), entry('order-4', 0n, 5n)];
    await expect(index.apply(late, tailOf(late))).rejects.toThrow(SplitWriterError);
    await expect(index.apply(late, tailOf(late))).rejects.toThrow('claims position 5');
    expect(index.head).toBe(5n);
    expect(await index.streamHead('order-3')).toBeUndefined();
  });

  it('notes an event written under an older fencing token than one before it, and keeps it across a reopen', async () => {
    const entries = [
      { ...entry('order-1', 0n, 1n), fence: 4n },
      { ...entry('order-1', 1n, 2n), fence: 5n },
      { ...entry('order-2', 0n, 3n) },
      { ...entry('order-2', 1n, 4n), fence: 4n },
      { ...entry('order-2', 2n, 5n), fence: 5n },
    ];
    await index.apply(entries, tailOf(entries));
    const expected = [{ position: 4n, streamId: 'order-2', revision: 1n, fence: 4n, newerFence: 5n }];
    expect(await index.staleFenceWrites()).toEqual(expected);
    expect(index.head).toBe(5n);
    await index.close();
    index = await PositionIndex.open(join(dir, 'index.db'), STORE);
    const later = [{ ...entry('order-3', 0n, 6n), fence: 3n }];
    await index.apply(later, tailOf(later));
    expect((await index.staleFenceWrites()).map((write) => [write.position, write.newerFence])).toEqual([
      [4n, 5n],
      [6n, 5n],
    ]);
  });

  it('folds v1 events into the chain value as the verifier does', async () => {
    const legacy = entry('old-1', 0n, 1n, { hashVersion: 1 });
    const v1 = { ...legacy, event: { ...legacy.event, hash: chainHash(GENESIS_HASH, 'old-1', 0n, legacy.event) } };
    await index.apply([v1], tailOf([v1]));
    expect(index.chainTip).toBe(legacyChainLink(GENESIS_HASH, v1.event));
  });

  it('keeps what it indexed, its tail and chain value across a reopen', async () => {
    const entries = await seed();
    await index.close();
    index = await PositionIndex.open(join(dir, 'index.db'), STORE);
    expect(index.head).toBe(5n);
    expect(index.chainTip).toBe(entries[3]!.event.hash);
    expect(index.tail).toEqual(tailOf(entries));
    expect((await index.streamHead('order-2'))?.revision).toBe(0n);
  });

  it('starts again from nothing when opened for another store', async () => {
    await seed();
    await index.close();
    index = await PositionIndex.open(join(dir, 'index.db'), 'esdb://elsewhere:2113?tls=false');
    expect(index.head).toBe(0n);
    expect(index.tail).toBeUndefined();
    expect(await index.listStreams({})).toEqual([]);
  });

  it('starts again from nothing when its file is not a database', async () => {
    await index.close();
    await writeFile(join(dir, 'index.db'), 'this is not a database, but it is long enough to look like a header'.repeat(100));
    index = await PositionIndex.open(join(dir, 'index.db'), STORE);
    expect(index.head).toBe(0n);
    await seed();
    expect(index.head).toBe(5n);
  });

  it('shares its file with another process: rows it finds already added are skipped, and progress only moves forwards', async () => {
    const other = await PositionIndex.open(join(dir, 'index.db'), STORE);
    try {
      const entries = await seed();
      await other.apply(entries.slice(0, 2), tailOf(entries.slice(0, 2)));
      expect(other.head).toBe(2n);
      await other.apply(entries.slice(2), tailOf(entries));
      const later = [entry('order-2', 1n, 6n)];
      await index.apply(later, tailOf(later));
      // The other process lags behind: what it adds now must not move the file back.
      await other.apply([], tailOf(entries));
      expect((await other.streamHead('order-2'))?.revision).toBe(1n);
      await index.close();
      index = await PositionIndex.open(join(dir, 'index.db'), STORE);
      expect(index.head).toBe(6n);
      expect(index.tail).toEqual(tailOf(later));
    } finally {
      await other.close();
    }
  });

  it('refuses another event at a position the shared file already holds', async () => {
    const other = await PositionIndex.open(join(dir, 'index.db'), STORE);
    try {
      await seed();
      const rival = [entry('order-7', 0n, 1n)];
      await expect(other.apply(rival, tailOf(rival))).rejects.toThrow(SplitWriterError);
      expect(other.head).toBe(0n);
    } finally {
      await other.close();
    }
  });

  it('leaves a file of another store alone when asked to, and indexes in memory instead', async () => {
    await seed();
    await index.close();
    index = await PositionIndex.open(join(dir, 'index.db'), 'esdb://elsewhere:2113?tls=false', { onMismatch: 'memory' });
    expect(index.head).toBe(0n);
    await index.close();
    index = await PositionIndex.open(join(dir, 'index.db'), STORE);
    expect(index.head).toBe(5n);
  });

  it('sets up a new file even for a reader, so the writer opening it later keeps what the reader indexed', async () => {
    await index.close();
    await rm(join(dir, 'index.db'));
    index = await PositionIndex.open(join(dir, 'index.db'), STORE, { onMismatch: 'memory' });
    await seed();
    await index.close();
    index = await PositionIndex.open(join(dir, 'index.db'), STORE);
    expect(index.head).toBe(5n);
  });

  it('starts again when the event it read last is no longer where it was', async () => {
    await seed();
    await index.close();
    index = await PositionIndex.open(join(dir, 'index.db'), STORE, { belongs: async () => false });
    expect(index.head).toBe(0n);
  });

  it('keeps the newest limits of each stream, and never puts older ones back', async () => {
    const entries = await seed();
    const at = (offset: bigint) => ({ commit: 10_000n + offset, prepare: 10_000n + offset });
    await index.apply([], tailOf(entries), [{ streamId: 'order-1', metadata: { truncateBefore: 2n, maxCount: 3 }, esdbPosition: at(2n) }]);
    await index.apply([], tailOf(entries), [{ streamId: 'order-1', metadata: { maxCount: 1 }, esdbPosition: at(1n) }]);
    expect(await index.streamMetadata('order-1')).toEqual({ truncateBefore: 2n, maxCount: 3 });
    await index.apply([], tailOf(entries), [{ streamId: 'order-1', metadata: {}, esdbPosition: at(3n) }]);
    expect(await index.streamMetadata('order-1')).toEqual({});
    expect(await index.streamMetadata('order-9')).toEqual({});
  });

  it('forgets everything on reset', async () => {
    await seed();
    await index.reset();
    expect(index.head).toBe(0n);
    expect(index.chainTip).toBe(GENESIS_HASH);
    expect(await index.locate([])).toEqual(new Map());
    expect(await index.listStreams({})).toEqual([]);
  });
});
