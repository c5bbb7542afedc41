/**
 * The same workload through several event stores in one run, for `npm run bench -- events
 * --backend eventstoredb`: SQLite (durable, as the runtime opens it) beside the EventStoreDB
 * adapter on the fake server and, when one is named, on a real server.
 *
 * Every store goes through the full EventStore (catalogue, validation, hash chain), so what
 * differs is the backend alone. Per round and store:
 *   - append throughput with 1 appender (each append timed, for p50/p99) and with 16, each
 *     appender doing single-event appends to its own stream with real optimistic concurrency;
 *   - readAll of exactly the events the round appended, in pages, from the position the store
 *     was at before (a real server keeps earlier runs' events, so "from the start" would not
 *     be the same work everywhere).
 * Rounds rotate which store goes first, so they share the machine's noise; medians are reported.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import type { NewEvent } from '../../events/envelope.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore, ExpectedRevision } from '../../events/port.js';
import { benchCatalogue, benchEvent } from './bench-catalogue.js';
import { formatMs, formatNumber, formatRate, formatRatio, formatTable, median, summarize, type Summary } from './stats.js';

/** A store being measured, opened afresh for each round where it can be. */
export interface ComparedStore {
  /** The column header: `sqlite`, `eventstoredb (fake)`, `eventstoredb (esdb://host:2113)`. */
  readonly name: string;
  /** `server` keeps what earlier rounds and runs wrote; the others start empty each round. */
  readonly kind: 'sqlite' | 'fake' | 'server';
  openRound(dir: string): Promise<OpenedRound>;
}

export interface OpenedRound {
  readonly store: EventStore;
  close(): Promise<void>;
}

/** The embedded store as the runtime opens it: WAL, synchronous=FULL (every append durable). */
export function sqliteComparedStore(): ComparedStore {
  return {
    name: 'sqlite',
    kind: 'sqlite',
    openRound: async (dir) => {
      const backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
      if (backend.durability !== 'FULL') {
        await backend.close();
        throw new Error(`the SQLite store opened with synchronous=${backend.durability}, expected FULL`);
      }
      const store = createEventStore(backend, benchCatalogue);
      return { store, close: () => store.close() };
    },
  };
}

export interface ComparisonPlan {
  readonly rounds: number;
  readonly warmupEvents: number;
  readonly singleAppenderEvents: number;
  readonly concurrentAppenders: number;
  readonly concurrentEvents: number;
  readonly readPasses: number;
  readonly readPage: number;
}

export const FULL_COMPARISON: ComparisonPlan = {
  rounds: 3,
  warmupEvents: 200,
  singleAppenderEvents: 2_000,
  concurrentAppenders: 16,
  concurrentEvents: 8_000,
  readPasses: 3,
  readPage: 1_000,
};

export const QUICK_COMPARISON: ComparisonPlan = {
  rounds: 1,
  warmupEvents: 50,
  singleAppenderEvents: 200,
  concurrentAppenders: 16,
  concurrentEvents: 800,
  readPasses: 2,
  readPage: 1_000,
};

export interface RoundResult {
  readonly singleEventsPerSecond: number;
  readonly singleLatency: Summary;
  readonly concurrentEventsPerSecond: number;
  readonly readEventsPerSecond: number;
  readonly eventsRead: number;
}

export interface StoreResult {
  readonly name: string;
  readonly kind: ComparedStore['kind'];
  readonly rounds: readonly RoundResult[];
  /** Medians over the rounds. */
  readonly singleEventsPerSecond: number;
  readonly singleP50Ms: number;
  readonly singleP99Ms: number;
  readonly concurrentEventsPerSecond: number;
  readonly readEventsPerSecond: number;
}

interface Workload {
  readonly streams: readonly string[];
  readonly events: readonly (readonly NewEvent[])[];
  readonly total: number;
}

/** `appenders` streams of `perAppender` events each, named uniquely for this run and round. */
function buildWorkload(prefix: string, appenders: number, perAppender: number): Workload {
  const streams = Array.from({ length: appenders }, (_, a) => `${prefix}-a${a}`);
  const events = streams.map((_, a) => {
    const conversationId = randomUUID();
    return Array.from({ length: perAppender }, (_, k) => benchEvent(a, k, conversationId));
  });
  return { streams, events, total: appenders * perAppender };
}

/** Every appender loops single-event appends to its own stream; returns each append's time in ms. */
async function runAppenders(store: EventStore, workload: Workload): Promise<number[]> {
  const timings: number[] = [];
  await Promise.all(
    workload.events.map(async (events, a) => {
      const streamId = workload.streams[a]!;
      let expectedRevision: ExpectedRevision = 'no_stream';
      for (const event of events) {
        const began = performance.now();
        const result = await store.append(streamId, [event], { expectedRevision });
        timings.push(performance.now() - began);
        expectedRevision = result.nextExpectedRevision;
      }
    }),
  );
  return timings;
}

/** Reads $all forwards from `from` in pages until a short page; the number of events read. */
async function readAllFrom(store: EventStore, from: bigint, pageSize: number): Promise<number> {
  let count = 0;
  let next = from;
  for (;;) {
    const page = await store.readAll({ fromPosition: next, maxCount: pageSize });
    count += page.length;
    if (page.length < pageSize) return count;
    next = page[page.length - 1]!.position + 1n;
  }
}

