/**
 * Replay and the context diff it shows, on the pure fold: no host, events from a memory store.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { describeState, foldAll, initialSnapshot } from '../../actors/fold.js';
import { diffJson, formatJsonPath } from '../../actors/json-diff.js';
import { replay, ReplayError } from '../../actors/replay.js';
import { MemoryBackend } from '../../events/adapters/memory.js';
import type { NewEvent, StoredEvent } from '../../events/envelope.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { counterCatalogue, counterClosed, counterIncremented, counterKind, counterReset } from '../support/counter-kind.js';

describe('diffJson', () => {
  it('finds nothing between equal values, even as different objects', () => {
    expect(diffJson({ a: 1, b: [1, { c: 'x' }] }, { a: 1, b: [1, { c: 'x' }] })).toEqual([]);
    expect(diffJson(3, 3)).toEqual([]);
    expect(diffJson(null, null)).toEqual([]);
  });

  it('addresses a change deep in arrays and objects by its path', () => {
    const before = { queue: [{ runId: 'r1' }, { runId: 'r2' }, { runId: 'r3' }] };
    const after = { queue: [{ runId: 'r1' }, { runId: 'r2' }, { runId: 'r7' }] };
    expect(diffJson(before, after)).toEqual([{ path: 'queue[2].runId', before: 'r3', after: 'r7' }]);
  });

  it('reports additions and removals without the missing side, for keys and for indexes', () => {
    expect(diffJson({ a: 1, gone: true, list: [1, 2] }, { a: 1, list: [1], added: { x: 1 } })).toEqual([
      { path: 'gone', before: true },
      { path: 'list[1]', before: 2 },
      { path: 'added', after: { x: 1 } },
    ]);
    expect(diffJson({ list: [] }, { list: ['new'] })).toEqual([{ path: 'list[0]', after: 'new' }]);
  });

  it('treats a key holding undefined as absent, as stored JSON would', () => {
    expect(diffJson({ a: undefined }, {})).toEqual([]);
    expect(diffJson({ a: undefined }, { a: 2 })).toEqual([{ path: 'a', after: 2 }]);
  });

  it('reports a change of shape (object to array, value to null) as one change at that path', () => {
    expect(diffJson({ a: { x: 1 } }, { a: [1] })).toEqual([{ path: 'a', before: { x: 1 }, after: [1] }]);
    expect(diffJson({ a: 'text' }, { a: null })).toEqual([{ path: 'a', before: 'text', after: null }]);
    expect(diffJson({ n: 0 }, { n: false })).toEqual([{ path: 'n', before: 0, after: false }]);
  });

  it('uses the empty path for a change of the whole value', () => {
    expect(diffJson(1, 2)).toEqual([{ path: '', before: 1, after: 2 }]);
    expect(diffJson([1], { 0: 1 })).toEqual([{ path: '', before: [1], after: { 0: 1 } }]);
  });

  it('quotes keys that are not identifiers', () => {
    expect(formatJsonPath(['byUser', 'U 1', 0, 'last-seen'])).toBe('byUser["U 1"][0]["last-seen"]');
    expect(formatJsonPath([0, 'a'])).toBe('[0].a');
    expect(formatJsonPath([])).toBe('');
    expect(diffJson({ 'a.b': 1 }, { 'a.b': 2 })).toEqual([{ path: '["a.b"]', before: 1, after: 2 }]);
  });
});

describe('replay', () => {
  let store: EventStore;

  beforeEach(() => {
    store = createEventStore(new MemoryBackend(), counterCatalogue);
  });

  async function stream(id: string, events: readonly NewEvent[]): Promise<StoredEvent[]> {
    await store.append(`counter-${id}`, events, { expectedRevision: 'any' });
    return store.readStream(`counter-${id}`);
  }

  it('shows each event with the state before and after and the context it changed', async () => {
    const events = await stream('a', [
      counterIncremented.create({ by: 3 }),
      counterReset.create({}),
      counterClosed.create({ reason: 'done' }),
    ]);
    const result = replay(counterKind, 'a', events);
    expect(result.steps.map((step) => [step.event.revision, step.event.type, step.stateBefore, step.stateAfter, step.contextChanges])).toEqual([
      [0n, 'counter.incremented', 'open', 'open', [{ path: 'count', before: 0, after: 3 }]],
      [1n, 'counter.reset', 'open', 'open', [{ path: 'count', before: 3, after: 0 }]],
      [2n, 'counter.closed', 'open', 'closed', []],
    ]);
    expect(result.final).toMatchObject({ state: 'closed', value: 'closed', context: { id: 'a', count: 0, limit: 10 }, revision: 2n });
  });

  it('reports the effects a transition asked for, without running anything', async () => {
    const events = await stream('full', [counterIncremented.create({ by: 4 }), counterIncremented.create({ by: 6 })]);
    const result = replay(counterKind, 'full', events);
    expect(result.steps.map((step) => step.effects)).toEqual([[], [{ type: 'notifyLimit', params: { id: 'full', count: 10 } }]]);
  });

  it('ends at --to exactly as the fold of the events up to it', async () => {
    const events = await stream('b', [
      counterIncremented.create({ by: 1 }),
      counterIncremented.create({ by: 2 }),
      counterClosed.create({ reason: 'x' }),
    ]);
    const result = replay(counterKind, 'b', events, { to: 1n });
    expect(result.steps).toHaveLength(2);
    const expected = foldAll(counterKind, initialSnapshot(counterKind, 'b'), events.slice(0, 2));
    expect(result.final.context).toEqual(expected.context);
    expect(result.final.state).toBe(describeState(expected));
    expect(result.final).toMatchObject({ state: 'open', context: { count: 3 }, revision: 1n });
    expect(replay(counterKind, 'b', events, { to: 0n }).final).toMatchObject({ context: { count: 1 }, revision: 0n });
  });

  it('gives the initial state for a stream with no events', () => {
    expect(replay(counterKind, 'none', [])).toMatchObject({ steps: [], final: { state: 'open', context: { count: 0 }, revision: null } });
  });

  it('refuses --to beyond the last revision, naming the last', async () => {
    const events = await stream('c', [counterIncremented.create({ by: 1 }), counterIncremented.create({ by: 1 })]);
    expect(() => replay(counterKind, 'c', events, { to: 5n })).toThrow(new ReplayError('stream counter-c has no revision 5 (its last is 1)'));
    expect(() => replay(counterKind, 'c', [], { to: 0n })).toThrow(/has no events/);
  });

  it('refuses a stream that does not start at its first event, or skips one', async () => {
    const events = await stream('d', [counterIncremented.create({ by: 1 }), counterIncremented.create({ by: 1 }), counterReset.create({})]);
    expect(() => replay(counterKind, 'd', events.slice(1))).toThrow(/expected revision 0, found 1/);
    expect(() => replay(counterKind, 'd', [events[0]!, events[2]!])).toThrow(/expected revision 1, found 2/);
  });

  it('refuses events of another stream', async () => {
    const events = await stream('e', [counterIncremented.create({ by: 1 })]);
    expect(() => replay(counterKind, 'other', events)).toThrow(/belongs to stream counter-e, not counter-other/);
  });
});
