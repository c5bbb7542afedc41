/**
 * The fake EventStoreDB, driven by the real `@eventstore/db-client` 6.2.1, pins the behaviours
 * documented for a real server (and that the ledgerclaw adapter relies on): append/read round
 * trips, expected revisions and idempotency, missing streams, `$all` in both directions from a
 * position, catch-up subscriptions that go live, stream metadata, deletion.
 */
import { randomUUID } from 'node:crypto';
import {
  BACKWARDS,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  FORWARDS,
  NotLeaderError,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeEventStoreDb, type FakeEventStoreDb } from '../../fakes/eventstoredb/index.js';

let fake: FakeEventStoreDb;
let client: EventStoreDBClient;

beforeEach(async () => {
  fake = await startFakeEventStoreDb();
  client = EventStoreDBClient.connectionString(fake.url);
});

afterEach(async () => {
  await client.dispose();
  await fake.close();
});

function events(...types: string[]): ReturnType<typeof jsonEvent>[] {
  return types.map((type, index) => jsonEvent({ id: randomUUID(), type, data: { index, type }, metadata: { by: 'test' } }));
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function readTypes(stream: string, options: Parameters<EventStoreDBClient['readStream']>[1] = {}): Promise<string[]> {
  const read = await collect<ResolvedEvent>(client.readStream(stream, options));
  return read.map((resolved) => resolved.event?.type ?? '?');
}

describe('append and read a stream', () => {
  it('reads back what was appended, with ids, revisions, data, metadata and increasing non-contiguous positions', async () => {
    const proposed = events('a', 'b', 'c');
    const result = await client.appendToStream('order-1', proposed, { expectedRevision: 'no_stream' });
    expect(result.success).toBe(true);
    // A 23.10 server advertises BatchAppend, and then the client appends through it.
    expect(fake.callsReceived()).toMatchObject({ 'ServerFeatures.GetSupportedMethods': 1, 'Streams.BatchAppend': 1, 'Streams.Append': 0 });
    expect(result.nextExpectedRevision).toBe(2n);
    const read = await collect<ResolvedEvent>(client.readStream('order-1'));
    expect(read.map((resolved) => resolved.event?.id)).toEqual(proposed.map((event) => event.id));
    expect(read.map((resolved) => resolved.event?.revision)).toEqual([0n, 1n, 2n]);
    expect(read[1]?.event?.data).toEqual({ index: 1, type: 'b' });
    expect(read[1]?.event?.metadata).toEqual({ by: 'test' });
    expect(read[1]?.event?.streamId).toBe('order-1');
    const positions = read.map((resolved) => resolved.event?.position?.commit ?? -1n);
    expect(positions[0]).toBeGreaterThan(0n);
    expect(positions[1]).toBeGreaterThan((positions[0] ?? 0n) + 1n);
    expect(result.position?.commit).toBe(positions[2]);
  });

  it('reads backwards from the end, and from a revision with a count', async () => {
    await client.appendToStream('s', events('a', 'b', 'c', 'd'));
    expect(await readTypes('s', { direction: BACKWARDS, fromRevision: END })).toEqual(['d', 'c', 'b', 'a']);
    expect(await readTypes('s', { direction: BACKWARDS, fromRevision: 2n, maxCount: 2 })).toEqual(['c', 'b']);
    expect(await readTypes('s', { direction: FORWARDS, fromRevision: 1n, maxCount: 2 })).toEqual(['b', 'c']);
    expect(await readTypes('s', { direction: FORWARDS, fromRevision: END })).toEqual([]);
  });

  it('fails a read of a stream that does not exist with StreamNotFoundError naming it', async () => {
    const error = await collect(client.readStream('nowhere')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect((error as StreamNotFoundError).streamName).toBe('nowhere');
  });
});

describe('expected revisions', () => {
  it('refuses an append at a stale revision with WrongExpectedVersionError carrying expected and actual', async () => {
    await client.appendToStream('s', events('a', 'b'));
    const error = await client.appendToStream('s', events('c'), { expectedRevision: 0n }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect((error as WrongExpectedVersionError).expectedVersion).toBe(0n);
    expect((error as WrongExpectedVersionError).actualVersion).toBe(1n);
    expect((error as WrongExpectedVersionError).streamName).toBe('s');
    expect(await readTypes('s')).toEqual(['a', 'b']);
  });

  it('refuses no_stream on an existing stream and stream_exists on a missing one', async () => {
    await client.appendToStream('s', events('a'));
    const noStream = await client.appendToStream('s', events('b'), { expectedRevision: 'no_stream' }).catch((caught: unknown) => caught);
    expect(noStream).toBeInstanceOf(WrongExpectedVersionError);
    expect((noStream as WrongExpectedVersionError).actualVersion).toBe(0n);
    const exists = await client.appendToStream('missing', events('b'), { expectedRevision: 'stream_exists' }).catch((caught: unknown) => caught);
    expect(exists).toBeInstanceOf(WrongExpectedVersionError);
    expect((exists as WrongExpectedVersionError).actualVersion).toBe('no_stream');
  });

  it('accepts the same event ids at the same expected revision again without writing them twice', async () => {
    const proposed = events('a', 'b');
    const first = await client.appendToStream('s', proposed, { expectedRevision: 'no_stream' });
    const again = await client.appendToStream('s', proposed, { expectedRevision: 'no_stream' });
    expect(again.success).toBe(true);
    expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);
    const anyAgain = await client.appendToStream('s', proposed, { expectedRevision: 'any' });
    expect(anyAgain.nextExpectedRevision).toBe(1n);
    expect(await readTypes('s')).toEqual(['a', 'b']);
  });

  it('refuses a batch whose first event was written but not the rest (corrupted idempotency)', async () => {
    const [a, b] = events('a', 'b');
    if (a === undefined || b === undefined) throw new Error('two events expected');
    await client.appendToStream('s', [a], { expectedRevision: 'no_stream' });
    const error = await client.appendToStream('s', [a, b], { expectedRevision: 'no_stream' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
  });

  it('answers the same way through plain Append when BatchAppend is not advertised', async () => {
    const plain = await startFakeEventStoreDb({ advertiseBatchAppend: false });
    const plainClient = EventStoreDBClient.connectionString(plain.url);
    try {
      await plainClient.appendToStream('s', events('a', 'b'));
      const error = await plainClient.appendToStream('s', events('c'), { expectedRevision: 5n }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect((error as WrongExpectedVersionError).expectedVersion).toBe(5n);
      expect((error as WrongExpectedVersionError).actualVersion).toBe(1n);
      const ok = await plainClient.appendToStream('s', events('c'), { expectedRevision: 1n });
      expect(ok.nextExpectedRevision).toBe(2n);
      expect(plain.callsReceived()).toMatchObject({ 'Streams.Append': 3, 'Streams.BatchAppend': 0 });
    } finally {
      await plainClient.dispose();
      await plain.close();
    }
  });
});

describe('$all', () => {
  it('reads forwards from a position including the event there, and backwards from it excluding it', async () => {
    await client.appendToStream('a', events('a1', 'a2'));
    await client.appendToStream('b', events('b1', 'b2'));
    const all = await collect<AllStreamResolvedEvent>(client.readAll());
    const mine = all.filter((resolved) => !(resolved.event?.streamId ?? '$').startsWith('$'));
    expect(mine.map((resolved) => resolved.event?.type)).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(all[0]?.event?.streamId).toBe('$epoch-information');
    const b1 = mine[2]?.event?.position;
    if (b1 === undefined) throw new Error('b1 has no position');
    const forwards = await collect<AllStreamResolvedEvent>(client.readAll({ fromPosition: b1, maxCount: 10 }));
    expect(forwards.map((resolved) => resolved.event?.type)).toEqual(['b1', 'b2']);
    const backwards = await collect<AllStreamResolvedEvent>(client.readAll({ fromPosition: b1, direction: BACKWARDS, maxCount: 2 }));
    expect(backwards.map((resolved) => resolved.event?.type)).toEqual(['a2', 'a1']);
    const fromEnd = await collect<AllStreamResolvedEvent>(client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }));
    expect(fromEnd.map((resolved) => resolved.event?.type)).toEqual(['b2']);
  });
});

describe('subscriptions', () => {
  it('catches up on a stream, says caught up, then delivers live events', async () => {
    await client.appendToStream('s', events('a', 'b'));
    const subscription = client.subscribeToStream('s', { fromRevision: START });
    const seen: string[] = [];
    const caughtUp = new Promise<void>((resolve) => subscription.once('caughtUp', () => resolve()));
    const done = (async () => {
      for await (const resolved of subscription) {
        seen.push(resolved.event?.type ?? '?');
        if (seen.length === 4) break;
      }
    })();
    await caughtUp;
    expect(seen).toEqual(['a', 'b']);
    await client.appendToStream('s', events('c'));
    await client.appendToStream('other', events('x'));
    await client.appendToStream('s', events('d'));
    await done;
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it('subscribes to $all after a position, exclusive of the event there', async () => {
    await client.appendToStream('a', events('a1', 'a2', 'a3'));
    const read = await collect<AllStreamResolvedEvent>(client.readAll());
    const a1 = read.find((resolved) => resolved.event?.type === 'a1')?.event?.position;
    if (a1 === undefined) throw new Error('a1 has no position');
    const subscription = client.subscribeToAll({ fromPosition: a1 });
    const seen: string[] = [];
    for await (const resolved of subscription) {
      seen.push(resolved.event?.type ?? '?');
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['a2', 'a3']);
  });
});

describe('stream metadata', () => {
  it('hides events before $tb and beyond $maxCount from stream reads, but not from $all', async () => {
    await client.appendToStream('s', events('a', 'b', 'c', 'd', 'e'));
    await client.setStreamMetadata('s', { truncateBefore: 1 });
    expect(await readTypes('s')).toEqual(['b', 'c', 'd', 'e']);
    await client.setStreamMetadata('s', { maxCount: 2 });
    expect(await readTypes('s')).toEqual(['d', 'e']);
    const metadata = await client.getStreamMetadata('s');
    expect(metadata.metadata?.maxCount).toBe(2);
    const all = await collect<AllStreamResolvedEvent>(client.readAll());
    expect(all.filter((resolved) => resolved.event?.streamId === 's')).toHaveLength(5);
    expect(all.filter((resolved) => resolved.event?.streamId === '$$s').map((resolved) => resolved.event?.type)).toEqual(['$metadata', '$metadata']);
  });
});

describe('deletion', () => {
  it('fails reads and appends of a tombstoned stream with StreamDeletedError', async () => {
    await client.appendToStream('s', events('a'));
    await client.tombstoneStream('s');
    const read = await collect(client.readStream('s')).catch((caught: unknown) => caught);
    expect(read).toBeInstanceOf(StreamDeletedError);
    const append = await client.appendToStream('s', events('b')).catch((caught: unknown) => caught);
    expect(append).toBeInstanceOf(StreamDeletedError);
  });

  it('makes a soft-deleted stream not found, and writing it again keeps revisions going', async () => {
    await client.appendToStream('s', events('a', 'b'));
    await client.deleteStream('s');
    const read = await collect(client.readStream('s')).catch((caught: unknown) => caught);
    expect(read).toBeInstanceOf(StreamNotFoundError);
    const again = await client.appendToStream('s', events('c'), { expectedRevision: 'no_stream' });
    expect(again.nextExpectedRevision).toBe(2n);
    expect(await readTypes('s')).toEqual(['c']);
  });
});

describe('filtered $all subscriptions', () => {
  it('delivers only matching events and checkpoints every interval of considered events, at the end of the catch-up, and live', async () => {
    // 40 events in other streams and 3 in "keep-": with a search window of 10 and a
    // multiplier of 2, a checkpoint is due every 20 considered records.
    for (let index = 0; index < 4; index += 1) await client.appendToStream(`noise-${index}`, events(...Array.from({ length: 10 }, (_, n) => `n${n}`)));
    await client.appendToStream('keep-1', events('k1', 'k2', 'k3'));
    const checkpoints: bigint[] = [];
    const subscription = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({
        prefixes: ['keep-'],
        maxSearchWindow: 10,
        checkpointInterval: 2,
        checkpointReached: (_subscription, position) => {
          checkpoints.push(position.commit);
        },
      }),
    });
    const seen: string[] = [];
    const caughtUp = new Promise<void>((resolve) => subscription.once('caughtUp', () => resolve()));
    subscription.on('data', (resolved: AllStreamResolvedEvent) => seen.push(resolved.event?.type ?? '?'));
    await caughtUp;
    expect(seen).toEqual(['k1', 'k2', 'k3']);
    const all = fake.backdoor.records();
    // 44 records (the epoch record and 43 events): checkpoints after 20 and 40 records, and one at the end.
    expect(checkpoints).toEqual([all[19]?.position, all[39]?.position, all.at(-1)?.position]);
    // Live: 19 more records, then the 20th (a match) brings the next checkpoint, at its position.
    for (let index = 0; index < 19; index += 1) await client.appendToStream('noise-live', events(`l${index}`));
    await client.appendToStream('keep-2', events('k4'));
    const keep2 = fake.backdoor.streamRecords('keep-2')[0]?.position;
    await expect.poll(() => checkpoints.at(-1)).toBe(keep2);
    expect(checkpoints).toHaveLength(4);
    expect(seen).toEqual(['k1', 'k2', 'k3', 'k4']);
    await subscription.unsubscribe();
  });

  it('filters on event type by regex, as excludeSystemEvents does', async () => {
    await client.appendToStream('s', events('a'));
    await client.setStreamMetadata('s', { maxCount: 5 });
    await client.appendToStream('s', events('b'));
    const subscription = client.subscribeToAll({ fromPosition: START, filter: excludeSystemEvents() });
    const seen: string[] = [];
    for await (const resolved of subscription) {
      seen.push(resolved.event?.type ?? '?');
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('failures a real server produces', () => {
  it('ends an open subscription with an error when the node drops its connections, and serves again after', async () => {
    await client.appendToStream('s', events('a'));
    const subscription = client.subscribeToStream('s');
    const failed = new Promise<unknown>((resolve) => subscription.on('error', resolve));
    await new Promise<void>((resolve) => subscription.once('caughtUp', () => resolve()));
    expect(fake.openCalls()).toBeGreaterThan(0);
    await fake.dropConnections();
    const error = await failed;
    expect(error).toBeInstanceOf(UnavailableError);
    expect(fake.openCalls()).toBe(0);
    await client.appendToStream('s', events('b'));
    // The client opened a new connection: it asked for the server's features again.
    expect(fake.callsReceived()['ServerFeatures.GetSupportedMethods']).toBe(2);
    expect(await readTypes('s')).toEqual(['a', 'b']);
  });

  it('fails an append with DeadlineExceededError when the node is slower than the deadline, and writes nothing', async () => {
    fake.setDelay(400);
    const batch = await client.appendToStream('s', events('a'), { deadline: 100 }).catch((caught: unknown) => caught);
    expect(batch).toBeInstanceOf(DeadlineExceededError);
    fake.setDelay(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fake.backdoor.streamRecords('s')).toEqual([]);
  });

  it('fails a plain Append with DeadlineExceededError too, and with applyBeforeDelay the write lands anyway', async () => {
    const plain = await startFakeEventStoreDb({ advertiseBatchAppend: false });
    const plainClient = EventStoreDBClient.connectionString(plain.url);
    try {
      // The deadline leaves a loaded machine ample time to deliver the request (which is
      // applied on arrival); only the answer, held back 3 s, misses it.
      plain.setDelay(3_000, { applyBeforeDelay: true });
      const error = await plainClient.appendToStream('s', events('a'), { deadline: 1_000 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(plain.backdoor.streamRecords('s').map((record) => record.type)).toEqual(['a']);
    } finally {
      plain.setDelay(0);
      await plainClient.dispose();
      await plain.close();
    }
  });

  it('answers NotLeaderError from a follower when the leader is required, and the client then reaches the leader', async () => {
    const follower = await startFakeEventStoreDb({ joinClusterOf: fake });
    const followerClient = EventStoreDBClient.connectionString(follower.url);
    try {
      const error = await followerClient.appendToStream('s', events('a'), { requiresLeader: true }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NotLeaderError);
      expect((error as NotLeaderError).leader).toEqual({ address: fake.host, port: fake.port });
      // The client reconnects to the leader it was told about; the retry lands there.
      await followerClient.appendToStream('s', events('b'), { requiresLeader: true });
      expect(fake.backdoor.streamRecords('s').map((record) => record.type)).toEqual(['b']);
      // A follower serves reads of the shared log when the leader is not required.
      const onFollower = EventStoreDBClient.connectionString(follower.url);
      expect((await collect<ResolvedEvent>(onFollower.readStream('s'))).map((resolved) => resolved.event?.type)).toEqual(['b']);
      await onFollower.dispose();
    } finally {
      await followerClient.dispose();
      await follower.close();
    }
  });

  it('is found through gossip: a multi-node connection string with nodePreference=leader reaches the leader', async () => {
    const follower = await startFakeEventStoreDb({ joinClusterOf: fake });
    const clusterClient = EventStoreDBClient.connectionString(`esdb://${follower.host}:${follower.port},${fake.host}:${fake.port}?tls=false&nodePreference=leader`);
    try {
      fake.setLeader(false);
      follower.setLeader(true);
      expect(fake.isLeader()).toBe(false);
      await clusterClient.appendToStream('s', events('a'), { requiresLeader: true });
      expect(follower.backdoor.streamRecords('s')).toHaveLength(1);
    } finally {
      await clusterClient.dispose();
      await follower.close();
    }
  });
});

describe('connection strings', () => {
  it('discovers a single node through gossip (esdb+discover)', async () => {
    const discovering = EventStoreDBClient.connectionString(`esdb+discover://${fake.host}:${fake.port}?tls=false`);
    try {
      await discovering.appendToStream('s', events('a'));
      expect(fake.backdoor.streamRecords('s').map((record) => record.type)).toEqual(['a']);
    } finally {
      await discovering.dispose();
    }
  });

  it('accepts a connection string with credentials (insecure mode: the client does not send them)', async () => {
    const withCredentials = EventStoreDBClient.connectionString(`esdb://admin:changeit@${fake.host}:${fake.port}?tls=false`);
    try {
      await withCredentials.appendToStream('s', events('a'));
      expect(await readTypes('s')).toEqual(['a']);
    } finally {
      await withCredentials.dispose();
    }
  });
});

describe('the backdoor', () => {
  it('replaces, deletes and moves records, and what clients read follows', async () => {
    await client.appendToStream('s', events('a', 'b', 'c'));
    const [a, b, c] = fake.backdoor.streamRecords('s');
    if (a === undefined || b === undefined || c === undefined) throw new Error('three records expected');
    fake.backdoor.replaceData(a.position, Buffer.from('{"tampered":true}'));
    const read = await collect<ResolvedEvent>(client.readStream('s'));
    expect(read[0]?.event?.data).toEqual({ tampered: true });
    fake.backdoor.deleteRecord(b.position);
    expect(await readTypes('s')).toEqual(['a', 'c']);
    const moved = fake.backdoor.moveRecord(c.position, b.position);
    expect(moved.position).toBe(b.position);
    expect(() => fake.backdoor.moveRecord(a.position, b.position)).toThrow(/taken/);
    const raw = fake.backdoor.appendRaw('raw', [{ id: randomUUID(), type: 'r', data: Buffer.from('{}') }]);
    expect(raw[0]?.position).toBeGreaterThanOrEqual(c.position);
    expect(await readTypes('raw')).toEqual(['r']);
  });
});

describe('more documented server behaviours', () => {
  it('ends a stream subscription with StreamDeletedError when the stream is tombstoned, live or before', async () => {
    await client.appendToStream('s', events('a'));
    const live = client.subscribeToStream('s');
    const liveError = new Promise<unknown>((resolve) => live.on('error', resolve));
    live.on('data', () => undefined);
    await new Promise<void>((resolve) => live.once('caughtUp', () => resolve()));
    await client.tombstoneStream('s');
    expect(await liveError).toBeInstanceOf(StreamDeletedError);
    const late = client.subscribeToStream('s');
    const lateError = await new Promise<unknown>((resolve) => late.on('error', resolve));
    expect(lateError).toBeInstanceOf(StreamDeletedError);
  });

  it('subscribes to $all from the end: only events written afterwards arrive', async () => {
    await client.appendToStream('old', events('o'));
    const subscription = client.subscribeToAll({ fromPosition: END });
    await new Promise<void>((resolve) => subscription.once('caughtUp', () => resolve()));
    await client.appendToStream('new', events('n'));
    for await (const resolved of subscription) {
      expect(resolved.event?.type).toBe('n');
      break;
    }
  });

  it('resumes a filtered subscription from a checkpoint without repeating anything', async () => {
    await client.appendToStream('keep-1', events('k1'));
    await client.appendToStream('noise', events('n1', 'n2'));
    const checkpoints: { commit: bigint; prepare: bigint }[] = [];
    const first = client.subscribeToAll({
      fromPosition: START,
      filter: streamNameFilter({ prefixes: ['keep-'], checkpointReached: (_subscription, position) => {
        checkpoints.push(position);
      } }),
    });
    first.on('data', () => undefined);
    await new Promise<void>((resolve) => first.once('caughtUp', () => resolve()));
    await first.unsubscribe();
    const resumeFrom = checkpoints.at(-1);
    if (resumeFrom === undefined) throw new Error('no checkpoint at the end of the catch-up');
    await client.appendToStream('keep-2', events('k2'));
    const second = client.subscribeToAll({ fromPosition: resumeFrom, filter: streamNameFilter({ prefixes: ['keep-'] }) });
    for await (const resolved of second) {
      expect(resolved.event?.type).toBe('k2');
      break;
    }
  });

  it('hides events older than $maxAge by the server clock', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const clocked = await startFakeEventStoreDb({ now: () => now });
    const clockedClient = EventStoreDBClient.connectionString(clocked.url);
    try {
      await clockedClient.appendToStream('s', events('old'));
      now = new Date('2026-01-01T00:10:00Z');
      await clockedClient.appendToStream('s', events('new'));
      await clockedClient.setStreamMetadata('s', { maxAge: 60 });
      const read = await collect<ResolvedEvent>(clockedClient.readStream('s'));
      expect(read.map((resolved) => resolved.event?.type)).toEqual(['new']);
      expect(read[0]?.event?.created.toISOString()).toBe('2026-01-01T00:10:00.000Z');
    } finally {
      await clockedClient.dispose();
      await clocked.close();
    }
  });

  it('refuses a delete at the wrong revision with WrongExpectedVersionError, and stream_exists on a soft-deleted stream with StreamDeletedError', async () => {
    await client.appendToStream('s', events('a', 'b'));
    const wrong = await client.deleteStream('s', { expectedRevision: 0n }).catch((caught: unknown) => caught);
    expect(wrong).toBeInstanceOf(WrongExpectedVersionError);
    expect((wrong as WrongExpectedVersionError).actualVersion).toBe(1n);
    expect((wrong as WrongExpectedVersionError).expectedVersion).toBe(0n);
    await client.deleteStream('s', { expectedRevision: 1n });
    const exists = await client.appendToStream('s', events('c'), { expectedRevision: 'stream_exists' }).catch((caught: unknown) => caught);
    expect(exists).toBeInstanceOf(StreamDeletedError);
  });

  it('streams a large read to the client in order (backpressure) and takes concurrent appends to different streams', async () => {
    const batch = Array.from({ length: 2000 }, (_, index) => jsonEvent({ id: randomUUID(), type: 't', data: { index, padding: 'x'.repeat(200) } }));
    await client.appendToStream('big', batch);
    const read = await collect<ResolvedEvent>(client.readStream('big'));
    expect(read.map((resolved) => (resolved.event?.data as { index: number }).index)).toEqual(batch.map((_, index) => index));
    await Promise.all(Array.from({ length: 20 }, (_, index) => client.appendToStream(`parallel-${index}`, events('p'), { expectedRevision: 'no_stream' })));
    for (let index = 0; index < 20; index += 1) expect(await readTypes(`parallel-${index}`)).toEqual(['p']);
  });

  it('sends ids in the form the client asked for and the created time as Unix-epoch ticks', async () => {
    const [event] = events('a');
    if (event === undefined) throw new Error('one event expected');
    const before = Date.now();
    await client.appendToStream('s', [event]);
    const [read] = await collect<ResolvedEvent>(client.readStream('s'));
    expect(read?.event?.id).toBe(event.id);
    expect(read?.event?.created.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(read?.event?.created.getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe('a node that goes down and comes back', () => {
  it('refuses calls with UNAVAILABLE while offline and serves the same log on the same port after', async () => {
    await client.appendToStream('s', events('a'));
    await fake.goOffline();
    const whileDown = await client.appendToStream('s', events('b'), { deadline: 2_000 }).catch((caught: unknown) => caught);
    // The client asks a new connection for the server's features first, and passes that
    // call's failure on as the raw gRPC error (not its UnavailableError): code 14 either way.
    expect(whileDown).toMatchObject({ code: status.UNAVAILABLE });
    expect(fake.backdoor.streamRecords('s')).toHaveLength(1);
    await fake.comeBack();
    await client.appendToStream('s', events('c'));
    expect(await readTypes('s')).toEqual(['a', 'c']);
  });

  it('closes cleanly while offline, and frees its port', async () => {
    const offline = await startFakeEventStoreDb();
    await offline.goOffline();
    await offline.close();
    const again = await startFakeEventStoreDb({ port: offline.port });
    expect(again.port).toBe(offline.port);
    await again.close();
  });
});
