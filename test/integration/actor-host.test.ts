/**
 * The actor host on the real SQLite store: commands decided by the machine and appended
 * with optimistic concurrency, serialized per actor, effects only after storage and never
 * on replay, snapshots that are only ever a cache, and passivation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeState, foldAll, initialSnapshot } from '../../actors/fold.js';
import { openSqliteBackend, type SqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { ActorConflictError, ActorHost, InvalidCommandError, type ActorHostOptions } from '../../runtime/actor-host/actor-host.js';
import type { EffectContext } from '../../runtime/actor-host/effects.js';
import { machineHash } from '../../snapshots/machine-hash.js';
import { MemorySnapshotStore } from '../../snapshots/snapshot-store.js';
import { SqliteSnapshotStore } from '../../snapshots/sqlite-snapshot-store.js';
import { counterCatalogue, counterKind, type CounterKind } from '../support/counter-kind.js';

let dir: string;
let backend: SqliteBackend;
let store: EventStore;
const hosts: ActorHost<CounterKind>[] = [];

function host(options: Partial<ActorHostOptions<CounterKind>> = {}): ActorHost<CounterKind> {
  const created = new ActorHost({ requireAllEffects: false, store, kinds: [counterKind], ...options });
  hosts.push(created);
  return created;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-host-'));
  backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, counterCatalogue);
});

afterEach(async () => {
  for (const created of hosts.splice(0)) await created.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('commands', () => {
  it('appends what the machine decides and folds it into the live state', async () => {
    const actors = host();
    const result = await actors.send('counter', 'a', { type: 'increment', by: 3 });
    expect(result).toMatchObject({ status: 'accepted', revision: 0n, state: 'open', duplicate: false });
    const events = await store.readStream('counter-a');
    expect(events.map((event) => [event.type, event.data])).toEqual([['counter.incremented', { by: 3 }]]);
    expect((await actors.load('counter', 'a')).snapshot.context).toMatchObject({ count: 3 });
  });

  it('appends nothing for a rejected command and says why', async () => {
    const actors = host();
    await actors.send('counter', 'a', { type: 'increment', by: 9 });
    const result = await actors.send('counter', 'a', { type: 'increment', by: 5 });
    expect(result).toEqual({ status: 'rejected', reason: 'the counter would pass its limit of 10', state: 'open' });
    await actors.send('counter', 'a', { type: 'close', reason: 'done' });
    const closed = await actors.send('counter', 'a', { type: 'reset' });
    expect(closed).toMatchObject({ status: 'rejected', reason: 'reset is not accepted while the counter is closed' });
    expect(await store.streamRevision('counter-a')).toBe(1n);
  });

  it('refuses a malformed command before the machine sees it, naming the field', async () => {
    const actors = host();
    await expect(actors.send('counter', 'a', { type: 'increment', by: -1 } as never)).rejects.toThrow(InvalidCommandError);
    await expect(actors.send('counter', 'a', { type: 'increment', by: 'two' } as never)).rejects.toThrow(/by/);
    await expect(actors.sendUnchecked('nosuch', 'a', { type: 'increment' })).rejects.toThrow(/unknown actor kind 'nosuch'/);
    expect(await store.streamRevision('counter-a')).toBeNull();
  });

  it('serializes concurrent commands to one actor, each decided on the state before it', async () => {
    const actors = host();
    const results = await Promise.all(Array.from({ length: 15 }, () => actors.send('counter', 'busy', { type: 'increment', by: 1 })));
    expect(results.filter((result) => result.status === 'accepted')).toHaveLength(10);
    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(5);
    const events = await store.readStream('counter-busy');
    expect(events.map((event) => event.revision)).toEqual(Array.from({ length: 10 }, (_, index) => BigInt(index)));
  });

  it('reloads and decides again when another writer moved the stream', async () => {
    const first = host();
    const second = host();
    await first.send('counter', 'shared', { type: 'increment', by: 4 });
    await second.send('counter', 'shared', { type: 'increment', by: 4 });
    // `first` still believes the count is 4 at revision 0; its decision must be made again on 8.
    const result = await first.send('counter', 'shared', { type: 'increment', by: 3 });
    expect(result).toMatchObject({ status: 'rejected', reason: 'the counter would pass its limit of 10' });
    const accepted = await first.send('counter', 'shared', { type: 'increment', by: 2 });
    expect(accepted).toMatchObject({ status: 'accepted', revision: 2n });
    expect((await first.load('counter', 'shared')).snapshot.context).toMatchObject({ count: 10 });
  });

  it('gives up with a clear error when the stream never stops moving', async () => {
    const restless: EventStore = {
      ...store,
      append: async (streamId, events, options) => {
        // Someone else always appends first.
        await store.append(streamId, [{ type: 'counter.reset', data: {} }], { expectedRevision: 'any' });
        return store.append(streamId, events, options);
      },
      readStream: (streamId, options) => store.readStream(streamId, options),
      listStreams: (options) => store.listStreams(options),
    };
    const actors = new ActorHost({ requireAllEffects: false, store: restless, kinds: [counterKind], maxConflictRetries: 2 });
    hosts.push(actors);
    await expect(actors.send('counter', 'hot', { type: 'increment', by: 1 })).rejects.toThrow(ActorConflictError);
  });

  it('stores a retried command once, recognising it by its command id', async () => {
    const actors = host();
    const first = await actors.send('counter', 'a', { type: 'increment', by: 2 }, { commandId: 'slack-Ev123' });
    await actors.send('counter', 'a', { type: 'increment', by: 1 });
    const again = await host().send('counter', 'a', { type: 'increment', by: 2 }, { commandId: 'slack-Ev123' });
    expect(again).toMatchObject({ status: 'accepted', duplicate: true });
    if (first.status !== 'accepted' || again.status !== 'accepted') throw new Error('expected acceptance');
    expect(again.events.map((event) => event.id)).toEqual(first.events.map((event) => event.id));
    expect(await store.streamRevision('counter-a')).toBe(1n);
  });

  it('carries correlation and causation from a command through the effects it causes', async () => {
    const actors = host({
      effects: {
        'counter.notifyLimit': async (params: unknown, context: EffectContext<CounterKind>) => {
          await context.send('counter', `${(params as { id: string }).id}-follower`, { type: 'increment', by: 1 });
        },
      },
    });
    const result = await actors.send('counter', 'lead', { type: 'increment', by: 10 }, { correlationId: 'slack-msg-1' });
    await actors.idle();
    if (result.status !== 'accepted') throw new Error('expected acceptance');
    const [cause] = result.events;
    const [followed] = await store.readStream('counter-lead-follower');
    expect(cause!.metadata.correlationId).toBe('slack-msg-1');
    expect(followed!.metadata).toMatchObject({ correlationId: 'slack-msg-1', causationId: cause!.id });
  });
});

describe('effects', () => {
  it('runs an effect once, after its event is stored, and never when the actor is replayed', async () => {
    const seen: { params: unknown; key: string; stored: bigint | null }[] = [];
    const effects = {
      'counter.notifyLimit': async (params: unknown, context: EffectContext<CounterKind>) => {
        seen.push({ params, key: context.key, stored: await store.streamRevision(context.actor.streamId) });
      },
    };
    const actors = host({ effects });
    await actors.send('counter', 'full', { type: 'increment', by: 6 });
    const result = await actors.send('counter', 'full', { type: 'increment', by: 4 });
    await actors.idle();
    if (result.status !== 'accepted') throw new Error('expected acceptance');
    expect(seen).toEqual([{ params: { id: 'full', count: 10 }, key: `${result.events[0]!.id}:0`, stored: 1n }]);

    const replaying = host({ effects });
    expect((await replaying.load('counter', 'full')).snapshot.context).toMatchObject({ count: 10 });
    await replaying.idle();
    expect(seen).toHaveLength(1);
  });

  it('resumes on start-up the effects an actor state says are still owed', async () => {
    await host().send('counter', 'owed', { type: 'increment', by: 10 });
    await host().send('counter', 'settled', { type: 'increment', by: 10 });
    await host().send('counter', 'settled', { type: 'close', reason: 'handled' });
    const resumed: string[] = [];
    const restarted = host({
      effects: {
        'counter.notifyLimit': async (_params: unknown, context: EffectContext<CounterKind>) => {
          resumed.push(`${context.actor.streamId} ${context.key} ${context.cause === undefined ? 'resumed' : 'caused'}`);
        },
      },
    });
    expect(await restarted.resumePendingEffects()).toBe(1);
    await restarted.idle();
    expect(resumed).toEqual(['counter-owed counter-owed@0:pending:0 resumed']);
  });
});

describe('snapshots', () => {
  async function fillActors(actors: ActorHost<CounterKind>, count: number, commands: number): Promise<void> {
    for (let actor = 0; actor < count; actor += 1) {
      for (let index = 0; index < commands; index += 1) {
        await actors.send('counter', `n${actor}`, index % 3 === 2 ? { type: 'reset' } : { type: 'increment', by: 1 + (index % 4) });
      }
    }
  }

  it('saves a snapshot every N events and loads from it, folding only the rest', async () => {
    const snapshots = new MemorySnapshotStore();
    const actors = host({ snapshots, snapshotEvery: 5 });
    await fillActors(actors, 1, 12);
    await actors.idle();
    const saved = await snapshots.load('counter-n0', machineHash(counterKind.machine));
    expect(saved?.revision).toBe(9n);
    const fresh = host({ snapshots, snapshotEvery: 5 });
    const loaded = await fresh.load('counter', 'n0');
    const replayed = foldAll(counterKind, initialSnapshot(counterKind, 'n0'), await store.readStream('counter-n0'));
    expect(loaded.revision).toBe(11n);
    expect(loaded.snapshot.context).toEqual(replayed.context);
  });

  it('ignores a snapshot made by another machine definition', async () => {
    const snapshots = new MemorySnapshotStore();
    await host().send('counter', 'x', { type: 'increment', by: 2 });
    await snapshots.save('counter-x', 'some-older-machine', { revision: 0n, state: { value: 'closed', context: { id: 'x', count: 99, limit: 10 } } });
    const loaded = await host({ snapshots }).load('counter', 'x');
    expect(loaded.state).toBe('open');
    expect(loaded.snapshot.context).toMatchObject({ count: 2 });
  });

  it('gives identical state for every actor after every snapshot is deleted', async () => {
    const snapshots = await SqliteSnapshotStore.open(join(dir, 'snapshots.db'));
    try {
      const writer = host({ snapshots, snapshotEvery: 3 });
      await fillActors(writer, 20, 9);
      await writer.idle();
      const withSnapshots = host({ snapshots });
      const before = await Promise.all(Array.from({ length: 20 }, (_, index) => withSnapshots.load('counter', `n${index}`)));
      await snapshots.clear();
      const fromEvents = host({ snapshots });
      const after = await Promise.all(Array.from({ length: 20 }, (_, index) => fromEvents.load('counter', `n${index}`)));
      expect(after.map((actor) => [actor.state, actor.revision, actor.snapshot.context])).toEqual(
        before.map((actor) => [actor.state, actor.revision, actor.snapshot.context]),
      );
    } finally {
      await snapshots.close();
    }
  });
});

describe('passivation', () => {
  it('keeps at most maxLiveActors in memory and brings an unloaded actor back from its stream', async () => {
    const actors = host({ maxLiveActors: 10 });
    const passivated: string[] = [];
    actors.inspection.subscribe((event) => {
      if (event.type === 'passivated') passivated.push(event.streamId);
    });
    for (let index = 0; index < 40; index += 1) await actors.send('counter', `p${index}`, { type: 'increment', by: (index % 9) + 1 });
    expect(actors.liveActors().length).toBeLessThanOrEqual(10);
    expect(passivated).toContain('counter-p0');
    expect(passivated.length + actors.liveActors().length).toBe(40);
    expect(actors.liveActors().map((actor) => actor.id)).not.toContain('p0');
    const back = await actors.load('counter', 'p0');
    expect(back.snapshot.context).toMatchObject({ count: 1 });
    expect(describeState(back.snapshot)).toBe('open');
  });
});
