/**
 * What the EventStoreDB backend does beyond the EventStore contract: the write guard and
 * fencing token the lease relies on, the raw lease stream, a reader following a writer, a
 * dropped connection, the index as a cache, two writers, importVerbatim, and errors that
 * name the store without its password. Real client, fake server (test/fakes/eventstoredb).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { firstValueFrom, take, timeout, toArray } from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { EventStoreUnavailableError, SplitWriterError, WriteRefusedError } from '../../events/adapters/eventstoredb/errors.js';
import { openEventStoreDbBackend } from '../../events/adapters/eventstoredb/eventstoredb-backend.js';
import { LEASE_STREAM_MAX_COUNT, LeaseStreamConflictError } from '../../events/adapters/eventstoredb/lease-stream.js';
import { encodeEvent, RUNTIME_LEASE_STREAM } from '../../events/adapters/eventstoredb/stored-form.js';
import { MemoryBackend } from '../../events/adapters/memory.js';
import { EventIdConflictError, InvalidArgumentError, ReadOnlyStoreError } from '../../events/errors.js';
import { createEventStore } from '../../events/event-store.js';
import { verifyHashChains } from '../../events/verify.js';
import { startFakeEventStoreDb } from '../fakes/eventstoredb/index.js';
import { testStoreOf, useEventStoreDbFixture } from '../support/eventstoredb-fixture.js';
import { happened, testCatalogue } from '../support/test-catalogue.js';

const decoder = new TextDecoder();

const world = useEventStoreDbFixture('ledgerclaw-esdb-backend-');
const open = (overrides?: Parameters<typeof world.open>[0]) => world.open(overrides);
const storeOf = testStoreOf;

/** The ledgerclaw envelope of each record of a stream in the fake, as stored. */
function envelopes(stream: string): Record<string, unknown>[] {
  return world.fake.backdoor
    .streamRecords(stream)
    .map((record) => (JSON.parse(decoder.decode(record.metadata)) as { ledgerclaw: Record<string, unknown> }).ledgerclaw);
}

describe('the write guard', () => {
  it('asks the guard before each append and records its fencing token in every event', async () => {
    const backend = await open();
    let asked = 0;
    backend.setWriteGuard(() => {
      asked += 1;
      return 7n;
    });
    await storeOf(backend).append('order-1', [happened(1), happened(2)], { expectedRevision: 'no_stream' });
    backend.setWriteGuard(async () => 8n);
    await storeOf(backend).append('order-1', [happened(3)], { expectedRevision: 1n });
    expect(asked).toBe(1);
    expect(envelopes('order-1').map((envelope) => envelope['fence'])).toEqual(['7', '7', '8']);
  });

  it('writes nothing when the guard refuses, and passes its error on', async () => {
    const backend = await open();
    const store = storeOf(backend);
    await store.append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
    const lost = new Error('the lease was lost at 12:00:03');
    backend.setWriteGuard(() => {
      throw lost;
    });
    await expect(store.append('order-1', [happened(2)], { expectedRevision: 0n })).rejects.toBe(lost);
    expect(world.fake.backdoor.streamRecords('order-1')).toHaveLength(1);
    expect(await store.headPosition()).toBe(1n);
  });

  it('writes no fence without a guard', async () => {
    const backend = await open();
    await storeOf(backend).append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
    expect('fence' in envelopes('order-1')[0]!).toBe(false);
  });

  it('reports events written under an older token than one already in $all', async () => {
    const backend = await open();
    const store = storeOf(backend);
    backend.setWriteGuard(() => 5n);
    await store.append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
    backend.setWriteGuard(() => 4n);
    await store.append('order-2', [happened(2)], { expectedRevision: 'no_stream' });
    expect(await backend.staleFenceWrites()).toEqual([{ position: 2n, streamId: 'order-2', revision: 0n, fence: 4n, newerFence: 5n }]);
  });
});

