/** The rule every adapter's importVerbatim applies (events/verbatim-import.ts), and the memory backend's all-or-none. */
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../events/adapters/memory.js';
import type { RawStoredEvent } from '../../../events/envelope.js';
import { createEventStore } from '../../../events/event-store.js';
import { GENESIS_HASH } from '../../../events/hash-chain.js';
import { planVerbatimImport, VerbatimImportRefusedError } from '../../../events/verbatim-import.js';
import { verifyHashChains } from '../../../events/verify.js';
import { happened, testCatalogue } from '../../support/test-catalogue.js';

async function storedEvents(count: number): Promise<RawStoredEvent[]> {
  const backend = new MemoryBackend();
  const store = createEventStore(backend, testCatalogue);
  for (let index = 0; index < count; index += 1) await store.append(index % 2 ? 'task-b' : 'task-a', [happened(index)], { expectedRevision: 'any' });
  return backend.readAll({ from: 1n, direction: 'forwards', maxCount: 1_000 });
}

const empty = { headPosition: 0n, streamHeads: new Map(), storedId: () => undefined };

describe('planVerbatimImport', () => {
  it('accepts events that continue the store, and says where it ends after them', async () => {
    const events = await storedEvents(4);
    const plan = planVerbatimImport(events, empty);
    expect(plan.headPosition).toBe(4n);
    expect(plan.streamHeads.get('task-a')).toEqual({ revision: 1n, hash: events[2]!.hash });
  });

  it('refuses a position at or before the store head', async () => {
    const events = await storedEvents(2);
    expect(() => planVerbatimImport(events, { ...empty, headPosition: 1n })).toThrow("positions must grow past the store's newest (1)");
  });

  it('refuses a revision that does not follow the stream head', async () => {
    const [, second] = await storedEvents(2);
    expect(() => planVerbatimImport([second!], empty)).not.toThrow();
    const [, , third] = await storedEvents(3);
    expect(() => planVerbatimImport([third!], empty)).toThrow(/the stream has no events, so its next revision is 0/);
  });

  it('refuses a link that is not the stored head hash', async () => {
    const events = await storedEvents(3);
    const heads = new Map([['task-a', { revision: 0n, hash: 'f'.repeat(64) }]]);
    const error = (() => {
      try {
        planVerbatimImport([events[2]!], { headPosition: 2n, streamHeads: heads, storedId: () => undefined });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(VerbatimImportRefusedError);
    expect((error as Error).message).toContain('task-a@1 at position 3');
  });

  it('refuses an event id stored already, or twice in one batch', async () => {
    const [first] = await storedEvents(1);
    expect(() => planVerbatimImport([first!], { ...empty, storedId: () => ({ streamId: 'x', revision: 4n }) })).toThrow('stored already at x@4');
    const twin = { ...first!, position: 2n, streamId: 'task-z', prevHash: GENESIS_HASH };
    expect(() => planVerbatimImport([first!, twin], empty)).toThrow('twice in this batch');
  });
});

describe('MemoryBackend.importVerbatim', () => {
  it('stores the events as given, and later appends continue their chain', async () => {
    const events = await storedEvents(5);
    const target = new MemoryBackend();
    await target.importVerbatim(events);
    expect(await target.readAll({ from: 1n, direction: 'forwards', maxCount: 100 })).toEqual(events);
    await createEventStore(target, testCatalogue).append('task-a', [happened(9)], { expectedRevision: 2n });
    expect(await verifyHashChains(target)).toMatchObject({ ok: true, events: 6 });
  });

  it('writes none of a call with one bad event', async () => {
    const events = await storedEvents(5);
    const broken = [...events.slice(0, 4), { ...events[4]!, revision: 7n }];
    const target = new MemoryBackend();
    await expect(target.importVerbatim(broken)).rejects.toBeInstanceOf(VerbatimImportRefusedError);
    expect(await target.headPosition()).toBe(0n);
    expect(await target.listStreams({})).toEqual([]);
  });
});
