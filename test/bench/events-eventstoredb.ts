/**
 * `npm run bench -- events --backend eventstoredb`: the EventStoreDB adapter's appends and
 * readAll beside SQLite's, in the same run (test/bench/store-comparison.ts), on the fake
 * EventStoreDB and, when LEDGERCLAW_EVENTSTOREDB_URL names one, on a real server.
 *
 * The fake's figures are not a real server's, and the report says so in as many words: the
 * fake is a test double that keeps its log in memory in one Node.js process. They show what
 * the adapter and the gRPC round trips cost, nothing about EventStoreDB itself.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { openEventStoreDbBackend } from '../../events/adapters/eventstoredb/eventstoredb-backend.js';
import { createEventStore } from '../../events/event-store.js';
import { configSchema } from '../../runtime/config.js';
import { EVENTSTOREDB_URL_ENV, readEventStoreDbUrl, redactConnectionString, redactConnectionStringIn } from '../../runtime/eventstoredb-url.js';
import { benchCatalogue } from './bench-catalogue.js';
import { startFakeProcess, type FakeEndpoint } from './eventstoredb-fake-process.js';
import { compareStores, formatComparison, FULL_COMPARISON, QUICK_COMPARISON, sqliteComparedStore, type ComparedStore, type ComparisonPlan } from './store-comparison.js';
import { inBenchWorkspace } from './suite-workspace.js';

export const FAKE_FIGURES_WARNING =
  "The fake's figures are not a real EventStoreDB server's: the fake is a test double that keeps its log in memory in one Node.js process " +
  '(no disk, no fsync, no replication, no server-side index), so they measure the adapter and the gRPC round trips on 127.0.0.1, ' +
  `not EventStoreDB. For a real server's, set ${EVENTSTOREDB_URL_ENV} (docker compose up eventstoredb).`;

/** The deadline of each call, as the runtime's default config sets it. */
const REQUEST_TIMEOUT_MS = configSchema.parse({}).eventStore.eventstoredb.requestTimeoutMs;

/**
 * A store on EventStoreDB through the adapter; `connect` gives the server for one round. On a
 * real server each round is a namespace of its own (an empty store of a shared server), so
 * the bench neither reads nor trips over what else the server holds.
 */
export function eventStoreDbComparedStore(name: string, kind: 'fake' | 'server', connect: () => Promise<FakeEndpoint>): ComparedStore {
  return {
    name,
    kind,
    openRound: async (dir) => {
      const endpoint = await connect();
      try {
        // The index is a cache in the round's folder: a fresh one rebuilds from the server's $all.
        const backend = await openEventStoreDbBackend({
          connectionString: endpoint.url,
          mode: 'writer',
          indexPath: join(dir, 'eventstoredb-index.db'),
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          ...(kind === 'server' ? { namespace: `ledgerclaw-bench-${randomUUID().slice(0, 8)}.` } : {}),
        });
        const store = createEventStore(backend, benchCatalogue);
        return {
          store,
          close: async () => {
            try {
              await store.close();
            } finally {
              await endpoint.close();
            }
          },
        };
      } catch (error) {
        await endpoint.close();
        throw error;
      }
    },
  };
}

export interface EventStoreDbSuiteOptions {
  readonly dir?: string;
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

export interface EventStoreDbSuiteDependencies {
  /** A fresh fake for each round: its own process by default. */
  readonly startFake: () => Promise<FakeEndpoint>;
  /** Where LEDGERCLAW_EVENTSTOREDB_URL is read from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The quick or full plan unless given (tests). */
  readonly plan?: ComparisonPlan;
}

export async function runEventStoreDbEventsSuite(
  options: EventStoreDbSuiteOptions,
  dependencies: EventStoreDbSuiteDependencies = { startFake: startFakeProcess, env: process.env },
): Promise<{ table: string; figures: Record<string, unknown> }> {
  const { log } = options;
  const plan = dependencies.plan ?? (options.quick ? QUICK_COMPARISON : FULL_COMPARISON);
  const configured = dependencies.env[EVENTSTOREDB_URL_ENV];
  const serverUrl = configured === undefined || configured === '' ? undefined : readEventStoreDbUrl(dependencies.env);
  const serverName = serverUrl === undefined ? undefined : `eventstoredb (${redactConnectionString(serverUrl)})`;
  const targets: ComparedStore[] = [
    sqliteComparedStore(),
    eventStoreDbComparedStore('eventstoredb (fake)', 'fake', dependencies.startFake),
    ...(serverUrl === undefined || serverName === undefined
      ? []
      : [eventStoreDbComparedStore(serverName, 'server', () => Promise.resolve({ url: serverUrl, close: () => Promise.resolve() }))]),
  ];
  const started = performance.now();
  log(`events suite, eventstoredb${options.quick ? ' (quick)' : ''}: ${targets.map((target) => target.name).join(', ')}`);
  log(`  ${FAKE_FIGURES_WARNING}`);
  if (serverName === undefined) log(`  ${EVENTSTOREDB_URL_ENV} is not set: no real server is measured`);

  let results;
  try {
    results = await inBenchWorkspace('ledgerclaw-bench-events-esdb-', options.dir, (root) => compareStores(targets, plan, root, log));
  } catch (error) {
    // The connection string can hold a password: it leaves only redacted, whatever failed.
    if (serverUrl === undefined || !(error instanceof Error)) throw error;
    throw new Error(redactConnectionStringIn(error.message, serverUrl));
  }
  const seconds = (performance.now() - started) / 1_000;

  const header = [
    `events suite, eventstoredb${options.quick ? ' (quick)' : ''}: the same appends and readAll through SQLite (WAL, synchronous=FULL) and the EventStoreDB adapter, node ${process.version}`,
    `each appender does single-event appends to its own stream with expected revisions; readAll reads back exactly what the round appended.`,
    `median of ${plan.rounds} round(s), the stores taking turns to go first; ratios: the store / sqlite (throughput: higher is better; latency: lower is better). Took ${seconds.toFixed(0)} s.`,
    serverName === undefined ? `no real server measured: ${EVENTSTOREDB_URL_ENV} is not set.` : `real server: ${serverName}.`,
    '',
  ].join('\n');
  const table = `${header}\n${formatComparison(results, plan)}\n\n${FAKE_FIGURES_WARNING}`;

  const figures = {
    suite: 'events',
    backend: 'eventstoredb',
    quick: options.quick,
    node: process.version,
    plan,
    fakeFiguresAreNotARealServers: true,
    warning: FAKE_FIGURES_WARNING,
    stores: results.map((result) => ({
      name: result.name,
      kind: result.kind,
      appendSingle: { eventsPerSecond: result.singleEventsPerSecond, p50Ms: result.singleP50Ms, p99Ms: result.singleP99Ms },
      appendConcurrent: { appenders: plan.concurrentAppenders, eventsPerSecond: result.concurrentEventsPerSecond },
      readAll: { pageSize: plan.readPage, eventsPerSecond: result.readEventsPerSecond },
      rounds: result.rounds.map((round) => ({
        singleEventsPerSecond: round.singleEventsPerSecond,
        concurrentEventsPerSecond: round.concurrentEventsPerSecond,
        readEventsPerSecond: round.readEventsPerSecond,
        eventsRead: round.eventsRead,
      })),
    })),
    seconds,
  };
  return { table, figures };
}
