/**
 * A runtime process for the crash test: an actor host on a real SQLite store and snapshot
 * store, with many concurrent senders storming many counters. It logs every acknowledged
 * command and every effect invocation synchronously, so a SIGKILL at any moment leaves a
 * record of exactly what it promised. Run: node actor-storm.js <dataDir> <storm|recover> [ms]
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../events/event-store.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import type { EffectContext } from '../../runtime/actor-host/effects.js';
import { SqliteSnapshotStore } from '../../snapshots/sqlite-snapshot-store.js';
import { counterCatalogue, counterKind, type CounterKind } from './counter-kind.js';

export const STORM_COUNTERS = 300;
const SENDERS = 24;

async function main(): Promise<void> {
  const [dataDir, mode, durationArg] = process.argv.slice(2);
  if (!dataDir || (mode !== 'storm' && mode !== 'recover')) {
    throw new Error('usage: actor-storm <dataDir> <storm|recover> [durationMs]');
  }
  const acks = join(dataDir, 'acks.log');
  const effects = join(dataDir, 'effects.log');
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, counterCatalogue);
  const snapshots = await SqliteSnapshotStore.open(join(dataDir, 'snapshots.db'));
  const host = new ActorHost({
    requireAllEffects: false,
    store,
    kinds: [counterKind],
    snapshots,
    snapshotEvery: 4,
    maxLiveActors: 100,
    effects: {
      'counter.notifyLimit': async (params: unknown, context: EffectContext<CounterKind>) => {
        appendFileSync(effects, `${context.key} ${context.actor.streamId} ${JSON.stringify(params)}\n`);
        await context.send('counter', context.actor.id, { type: 'close', reason: 'limit reached' });
      },
    },
  });

  if (mode === 'recover') {
    const resumed = await host.resumePendingEffects();
    await host.idle();
    process.stdout.write(`recovered ${resumed}\n`);
  }

  const until = Date.now() + Number(durationArg ?? 60_000);
  let sequence = 0;
  const sender = async (lane: number) => {
    while (Date.now() < until) {
      const counter = `c${(lane * 7919 + sequence * 104_729) % STORM_COUNTERS}`;
      sequence += 1;
      const command = sequence % 5 === 0 ? { type: 'reset' as const } : { type: 'increment' as const, by: 1 + (sequence % 3) };
      const commandId = `${process.pid}-${lane}-${sequence}`;
      const result = await host.send('counter', counter, command, { commandId });
      if (result.status === 'accepted' && !result.duplicate) {
        appendFileSync(acks, `${commandId} counter-${counter} ${result.events.map((event) => event.revision).join(',')}\n`);
      }
    }
  };
  process.stdout.write('storming\n');
  await Promise.all(Array.from({ length: SENDERS }, (_, lane) => sender(lane)));
  await host.stop();
  await snapshots.close();
  await store.close();
  process.stdout.write('stopped\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