describe('the runtime-lease stream', () => {
  it('appends with expected revisions, refuses a stale one, and reads the newest events', async () => {
    const backend = await open();
    expect(await backend.leaseStream.read()).toEqual({ revision: null, events: [] });
    const first = { id: uuidv4(), type: 'lease.acquired', data: { holder: 'a', token: '1' } };
    expect(await backend.leaseStream.append('no_stream', first)).toEqual({ revision: 0n });
    const conflict = await backend.leaseStream.append('no_stream', { id: uuidv4(), type: 'lease.acquired', data: { holder: 'b' } }).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(LeaseStreamConflictError);
    expect((conflict as LeaseStreamConflictError).actual).toBe(0n);
    await backend.leaseStream.append(0n, { id: uuidv4(), type: 'lease.renewed', data: { holder: 'a', token: '1' } });
    const read = await backend.leaseStream.read({ last: 5 });
    expect(read.revision).toBe(1n);
    expect(read.events.map((event) => [event.revision, event.type])).toEqual([
      [0n, 'lease.acquired'],
      [1n, 'lease.renewed'],
    ]);
    expect(read.events[0]).toMatchObject({ id: first.id, data: first.data });
    expect((await backend.leaseStream.read()).events.map((event) => event.type)).toEqual(['lease.renewed']);
  });

  it("limits the lease stream's length, and keeps it out of ledgerclaw's streams and $all", async () => {
    const backend = await open();
    const store = storeOf(backend);
    await backend.leaseStream.append('no_stream', { id: uuidv4(), type: 'lease.acquired', data: { holder: 'a' } });
    await store.append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
    const metadata = world.fake.backdoor.streamRecords(`$$${RUNTIME_LEASE_STREAM}`).map((record) => JSON.parse(decoder.decode(record.data)) as unknown);
    expect(metadata).toEqual([{ $maxCount: LEASE_STREAM_MAX_COUNT }]);
    expect((await store.readAll()).map((event) => event.streamId)).toEqual(['order-1']);
    expect((await store.listStreams()).map((stream) => stream.streamId)).toEqual(['order-1']);
    expect(await store.headPosition()).toBe(1n);
    expect(await store.streamRevision(RUNTIME_LEASE_STREAM)).toBeNull();
  });

  it('is refused to the event store', async () => {
    const store = storeOf(await open());
    await expect(store.append(RUNTIME_LEASE_STREAM, [happened(1)], { expectedRevision: 'any' })).rejects.toThrow(WriteRefusedError);
    expect(world.fake.backdoor.streamRecords(RUNTIME_LEASE_STREAM)).toEqual([]);
  });
});

describe('stream metadata', () => {
  it("is kept under ledgerclaw's own key, never as $tb or $maxCount, which a scavenge would act on", async () => {
    const store = storeOf(await open());
    await store.append('order-1', [happened(1), happened(2), happened(3)], { expectedRevision: 'no_stream' });
    await store.setStreamMetadata('order-1', { truncateBefore: 1n, maxCount: 5 });
    const [stored] = world.fake.backdoor.streamRecords('$$order-1').map((record) => JSON.parse(decoder.decode(record.data)) as Record<string, unknown>);
    expect(stored).toEqual({ ledgerclaw: { truncateBefore: '1', maxCount: 5 } });
    expect((await store.readStream('order-1')).map((event) => event.revision)).toEqual([1n, 2n]);
  });
});

