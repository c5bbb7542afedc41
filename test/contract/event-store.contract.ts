/**
 * The event store contract: what every storage adapter must do, checked through the
 * EventStore port (`createEventStore(backend, testCatalogue)`) and, for the hash chain,
 * through `verifyHashChains(backend)`. An adapter's test file calls
 * `describeEventStoreContract(name, openHarness)` with a harness that opens a fresh, empty
 * store for each test.
 *
 * Nothing here assumes how positions are numbered: only that they strictly increase in
 * commit order (EventStoreDB's are neither contiguous nor start at 1).
 */
import { tap, type Subscription } from 'rxjs';
import { v4 as uuidv4 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBackend } from '../../events/backend.js';
import { canonicalJson } from '../../events/canonical-json.js';
import type { NewEvent, RawStoredEvent, StoredEvent } from '../../events/envelope.js';
import {
  EventIdConflictError,
  InvalidArgumentError,
  InvalidEventError,
  StoreClosedError,
  UnknownEventTypeError,
  WrongExpectedRevisionError,
} from '../../events/errors.js';
import { createEventStore } from '../../events/event-store.js';
import { chainHash, chainHashV2, GENESIS_HASH } from '../../events/hash-chain.js';
import type { AppendResult, Delivery, EventFilter, EventStore, ExpectedRevision, SubscribeOptions } from '../../events/port.js';
import { handleEach } from '../../events/subscription.js';
import { verifyHashChains } from '../../events/verify.js';
import {
  extendedCatalogue,
  happened,
  testBlob,
  testExtra,
  testHappenedV1,
  testNoted,
  v1OnlyCatalogue,
} from '../support/test-catalogue.js';
import { seededRandom } from '../support/seeded-random.js';

export interface ContractHarness {
  /** `createEventStore(backend, testCatalogue)`. */
  store: EventStore;
  backend: EventBackend;
  /** Overwrite the stored data JSON text of the event at this $all position, bypassing the store (as someone with disk access could). */
  tamperData(position: bigint, dataJson: string): Promise<void>;
  /** Remove the stored event at this $all position, bypassing the store. */
  deleteEvent(position: bigint): Promise<void>;
  /** Give the stored event at this $all position another position or recording time, bypassing the store. */
  rewritePlace(position: bigint, change: { readonly position?: bigint; readonly recordedAt?: string }): Promise<void>;
  /**
   * Store events exactly as given (hashes, hash version and all) after the newest, bypassing
   * the store, as an older ledgerclaw would have written them, or a forger would.
   */
  storeRaw(events: readonly RawStoredEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** How long a condition may take to come true before a test gives up on it. */
const WAIT_MS = 20_000;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;


function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

/** `count` valid events with fresh explicit ids, counts starting at `first`. */
function batch(count: number, first = 0): NewEvent[] {
  return range(count).map((index) => happened(first + index, { id: uuidv4() }));
}

function idsOf(events: readonly { readonly id?: string | undefined }[]): (string | undefined)[] {
  return events.map((event) => event.id);
}

function countOf(event: StoredEvent): number {
  return (event.data as { count: number }).count;
}

/** Every event in $all, read forwards in pages. */
async function readEverything(store: EventStore, options: { upcast?: boolean; filter?: EventFilter } = {}): Promise<StoredEvent[]> {
  const result: StoredEvent[] = [];
  let from: 'start' | bigint = 'start';
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: 1_000, ...options });
    const last = page[page.length - 1];
    if (!last) return result;
    result.push(...page);
    from = last.position + 1n;
  }
}

/**
 * Calls a method that must return a promise. A method that throws synchronously instead
 * breaks every caller that writes `.catch()`, so that is turned into a distinct failure.
 */
function call<T>(what: string, method: () => Promise<T>): Promise<T> {
  try {
    return method();
  } catch (error) {
    return Promise.reject(new Error(`${what} threw synchronously instead of returning a rejected promise: ${String(error)}`));
  }
}

/** Awaits a promise that must reject with `type`, and returns the error for closer checks. */
async function rejectionOf<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  let rejected = false;
  let reason: unknown;
  try {
    await promise;
  } catch (error) {
    rejected = true;
    reason = error;
  }
  if (!rejected) throw new Error(`expected a rejection with ${type.name}, but the promise resolved`);
  expect(reason).toBeInstanceOf(type);
  return reason as E;
}

