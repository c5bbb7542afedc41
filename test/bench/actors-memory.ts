/**
 * The memory probe of the actors benchmark, run in a process of its own so that nothing
 * else the benchmark did sits in its heap:
 *
 *   node --expose-gc dist/test/bench/actors-memory.js <events.db> <actors>
 *
 * It opens the store read-only, measures the resident set size, loads actors `bench-0` …
 * `bench-<actors - 1>` into one actor host and keeps them live, measures again, and prints
 * one JSON line. Both measurements follow a full GC when --expose-gc is given.
 */
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../events/event-store.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { benchCatalogue } from './bench-catalogue.js';
import { benchKind } from './bench-kind.js';

export interface MemoryProbeResult {
  readonly actors: number;
  readonly live: number;
  readonly gc: boolean;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly heapUsedBeforeBytes: number;
  readonly heapUsedAfterBytes: number;
  readonly loadSeconds: number;
}

const LOAD_CONCURRENCY = 64;

/** `global.gc` exists only under --expose-gc; two passes let finalizers run and free what they held. */
function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  gc();
  return true;
}

async function probe(path: string, actors: number): Promise<MemoryProbeResult> {
  const backend = await openSqliteBackend({ path, mode: 'reader' });
  const store = createEventStore(backend, benchCatalogue);
  const host = new ActorHost({ requireAllEffects: false, store, kinds: [benchKind], maxLiveActors: actors * 2 });
  try {
    const gc = collectGarbage();
    const before = process.memoryUsage();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: LOAD_CONCURRENCY }, async () => {
        for (let actor = next++; actor < actors; actor = next++) await host.load('bench', String(actor));
      }),
    );
    const loadSeconds = (performance.now() - started) / 1_000;
    collectGarbage();
    const after = process.memoryUsage();
    return {
      actors,
      live: host.liveActors().length,
      gc,
      rssBeforeBytes: before.rss,
      rssAfterBytes: after.rss,
      heapUsedBeforeBytes: before.heapUsed,
      heapUsedAfterBytes: after.heapUsed,
      loadSeconds,
    };
  } finally {
    await host.stop();
    await store.close();
  }
}

const [path, count] = process.argv.slice(2);
if (!path || !count || !/^[0-9]+$/.test(count)) {
  process.stderr.write('usage: node --expose-gc actors-memory.js <events.db> <actors>\n');
  process.exitCode = 2;
} else {
  probe(path, Number(count)).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`memory probe failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