async function measureRound(target: ComparedStore, dir: string, prefix: string, plan: ComparisonPlan): Promise<RoundResult> {
  await mkdir(dir, { recursive: true });
  const opened = await target.openRound(dir);
  try {
    const { store } = opened;
    const head = await store.headPosition();
    const warmup = buildWorkload(`${prefix}-warmup`, 1, plan.warmupEvents);
    const single = buildWorkload(`${prefix}-single`, 1, plan.singleAppenderEvents);
    const perAppender = Math.max(1, Math.round(plan.concurrentEvents / plan.concurrentAppenders));
    const concurrent = buildWorkload(`${prefix}-concurrent`, plan.concurrentAppenders, perAppender);

    await runAppenders(store, warmup);
    let began = performance.now();
    const latencies = await runAppenders(store, single);
    const singleSeconds = (performance.now() - began) / 1_000;
    began = performance.now();
    await runAppenders(store, concurrent);
    const concurrentSeconds = (performance.now() - began) / 1_000;

    // Exactly what this round appended: a real server also holds earlier rounds' and runs' events.
    const appended = warmup.total + single.total + concurrent.total;
    const rates: number[] = [];
    for (let pass = 0; pass < plan.readPasses; pass += 1) {
      began = performance.now();
      const read = await readAllFrom(store, head + 1n, plan.readPage);
      const seconds = (performance.now() - began) / 1_000;
      if (read !== appended) throw new Error(`${target.name}: readAll from position ${head + 1n} found ${read} events, the round appended ${appended}`);
      rates.push(read / seconds);
    }
    return {
      singleEventsPerSecond: single.total / singleSeconds,
      singleLatency: summarize(latencies),
      concurrentEventsPerSecond: concurrent.total / concurrentSeconds,
      readEventsPerSecond: median(rates),
      eventsRead: appended,
    };
  } finally {
    await opened.close();
  }
}

/** Runs the plan on every store, rotating which goes first each round. */
export async function compareStores(
  targets: readonly ComparedStore[],
  plan: ComparisonPlan,
  root: string,
  log: (line: string) => void,
): Promise<StoreResult[]> {
  // Unique per run: a real server keeps streams between runs, and appends expect new streams.
  const runId = randomUUID().slice(0, 8);
  const rounds = targets.map((): RoundResult[] => []);
  for (let round = 0; round < plan.rounds; round += 1) {
    for (let turn = 0; turn < targets.length; turn += 1) {
      const index = (round + turn) % targets.length;
      const target = targets[index]!;
      const result = await measureRound(target, join(root, `round${round}-store${index}`), `bench${runId}-r${round}`, plan);
      rounds[index]!.push(result);
      log(
        `  round ${round + 1}/${plan.rounds}, ${target.name}: append ${formatRate(result.singleEventsPerSecond)} (1 appender), ` +
          `${formatRate(result.concurrentEventsPerSecond)} (${plan.concurrentAppenders}); readAll ${formatRate(result.readEventsPerSecond)}`,
      );
    }
  }
  return targets.map((target, index) => {
    const results = rounds[index]!;
    return {
      name: target.name,
      kind: target.kind,
      rounds: results,
      singleEventsPerSecond: median(results.map((result) => result.singleEventsPerSecond)),
      singleP50Ms: median(results.map((result) => result.singleLatency.p50)),
      singleP99Ms: median(results.map((result) => result.singleLatency.p99)),
      concurrentEventsPerSecond: median(results.map((result) => result.concurrentEventsPerSecond)),
      readEventsPerSecond: median(results.map((result) => result.readEventsPerSecond)),
    };
  });
}

/**
 * The table: one column per store, the first (SQLite) the reference, and after every other
 * store its ratio to it (throughput: higher is better; latency: lower is better).
 */
export function formatComparison(results: readonly StoreResult[], plan: ComparisonPlan): string {
  const [reference, ...others] = results;
  if (reference === undefined) throw new Error('no store was measured');
  const metrics: { label: string; value: (result: StoreResult) => number; format: (value: number) => string }[] = [
    { label: 'append, 1 appender (events/s)', value: (result) => result.singleEventsPerSecond, format: formatRate },
    { label: 'append latency p50, 1 appender', value: (result) => result.singleP50Ms, format: formatMs },
    { label: 'append latency p99, 1 appender', value: (result) => result.singleP99Ms, format: formatMs },
    { label: `append, ${plan.concurrentAppenders} appenders (events/s)`, value: (result) => result.concurrentEventsPerSecond, format: formatRate },
    { label: `readAll, pages of ${formatNumber(plan.readPage)} (events/s)`, value: (result) => result.readEventsPerSecond, format: formatRate },
  ];
  const headers = ['metric', reference.name, ...others.flatMap((other) => [other.name, `/ ${reference.name}`])];
  const rows = metrics.map((metric) => [
    metric.label,
    metric.format(metric.value(reference)),
    ...others.flatMap((other) => [metric.format(metric.value(other)), formatRatio(metric.value(other) / metric.value(reference))]),
  ]);
  return formatTable(headers, rows);
}