/** Polls a condition until it holds; for conditions that no event signals. */
async function waitUntil(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Lets queued callbacks, timers due now and pending I/O callbacks run. */
async function settle(turns = 10): Promise<void> {
  for (let turn = 0; turn < turns; turn += 1) await new Promise((resolve) => setTimeout(resolve, 1));
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function expectStrictlyIncreasingPositions(events: readonly StoredEvent[]): void {
  for (let index = 1; index < events.length; index += 1) {
    const previous = events[index - 1]!.position;
    const current = events[index]!.position;
    if (!(current > previous)) {
      throw new Error(`$all position ${current} at index ${index} does not follow ${previous}`);
    }
  }
}

/** The identity of each event in order: enough to compare two sequences exactly. */
function sequenceOf(events: readonly StoredEvent[]): string[] {
  return events.map((event) => `${event.position}:${event.streamId}@${event.revision}:${event.id}`);
}

interface Collector {
  readonly events: StoredEvent[];
  /** Resolves once `predicate` holds for the events delivered so far; rejects if the subscription errors. */
  until(predicate: (events: readonly StoredEvent[]) => boolean, what: string): Promise<void>;
  stop(): void;
}

export function describeEventStoreContract(adapterName: string, openHarness: () => Promise<ContractHarness>): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let harness: ContractHarness;
    let store: EventStore;
    let subscriptions: Subscription[] = [];

    beforeEach(async () => {
      harness = await openHarness();
      store = harness.store;
      subscriptions = [];
    });

    afterEach(async () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
      await harness.close();
    });

    /** Subscribes, keeps every delivered event and acks it (unless `onDelivery` takes over acking). */
    function collect(options: SubscribeOptions, onDelivery?: (delivery: Delivery) => void): Collector {
      const events: StoredEvent[] = [];
      const checks = new Set<() => void>();
      let failed = false;
      let failure: unknown;
      const poke = () => {
        for (const check of [...checks]) check();
      };
      const subscription = store.subscribe(options).subscribe({
        next: (delivery) => {
          events.push(delivery.event);
          if (onDelivery) onDelivery(delivery);
          else delivery.ack();
          poke();
        },
        error: (error: unknown) => {
          failed = true;
          failure = error;
          poke();
        },
      });
      subscriptions.push(subscription);
      return {
        events,
        until(predicate, what) {
          return new Promise<void>((resolve, reject) => {
            const finish = () => {
              clearTimeout(timer);
              checks.delete(check);
            };
            const check = () => {
              if (failed) {
                finish();
                reject(failure instanceof Error ? failure : new Error(String(failure)));
              } else if (predicate(events)) {
                finish();
                resolve();
              }
            };
            const timer = setTimeout(() => {
              checks.delete(check);
              reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}; ${events.length} events were delivered`));
            }, WAIT_MS);
            checks.add(check);
            check();
          });
        },
        stop: () => subscription.unsubscribe(),
      };
    }

    /** What a refused operation must leave untouched. */
    async function storeState() {
      return { head: await store.headPosition(), events: sequenceOf(await readEverything(store)) };
    }

    // ---------------------------------------------------------------------------------------
    describe('append and read', () => {
      it('numbers a new stream from revision 0 and returns the last revision and position of each append', async () => {
        const first = await store.append('order-1', [happened(0)], { expectedRevision: 'no_stream' });
        expect(first.nextExpectedRevision).toBe(0n);
        const second = await store.append('order-1', [happened(1), happened(2)], { expectedRevision: first.nextExpectedRevision });
        expect(second.nextExpectedRevision).toBe(2n);
        expect(second.position > first.position).toBe(true);

        const events = await store.readStream('order-1');
        expect(events.map((event) => event.revision)).toEqual([0n, 1n, 2n]);
        expect(events.map(countOf)).toEqual([0, 1, 2]);
        expect(events[0]!.position).toBe(first.position);
        expect(events[2]!.position).toBe(second.position);
        expect(events[1]!.position > events[0]!.position && events[2]!.position > events[1]!.position).toBe(true);
      });

      it('reads back every field of an appended event', async () => {
        const id = uuidv4();
        const metadata = {
          correlationId: 'corr-1',
          causationId: 'cause-1',
          actor: 'user:U123',
          occurredAt: '2024-05-06T07:08:09.123Z',
        };
        const result = await store.append('order-1', [{ ...happened(7, { id, label: 'seven', tags: ['a', 'b'] }), metadata }], {
          expectedRevision: 'no_stream',
        });
        const [event] = await store.readStream('order-1');
        expect(event).toBeDefined();
        expect(event!.id).toBe(id);
        expect(event!.streamId).toBe('order-1');
        expect(event!.revision).toBe(0n);
        expect(event!.position).toBe(result.position);
        expect(event!.type).toBe('test.happened');
        expect(event!.version).toBe(2);
        expect(event!.storedVersion).toBe(2);
        expect(event!.data).toEqual({ count: 7, label: 'seven', tags: ['a', 'b'] });
        expect(event!.metadata).toEqual(metadata);
        expect(event!.recordedAt).toMatch(ISO_UTC);
        expect(event!.prevHash).toBe(GENESIS_HASH);
        expect(event!.hash).toMatch(SHA256_HEX);
      });

      it('fills in metadata the producer left out: correlation = own id, no causation, default actor, occurredAt now', async () => {
        const before = Date.now();
        const id = uuidv4();
        await store.append('order-1', [happened(1, { id })], { expectedRevision: 'any' });
        const after = Date.now();
        const [event] = await store.readStream('order-1');
        expect(event!.metadata.correlationId).toBe(id);
        expect(event!.metadata.causationId).toBeNull();
        expect(event!.metadata.actor).toBe('system');
        const occurredAt = Date.parse(event!.metadata.occurredAt);
        expect(occurredAt).toBeGreaterThanOrEqual(before - 1);
        expect(occurredAt).toBeLessThanOrEqual(after + 1);
      });

      it('gives an event without an id a fresh uuid', async () => {
        await store.append('order-1', [happened(1), happened(2)], { expectedRevision: 'any' });
        const events = await store.readStream('order-1');
        expect(events[0]!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(events[0]!.id).not.toBe(events[1]!.id);
      });

      it('reads a stream forwards from a revision, with maxCount', async () => {
        await store.append('order-1', batch(10), { expectedRevision: 'no_stream' });
        expect((await store.readStream('order-1', { from: 2n, maxCount: 3 })).map((event) => event.revision)).toEqual([2n, 3n, 4n]);
        expect((await store.readStream('order-1', { from: 8n })).map((event) => event.revision)).toEqual([8n, 9n]);
        expect((await store.readStream('order-1', { maxCount: 2 })).map((event) => event.revision)).toEqual([0n, 1n]);
        expect((await store.readStream('order-1', { from: 'start', maxCount: 1 })).map((event) => event.revision)).toEqual([0n]);
      });

      it('reads a stream backwards from its end by default, or from a revision, with maxCount', async () => {
        await store.append('order-1', batch(10), { expectedRevision: 'no_stream' });
        expect((await store.readStream('order-1', { direction: 'backwards' })).map((event) => event.revision)).toEqual(
          range(10).reverse().map(BigInt),
        );
        expect((await store.readStream('order-1', { direction: 'backwards', from: 5n, maxCount: 2 })).map((event) => event.revision)).toEqual([
          5n,
          4n,
        ]);
        expect((await store.readStream('order-1', { direction: 'backwards', from: 'end', maxCount: 3 })).map((event) => event.revision)).toEqual([
          9n,
          8n,
          7n,
        ]);
        expect((await store.readStream('order-1', { direction: 'backwards', from: 1n })).map((event) => event.revision)).toEqual([1n, 0n]);
      });

      it("reads a stream forwards from 'end' as just its newest event", async () => {
        await store.append('order-1', batch(4), { expectedRevision: 'no_stream' });
        expect((await store.readStream('order-1', { from: 'end' })).map((event) => event.revision)).toEqual([3n]);
      });

      it('returns nothing for a stream that does not exist, or when reading past its end', async () => {
        expect(await store.readStream('order-missing')).toEqual([]);
        expect(await store.readStream('order-missing', { direction: 'backwards' })).toEqual([]);
        await store.append('order-1', batch(3), { expectedRevision: 'no_stream' });
        expect(await store.readStream('order-1', { from: 3n })).toEqual([]);
        expect((await store.readStream('order-1', { direction: 'backwards', from: 100n })).map((event) => event.revision)).toEqual([2n, 1n, 0n]);
      });

      it('keeps streams apart', async () => {
        await store.append('order-1', batch(2), { expectedRevision: 'no_stream' });
        await store.append('order-2', batch(3, 100), { expectedRevision: 'no_stream' });
        await store.append('order-1', batch(1, 2), { expectedRevision: 1n });
        expect((await store.readStream('order-1')).map(countOf)).toEqual([0, 1, 2]);
        expect((await store.readStream('order-2')).map(countOf)).toEqual([100, 101, 102]);
        expect((await store.readStream('order-2')).map((event) => event.revision)).toEqual([0n, 1n, 2n]);
      });

      /** Appends 12 events over three streams, one append at a time, and returns $all. */
      async function seedAll(): Promise<StoredEvent[]> {
        const plan: [string, number][] = [
          ['alpha-1', 2],
          ['beta-1', 1],
          ['alpha-2', 3],
          ['alpha-1', 1],
          ['beta-1', 2],
          ['alpha-2', 3],
        ];
        let count = 0;
        for (const [streamId, size] of plan) {
          await store.append(streamId, batch(size, count), { expectedRevision: 'any' });
          count += size;
        }
        const all = await readEverything(store);
        expect(all.map(countOf)).toEqual(range(12));
        return all;
      }

      it('reads $all forwards in commit order from an inclusive position, with maxCount', async () => {
        const all = await seedAll();
        expectStrictlyIncreasingPositions(all);
        expect((await store.readAll()).map((event) => event.id)).toEqual(idsOf(all));
        expect((await store.readAll({ fromPosition: 'start', maxCount: 4 })).map(countOf)).toEqual([0, 1, 2, 3]);
        expect((await store.readAll({ fromPosition: all[5]!.position })).map(countOf)).toEqual(range(12).slice(5));
        expect((await store.readAll({ fromPosition: all[5]!.position, maxCount: 3 })).map(countOf)).toEqual([5, 6, 7]);
        expect(await store.readAll({ fromPosition: all[11]!.position + 1n })).toEqual([]);
      });

      it('reads $all backwards from the end, or from an inclusive position, with maxCount', async () => {
        const all = await seedAll();
        expect((await store.readAll({ direction: 'backwards' })).map(countOf)).toEqual(range(12).reverse());
        expect((await store.readAll({ direction: 'backwards', fromPosition: 'end', maxCount: 2 })).map(countOf)).toEqual([11, 10]);
        expect((await store.readAll({ direction: 'backwards', fromPosition: all[5]!.position })).map(countOf)).toEqual([5, 4, 3, 2, 1, 0]);
        expect((await store.readAll({ direction: 'backwards', fromPosition: all[5]!.position, maxCount: 2 })).map(countOf)).toEqual([5, 4]);
      });

      it('reads $all from a position between two events as starting at the next one in the read direction', async () => {
        const all = await seedAll();
        const fourth = all[4]!;
        const fifth = all[5]!;
        expect((await store.readAll({ fromPosition: fourth.position + 1n, maxCount: 1 })).map(countOf)).toEqual([5]);
        expect((await store.readAll({ direction: 'backwards', fromPosition: fifth.position - 1n, maxCount: 1 })).map(countOf)).toEqual([4]);
      });

      it('reads $all backwards from a position beyond the head starting with the newest event', async () => {
        const all = await seedAll();
        const head = await store.headPosition();
        expect((await store.readAll({ direction: 'backwards', fromPosition: head + 1_000n, maxCount: 3 })).map(countOf)).toEqual([11, 10, 9]);
        expect(all.length).toBe(12);
      });

      it('reads $all backwards from a position before the first event as empty', async () => {
        const all = await seedAll();
        const first = all[0]!.position;
        if (first > 0n) {
          expect(await store.readAll({ direction: 'backwards', fromPosition: first - 1n })).toEqual([]);
        }
        expect((await store.readAll({ direction: 'backwards', fromPosition: first })).map(countOf)).toEqual([0]);
      });

      it("reads $all forwards from 'end' as just the newest event", async () => {
        await seedAll();
        expect((await store.readAll({ fromPosition: 'end' })).map(countOf)).toEqual([11]);
      });

      it('filters $all by event type and by stream prefix', async () => {
        await store.append('alpha-1', [happened(0), testNoted.create({ text: 'one' })], { expectedRevision: 'any' });
        await store.append('beta-1', [testNoted.create({ text: 'two' }), happened(1)], { expectedRevision: 'any' });
        await store.append('alphabet-1', [testNoted.create({ text: 'three' })], { expectedRevision: 'any' });

        const noted = await store.readAll({ filter: { eventTypes: ['test.noted'] } });
        expect(noted.map((event) => (event.data as { text: string }).text)).toEqual(['one', 'two', 'three']);

        const alpha = await store.readAll({ filter: { streamPrefixes: ['alpha-'] } });
        expect(alpha.map((event) => event.streamId)).toEqual(['alpha-1', 'alpha-1']);

        const both = await store.readAll({ filter: { streamPrefixes: ['alpha', 'beta-'], eventTypes: ['test.happened'] } });
        expect(both.map((event) => `${event.streamId}:${countOf(event)}`)).toEqual(['alpha-1:0', 'beta-1:1']);

        const backwards = await store.readAll({ direction: 'backwards', filter: { eventTypes: ['test.noted'] }, maxCount: 2 });
        expect(backwards.map((event) => (event.data as { text: string }).text)).toEqual(['three', 'two']);

        expect(await store.readAll({ filter: { eventTypes: ['test.blob'] } })).toEqual([]);
      });

      it('reports a stream revision of null for a missing stream and the last revision otherwise', async () => {
        expect(await store.streamRevision('order-1')).toBeNull();
        await store.append('order-1', batch(3), { expectedRevision: 'no_stream' });
        expect(await store.streamRevision('order-1')).toBe(3n - 1n);
        await store.append('order-1', batch(2), { expectedRevision: 2n });
        expect(await store.streamRevision('order-1')).toBe(4n);
        expect(await store.streamRevision('order-2')).toBeNull();
      });

      it('reports a head position of 0 when empty and the newest event position after appends', async () => {
        expect(await store.headPosition()).toBe(0n);
        const first = await store.append('order-1', batch(2), { expectedRevision: 'no_stream' });
        expect(await store.headPosition()).toBe(first.position);
        const second = await store.append('order-2', batch(1), { expectedRevision: 'no_stream' });
        expect(await store.headPosition()).toBe(second.position);
        const [newest] = await store.readAll({ direction: 'backwards', maxCount: 1 });
        expect(newest!.position).toBe(second.position);
      });

      it('lists streams in id order with their head, honouring prefix, after and limit', async () => {
        for (const streamId of ['gamma', 'alpha-2', 'beta-1', 'alpha-1']) {
          await store.append(streamId, batch(streamId === 'alpha-2' ? 3 : 1), { expectedRevision: 'no_stream' });
        }
        await store.append('alpha-1', batch(1), { expectedRevision: 0n });

        const streams = await store.listStreams();
        expect(streams.map((stream) => stream.streamId)).toEqual(['alpha-1', 'alpha-2', 'beta-1', 'gamma']);
        for (const stream of streams) {
          const [last] = await store.readStream(stream.streamId, { direction: 'backwards', maxCount: 1 });
          expect(stream.revision).toBe(last!.revision);
          expect(stream.lastPosition).toBe(last!.position);
          expect(stream.lastRecordedAt).toBe(last!.recordedAt);
        }
        expect(streams.find((stream) => stream.streamId === 'alpha-1')!.revision).toBe(1n);
        expect(streams.find((stream) => stream.streamId === 'alpha-2')!.revision).toBe(2n);

        expect((await store.listStreams({ prefix: 'alpha-' })).map((stream) => stream.streamId)).toEqual(['alpha-1', 'alpha-2']);
        expect((await store.listStreams({ after: 'alpha-2' })).map((stream) => stream.streamId)).toEqual(['beta-1', 'gamma']);
        expect((await store.listStreams({ limit: 2 })).map((stream) => stream.streamId)).toEqual(['alpha-1', 'alpha-2']);
        expect((await store.listStreams({ prefix: 'alpha-', after: 'alpha-1', limit: 5 })).map((stream) => stream.streamId)).toEqual(['alpha-2']);
        expect(await store.listStreams({ prefix: 'delta' })).toEqual([]);
      });

      it('matches a stream prefix literally, with no wildcard characters', async () => {
        for (const streamId of ['a_x-1', 'abx-1', 'pct-%1', 'pct-x1']) {
          await store.append(streamId, batch(1), { expectedRevision: 'no_stream' });
        }
        expect((await store.listStreams({ prefix: 'a_' })).map((stream) => stream.streamId)).toEqual(['a_x-1']);
        expect((await store.listStreams({ prefix: 'pct-%' })).map((stream) => stream.streamId)).toEqual(['pct-%1']);
        expect((await store.readAll({ filter: { streamPrefixes: ['a_'] } })).map((event) => event.streamId)).toEqual(['a_x-1']);
        expect((await store.readAll({ filter: { streamPrefixes: ['pct-%'] } })).map((event) => event.streamId)).toEqual(['pct-%1']);
      });

      it('pages through stream ids in any script with `after`, visiting each stream exactly once', async () => {
        const streamIds = ['group-z', 'group-ｚ', 'group-😀', 'group-团队', 'group-é', 'group-e\u0301', 'group-A', 'group-~'];
        for (const streamId of streamIds) await store.append(streamId, batch(1), { expectedRevision: 'no_stream' });
        const seen: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 20; page += 1) {
          const streams = await store.listStreams({ prefix: 'group-', limit: 3, ...(after === undefined ? {} : { after }) });
          seen.push(...streams.map((stream) => stream.streamId));
          if (streams.length < 3) break;
          after = streams[streams.length - 1]!.streamId;
        }
        expect([...seen].sort()).toEqual([...streamIds].sort());
        expect(new Set(seen).size).toBe(streamIds.length);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('optimistic concurrency', () => {
      async function expectWrongRevision(streamId: string, expected: ExpectedRevision, actual: bigint | 'no_stream'): Promise<void> {
        const before = await storeState();
        const error = await rejectionOf(store.append(streamId, batch(2, 500), { expectedRevision: expected }), WrongExpectedRevisionError);
        expect(error.streamId).toBe(streamId);
        expect(error.expected).toBe(expected);
        expect(error.actual).toBe(actual);
        expect(error.code).toBe('wrong_expected_revision');
        expect(await storeState()).toEqual(before);
      }

      it("accepts 'no_stream' for a stream without events and refuses it once the stream has some", async () => {
        await store.append('order-other', batch(1), { expectedRevision: 'no_stream' });
        const result = await store.append('order-1', batch(2), { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(1n);
        await expectWrongRevision('order-1', 'no_stream', 1n);
      });

      it("refuses 'stream_exists' for a stream without events and accepts it once the stream has some", async () => {
        await expectWrongRevision('order-1', 'stream_exists', 'no_stream');
        await store.append('order-1', batch(1), { expectedRevision: 'no_stream' });
        const result = await store.append('order-1', batch(2), { expectedRevision: 'stream_exists' });
        expect(result.nextExpectedRevision).toBe(2n);
      });

      it("accepts 'any' whether or not the stream exists", async () => {
        const first = await store.append('order-1', batch(1), { expectedRevision: 'any' });
        expect(first.nextExpectedRevision).toBe(0n);
        const second = await store.append('order-1', batch(2), { expectedRevision: 'any' });
        expect(second.nextExpectedRevision).toBe(2n);
      });

      it('accepts a revision equal to the stream head', async () => {
        await store.append('order-1', batch(3), { expectedRevision: 'no_stream' });
        const result = await store.append('order-1', batch(1), { expectedRevision: 2n });
        expect(result.nextExpectedRevision).toBe(3n);
        expect((await store.readStream('order-1')).map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n]);
      });

      it('refuses a revision behind the head, ahead of it, or for a stream without events', async () => {
        await expectWrongRevision('order-1', 0n, 'no_stream');
        await store.append('order-1', batch(3), { expectedRevision: 'no_stream' });
        await expectWrongRevision('order-1', 1n, 2n);
        await expectWrongRevision('order-1', 0n, 2n);
        await expectWrongRevision('order-1', 3n, 2n);
        await expectWrongRevision('order-1', 100n, 2n);
      });

      it('lets exactly one of several concurrent appends at the same expected revision through', async () => {
        await store.append('order-1', batch(1), { expectedRevision: 'no_stream' });
        const attempts = await Promise.allSettled(range(6).map((index) => store.append('order-1', batch(2, index * 10), { expectedRevision: 0n })));
        const accepted = attempts.filter((attempt) => attempt.status === 'fulfilled');
        const refused = attempts.filter((attempt): attempt is PromiseRejectedResult => attempt.status === 'rejected');
        expect(accepted).toHaveLength(1);
        expect(refused).toHaveLength(5);
        for (const attempt of refused) {
          expect(attempt.reason).toBeInstanceOf(WrongExpectedRevisionError);
          expect((attempt.reason as WrongExpectedRevisionError).actual).toBe(2n);
        }
        expect(await store.streamRevision('order-1')).toBe(2n);
        expect(await readEverything(store)).toHaveLength(3);
      });

      it('lets concurrent first appends with no_stream create the stream once', async () => {
        const attempts = await Promise.allSettled(range(4).map((index) => store.append('order-1', batch(1, index), { expectedRevision: 'no_stream' })));
        expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(1);
        expect(await store.readStream('order-1')).toHaveLength(1);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('idempotent appends', () => {
      it('returns the original result for a retry at the same place and stores no duplicate', async () => {
        const events = batch(2);
        const original = await store.append('order-1', events, { expectedRevision: 'no_stream' });
        const before = await storeState();
        expect(await store.append('order-1', events, { expectedRevision: 'no_stream' })).toEqual(original);
        expect(await store.append('order-1', events, { expectedRevision: 'any' })).toEqual(original);
        expect(await store.append('order-1', events, { expectedRevision: 'stream_exists' })).toEqual(original);
        expect(await storeState()).toEqual(before);
        expect(await store.readStream('order-1')).toHaveLength(2);
      });

      it('recognises a retry of an earlier append after the stream has moved on', async () => {
        await store.append('order-1', batch(2), { expectedRevision: 'no_stream' });
        const second = batch(2, 10);
        const original = await store.append('order-1', second, { expectedRevision: 1n });
        await store.append('order-1', batch(3, 20), { expectedRevision: 3n });
        const before = await storeState();

        expect(await store.append('order-1', second, { expectedRevision: 1n })).toEqual(original);
        expect(await store.append('order-1', second, { expectedRevision: 'any' })).toEqual(original);
        expect(await storeState()).toEqual(before);
        expect(await store.streamRevision('order-1')).toBe(6n);
      });

      it('refuses a retry whose expected revision does not match where the original went', async () => {
        await store.append('order-1', batch(2), { expectedRevision: 'no_stream' });
        const second = batch(2, 10);
        await store.append('order-1', second, { expectedRevision: 1n });
        const before = await storeState();
        const error = await rejectionOf(store.append('order-1', second, { expectedRevision: 3n }), WrongExpectedRevisionError);
        expect(error.expected).toBe(3n);
        await rejectionOf(store.append('order-1', second, { expectedRevision: 'no_stream' }), WrongExpectedRevisionError);
        expect(await storeState()).toEqual(before);
      });

      it('refuses stored ids sent to another stream', async () => {
        const events = batch(2);
        await store.append('order-1', events, { expectedRevision: 'no_stream' });
        const before = await storeState();
        const error = await rejectionOf(store.append('order-2', events, { expectedRevision: 'any' }), EventIdConflictError);
        expect(error.eventId).toBe(events[0]!.id);
        expect(error.storedAt).toEqual({ streamId: 'order-1', revision: 0n });
        expect(error.code).toBe('event_id_conflict');
        expect(await storeState()).toEqual(before);
        expect(await store.streamRevision('order-2')).toBeNull();
      });

      it('refuses an append that mixes stored ids with new ones', async () => {
        const events = batch(2);
        await store.append('order-1', events, { expectedRevision: 'no_stream' });
        const before = await storeState();
        const [newEvent] = batch(1, 99);
        const error = await rejectionOf(store.append('order-1', [events[1]!, newEvent!], { expectedRevision: 'any' }), EventIdConflictError);
        expect(error.eventId).toBe(events[1]!.id);
        expect(error.storedAt).toEqual({ streamId: 'order-1', revision: 1n });
        await rejectionOf(store.append('order-1', [newEvent!, events[0]!], { expectedRevision: 'any' }), EventIdConflictError);
        expect(await storeState()).toEqual(before);
      });

      it('refuses stored ids in another order', async () => {
        const events = batch(3);
        await store.append('order-1', events, { expectedRevision: 'no_stream' });
        const before = await storeState();
        await rejectionOf(store.append('order-1', [events[1]!, events[0]!, events[2]!], { expectedRevision: 'any' }), EventIdConflictError);
        await rejectionOf(store.append('order-1', [events[0]!, events[2]!], { expectedRevision: 'any' }), EventIdConflictError);
        expect(await storeState()).toEqual(before);
      });

      it('refuses the same id twice in one append and writes nothing', async () => {
        const id = uuidv4();
        const error = await rejectionOf(
          store.append('order-1', [happened(1, { id }), happened(2), happened(3, { id })], { expectedRevision: 'any' }),
          EventIdConflictError,
        );
        expect(error.eventId).toBe(id);
        expect(error.storedAt).toBe('same_append');
        expect(await store.headPosition()).toBe(0n);
        expect(await store.streamRevision('order-1')).toBeNull();
      });

      it('stores concurrent identical appends once and gives each the same result', async () => {
        const events = batch(3);
        const results = await Promise.all(range(5).map(() => store.append('order-1', events, { expectedRevision: 'no_stream' })));
        for (const result of results) expect(result).toEqual(results[0]);
        expect(results[0]!.nextExpectedRevision).toBe(2n);
        const all = await readEverything(store);
        expect(idsOf(all)).toEqual(idsOf(events));
        expect(all[2]!.position).toBe(results[0]!.position);
      });

      it('stores concurrent identical appends with expectedRevision any once', async () => {
        await store.append('order-1', batch(1), { expectedRevision: 'no_stream' });
        const events = batch(2, 10);
        const results = await Promise.all(range(4).map(() => store.append('order-1', events, { expectedRevision: 'any' })));
        for (const result of results) expect(result).toEqual(results[0]);
        expect(await store.readStream('order-1')).toHaveLength(3);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('validation', () => {
      it('refuses an unknown event type, naming it', async () => {
        const error = await rejectionOf(
          store.append('order-1', [{ type: 'test.unheard_of', data: {} }], { expectedRevision: 'any' }),
          UnknownEventTypeError,
        );
        expect(error.eventType).toBe('test.unheard_of');
        expect(error.message).toContain('test.unheard_of');
        expect(await store.headPosition()).toBe(0n);
      });

      it('refuses invalid data, naming the type, version and field path', async () => {
        const error = await rejectionOf(
          store.append('order-1', [{ type: 'test.happened', data: { count: 'many', label: 'x', tags: [] } }], { expectedRevision: 'any' }),
          InvalidEventError,
        );
        expect(error.eventType).toBe('test.happened');
        expect(error.version).toBe(2);
        expect(error.issues.map((issue) => issue.path)).toEqual(['data.count']);
        expect(error.message).toContain('test.happened');
        expect(error.message).toContain('data.count');
        expect(error.code).toBe('invalid_event');
      });

      it('refuses data with a missing field, an unknown field or a nested wrong type', async () => {
        const missing = await rejectionOf(
          store.append('order-1', [{ type: 'test.happened', data: { count: 1, label: 'x' } }], { expectedRevision: 'any' }),
          InvalidEventError,
        );
        expect(missing.message).toContain('data.tags');
        const nested = await rejectionOf(
          store.append('order-1', [{ type: 'test.happened', data: { count: 1, label: 'x', tags: ['ok', 7] } }], { expectedRevision: 'any' }),
          InvalidEventError,
        );
        expect(nested.message).toContain('data.tags.1');
        await rejectionOf(
          store.append('order-1', [{ type: 'test.happened', data: { count: 1, label: 'x', tags: [], extra: true } }], { expectedRevision: 'any' }),
          InvalidEventError,
        );
        expect(await store.headPosition()).toBe(0n);
      });

      it('refuses invalid metadata, naming the field', async () => {
        const actor = await rejectionOf(
          store.append('order-1', [{ ...happened(1), metadata: { actor: 'has a space' } }], { expectedRevision: 'any' }),
          InvalidEventError,
        );
        expect(actor.message).toContain('metadata.actor');
        const occurredAt = await rejectionOf(
          store.append('order-1', [{ ...happened(1), metadata: { occurredAt: 'yesterday' } }], { expectedRevision: 'any' }),
          InvalidEventError,
        );
        expect(occurredAt.message).toContain('metadata.occurredAt');
        const unknown = await rejectionOf(
          store.append('order-1', [{ ...happened(1), metadata: { tenant: 'x' } as never }], { expectedRevision: 'any' }),
          InvalidEventError,
        );
        expect(unknown.message).toContain('metadata');
        expect(await store.headPosition()).toBe(0n);
      });

      it('refuses an event id that is not a uuid', async () => {
        const error = await rejectionOf(store.append('order-1', [happened(1, { id: 'not-a-uuid' })], { expectedRevision: 'any' }), InvalidEventError);
        expect(error.issues.map((issue) => issue.path)).toContain('id');
      });

      it('writes nothing of a batch with one invalid event in the middle', async () => {
        await store.append('order-1', batch(1), { expectedRevision: 'no_stream' });
        const before = await storeState();
        const error = await rejectionOf(
          store.append('order-1', [happened(1), happened(2), { type: 'test.happened', data: { count: -1, label: 'x', tags: [] } }, happened(3)], {
            expectedRevision: 0n,
          }),
          InvalidEventError,
        );
        expect(error.message).toContain('event 2');
        await rejectionOf(store.append('order-1', [happened(1), { type: 'test.nope', data: {} }, happened(3)], { expectedRevision: 0n }), UnknownEventTypeError);
        expect(await storeState()).toEqual(before);
        expect(await store.streamRevision('order-1')).toBe(0n);
      });

      it('refuses an empty append', async () => {
        await rejectionOf(store.append('order-1', [], { expectedRevision: 'any' }), InvalidArgumentError);
        expect(await store.streamRevision('order-1')).toBeNull();
      });

      const invalidStreamIds: [string, string][] = [
        ['empty', ''],
        ['upper-case kind', 'Order-1'],
        ['a kind starting with a digit', '1order-1'],
        ['a space in the kind', 'my order-1'],
        ['a control character', 'order-1\u0007'],
        ['a newline', 'order-a\nb'],
        ['a lone high surrogate', 'order-\ud800'],
        ['a lone low surrogate', 'order-x\udc00y'],
        ['an empty id after the dash', 'order-'],
        ['over 512 characters', `order-${'x'.repeat(512)}`],
      ];

      it.each(invalidStreamIds)('refuses a stream id with %s in every operation', async (_label, streamId) => {
        const operations: [string, () => Promise<unknown>][] = [
          ['append', () => store.append(streamId, batch(1), { expectedRevision: 'any' })],
          ['readStream', () => store.readStream(streamId)],
          ['streamRevision', () => store.streamRevision(streamId)],
          ['getStreamMetadata', () => store.getStreamMetadata(streamId)],
          ['setStreamMetadata', () => store.setStreamMetadata(streamId, { maxCount: 1 })],
        ];
        for (const [name, operation] of operations) {
          const error = await rejectionOf(call(name, operation), InvalidArgumentError);
          expect(error.code).toBe('invalid_argument');
        }
        expect(await store.headPosition()).toBe(0n);
      });

      it('refuses an invalid expectedRevision', async () => {
        for (const expectedRevision of [-1n, 'later', 3, undefined, null]) {
          await rejectionOf(store.append('order-1', batch(1), { expectedRevision: expectedRevision as ExpectedRevision }), InvalidArgumentError);
        }
        expect(await store.headPosition()).toBe(0n);
      });

      it('refuses invalid read options', async () => {
        await store.append('order-1', batch(1), { expectedRevision: 'no_stream' });
        await rejectionOf(store.readStream('order-1', { maxCount: 0 }), InvalidArgumentError);
        await rejectionOf(store.readStream('order-1', { maxCount: 1.5 }), InvalidArgumentError);
        await rejectionOf(store.readStream('order-1', { from: -1n }), InvalidArgumentError);
        await rejectionOf(store.readAll({ maxCount: -3 }), InvalidArgumentError);
        await rejectionOf(store.readAll({ fromPosition: -1n }), InvalidArgumentError);
      });

      it('refuses invalid stream metadata', async () => {
        await rejectionOf(store.setStreamMetadata('order-1', { maxCount: 0 }), InvalidArgumentError);
        await rejectionOf(store.setStreamMetadata('order-1', { truncateBefore: -1n }), InvalidArgumentError);
        await rejectionOf(store.setStreamMetadata('order-1', { truncateBefore: 3 as unknown as bigint }), InvalidArgumentError);
        expect(await store.getStreamMetadata('order-1')).toEqual({});
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('upcasting', () => {
      async function appendV1(streamId: string, count: number): Promise<AppendResult> {
        const oldStore = createEventStore(harness.backend, v1OnlyCatalogue);
        return oldStore.append(streamId, [testHappenedV1.create({ count, label: 'old' })], { expectedRevision: 'any' });
      }

      it('reads an event stored as v1 as the newest version, saying which version it was stored with', async () => {
        await appendV1('order-1', 1);
        await store.append('order-1', [happened(2, { label: 'new', tags: ['t'] })], { expectedRevision: 0n });

        const events = await store.readStream('order-1');
        expect(events.map((event) => [event.version, event.storedVersion])).toEqual([
          [2, 1],
          [2, 2],
        ]);
        expect(events[0]!.data).toEqual({ count: 1, label: 'old', tags: [] });
        expect(events[1]!.data).toEqual({ count: 2, label: 'new', tags: ['t'] });

        const [fromAll] = await store.readAll({ maxCount: 1 });
        expect(fromAll!.version).toBe(2);
        expect(fromAll!.data).toEqual({ count: 1, label: 'old', tags: [] });
      });

      it('hands out the stored form with upcast: false', async () => {
        await appendV1('order-1', 1);
        const [event] = await store.readStream('order-1', { upcast: false });
        expect(event!.version).toBe(1);
        expect(event!.storedVersion).toBe(1);
        expect(event!.data).toEqual({ count: 1, label: 'old' });
        const [fromAll] = await store.readAll({ upcast: false });
        expect(fromAll!.data).toEqual({ count: 1, label: 'old' });
      });

      it('upcasts events delivered to a subscriber', async () => {
        await appendV1('order-1', 1);
        const collector = collect({ fromPosition: 'start' });
        await collector.until((events) => events.length === 1, 'the v1 event');
        expect(collector.events[0]!.version).toBe(2);
        expect(collector.events[0]!.data).toEqual({ count: 1, label: 'old', tags: [] });
        collector.stop();
      });

      it('keeps the hash chain of a stream with mixed versions intact', async () => {
        await appendV1('order-1', 1);
        await store.append('order-1', [happened(2)], { expectedRevision: 0n });
        await appendV1('order-1', 3);
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: true, events: 3, streams: 1 });
      });

      it('refuses to decode a stored type the catalogue does not know, unless read as stored', async () => {
        const newer = createEventStore(harness.backend, extendedCatalogue);
        await newer.append('order-1', [testExtra.create({ value: 1 })], { expectedRevision: 'no_stream' });
        const error = await rejectionOf(store.readStream('order-1'), UnknownEventTypeError);
        expect(error.eventType).toBe('test.extra');
        const [raw] = await store.readStream('order-1', { upcast: false });
        expect(raw!.data).toEqual({ value: 1 });
      });

      it('fails a subscription that reaches a stored type the catalogue does not know, rather than skipping it', async () => {
        await store.append('order-1', batch(2), { expectedRevision: 'no_stream' });
        await createEventStore(harness.backend, extendedCatalogue).append('order-1', [testExtra.create({ value: 1 })], { expectedRevision: 1n });
        let failure: unknown;
        const delivered: StoredEvent[] = [];
        subscriptions.push(
          store.subscribe({ fromPosition: 'start' }).subscribe({
            next: (delivery) => {
              delivered.push(delivery.event);
              delivery.ack();
            },
            error: (error: unknown) => {
              failure = error;
            },
          }),
        );
        await waitUntil(() => failure !== undefined, 'the subscription to fail');
        expect(failure).toBeInstanceOf(UnknownEventTypeError);
        expect(delivered.map(countOf)).toEqual([0, 1]);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('$all under concurrent appenders', () => {
      it('orders every append contiguously, with strictly increasing positions and gapless stream revisions', async () => {
        const appenders = 16;
        const appendsEach = 50;
        const sharedStreams = ['shared-0', 'shared-1', 'shared-2'];
        const appends: { streamId: string; ids: string[]; result: AppendResult }[] = [];

        await Promise.all(
          range(appenders).map(async (appender) => {
            const random = seededRandom(appender + 1);
            const own = `own-${appender}`;
            let ownRevision: ExpectedRevision = 'no_stream';
            for (let index = 0; index < appendsEach; index += 1) {
              const events = batch(1 + Math.floor(random() * 3), index);
              const toShared = random() < 0.4;
              const streamId = toShared ? sharedStreams[Math.floor(random() * sharedStreams.length)]! : own;
              const result = await store.append(streamId, events, { expectedRevision: toShared ? 'any' : ownRevision });
              if (!toShared) ownRevision = result.nextExpectedRevision;
              appends.push({ streamId, ids: events.map((event) => event.id!), result });
            }
          }),
        );

        const all = await readEverything(store);
        expect(all).toHaveLength(appends.reduce((sum, append) => sum + append.ids.length, 0));
        expectStrictlyIncreasingPositions(all);
        expect(new Set(idsOf(all)).size).toBe(all.length);

        const revisions = new Map<string, bigint[]>();
        for (const event of all) revisions.set(event.streamId, [...(revisions.get(event.streamId) ?? []), event.revision]);
        for (const [streamId, seen] of revisions) {
          expect(seen, streamId).toEqual(range(seen.length).map(BigInt));
          expect(await store.streamRevision(streamId)).toBe(BigInt(seen.length - 1));
        }

        const indexById = new Map(all.map((event, index) => [event.id, index]));
        for (const append of appends) {
          const start = indexById.get(append.ids[0]!)!;
          const stored = all.slice(start, start + append.ids.length);
          expect(idsOf(stored)).toEqual(append.ids);
          expect(stored.every((event) => event.streamId === append.streamId)).toBe(true);
          const last = stored[stored.length - 1]!;
          expect(last.position).toBe(append.result.position);
          expect(last.revision).toBe(append.result.nextExpectedRevision);
        }

        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: true, events: all.length });
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('subscriptions', () => {
      it("delivers everything from 'start' in $all order, then live appends", async () => {
        for (let index = 0; index < 10; index += 1) {
          await store.append(`order-${index % 3}`, batch(3, index * 3), { expectedRevision: 'any' });
        }
        const collector = collect({ fromPosition: 'start' });
        await collector.until((events) => events.length >= 30, '30 stored events');
        expect(sequenceOf(collector.events)).toEqual(sequenceOf(await readEverything(store)));

        await store.append('order-9', batch(2, 100), { expectedRevision: 'no_stream' });
        await store.append('order-1', batch(3, 200), { expectedRevision: 'any' });
        await collector.until((events) => events.length >= 35, '5 live events');
        expect(sequenceOf(collector.events)).toEqual(sequenceOf(await readEverything(store)));
        collector.stop();
      });

      it('resumes after a checkpoint without delivering the checkpoint event again', async () => {
        await store.append('order-1', batch(10), { expectedRevision: 'no_stream' });
        const stored = await readEverything(store);
        const checkpoint = stored[3]!.position;
        const collector = collect({ fromPosition: checkpoint });
        await collector.until((events) => events.length >= 6, 'the 6 events after the checkpoint');
        expect(sequenceOf(collector.events)).toEqual(sequenceOf(stored.slice(4)));

        await store.append('order-1', batch(1, 10), { expectedRevision: 9n });
        await collector.until((events) => events.length >= 7, 'a live event');
        expect(collector.events.map(countOf)).toEqual(range(11).slice(4));
        collector.stop();
      });

      it('delivers only new events after a checkpoint at the head', async () => {
        await store.append('order-1', batch(5), { expectedRevision: 'no_stream' });
        const collector = collect({ fromPosition: await store.headPosition() });
        await store.append('order-1', batch(2, 5), { expectedRevision: 4n });
        await collector.until((events) => events.length >= 2, 'the 2 new events');
        expect(collector.events.map(countOf)).toEqual([5, 6]);
        collector.stop();
      });

      it("delivers from 'end' only what is appended after the subscription started", async () => {
        await store.append('order-1', batch(20), { expectedRevision: 'no_stream' });
        const oldIds = new Set(idsOf(await readEverything(store)));
        const collector = collect({ fromPosition: 'end' });
        // When the subscription has found the end is not observable, so keep appending until
        // it delivers something; every delivery must be one of the new events.
        const liveIds: string[] = [];
        await waitUntil(async () => {
          if (collector.events.length > 0) return true;
          const [event] = batch(1, 1_000 + liveIds.length);
          liveIds.push(event!.id!);
          await store.append('order-live', [event!], { expectedRevision: 'any' });
          return false;
        }, "the 'end' subscription to deliver a live event");
        const [sentinel] = batch(1, 9_999);
        await store.append('order-live', [sentinel!], { expectedRevision: 'any' });
        await collector.until((events) => events.some((event) => event.id === sentinel!.id), 'the sentinel event');

        const delivered = idsOf(collector.events);
        expect(delivered.some((id) => oldIds.has(id!))).toBe(false);
        const firstLive = liveIds.indexOf(delivered[0]!);
        expect(firstLive).toBeGreaterThanOrEqual(0);
        expect(delivered).toEqual([...liveIds.slice(firstLive), sentinel!.id]);
        collector.stop();
      });

      async function appendMixed(): Promise<void> {
        await store.append('alpha-1', [happened(0), testNoted.create({ text: 'a1' })], { expectedRevision: 'any' });
        await store.append('beta-1', [testNoted.create({ text: 'b1' }), happened(1)], { expectedRevision: 'any' });
        await store.append('alphabet-1', [testNoted.create({ text: 'ab1' }), happened(2)], { expectedRevision: 'any' });
        await store.append('alpha-2', [happened(3)], { expectedRevision: 'any' });
      }

      it.each<[string, EventFilter]>([
        ['event types', { eventTypes: ['test.noted'] }],
        ['stream prefixes', { streamPrefixes: ['alpha-', 'beta-'] }],
        ['both', { eventTypes: ['test.happened'], streamPrefixes: ['alpha-'] }],
      ])('delivers only matching events when filtered by %s, in catch-up and live', async (_label, filter) => {
        const matches = (event: StoredEvent) =>
          (!filter.eventTypes || filter.eventTypes.includes(event.type)) &&
          (!filter.streamPrefixes || filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix)));
        await appendMixed();
        const collector = collect({ fromPosition: 'start', filter });
        const storedMatches = (await readEverything(store)).filter(matches);
        expect(storedMatches.length).toBeGreaterThan(0);
        await collector.until((events) => events.length >= storedMatches.length, 'the stored matches');

        await appendMixed();
        // A matching sentinel appended last: once it arrives, everything before it has been judged.
        const sentinelType = filter.eventTypes?.[0] ?? 'test.noted';
        const sentinel =
          sentinelType === 'test.noted' ? testNoted.create({ text: 'sentinel' }, { id: uuidv4() }) : happened(99, { id: uuidv4() });
        const sentinelStream = `${filter.streamPrefixes?.[0] ?? 'zeta-'}sentinel`;
        await store.append(sentinelStream, [sentinel], { expectedRevision: 'any' });
        expect(matches((await store.readStream(sentinelStream))[0]!)).toBe(true);
        await collector.until((events) => events.some((event) => event.id === sentinel.id), 'the sentinel');
        expect(sequenceOf(collector.events)).toEqual(sequenceOf((await readEverything(store)).filter(matches)));
        collector.stop();
      });

      it('delivers a match that follows more than a page of non-matching events', async () => {
        for (let index = 0; index < 3; index += 1) await store.append('noise-1', batch(500, index * 500), { expectedRevision: 'any' });
        await store.append('wanted-1', [testNoted.create({ text: 'found' })], { expectedRevision: 'no_stream' });
        const collector = collect({ fromPosition: 'start', filter: { streamPrefixes: ['wanted-'] } });
        await collector.until((events) => events.length >= 1, 'the one match');
        expect(collector.events.map((event) => event.streamId)).toEqual(['wanted-1']);
        await store.append('noise-1', batch(700, 2_000), { expectedRevision: 'any' });
        await store.append('wanted-1', [testNoted.create({ text: 'again' })], { expectedRevision: 0n });
        await collector.until((events) => events.length >= 2, 'the live match');
        expect(collector.events.map((event) => (event.data as { text: string }).text)).toEqual(['found', 'again']);
        collector.stop();
      });

      it('switches from catch-up to live under load with no gap and no duplicate', async () => {
        const appenders = 8;
        const eventsEach = 250;
        const total = appenders * eventsEach;
        let appended = 0;
        const partWay = deferred();
        const writing = Promise.all(
          range(appenders).map(async (appender) => {
            const random = seededRandom(100 + appender);
            let written = 0;
            let revision: ExpectedRevision = 'no_stream';
            while (written < eventsEach) {
              const size = Math.min(eventsEach - written, 1 + Math.floor(random() * 3));
              const result = await store.append(`load-${appender}`, batch(size, written), { expectedRevision: revision });
              revision = result.nextExpectedRevision;
              written += size;
              appended += size;
              if (appended >= total / 5) partWay.resolve();
              // Give the subscriber's loop a chance to run between appends.
              await new Promise((resolve) => setImmediate(resolve));
            }
          }),
        );
        await partWay.promise;
        const appendedWhenSubscribed = appended;
        const collector = collect({ fromPosition: 'start' });
        await collector.until((events) => events.length >= total, `all ${total} events`);
        await writing;
        expect(appendedWhenSubscribed).toBeLessThan(total);

        const sentinel = batch(1, 0)[0]!;
        await store.append('load-done', [sentinel], { expectedRevision: 'no_stream' });
        await collector.until((events) => events.some((event) => event.id === sentinel.id), 'the sentinel');

        const stored = await readEverything(store);
        expect(stored).toHaveLength(total + 1);
        expect(collector.events).toHaveLength(total + 1);
        expect(sequenceOf(collector.events)).toEqual(sequenceOf(stored));
        collector.stop();
      });

      it('never has more than maxInFlight deliveries unacknowledged, and delivers everything as acks come', async () => {
        for (let index = 0; index < 10; index += 1) await store.append(`order-${index}`, batch(100, index * 100), { expectedRevision: 'no_stream' });
        let unacked = 0;
        let maxUnacked = 0;
        const collector = collect({ fromPosition: 'start', maxInFlight: 10 }, (delivery) => {
          unacked += 1;
          maxUnacked = Math.max(maxUnacked, unacked);
          setTimeout(() => {
            unacked -= 1;
            delivery.ack();
          }, Math.floor(Math.random() * 2));
        });
        await collector.until((events) => events.length >= 1_000, '1,000 slowly acknowledged events');
        expect(maxUnacked).toBeLessThanOrEqual(10);
        expect(maxUnacked).toBeGreaterThan(1);
        expect(sequenceOf(collector.events)).toEqual(sequenceOf(await readEverything(store)));
        collector.stop();
      });

      it('stops delivering at maxInFlight until a delivery is acknowledged', async () => {
        await store.append('order-1', batch(20), { expectedRevision: 'no_stream' });
        const pending: Delivery[] = [];
        const collector = collect({ fromPosition: 'start', maxInFlight: 5 }, (delivery) => pending.push(delivery));
        await collector.until((events) => events.length >= 5, 'the first 5 deliveries');
        await store.append('order-1', batch(5, 20), { expectedRevision: 19n });
        await settle();
        expect(collector.events).toHaveLength(5);

        pending.shift()!.ack();
        pending.shift()!.ack();
        await collector.until((events) => events.length >= 7, 'two more deliveries after two acks');
        await settle();
        expect(collector.events).toHaveLength(7);
        expect(collector.events.map(countOf)).toEqual(range(7));

        // Acknowledging twice counts once.
        const once = pending.shift()!;
        once.ack();
        once.ack();
        await collector.until((events) => events.length >= 8, 'one more delivery');
        await settle();
        expect(collector.events).toHaveLength(8);
        collector.stop();
      });

      it('handleEach runs the handler one event at a time in order and acknowledges each', async () => {
        await store.append('order-1', batch(30), { expectedRevision: 'no_stream' });
        const handled: number[] = [];
        let running = 0;
        let maxRunning = 0;
        const emitted: StoredEvent[] = [];
        const subscription = store
          .subscribe({ fromPosition: 'start', maxInFlight: 3 })
          .pipe(
            handleEach(async (event) => {
              running += 1;
              maxRunning = Math.max(maxRunning, running);
              await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 2)));
              handled.push(countOf(event));
              running -= 1;
            }),
          )
          .subscribe((event) => {
            emitted.push(event);
          });
        subscriptions.push(subscription);
        // Only 3 deliveries may be unacknowledged: all 30 arriving proves handleEach acks.
        await waitUntil(() => emitted.length >= 30, 'handleEach to handle 30 events');
        expect(handled).toEqual(range(30));
        expect(emitted.map(countOf)).toEqual(range(30));
        expect(maxRunning).toBe(1);
        subscription.unsubscribe();
      });

      it('handleEach acknowledges only after the handler has finished', async () => {
        await store.append('order-1', batch(3), { expectedRevision: 'no_stream' });
        let delivered = 0;
        const gates = [deferred(), deferred(), deferred()];
        const handled: number[] = [];
        const subscription = store
          .subscribe({ fromPosition: 'start', maxInFlight: 1 })
          .pipe(
            tap(() => {
              delivered += 1;
            }),
            handleEach(async (event) => {
              await gates[countOf(event)]!.promise;
              handled.push(countOf(event));
            }),
          )
          .subscribe();
        subscriptions.push(subscription);
        await waitUntil(() => delivered === 1, 'the first delivery');
        await settle();
        expect(delivered).toBe(1);
        gates[0]!.resolve();
        await waitUntil(() => delivered === 2, 'the second delivery after the first handler finished');
        expect(handled).toEqual([0]);
        gates[1]!.resolve();
        gates[2]!.resolve();
        await waitUntil(() => handled.length === 3, 'all three handled');
        expect(handled).toEqual([0, 1, 2]);
        subscription.unsubscribe();
      });

      it('stops delivering after unsubscribe', async () => {
        await store.append('order-1', batch(5), { expectedRevision: 'no_stream' });
        const first = collect({ fromPosition: 'start' });
        await first.until((events) => events.length >= 5, 'the stored events');
        first.stop();

        await store.append('order-1', batch(5, 5), { expectedRevision: 4n });
        // A second subscriber seeing the new events shows they were there to deliver.
        const second = collect({ fromPosition: 'start' });
        await second.until((events) => events.length >= 10, 'all events on a second subscription');
        await settle();
        expect(first.events.map(countOf)).toEqual(range(5));
        second.stop();
      });

      it('refuses an invalid maxInFlight', async () => {
        let failure: unknown;
        try {
          const subscription = store.subscribe({ maxInFlight: 0 }).subscribe({
            error: (error: unknown) => {
              failure = error;
            },
          });
          subscriptions.push(subscription);
        } catch (error) {
          failure = error;
        }
        await waitUntil(() => failure !== undefined, 'the subscription to be refused');
        expect(failure).toBeInstanceOf(InvalidArgumentError);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('stream metadata', () => {
      it('reads no metadata for a stream that has none', async () => {
        expect(await store.getStreamMetadata('order-1')).toEqual({});
        await store.append('order-1', batch(1), { expectedRevision: 'no_stream' });
        expect(await store.getStreamMetadata('order-1')).toEqual({});
      });

      it('round-trips metadata, and a later set replaces the earlier one', async () => {
        await store.append('order-1', batch(1), { expectedRevision: 'no_stream' });
        await store.setStreamMetadata('order-1', { truncateBefore: 3n, maxCount: 10 });
        expect(await store.getStreamMetadata('order-1')).toEqual({ truncateBefore: 3n, maxCount: 10 });
        await store.setStreamMetadata('order-1', { maxCount: 4 });
        expect(await store.getStreamMetadata('order-1')).toEqual({ maxCount: 4 });
        await store.setStreamMetadata('order-1', {});
        expect(await store.getStreamMetadata('order-1')).toEqual({});
        expect(await store.getStreamMetadata('order-2')).toEqual({});
      });

      it('hides revisions below truncateBefore from readStream but not from readAll', async () => {
        await store.append('order-1', batch(6), { expectedRevision: 'no_stream' });
        await store.append('order-2', batch(2), { expectedRevision: 'no_stream' });
        await store.setStreamMetadata('order-1', { truncateBefore: 3n });

        expect((await store.readStream('order-1')).map((event) => event.revision)).toEqual([3n, 4n, 5n]);
        expect((await store.readStream('order-1', { direction: 'backwards' })).map((event) => event.revision)).toEqual([5n, 4n, 3n]);
        expect((await store.readStream('order-1', { from: 1n, maxCount: 2 })).map((event) => event.revision)).toEqual([3n, 4n]);
        expect(await store.readStream('order-1', { direction: 'backwards', from: 2n })).toEqual([]);
        expect((await store.readStream('order-2')).map((event) => event.revision)).toEqual([0n, 1n]);

        const all = await readEverything(store);
        expect(all.filter((event) => event.streamId === 'order-1').map((event) => event.revision)).toEqual(range(6).map(BigInt));
        expect(await store.streamRevision('order-1')).toBe(5n);
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: true, events: 8 });
      });

      it('keeps only the newest maxCount events in readStream, sliding as the stream grows', async () => {
        await store.append('order-1', batch(6), { expectedRevision: 'no_stream' });
        await store.setStreamMetadata('order-1', { maxCount: 2 });
        expect((await store.readStream('order-1')).map((event) => event.revision)).toEqual([4n, 5n]);
        expect((await store.readStream('order-1', { direction: 'backwards' })).map((event) => event.revision)).toEqual([5n, 4n]);
        await store.append('order-1', batch(1, 6), { expectedRevision: 5n });
        expect((await store.readStream('order-1')).map((event) => event.revision)).toEqual([5n, 6n]);
        expect(await readEverything(store)).toHaveLength(7);
      });

      it('applies whichever of truncateBefore and maxCount hides more', async () => {
        await store.append('order-1', batch(6), { expectedRevision: 'no_stream' });
        await store.setStreamMetadata('order-1', { truncateBefore: 1n, maxCount: 2 });
        expect((await store.readStream('order-1')).map((event) => event.revision)).toEqual([4n, 5n]);
        await store.setStreamMetadata('order-1', { truncateBefore: 5n, maxCount: 4 });
        expect((await store.readStream('order-1')).map((event) => event.revision)).toEqual([5n]);
        await store.setStreamMetadata('order-1', { truncateBefore: 10n });
        expect(await store.readStream('order-1')).toEqual([]);
        expect(await store.streamRevision('order-1')).toBe(5n);
      });

      it('accepts metadata for a stream that does not exist yet and applies it once events arrive', async () => {
        await store.setStreamMetadata('order-1', { truncateBefore: 2n });
        expect(await store.getStreamMetadata('order-1')).toEqual({ truncateBefore: 2n });
        expect(await store.streamRevision('order-1')).toBeNull();
        const result = await store.append('order-1', batch(4), { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(3n);
        expect((await store.readStream('order-1')).map((event) => event.revision)).toEqual([2n, 3n]);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('hash chain', () => {
      /** Two interleaved streams: chain-a has 5 events, chain-b 3; returns $all. */
      async function seedChains(): Promise<StoredEvent[]> {
        await store.append('chain-a', batch(2), { expectedRevision: 'no_stream' });
        await store.append('chain-b', batch(1, 100), { expectedRevision: 'no_stream' });
        await store.append('chain-a', batch(2, 2), { expectedRevision: 1n });
        await store.append('chain-b', batch(2, 101), { expectedRevision: 0n });
        await store.append('chain-a', batch(1, 4), { expectedRevision: 3n });
        return readEverything(store);
      }

      function find(all: readonly StoredEvent[], streamId: string, revision: bigint): StoredEvent {
        const event = all.find((candidate) => candidate.streamId === streamId && candidate.revision === revision);
        if (!event) throw new Error(`no ${streamId}@${revision}`);
        return event;
      }

      it('links each event to its predecessor in the same stream, starting from the genesis hash', async () => {
        await seedChains();
        for (const streamId of ['chain-a', 'chain-b']) {
          const events = await store.readStream(streamId);
          expect(events[0]!.prevHash).toBe(GENESIS_HASH);
          for (let index = 1; index < events.length; index += 1) {
            expect(events[index]!.prevHash).toBe(events[index - 1]!.hash);
          }
          expect(new Set(events.map((event) => event.hash)).size).toBe(events.length);
        }
      });

      it('hashes (v2) exactly the stored bytes, the place in the stream and in $all, the recording time and the event before in $all', async () => {
        await seedChains();
        let allPrevHash = GENESIS_HASH;
        for (const event of await readEverything(store, { upcast: false })) {
          const prepared = {
            id: event.id,
            type: event.type,
            version: event.storedVersion,
            dataJson: canonicalJson(event.data),
            metadataJson: canonicalJson(event.metadata),
          };
          expect(event.hashVersion).toBe(2);
          const { prevHash, streamId, revision, position, recordedAt } = event;
          expect(chainHashV2({ allPrevHash, prevHash, streamId, revision, position, recordedAt }, prepared)).toBe(event.hash);
          allPrevHash = event.hash;
        }
      });

      it('verifies an untouched store, also in small pages, and says where it ended', async () => {
        expect(await verifyHashChains(harness.backend)).toEqual({
          ok: true,
          events: 0,
          streams: 0,
          checkpoint: { position: 0n, hash: GENESIS_HASH, chainTip: GENESIS_HASH },
        });
        const all = await seedChains();
        const newest = all[all.length - 1]!;
        const ended = { position: newest.position, hash: newest.hash, chainTip: newest.hash };
        expect(await verifyHashChains(harness.backend)).toEqual({ ok: true, events: 8, streams: 2, checkpoint: ended });
        expect(await verifyHashChains(harness.backend, { pageSize: 3 })).toEqual({ ok: true, events: 8, streams: 2, checkpoint: ended });
      });

      it('reports a changed event as a hash mismatch at its stream and revision', async () => {
        const all = await seedChains();
        const target = find(all, 'chain-a', 2n);
        await harness.tamperData(target.position, JSON.stringify({ count: 999, label: 'forged', tags: [] }));
        expect((await store.readStream('chain-a', { from: 2n, maxCount: 1 }))[0]!.data).toEqual({ count: 999, label: 'forged', tags: [] });
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: false, problem: 'hash_mismatch', streamId: 'chain-a', revision: 2n });
      });

      it('reports a change that keeps the same value but not the same bytes', async () => {
        const all = await seedChains();
        const target = find(all, 'chain-b', 1n);
        const { count, label, tags } = target.data as { count: number; label: string; tags: string[] };
        await harness.tamperData(target.position, JSON.stringify({ tags, label, count }, null, 1));
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: false, problem: 'hash_mismatch', streamId: 'chain-b', revision: 1n });
      });

      it('reports a removed event in the middle of a stream as a revision gap in that stream', async () => {
        const all = await seedChains();
        await harness.deleteEvent(find(all, 'chain-a', 2n).position);
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: false, problem: 'revision_gap', streamId: 'chain-a', revision: 3n });
      });

      it("reports a removed first event of a stream at the next event in $all, whose $all link it breaks", async () => {
        const all = await seedChains();
        const removed = find(all, 'chain-b', 0n);
        const next = all[all.indexOf(removed) + 1]!;
        await harness.deleteEvent(removed.position);
        expect(await verifyHashChains(harness.backend)).toMatchObject({
          ok: false,
          problem: 'hash_mismatch',
          streamId: next.streamId,
          revision: next.revision,
          position: next.position,
        });
      });

      it("reports a removed last event of a stream at the next event in $all, whose $all link it breaks", async () => {
        const all = await seedChains();
        const removed = find(all, 'chain-b', 2n);
        const next = all[all.indexOf(removed) + 1]!;
        await harness.deleteEvent(removed.position);
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: false, problem: 'hash_mismatch', streamId: next.streamId, revision: next.revision });
      });

      it("reports a removed last event of a stream as a mismatch with the stream's recorded head when nothing follows it", async () => {
        await seedChains();
        await store.append('chain-c', batch(2), { expectedRevision: 'no_stream' });
        const newest = (await readEverything(store)).at(-1)!;
        await harness.deleteEvent(newest.position);
        expect(await verifyHashChains(harness.backend)).toMatchObject({
          ok: false,
          problem: 'stream_head_mismatch',
          streamId: 'chain-c',
          revision: 1n,
        });
      });

      it('reports a removed newest event of the whole store', async () => {
        const all = await seedChains();
        const newest = all[all.length - 1]!;
        expect(newest.streamId).toBe('chain-a');
        await harness.deleteEvent(newest.position);
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: false, problem: 'stream_head_mismatch', streamId: 'chain-a' });
      });

      // Issue 16, defect 7: a stored event's position and recording time were outside its hash.
      it('defect 7 (issue 16): events swapped between positions across streams fail verification', async () => {
        const all = await seedChains();
        const first = find(all, 'chain-b', 0n);
        const second = all[all.indexOf(first) + 1]!;
        expect(second.streamId).toBe('chain-a');
        const parked = all.at(-1)!.position + 100n;
        await harness.rewritePlace(first.position, { position: parked });
        await harness.rewritePlace(second.position, { position: first.position });
        await harness.rewritePlace(parked, { position: second.position });
        // Each stream still reads in order, every stream link intact: only the $all order changed.
        expect((await store.readStream('chain-a')).map((event) => event.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
        expect((await store.readAll()).map((event) => event.id).slice(2, 4)).toEqual([second.id, first.id]);
        expect(await verifyHashChains(harness.backend)).toMatchObject({
          ok: false,
          problem: 'hash_mismatch',
          streamId: 'chain-a',
          revision: second.revision,
          position: first.position,
        });
      });

      it('defect 7 (issue 16): an event moved to a position no event had fails verification', async () => {
        const all = await seedChains();
        const newest = all.at(-1)!;
        await harness.rewritePlace(newest.position, { position: newest.position + 10n });
        expect(await verifyHashChains(harness.backend)).toMatchObject({
          ok: false,
          problem: 'hash_mismatch',
          streamId: newest.streamId,
          revision: newest.revision,
          position: newest.position + 10n,
        });
      });

      it('defect 7 (issue 16): an edited recording time fails verification', async () => {
        const all = await seedChains();
        const target = find(all, 'chain-b', 1n);
        await harness.rewritePlace(target.position, { recordedAt: '2020-01-01T00:00:00.000Z' });
        expect((await store.readStream('chain-b', { from: 1n, maxCount: 1 }))[0]!.recordedAt).toBe('2020-01-01T00:00:00.000Z');
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: false, problem: 'hash_mismatch', streamId: 'chain-b', revision: 1n });
      });

      describe('from a checkpoint', () => {
        async function checkpointAfterSeeding() {
          await seedChains();
          const result = await verifyHashChains(harness.backend);
          if (!result.ok) throw new Error(`the seeded store does not verify: ${result.detail}`);
          return result.checkpoint;
        }

        it('checks only the events after it, and ends where a full walk ends', async () => {
          const since = await checkpointAfterSeeding();
          await store.append('chain-b', batch(2, 103), { expectedRevision: 2n });
          await store.append('chain-d', batch(1), { expectedRevision: 'no_stream' });
          const tail = await verifyHashChains(harness.backend, { since });
          const full = await verifyHashChains(harness.backend);
          expect(tail).toMatchObject({ ok: true, events: 3, streams: 2 });
          expect(full).toMatchObject({ ok: true, events: 11, streams: 3 });
          expect(tail.ok && full.ok && tail.checkpoint).toEqual(full.ok && full.checkpoint);
          expect(await verifyHashChains(harness.backend, { since: tail.ok ? tail.checkpoint : since })).toMatchObject({ ok: true, events: 0 });
        });

        it('defect 7 (issue 16): finds a moved or re-timed event written after it', async () => {
          const since = await checkpointAfterSeeding();
          await store.append('chain-b', batch(2, 103), { expectedRevision: 2n });
          const [newest] = await store.readAll({ fromPosition: 'end', direction: 'backwards', maxCount: 1 });
          await harness.rewritePlace(newest!.position, { recordedAt: '2020-01-01T00:00:00.000Z' });
          expect(await verifyHashChains(harness.backend, { since })).toMatchObject({ ok: false, problem: 'hash_mismatch', streamId: 'chain-b', revision: 4n });
        });

        it('refuses when another event now stands at it', async () => {
          const since = await checkpointAfterSeeding();
          const [, before] = await store.readAll({ fromPosition: since.position, direction: 'backwards', maxCount: 2 });
          await harness.deleteEvent(since.position);
          await harness.rewritePlace(before!.position, { position: since.position });
          expect(await verifyHashChains(harness.backend, { since })).toMatchObject({
            ok: false,
            problem: 'checkpoint_mismatch',
            position: since.position,
            streamId: before!.streamId,
          });
        });

        it('refuses when the event at it is gone, and so does a full walk that remembers it', async () => {
          const since = await checkpointAfterSeeding();
          await harness.deleteEvent(since.position);
          expect(await verifyHashChains(harness.backend, { since })).toMatchObject({ ok: false, problem: 'checkpoint_mismatch', position: since.position });
          expect(await verifyHashChains(harness.backend, { remembered: since })).toMatchObject({
            ok: false,
            problem: 'checkpoint_mismatch',
            position: since.position,
          });
        });
      });

      describe('events hashed with the old rule (v1)', () => {
        const recordedAt = '2025-06-01T12:00:00.000Z';

        /** Events as ledgerclaw stored them before the $all chain: v1 hashes, no position or time in them. */
        function legacyEvents(streamId: string, count: number, from: { position: bigint; revision?: bigint; prevHash?: string }): RawStoredEvent[] {
          const events: RawStoredEvent[] = [];
          let prevHash = from.prevHash ?? GENESIS_HASH;
          for (let index = 0; index < count; index += 1) {
            const revision = (from.revision ?? 0n) + BigInt(index);
            const prepared = {
              id: uuidv4(),
              type: 'test.happened',
              version: 2,
              dataJson: canonicalJson({ count: index, label: 'legacy', tags: [] }),
              metadataJson: canonicalJson({ actor: 'legacy', causationId: null, correlationId: 'legacy', occurredAt: recordedAt }),
            };
            const hash = chainHash(prevHash, streamId, revision, prepared);
            events.push({ ...prepared, streamId, revision, position: from.position + BigInt(index), recordedAt, prevHash, hashVersion: 1, hash });
            prevHash = hash;
          }
          return events;
        }

        it('a store written before the $all chain still verifies, and so does what is appended after it', async () => {
          const legacy = [...legacyEvents('old-a', 3, { position: 1n }), ...legacyEvents('old-b', 2, { position: 4n })];
          await harness.storeRaw(legacy);
          expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: true, events: 5, streams: 2 });
          await store.append('old-a', batch(2), { expectedRevision: 2n });
          await store.append('new-a', batch(1), { expectedRevision: 'no_stream' });
          const all = await readEverything(store, { upcast: false });
          expect(all.map((event) => event.hashVersion)).toEqual([1, 1, 1, 1, 1, 2, 2, 2]);
          expect(all[5]!.prevHash).toBe(legacy[2]!.hash);
          expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: true, events: 8, streams: 3 });
        });

        it('the first v2 event seals the places and times of the v1 events before it', async () => {
          const legacy = [...legacyEvents('old-a', 3, { position: 1n }), ...legacyEvents('old-b', 2, { position: 4n })];
          await harness.storeRaw(legacy);
          await store.append('new-a', batch(1), { expectedRevision: 'no_stream' });
          const [firstNew] = await store.readStream('new-a');
          await harness.rewritePlace(2n, { recordedAt: '2020-01-01T00:00:00.000Z' });
          expect(await verifyHashChains(harness.backend)).toMatchObject({
            ok: false,
            problem: 'hash_mismatch',
            streamId: 'new-a',
            position: firstNew!.position,
          });
        });

        it('refuses a v1 event stored after v2 events, however well its v1 hash is forged', async () => {
          await seedChains();
          const [tip] = await store.readStream('chain-a', { from: 'end', direction: 'backwards', maxCount: 1 });
          const head = await store.headPosition();
          await harness.storeRaw(legacyEvents('chain-a', 1, { position: head + 1n, revision: tip!.revision + 1n, prevHash: tip!.hash }));
          expect(await verifyHashChains(harness.backend)).toMatchObject({
            ok: false,
            problem: 'hash_version_downgrade',
            streamId: 'chain-a',
            revision: tip!.revision + 1n,
          });
        });
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('large payloads', () => {
      const MiB = 1024 * 1024;
      function payload(seed: number): string {
        const alphabet = [...`abcdefghijklmnopqrstuvwxyz0123456789 "\\/\n\t{}[]:,é漢😀${seed}`];
        const random = seededRandom(seed);
        const chars: string[] = [];
        let length = 0;
        while (length < MiB) {
          const char = alphabet[Math.floor(random() * alphabet.length)]!;
          chars.push(char);
          length += char.length;
        }
        return chars.join('').slice(0, MiB - 1) + 'x';
      }

      it('round-trips a 1 MiB string exactly', async () => {
        const body = payload(1);
        expect(body.length).toBe(MiB);
        await store.append('blob-1', [testBlob.create({ body })], { expectedRevision: 'no_stream' });
        const [event] = await store.readStream('blob-1');
        expect((event!.data as { body: string }).body === body).toBe(true);
        const [fromAll] = await store.readAll();
        expect((fromAll!.data as { body: string }).body === body).toBe(true);
      });

      it('appends several 1 MiB events in one append', async () => {
        const bodies = [2, 3, 4, 5].map(payload);
        const result = await store.append('blob-1', bodies.map((body) => testBlob.create({ body })), { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(3n);
        const events = await store.readStream('blob-1');
        expect(events).toHaveLength(4);
        events.forEach((event, index) => expect((event.data as { body: string }).body === bodies[index]).toBe(true));
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: true, events: 4 });
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('unicode', () => {
      const texts: [string, string][] = [
        ['emoji with joiners and modifiers', '👩‍👩‍👧‍👦 👍🏽 🏳️‍🌈 🇯🇵'],
        ['CJK', '漢字 かな カナ 한국어 𠜎𠜱'],
        ['right-to-left', 'مرحبا بالعالم שלום עולם \u202Eevil\u202C'],
        ['combining marks, not normalized', 'e\u0301 vs \u00e9, Å vs A\u030A, ﬁ'],
        ['separators and invisible characters', 'a\u2028b\u2029c\u200Bd\uFEFFe\u00A0f'],
        ['control characters', 'nul\u0000 bell\u0007 esc\u001b del\u007f'],
        ['lone surrogates', 'high \ud800 low \udfff reversed \udc00\ud83d end'],
        ['escapes', 'quote " backslash \\ slash / newline \n tab \t'],
      ];

      it.each(texts)('round-trips %s exactly', async (_label, text) => {
        await store.append('note-1', [testNoted.create({ text, extra: { [text.slice(0, 12)]: text, 'ключ': 'значение' } })], {
          expectedRevision: 'no_stream',
        });
        const [event] = await store.readStream('note-1');
        const data = event!.data as { text: string; extra: Record<string, string> };
        expect(data.text === text).toBe(true);
        expect(data.text.length).toBe(text.length);
        expect(data.extra[text.slice(0, 12)] === text).toBe(true);
        expect(data.extra['ключ']).toBe('значение');
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: true });
      });

      it('round-trips an escaped lone surrogate inside data exactly', async () => {
        const text = JSON.parse('"\\ud800"') as string;
        expect(text.length).toBe(1);
        await store.append('note-1', [testNoted.create({ text: `a${text}b` })], { expectedRevision: 'no_stream' });
        const [event] = await store.readStream('note-1', { upcast: false });
        const stored = (event!.data as { text: string }).text;
        expect(stored.charCodeAt(1)).toBe(0xd800);
        expect(stored).toBe(`a${text}b`);
      });

      it('keeps stream ids in any script, and tells apart ids that differ only in normalization', async () => {
        const streamIds = ['group-团队.頻道', 'group-😀', 'group-é', 'group-e\u0301', 'group-مرحبا'];
        for (const [index, streamId] of streamIds.entries()) {
          await store.append(streamId, batch(index + 1), { expectedRevision: 'no_stream' });
        }
        for (const [index, streamId] of streamIds.entries()) {
          const events = await store.readStream(streamId);
          expect(events).toHaveLength(index + 1);
          expect(events.every((event) => event.streamId === streamId)).toBe(true);
          expect(await store.streamRevision(streamId)).toBe(BigInt(index));
        }
        expect((await store.listStreams({ prefix: 'group-团队' })).map((stream) => stream.streamId)).toEqual(['group-团队.頻道']);
        expect((await store.listStreams({ prefix: 'group-' })).map((stream) => stream.streamId).sort()).toEqual([...streamIds].sort());
        expect((await store.readAll({ filter: { streamPrefixes: ['group-团'] } })).map((event) => event.streamId)).toEqual(['group-团队.頻道']);
        expect(await verifyHashChains(harness.backend)).toMatchObject({ ok: true, streams: streamIds.length });
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('a long stream', () => {
      it('appends 10,000 events in batches and reads them whole, backwards and in pages', async () => {
        let expected: ExpectedRevision = 'no_stream';
        for (let first = 0; first < 10_000; first += 500) {
          const result = await store.append('long-1', batch(500, first), { expectedRevision: expected });
          expected = result.nextExpectedRevision;
        }
        expect(expected).toBe(9_999n);
        expect(await store.streamRevision('long-1')).toBe(9_999n);

        const forwards = await store.readStream('long-1');
        expect(forwards).toHaveLength(10_000);
        expect(forwards.every((event, index) => event.revision === BigInt(index) && countOf(event) === index)).toBe(true);
        expect(forwards[9_999]!.revision).toBe(9_999n);

        const backwards = await store.readStream('long-1', { direction: 'backwards' });
        expect(backwards).toHaveLength(10_000);
        expect(backwards.every((event, index) => event.revision === BigInt(9_999 - index))).toBe(true);

        const paged: bigint[] = [];
        for (let from = 0n; ; ) {
          const page = await store.readStream('long-1', { from, maxCount: 1_024 });
          paged.push(...page.map((event) => event.revision));
          if (page.length < 1_024) break;
          from = page[page.length - 1]!.revision + 1n;
        }
        expect(paged).toEqual(forwards.map((event) => event.revision));

        const backPaged: bigint[] = [];
        for (let from: bigint | 'end' = 'end'; ; ) {
          const page: StoredEvent[] = await store.readStream('long-1', { direction: 'backwards', from, maxCount: 3_000 });
          backPaged.push(...page.map((event) => event.revision));
          const last = page[page.length - 1];
          if (!last || last.revision === 0n) break;
          from = last.revision - 1n;
        }
        expect(backPaged).toEqual(backwards.map((event) => event.revision));

        expect((await store.readStream('long-1', { from: 9_998n })).map((event) => event.revision)).toEqual([9_998n, 9_999n]);
        expect(await store.readAll()).toHaveLength(1_000);
        expect(sequenceOf(await readEverything(store))).toEqual(sequenceOf(forwards));
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('what an append returns', () => {
      it('returns the stored events exactly as a read returns them, upcast, with positions and hashes', async () => {
        await store.append('order-1', [happened(0)], { expectedRevision: 'no_stream' });
        const result = await store.append('order-1', [happened(1), testNoted.create({ text: 'ünïcode ✓' }), happened(2)], { expectedRevision: 0n });
        const read = await store.readStream('order-1', { from: 1n });
        expect(result.events).toEqual(read);
        expect(result.events.map((event) => event.revision)).toEqual([1n, 2n, 3n]);
        expect(result.events[2]!.position).toBe(result.position);
      });

      it('returns the original events for a recognised retry', async () => {
        const events = [happened(1, { id: uuidv4() }), happened(2, { id: uuidv4() })];
        const original = await store.append('order-1', events, { expectedRevision: 'no_stream' });
        await store.append('order-1', [happened(3)], { expectedRevision: 'any' });
        const retried = await store.append('order-1', events, { expectedRevision: 'no_stream' });
        expect(retried.events).toEqual(original.events);
        expect(retried.events.map((event) => event.id)).toEqual(events.map((event) => event.id));
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('correlation', () => {
      it('reads every event that carries a correlation id, across streams, in $all order', async () => {
        const correlated = (value: number) => ({ ...happened(value), metadata: { correlationId: 'slack-Ev42' } });
        await store.append('order-1', [correlated(1), happened(2)], { expectedRevision: 'any' });
        await store.append('invoice-9', [happened(3), correlated(4)], { expectedRevision: 'any' });
        await store.append('order-1', [correlated(5)], { expectedRevision: 'any' });
        const traced = await store.readByCorrelation('slack-Ev42');
        expect(traced.map((event) => [event.streamId, (event.data as { count: number }).count])).toEqual([
          ['order-1', 1],
          ['invoice-9', 4],
          ['order-1', 5],
        ]);
        expect(traced.map((event) => event.position)).toEqual([...traced.map((event) => event.position)].sort((a, b) => (a < b ? -1 : 1)));
        expect(await store.readByCorrelation('slack-Ev42', { maxCount: 2 })).toHaveLength(2);
        expect(await store.readByCorrelation('nobody')).toEqual([]);
      });
    });

    // ---------------------------------------------------------------------------------------
    describe('a closed store', () => {
      const operations: [string, (store: EventStore) => Promise<unknown>][] = [
        ['append', (closed) => closed.append('order-1', batch(1), { expectedRevision: 'any' })],
        ['readStream', (closed) => closed.readStream('order-1')],
        ['readAll', (closed) => closed.readAll()],
        ['streamRevision', (closed) => closed.streamRevision('order-1')],
        ['listStreams', (closed) => closed.listStreams()],
        ['headPosition', (closed) => closed.headPosition()],
        ['readByCorrelation', (closed) => closed.readByCorrelation('anything')],
        ['getStreamMetadata', (closed) => closed.getStreamMetadata('order-1')],
        ['setStreamMetadata', (closed) => closed.setStreamMetadata('order-1', { maxCount: 3 })],
      ];

      it.each(operations)('rejects %s with StoreClosedError', async (name, operation) => {
        await store.append('order-1', batch(2), { expectedRevision: 'no_stream' });
        await store.close();
        const error = await rejectionOf(call(name, () => operation(store)), StoreClosedError);
        expect(error.code).toBe('store_closed');
      });

      it('fails a subscription started after close with StoreClosedError', async () => {
        await store.append('order-1', batch(2), { expectedRevision: 'no_stream' });
        await store.close();
        let failure: unknown;
        try {
          subscriptions.push(
            store.subscribe({ fromPosition: 'start' }).subscribe({
              error: (error: unknown) => {
                failure = error;
              },
            }),
          );
        } catch (error) {
          failure = error;
        }
        await waitUntil(() => failure !== undefined, 'the subscription to fail');
        expect(failure).toBeInstanceOf(StoreClosedError);
      });
    });
  });
}
