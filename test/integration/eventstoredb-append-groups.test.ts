/**
 * Appends that queue up behind one another are taken together by the EventStoreDB backend
 * (one catch-up before the group, one after): each must still be decided, placed and hashed
 * as if it ran alone, in call order, and a refused one must not break the ones after it.
 * Real client, fake server (test/fakes/eventstoredb).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventIdConflictError, WrongExpectedRevisionError } from '../../events/errors.js';
import { verifyHashChains } from '../../events/verify.js';
import { testStoreOf, useEventStoreDbFixture } from '../support/eventstoredb-fixture.js';
import { happened } from '../support/test-catalogue.js';

const world = useEventStoreDbFixture('ledgerclaw-esdb-groups-');
const open = (overrides?: Parameters<typeof world.open>[0]) => world.open(overrides);
const storeOf = testStoreOf;

async function verifiedEvents(): Promise<number> {
  const result = await verifyHashChains(await open({ mode: 'reader', indexPath: ':memory:' }));
  expect(result).toMatchObject({ ok: true });
  return (result as { events: number }).events;
}

describe('appends queued together', () => {
  it('places each in call order, chained on the ones before it in the same group, and all verify', async () => {
    const store = storeOf(await open());
    const streams = ['order-1', 'order-2', 'order-1', 'order-3', 'order-1', 'order-2'];
    const results = await Promise.all(
      streams.map((stream, index) => store.append(stream, [happened(index), happened(index + 100)], { expectedRevision: 'any' })),
    );
    expect(results.map((result) => result.position)).toEqual([2n, 4n, 6n, 8n, 10n, 12n]);
    expect(results.map((result) => result.nextExpectedRevision)).toEqual([1n, 1n, 3n, 1n, 5n, 3n]);
    // Visible to reads as soon as each append is answered: the group was indexed before.
    expect(await store.headPosition()).toBe(12n);
    const order1 = await store.readStream('order-1');
    expect(order1.map((event) => event.position)).toEqual([1n, 2n, 5n, 6n, 9n, 10n]);
    expect(await verifiedEvents()).toBe(12);
  });

  it('refuses one whose expectation fails against the ones before it, and goes on with the rest', async () => {
    const store = storeOf(await open());
    const [first, stale, wrongTwin, third] = await Promise.allSettled([
      store.append('order-1', [happened(1)], { expectedRevision: 'no_stream' }),
      // Decided after the first one: the stream exists now.
      store.append('order-1', [happened(2)], { expectedRevision: 'no_stream' }),
      store.append('order-1', [happened(3)], { expectedRevision: 5n }),
      store.append('order-1', [happened(4)], { expectedRevision: 0n }),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 0n, position: 1n } });
    expect(stale).toMatchObject({ status: 'rejected', reason: expect.any(WrongExpectedRevisionError) });
    expect(wrongTwin).toMatchObject({ status: 'rejected', reason: expect.any(WrongExpectedRevisionError) });
    expect(third).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 1n, position: 2n } });
    expect(await verifiedEvents()).toBe(2);
  });

  it('recognises the retry of an append written earlier in the same group, and refuses an id reused elsewhere', async () => {
    const store = storeOf(await open());
    const id = '4a7a3c1e-2f7e-4a43-9d6b-8d8f7b0f9a11';
    const [original, retry, reused] = await Promise.all([
      store.append('order-1', [happened(1, { id })], { expectedRevision: 'no_stream' }),
      store.append('order-1', [happened(1, { id })], { expectedRevision: 'no_stream' }),
      store.append('order-2', [happened(1, { id })], { expectedRevision: 'any' }).catch((error: unknown) => error),
    ]);
    expect(retry).toMatchObject({ nextExpectedRevision: original.nextExpectedRevision, position: original.position });
    expect(retry.events.map((event) => event.hash)).toEqual(original.events.map((event) => event.hash));
    expect(reused).toBeInstanceOf(EventIdConflictError);
    expect(await verifiedEvents()).toBe(1);
  });

  it('decides again the one the server refuses because another writer moved the stream, and the ones after it still land', async () => {
    const backend = await open();
    const store = storeOf(backend);
    const other = storeOf(await open({ indexPath: join(world.dir, 'other-index.db') }));
    await store.append('order-1', [happened(0)], { expectedRevision: 'no_stream' });
    let asked = 0;
    // Between the group's catch-up and its second write, another writer appends to that stream.
    backend.setWriteGuard(async () => {
      asked += 1;
      if (asked === 2) await other.append('order-1', [happened(99)], { expectedRevision: 'any' });
      return 1n;
    });
    const results = await Promise.all([
      store.append('order-2', [happened(1)], { expectedRevision: 'no_stream' }),
      store.append('order-1', [happened(2)], { expectedRevision: 'any' }),
      store.append('order-3', [happened(3)], { expectedRevision: 'no_stream' }),
      store.append('order-1', [happened(4)], { expectedRevision: 'any' }),
    ]);
    expect(results.map((result) => result.nextExpectedRevision)).toEqual([0n, 2n, 0n, 3n]);
    expect(results.map((result) => result.position)).toEqual([2n, 4n, 5n, 6n]);
    const order1 = await store.readStream('order-1');
    expect(order1.map((event) => (event.data as { count: number }).count)).toEqual([0, 99, 2, 4]);
    expect(await verifiedEvents()).toBe(6);
  });
});