describe('a reader beside the writer', () => {
  it('sees what the writer appends, is told of it through the live subscription, and refuses to write', async () => {
    const writer = storeOf(await open());
    await writer.append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
    const readerBackend = await open({ mode: 'reader', indexPath: join(world.dir, 'reader-index.db') });
    const reader = storeOf(readerBackend);
    expect(await reader.headPosition()).toBe(1n);
    const ticked = firstValueFrom(readerBackend.changes.pipe(take(1), timeout(10_000)));
    // The subscription starts when `changes` is subscribed; give it a moment to be live.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await writer.append('order-1', [happened(2)], { expectedRevision: 0n });
    await ticked;
    expect((await reader.readStream('order-1')).map((event) => event.revision)).toEqual([0n, 1n]);
    await writer.setStreamMetadata('order-1', { truncateBefore: 1n });
    expect(await reader.getStreamMetadata('order-1')).toEqual({ truncateBefore: 1n });
    expect((await reader.readStream('order-1')).map((event) => event.revision)).toEqual([1n]);
    await expect(reader.append('order-1', [happened(3)], { expectedRevision: 1n })).rejects.toThrow(ReadOnlyStoreError);
    await expect(reader.setStreamMetadata('order-1', { maxCount: 1 })).rejects.toThrow(ReadOnlyStoreError);
  });

  it('keeps a subscription delivering across a dropped connection, with no gap and no duplicate', async () => {
    const writer = storeOf(await open());
    const reader = storeOf(await open({ mode: 'reader', indexPath: join(world.dir, 'reader-index.db') }));
    await writer.append('order-1', [happened(0), happened(1)], { expectedRevision: 'no_stream' });
    const delivered = firstValueFrom(
      reader.subscribe({ fromPosition: 'start' }).pipe(
        take(6),
        toArray(),
        timeout(20_000),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await world.fake.dropConnections();
    let revision = 1n;
    for (let count = 2; count < 6; count += 1) {
      // The client reconnects on the next call after the drop.
      const result = await writer.append('order-1', [happened(count)], { expectedRevision: revision });
      revision = result.nextExpectedRevision;
    }
    const events = (await delivered).map((delivery) => {
      delivery.ack();
      return delivery.event;
    });
    expect(events.map((event) => event.position)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });
});

describe('a server that is down for a while', () => {
  it('fails calls meanwhile with EventStoreUnavailableError naming the store, then works again, and a subscription resumes', async () => {
    const writer = storeOf(await open({ requestTimeoutMs: 1_000 }));
    const reader = storeOf(await open({ mode: 'reader', indexPath: join(world.dir, 'reader-index.db'), requestTimeoutMs: 1_000 }));
    await writer.append('order-1', [happened(0)], { expectedRevision: 'no_stream' });
    const delivered = firstValueFrom(reader.subscribe({ fromPosition: 'start' }).pipe(take(3), toArray(), timeout(30_000)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await world.fake.goOffline();
    const refused = await writer.append('order-1', [happened(1)], { expectedRevision: 0n }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(EventStoreUnavailableError);
    expect((refused as Error).message).toContain(world.fake.url);
    await world.fake.comeBack();
    // The first call after the server returns may still meet the old connection's failure.
    let revision = 0n;
    let failures = 0;
    for (let count = 1; count < 3; ) {
      const result = await writer.append('order-1', [happened(count)], { expectedRevision: revision }).catch((error: unknown) => {
        failures += 1;
        if (failures > 3) throw error;
        return undefined;
      });
      if (result) {
        revision = result.nextExpectedRevision;
        count += 1;
      } else {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const events = (await delivered).map((delivery) => {
      delivery.ack();
      return delivery.event;
    });
    expect(events.map((event) => [event.revision, event.position])).toEqual([
      [0n, 1n],
      [1n, 2n],
      [2n, 3n],
    ]);
  });
});

describe('the index is a cache', () => {
  it('is rebuilt from $all when its file is gone', async () => {
    const backend = await open();
    const store = storeOf(backend);
    await store.append('order-1', [happened(1), happened(2)], { expectedRevision: 'no_stream' });
    await store.append('order-2', [happened(3)], { expectedRevision: 'no_stream' });
    const before = await store.listStreams();
    await backend.close();
    await rm(join(world.dir, 'index.db'));
    const reopened = storeOf(await open());
    expect(await reopened.listStreams()).toEqual(before);
    expect(await reopened.headPosition()).toBe(3n);
    const appended = await reopened.append('order-2', [happened(4)], { expectedRevision: 0n });
    expect(appended.position).toBe(4n);
    expect(await verifyHashChains((await open({ mode: 'reader', indexPath: ':memory:' })))).toMatchObject({ ok: true, events: 4 });
  });

  it('is rebuilt when the store it indexed is not the one it finds at that address', async () => {
    const first = storeOf(await open());
    await first.append('order-1', [happened(1), happened(2), happened(3)], { expectedRevision: 'no_stream' });
    await world.closeLastOpened();
    await world.restartFake();
    const second = storeOf(await open());
    expect(await second.headPosition()).toBe(0n);
    expect(await second.listStreams()).toEqual([]);
    await second.append('order-9', [happened(1)], { expectedRevision: 'no_stream' });
    expect((await second.readAll()).map((event) => [event.streamId, event.position])).toEqual([['order-9', 1n]]);
  });
});

describe('two writers', () => {
  it('refuses to go on when an event in $all claims a position already taken, as a writer without the lease would write', async () => {
    const backend = await open();
    const store = storeOf(backend);
    const result = await store.append('order-1', [happened(1), happened(2)], { expectedRevision: 'no_stream' });
    const [stored] = await backend.readAll({ from: 1n, direction: 'forwards', maxCount: 1 });
    const forged = encodeEvent({ ...stored!, id: uuidv4(), streamId: 'order-2', revision: 0n, position: result.position });
    world.fake.backdoor.appendRaw('order-2', [{ id: forged.id, type: forged.type, contentType: 'application/octet-stream', data: forged.data, metadata: forged.metadata }]);
    await expect(store.headPosition()).rejects.toThrow(SplitWriterError);
    await expect(store.append('order-1', [happened(3)], { expectedRevision: 1n })).rejects.toThrow(SplitWriterError);
  });

  it('decides again when the server says another writer moved the stream first', async () => {
    const first = storeOf(await open());
    const second = storeOf(await open({ indexPath: join(world.dir, 'second-index.db') }));
    await first.append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
    // The second writer's index has not seen it: the server's expected-revision check catches up.
    const appended = await second.append('order-1', [happened(2)], { expectedRevision: 'any' });
    expect(appended).toMatchObject({ nextExpectedRevision: 1n, position: 2n });
    expect(await verifyHashChains((await open({ mode: 'reader', indexPath: ':memory:' })))).toMatchObject({ ok: true, events: 2 });
  });
});

describe('importVerbatim', () => {
  async function source(): Promise<MemoryBackend> {
    const memory = new MemoryBackend();
    const store = createEventStore(memory, testCatalogue);
    await store.append('order-1', [happened(1), happened(2)], { expectedRevision: 'no_stream' });
    await store.append('order-2', [happened(3)], { expectedRevision: 'no_stream' });
    await store.append('order-1', [happened(4)], { expectedRevision: 1n });
    return memory;
  }

  it('stores events exactly as another store holds them, so they verify there too', async () => {
    const memory = await source();
    const events = await memory.readAll({ from: 0n, direction: 'forwards', maxCount: 100 });
    const backend = await open();
    await backend.importVerbatim(events.slice(0, 2));
    await backend.importVerbatim(events.slice(2));
    expect(await backend.readAll({ from: 0n, direction: 'forwards', maxCount: 100 })).toEqual(events);
    expect(await verifyHashChains(backend)).toMatchObject({ ok: true, events: 4, streams: 2 });
    // What is appended after continues the same chains.
    await storeOf(backend).append('order-2', [happened(5)], { expectedRevision: 0n });
    expect(await verifyHashChains(backend)).toMatchObject({ ok: true, events: 5 });
  });

  it('refuses events that do not continue what it holds, and writes none of them', async () => {
    const memory = await source();
    const events = await memory.readAll({ from: 0n, direction: 'forwards', maxCount: 100 });
    const backend = await open();
    await backend.importVerbatim(events.slice(0, 2));
    await expect(backend.importVerbatim(events.slice(0, 2))).rejects.toThrow(InvalidArgumentError);
    await expect(backend.importVerbatim([{ ...events[2]!, revision: 1n }])).rejects.toThrow('next revision is 0');
    await expect(backend.importVerbatim([events[2]!, { ...events[3]!, revision: 5n }])).rejects.toThrow('next revision is 2');
    await expect(backend.importVerbatim([{ ...events[2]!, prevHash: events[0]!.hash }])).rejects.toThrow('link');
    await expect(backend.importVerbatim([{ ...events[2]!, id: events[0]!.id }])).rejects.toThrow(EventIdConflictError);
    expect(await backend.headPosition()).toBe(2n);
  });
});

describe('namespaces', () => {
  it('keeps two stores on one server apart, each numbering its own positions', async () => {
    const staging = storeOf(await open({ namespace: 'staging.', indexPath: join(world.dir, 'staging.db') }));
    const prod = storeOf(await open({ namespace: 'prod.', indexPath: join(world.dir, 'prod.db') }));
    await staging.append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
    await prod.append('order-1', [happened(2), happened(3)], { expectedRevision: 'no_stream' });
    expect((await staging.readAll()).map((event) => [event.streamId, event.position])).toEqual([['order-1', 1n]]);
    expect((await prod.readAll()).map((event) => [event.streamId, event.position])).toEqual([
      ['order-1', 1n],
      ['order-1', 2n],
    ]);
    expect(world.fake.backdoor.streamRecords('staging.order-1')).toHaveLength(1);
  });
});

describe('errors', () => {
  it('names the operation and the store, never the password, when the server cannot be reached', async () => {
    const port = world.fake.port;
    await world.fake.close();
    const error = await openEventStoreDbBackend({
      connectionString: `esdb://admin:s3cret-passw0rd@127.0.0.1:${port}?tls=false`,
      mode: 'writer',
      indexPath: join(world.dir, 'index.db'),
      requestTimeoutMs: 1_000,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('catch up with $all');
    expect(message).toContain(`esdb://[redacted]@127.0.0.1:${port}`);
    expect(message).not.toContain('s3cret');
    expect(JSON.stringify(error)).not.toContain('s3cret');
  });

  it('fails a call that outlives the deadline with EventStoreUnavailableError naming the operation', async () => {
    const store = storeOf(await open({ requestTimeoutMs: 300 }));
    world.fake.setDelay(2_000);
    const error = await store.append('order-1', [happened(1)], { expectedRevision: 'no_stream' }).catch((caught: unknown) => caught);
    world.fake.setDelay(0);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toMatch(/catch up with \$all|append to order-1/);
  });

  it('recognises the retry of an append whose answer was lost although the server wrote it, and stores it once', async () => {
    const backend = await open({ requestTimeoutMs: 300 });
    const store = storeOf(backend);
    const events = [happened(1, { id: uuidv4() }), happened(2, { id: uuidv4() })];
    // Slows the server down just before the append is sent: it writes, then answers too late.
    backend.setWriteGuard(() => {
      world.fake.setDelay(1_000, { applyBeforeDelay: true });
      return 1n;
    });
    const lost = await store.append('order-1', events, { expectedRevision: 'no_stream' }).catch((caught: unknown) => caught);
    world.fake.setDelay(0);
    backend.setWriteGuard(undefined);
    expect(lost).toBeInstanceOf(EventStoreUnavailableError);
    expect((lost as Error).message).toContain('append to order-1');
    expect(world.fake.backdoor.streamRecords('order-1')).toHaveLength(2);
    const retried = await store.append('order-1', events, { expectedRevision: 'no_stream' });
    expect(retried).toMatchObject({ nextExpectedRevision: 1n, position: 2n });
    expect(retried.events.map((event) => event.id)).toEqual(events.map((event) => event.id));
    expect(world.fake.backdoor.streamRecords('order-1')).toHaveLength(2);
  });

  it('gives up on a read the server does not answer within the request timeout', async () => {
    const store = storeOf(await open({ requestTimeoutMs: 300 }));
    world.fake.setDelay(3_000);
    const error = await store.readStream('order-1').catch((caught: unknown) => caught);
    world.fake.setDelay(0);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toContain('no answer from the server for 300 ms');
  });

  it('reaches the leader when given a follower', async () => {
    const follower = await startFakeEventStoreDb({ joinClusterOf: world.fake });
    try {
      const store = storeOf(await open({ connectionString: follower.url }));
      await store.append('order-1', [happened(1)], { expectedRevision: 'no_stream' });
      expect(world.fake.backdoor.streamRecords('order-1')).toHaveLength(1);
      expect(await store.headPosition()).toBe(1n);
    } finally {
      await world.closeLastOpened();
      await follower.close();
    }
  });

  it('refuses a malformed event in a ledgerclaw stream by its stream and revision, rather than skip it', async () => {
    const store = storeOf(await open());
    world.fake.backdoor.appendRaw('order-1', [{ id: uuidv4(), type: 'test.happened', contentType: 'application/json', data: new TextEncoder().encode('{}') }]);
    await expect(store.readAll()).rejects.toThrow('order-1@0');
  });

  it('keeps no index file for an index in memory', async () => {
    await open({ indexPath: ':memory:' });
    expect(existsSync(join(world.dir, ':memory:'))).toBe(false);
  });
});
