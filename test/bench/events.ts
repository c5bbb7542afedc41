/**
 * The events suite: the durable SQLite event store (WAL, synchronous=FULL, the defaults)
 * beside the limit for this driver, measured in the same run.
 *
 * - Append throughput with 1, 16 and 64 concurrent appenders, each doing single-event
 *   appends to its own stream with real optimistic concurrency. The baseline inserts the
 *   very same rows (same columns and values, hashes included) into the same schema with one
 *   multi-row INSERT of N rows per transaction, N the appender count: what perfect group
 *   commit of N concurrent single-event appends would do with no overhead at all.
 * - Single durable append latency (one appender) beside a single-row transaction.
 * - readAll in pages of 1,000 (checked and upcast) beside raw SELECT pages of the same rows.
 *
 * Store and baseline run back to back per level so they share the machine's noise. The
 * baseline goes through the same promise wrapper (SqliteConnection) into the same schema
 * (its stream-index trigger included) with one cached multi-row INSERT per transaction in
 * autocommit, the fewest round trips the driver allows, so the ratio is the store's own
 * overhead, not a different driver's.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, realpath, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import sqlite3 from 'sqlite3';
import { SqliteConnection, type SqlValue, type SqliteStatement } from '../../events/adapters/sqlite/connection.js';
import { MIGRATIONS } from '../../events/adapters/sqlite/migrations.js';
import { openSqliteBackend, type SqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import type { PrepareContext } from '../../events/catalogue.js';
import type { NewEvent } from '../../events/envelope.js';
import { createEventStore } from '../../events/event-store.js';
import { chainHashV2, CURRENT_HASH_VERSION, GENESIS_HASH } from '../../events/hash-chain.js';
import type { EventStore, ExpectedRevision } from '../../events/port.js';
import { loadConfig } from '../../runtime/config.js';
import { benchCatalogue, benchEvent } from './bench-catalogue.js';
import { formatMs, formatNumber, formatRate, formatRatio, formatTable, median, summarize, type Summary } from './stats.js';
import { inBenchWorkspace, verdict, type Target } from './suite-workspace.js';

export interface EventsSuiteOptions {
  readonly dir?: string;
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

interface Plan {
  readonly levels: readonly { readonly appenders: number; readonly events: number }[];
  readonly warmupEvents: number;
  /** Store and baseline runs per level, alternating which goes first; the medians are reported. */
  readonly appendRounds: number;
  readonly latencyAppends: number;
  /** Latency is measured in alternating chunks of this many, store then baseline. */
  readonly latencyChunk: number;
  readonly readRounds: number;
  readonly readPage: number;
}

const FULL_PLAN: Plan = {
  levels: [
    { appenders: 1, events: 3_000 },
    { appenders: 16, events: 16_000 },
    { appenders: 64, events: 32_000 },
  ],
  warmupEvents: 200,
  appendRounds: 3,
  latencyAppends: 2_000,
  latencyChunk: 250,
  readRounds: 3,
  readPage: 1_000,
};

const QUICK_PLAN: Plan = {
  levels: [
    { appenders: 1, events: 300 },
    { appenders: 16, events: 1_600 },
    { appenders: 64, events: 3_200 },
  ],
  warmupEvents: 100,
  appendRounds: 1,
  latencyAppends: 200,
  latencyChunk: 50,
  readRounds: 2,
  readPage: 1_000,
};

const TARGET_RATIO_AT_16 = 0.6;
const TARGET_P50_MS = 2;

/**
 * The data directory the runtime would use from here (its config file, LEDGERCLAW_DATA,
 * the default `./data`). The suite only compares filesystems with it: what a durable
 * commit costs is a property of the filesystem.
 */
function runtimeDataDir(): { path: string; note?: string } {
  try {
    return { path: loadConfig({ env: process.env, cwd: process.cwd() }).config.dataDir };
  } catch (error) {
    const path = resolve('data');
    return { path, note: `the runtime config did not load (${error instanceof Error ? error.message : String(error)}); assuming ${path}` };
  }
}

const EVENT_COLUMNS = 'position, stream_id, revision, event_id, type, version, data, metadata, recorded_at, prev_hash, hash_version, hash';
const COLUMN_COUNT = 12;
const ROW_PLACEHOLDERS = `(${new Array<string>(COLUMN_COUNT).fill('?').join(', ')})`;
const RAW_PAGE_SELECT = `SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`;

// ---------------------------------------------------------------------------------------
// Workloads: the events each appender appends, and the same rows as the baseline writes them.

interface Workload {
  readonly appenders: number;
  readonly total: number;
  readonly streams: readonly string[];
  /** `events[a][k]`: the k-th event appender `a` appends to `streams[a]`. */
  readonly events: readonly (readonly NewEvent[])[];
  /**
   * The baseline's transactions, each the flattened parameters of one INSERT of
   * `appenders` rows: transaction k holds event k of every appender, as perfect group
   * commit would write them, positions in that order.
   */
  readonly transactions: readonly SqlValue[][];
}

const prepareContext: PrepareContext = { defaultActor: 'system', now: () => new Date() };

function buildWorkload(label: string, appenders: number, perAppender: number, firstPosition: number): Workload {
  const streams = Array.from({ length: appenders }, (_, a) => `bench${label}-a${a}`);
  const events = streams.map((_, a) => {
    const conversationId = randomUUID();
    return Array.from({ length: perAppender }, (_, k) => benchEvent(a, k, conversationId));
  });
  const prevHashes = streams.map(() => GENESIS_HASH);
  // The baseline is never verified, so its $all chain may start afresh: the hashing costs the same.
  let allPrevHash = GENESIS_HASH;
  const transactions: SqlValue[][] = [];
  let position = firstPosition;
  for (let k = 0; k < perAppender; k += 1) {
    const recordedAt = new Date().toISOString();
    const params: SqlValue[] = [];
    for (let a = 0; a < appenders; a += 1) {
      // The catalogue's own prepare: the stored bytes are exactly those the store writes.
      const prepared = benchCatalogue.prepare(events[a]![k]!, prepareContext, 'bench workload');
      const streamId = streams[a]!;
      const prevHash = prevHashes[a]!;
      const hash = chainHashV2({ allPrevHash, prevHash, streamId, revision: BigInt(k), position: BigInt(position), recordedAt }, prepared);
      params.push(
        position, streamId, k, prepared.id, prepared.type, prepared.version,
        prepared.dataJson, prepared.metadataJson, recordedAt, prevHash, CURRENT_HASH_VERSION, hash,
      );
      prevHashes[a] = hash;
      allPrevHash = hash;
      position += 1;
    }
    transactions.push(params);
  }
  return { appenders, total: appenders * perAppender, streams, events, transactions };
}

/** A warm-up of about `events` events at the level's concurrency, and the measured workload after it. */
function buildLevel(tag: string, appenders: number, events: number, warmupEvents: number): { warmup: Workload; work: Workload } {
  const warmup = buildWorkload(`_warmup-${tag}`, appenders, Math.max(1, Math.ceil(warmupEvents / appenders)), 1);
  const work = buildWorkload(`-${tag}`, appenders, Math.max(1, Math.round(events / appenders)), warmup.total + 1);
  return { warmup, work };
}

// ---------------------------------------------------------------------------------------
// The store side.

interface OpenStore {
  readonly backend: SqliteBackend;
  readonly store: EventStore;
}

async function openStore(dir: string): Promise<OpenStore> {
  await mkdir(dir, { recursive: true });
  const backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
  if (backend.durability !== 'FULL') {
    await backend.close();
    throw new Error(`the store opened with synchronous=${backend.durability}, expected FULL`);
  }
  return { backend, store: createEventStore(backend, benchCatalogue) };
}

/** Every appender loops single-event appends to its own stream, expecting the revision it last wrote. */
async function runAppenders(store: EventStore, workload: Workload): Promise<void> {
  await Promise.all(
    workload.events.map(async (events, a) => {
      const streamId = workload.streams[a]!;
      let expectedRevision: ExpectedRevision = 'no_stream';
      for (const event of events) {
        const result = await store.append(streamId, [event], { expectedRevision });
        expectedRevision = result.nextExpectedRevision;
      }
    }),
  );
}

interface StoreThroughput {
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly transactions: number;
  readonly appends: number;
  readonly eventsPerTransaction: number;
}

async function measureStoreAppends(dir: string, warmup: Workload, work: Workload): Promise<StoreThroughput> {
  const { backend, store } = await openStore(dir);
  try {
    await runAppenders(store, warmup);
    const before = backend.writerStats!;
    const started = performance.now();
    await runAppenders(store, work);
    const seconds = (performance.now() - started) / 1_000;
    const after = backend.writerStats!;
    const transactions = after.transactions - before.transactions;
    const events = after.events - before.events;
    if (events !== work.total) throw new Error(`the store wrote ${events} events, expected ${work.total}`);
    return {
      seconds,
      eventsPerSecond: work.total / seconds,
      transactions,
      appends: after.appends - before.appends,
      eventsPerTransaction: events / transactions,
    };
  } finally {
    await backend.close();
  }
}

// ---------------------------------------------------------------------------------------
// The baseline side: the same rows through the bare driver.

interface Baseline {
  readonly connection: SqliteConnection;
  /** A prepared multi-row INSERT per row count. */
  readonly inserts: Map<number, SqliteStatement>;
}

async function openBaseline(dir: string): Promise<Baseline> {
  await mkdir(dir, { recursive: true });
  const connection = await SqliteConnection.open(join(dir, 'events.db'), { create: true });
  await connection.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
  for (const migration of MIGRATIONS) {
    await connection.exec('BEGIN IMMEDIATE');
    await connection.exec(migration.sql);
    await connection.exec(`PRAGMA user_version = ${migration.version}`);
    await connection.exec('COMMIT');
  }
  const journal = await connection.get<{ journal_mode: string }>('PRAGMA journal_mode');
  const synchronous = await connection.get<{ synchronous: number }>('PRAGMA synchronous');
  if (journal?.journal_mode !== 'wal' || synchronous?.synchronous !== 2) {
    await connection.close();
    throw new Error(`the baseline opened with journal_mode=${journal?.journal_mode}, synchronous=${synchronous?.synchronous}`);
  }
  return { connection, inserts: new Map() };
}

async function closeBaseline(baseline: Baseline): Promise<void> {
  for (const statement of baseline.inserts.values()) await statement.finalize();
  await baseline.connection.close();
}

/**
 * One multi-row INSERT of every row of the transaction, in autocommit: a single statement
 * is atomic and durable on its own, so this is the fewest round trips the driver allows.
 */
async function commitRows(baseline: Baseline, params: readonly SqlValue[]): Promise<void> {
  const rows = params.length / COLUMN_COUNT;
  let insert = baseline.inserts.get(rows);
  if (!insert) {
    insert = await baseline.connection.prepare(
      `INSERT INTO events (${EVENT_COLUMNS}) VALUES ${new Array<string>(rows).fill(ROW_PLACEHOLDERS).join(', ')}`,
    );
    baseline.inserts.set(rows, insert);
  }
  await insert.run(params);
}

interface BaselineThroughput {
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly transactions: number;
  readonly rowsPerTransaction: number;
}

async function measureBaselineInserts(dir: string, warmup: Workload, work: Workload): Promise<BaselineThroughput> {
  const baseline = await openBaseline(dir);
  try {
    for (const params of warmup.transactions) await commitRows(baseline, params);
    const started = performance.now();
    for (const params of work.transactions) await commitRows(baseline, params);
    const seconds = (performance.now() - started) / 1_000;
    const row = await baseline.connection.get<{ rows: number }>('SELECT count(*) AS rows FROM events');
    if (row?.rows !== warmup.total + work.total) throw new Error(`the baseline holds ${row?.rows} rows, expected ${warmup.total + work.total}`);
    return {
      seconds,
      rowsPerSecond: work.total / seconds,
      transactions: work.transactions.length,
      rowsPerTransaction: work.total / work.transactions.length,
    };
  } finally {
    await closeBaseline(baseline);
  }
}

// ---------------------------------------------------------------------------------------
// Latency: one appender; store and baseline alternate in chunks so they share the noise.

interface LatencyResult {
  readonly appends: number;
  readonly store: Summary;
  readonly baseline: Summary;
}

async function measureLatency(root: string, plan: Plan, log: (line: string) => void): Promise<LatencyResult> {
  const { warmup, work } = buildLevel('latency', 1, plan.latencyAppends, plan.warmupEvents);
  const { backend, store } = await openStore(join(root, 'latency-store'));
  let baseline: Baseline | undefined;
  try {
    baseline = await openBaseline(join(root, 'latency-baseline'));
    await runAppenders(store, warmup);
    for (const params of warmup.transactions) await commitRows(baseline, params);

    const streamId = work.streams[0]!;
    const events = work.events[0]!;
    const storeMs: number[] = [];
    const baselineMs: number[] = [];
    let expectedRevision: ExpectedRevision = 'no_stream';
    for (let start = 0; start < events.length; start += plan.latencyChunk) {
      const end = Math.min(events.length, start + plan.latencyChunk);
      for (let k = start; k < end; k += 1) {
        const began = performance.now();
        const result = await store.append(streamId, [events[k]!], { expectedRevision });
        storeMs.push(performance.now() - began);
        expectedRevision = result.nextExpectedRevision;
      }
      for (let k = start; k < end; k += 1) {
        const began = performance.now();
        await commitRows(baseline, work.transactions[k]!);
        baselineMs.push(performance.now() - began);
      }
      log(`  latency: ${end}/${events.length}`);
    }
    return { appends: events.length, store: summarize(storeMs), baseline: summarize(baselineMs) };
  } finally {
    await backend.close();
    if (baseline) await closeBaseline(baseline);
  }
}

// ---------------------------------------------------------------------------------------
// readAll: the whole 64-appender store, pages of 1,000, beside raw SELECT pages of the same file.

interface ReadResult {
  readonly events: number;
  readonly pageSize: number;
  readonly rounds: number;
  readonly storeEventsPerSecond: number;
  readonly baselineRowsPerSecond: number;
}

async function readAllThroughStore(store: EventStore, pageSize: number): Promise<number> {
  let count = 0;
  let from: bigint | 'start' = 'start';
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: pageSize });
    count += page.length;
    if (page.length < pageSize) return count;
    from = page[page.length - 1]!.position + 1n;
  }
}

async function readAllRaw(connection: SqliteConnection, pageSize: number): Promise<number> {
  let count = 0;
  let after = 0;
  for (;;) {
    const rows = await connection.all<{ position: number }>(RAW_PAGE_SELECT, [after, pageSize]);
    count += rows.length;
    if (rows.length < pageSize) return count;
    after = rows[rows.length - 1]!.position;
  }
}

async function measureReadAll(storeDir: string, plan: Plan, log: (line: string) => void): Promise<ReadResult> {
  const { backend, store } = await openStore(storeDir);
  let raw: SqliteConnection | undefined;
  try {
    raw = await SqliteConnection.open(join(storeDir, 'events.db'), { create: false });
    await raw.exec('PRAGMA query_only = ON;');
    // One untimed pass each warms the OS cache, SQLite's page caches and the JIT.
    const expected = await readAllThroughStore(store, plan.readPage);
    const rawCount = await readAllRaw(raw, plan.readPage);
    if (rawCount !== expected) throw new Error(`raw read ${rawCount} rows, the store ${expected} events`);
    const storeRates: number[] = [];
    const rawRates: number[] = [];
    for (let round = 0; round < plan.readRounds; round += 1) {
      let began = performance.now();
      const viaStore = await readAllThroughStore(store, plan.readPage);
      storeRates.push(viaStore / ((performance.now() - began) / 1_000));
      began = performance.now();
      const viaRaw = await readAllRaw(raw, plan.readPage);
      rawRates.push(viaRaw / ((performance.now() - began) / 1_000));
      if (viaStore !== expected || viaRaw !== expected) throw new Error('readAll counts changed between rounds');
      log(`  readAll round ${round + 1}/${plan.readRounds}: ledgerclaw ${formatRate(storeRates.at(-1))}, raw ${formatRate(rawRates.at(-1))}`);
    }
    return {
      events: expected,
      pageSize: plan.readPage,
      rounds: plan.readRounds,
      storeEventsPerSecond: median(storeRates),
      baselineRowsPerSecond: median(rawRates),
    };
  } finally {
    await raw?.close();
    await backend.close();
  }
}

// ---------------------------------------------------------------------------------------
// Where the run happens.

interface FilesystemInfo {
  readonly path: string;
  readonly type: string;
  readonly mount: string;
  readonly source: string;
}

/** The mount holding `path`, from /proc/self/mounts (Linux), else statfs's magic number. */
async function describeFilesystem(path: string): Promise<FilesystemInfo> {
  const real = await realpath(path);
  try {
    const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    const mounts = (await readFile('/proc/self/mounts', 'utf8'))
      .split('\n')
      .map((line) => line.split(' '))
      .filter((fields) => fields.length >= 3)
      .map((fields) => ({ source: unescape(fields[0]!), mount: unescape(fields[1]!), type: fields[2]! }));
    const holding = mounts
      .filter(({ mount }) => real === mount || real.startsWith(mount.endsWith('/') ? mount : `${mount}/`))
      .sort((a, b) => b.mount.length - a.mount.length)[0];
    if (holding) return { path: real, ...holding };
  } catch {
    // Not Linux: fall through.
  }
  const info = await statfs(real);
  return { path: real, type: `0x${info.type.toString(16)}`, mount: '?', source: '?' };
}

/** The nearest existing directory at or above `path`. */
async function nearestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    if (await stat(current).then(() => true, () => false)) return current;
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

// ---------------------------------------------------------------------------------------

interface LevelResult {
  readonly appenders: number;
  readonly events: number;
  readonly rounds: readonly { readonly store: StoreThroughput; readonly baseline: BaselineThroughput }[];
  /** Medians over the rounds. */
  readonly storeEventsPerSecond: number;
  readonly baselineRowsPerSecond: number;
  /** Over every round: events written / transactions committed. */
  readonly storeEventsPerTransaction: number;
  readonly baselineRowsPerTransaction: number;
  /** Median store rate / median baseline rate. */
  readonly ratio: number;
}

async function measureLevel(
  root: string,
  plan: Plan,
  level: { readonly appenders: number; readonly events: number },
  log: (line: string) => void,
): Promise<LevelResult & { readonly lastStoreDir: string }> {
  const tag = `l${level.appenders}`;
  const { warmup, work } = buildLevel(tag, level.appenders, level.events, plan.warmupEvents);
  log(`append, ${level.appenders} appender${level.appenders === 1 ? '' : 's'}, ${work.total} events, ${plan.appendRounds} round(s):`);
  const rounds: { store: StoreThroughput; baseline: BaselineThroughput }[] = [];
  let lastStoreDir = '';
  for (let round = 0; round < plan.appendRounds; round += 1) {
    // Every run gets fresh files; the same rows are written each time.
    lastStoreDir = join(root, `store-${tag}-r${round}`);
    const baselineDir = join(root, `baseline-${tag}-r${round}`);
    let store: StoreThroughput;
    let baseline: BaselineThroughput;
    if (round % 2 === 0) {
      store = await measureStoreAppends(lastStoreDir, warmup, work);
      baseline = await measureBaselineInserts(baselineDir, warmup, work);
    } else {
      baseline = await measureBaselineInserts(baselineDir, warmup, work);
      store = await measureStoreAppends(lastStoreDir, warmup, work);
    }
    rounds.push({ store, baseline });
    log(
      `  round ${round + 1}: ledgerclaw ${formatRate(store.eventsPerSecond)} (${store.eventsPerTransaction.toFixed(1)} events/transaction), ` +
        `baseline ${formatRate(baseline.rowsPerSecond)} (${baseline.rowsPerTransaction} rows/transaction), ` +
        `ratio ${formatRatio(store.eventsPerSecond / baseline.rowsPerSecond)}`,
    );
  }
  const storeEventsPerSecond = median(rounds.map((round) => round.store.eventsPerSecond));
  const baselineRowsPerSecond = median(rounds.map((round) => round.baseline.rowsPerSecond));
  const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
  return {
    appenders: level.appenders,
    events: work.total,
    rounds,
    storeEventsPerSecond,
    baselineRowsPerSecond,
    storeEventsPerTransaction: (work.total * rounds.length) / sum(rounds.map((round) => round.store.transactions)),
    baselineRowsPerTransaction: (work.total * rounds.length) / sum(rounds.map((round) => round.baseline.transactions)),
    ratio: storeEventsPerSecond / baselineRowsPerSecond,
    lastStoreDir,
  };
}

export async function runEventsSuite(options: EventsSuiteOptions): Promise<{ table: string; figures: Record<string, unknown> }> {
  const { log } = options;
  const plan = options.quick ? QUICK_PLAN : FULL_PLAN;
  const suiteStarted = performance.now();
  return inBenchWorkspace('ledgerclaw-bench-events-', options.dir, async (root) => {
    const filesystem = await describeFilesystem(root);
    const dataDir = runtimeDataDir();
    if (dataDir.note) log(`  warning: ${dataDir.note}`);
    const dataDirProbe = await nearestExisting(dataDir.path);
    const dataDirFilesystem = await describeFilesystem(dataDirProbe);
    const sameDevice = (await stat(root)).dev === (await stat(dataDirProbe)).dev;
    log(`events suite${options.quick ? ' (quick)' : ''}: working in ${root}`);
    log(`  filesystem: ${filesystem.type} (${filesystem.source} mounted at ${filesystem.mount})`);
    log(
      `  data dir ${dataDir.path}: ${dataDirFilesystem.type} at ${dataDirFilesystem.mount}` +
        (sameDevice ? ' (same filesystem)' : ' -- a DIFFERENT filesystem: pass --dir on the data directory filesystem'),
    );
    if (filesystem.type === 'tmpfs' || filesystem.type === 'ramfs') {
      log('  warning: the working directory is in memory; fsync costs nothing there and the figures are not durable ones');
    }

    const levels: LevelResult[] = [];
    let readDir = '';
    for (const level of plan.levels) {
      const result = await measureLevel(root, plan, level, log);
      levels.push(result);
      readDir = result.lastStoreDir;
    }

    log('append latency, 1 appender:');
    const latency = await measureLatency(root, plan, log);
    log(`  ledgerclaw p50 ${formatMs(latency.store.p50)} p99 ${formatMs(latency.store.p99)}; baseline p50 ${formatMs(latency.baseline.p50)} p99 ${formatMs(latency.baseline.p99)}`);

    const biggest = plan.levels[plan.levels.length - 1]!;
    log(`readAll of the ${biggest.appenders}-appender store:`);
    const read = await measureReadAll(readDir, plan, log);

    const at16 = levels.find((level) => level.appenders === 16);
    const targets: Target[] = [
      ...(at16
        ? [{ name: 'append16RatioAtLeast', value: at16.ratio, threshold: TARGET_RATIO_AT_16, pass: at16.ratio >= TARGET_RATIO_AT_16 }]
        : []),
      { name: 'latencyP50MsBelow', value: latency.store.p50, threshold: TARGET_P50_MS, pass: latency.store.p50 < TARGET_P50_MS },
    ];
    const readRatio = read.storeEventsPerSecond / read.baselineRowsPerSecond;
    const seconds = (performance.now() - suiteStarted) / 1_000;

    const rows: string[][] = [];
    for (const level of levels) {
      const target =
        level.appenders === 16 ? `>= ${TARGET_RATIO_AT_16.toFixed(2)}x: ${verdict(level.ratio >= TARGET_RATIO_AT_16)}` : '';
      rows.push([
        `append, ${level.appenders} appender${level.appenders === 1 ? '' : 's'} (events/s)`,
        formatRate(level.storeEventsPerSecond),
        formatRate(level.baselineRowsPerSecond),
        formatRatio(level.ratio),
        target,
      ]);
      rows.push([
        '  events per transaction',
        formatNumber(level.storeEventsPerTransaction, 1),
        formatNumber(level.baselineRowsPerTransaction, 1),
        '',
        '',
      ]);
    }
    rows.push([
      'append latency p50, 1 appender',
      formatMs(latency.store.p50),
      formatMs(latency.baseline.p50),
      formatRatio(latency.store.p50 / latency.baseline.p50),
      `< ${TARGET_P50_MS} ms: ${verdict(latency.store.p50 < TARGET_P50_MS)}`,
    ]);
    rows.push([
      'append latency p99, 1 appender',
      formatMs(latency.store.p99),
      formatMs(latency.baseline.p99),
      formatRatio(latency.store.p99 / latency.baseline.p99),
      '',
    ]);
    rows.push([
      `readAll, pages of ${formatNumber(read.pageSize)} (events/s)`,
      formatRate(read.storeEventsPerSecond),
      formatRate(read.baselineRowsPerSecond),
      formatRatio(readRatio),
      '',
    ]);

    const header = [
      `events suite${options.quick ? ' (quick)' : ''}: durable appends (WAL, synchronous=FULL), sqlite ${sqlite3.VERSION}, node ${process.version}`,
      `in ${root} on ${filesystem.type} (${filesystem.source} at ${filesystem.mount}), ` +
        (sameDevice ? `the data dir's filesystem` : `NOT the data dir's filesystem (${dataDirFilesystem.type} at ${dataDirFilesystem.mount}): pass --dir`),
      `baseline: the same rows through the bare driver, one multi-row INSERT of N rows per transaction (N = appenders);`,
      `throughput: median of ${plan.appendRounds} round(s) a level, store and baseline alternating; readAll: median of ${plan.readRounds} rounds.`,
      `ratio: ledgerclaw / baseline (throughput: higher is better; latency: lower is better). Took ${seconds.toFixed(0)} s.`,
      '',
    ].join('\n');
    const table = formatTable(['metric', 'ledgerclaw', 'baseline', 'ratio', 'target'], rows, {
      align: ['left', 'right', 'right', 'right', 'left'],
    });

    const figures = {
      suite: 'events',
      quick: options.quick,
      durability: 'FULL',
      sqlite: sqlite3.VERSION,
      node: process.version,
      filesystem: { type: filesystem.type, mount: filesystem.mount, source: filesystem.source, dataDir: dataDir.path, sameAsDataDir: sameDevice },
      append: levels.map((level) => ({
        appenders: level.appenders,
        events: level.events,
        rounds: level.rounds.length,
        store: {
          eventsPerSecond: level.storeEventsPerSecond,
          eventsPerTransaction: level.storeEventsPerTransaction,
          eventsPerSecondByRound: level.rounds.map((round) => round.store.eventsPerSecond),
          transactionsByRound: level.rounds.map((round) => round.store.transactions),
          appendsByRound: level.rounds.map((round) => round.store.appends),
        },
        baseline: {
          rowsPerSecond: level.baselineRowsPerSecond,
          rowsPerTransaction: level.baselineRowsPerTransaction,
          rowsPerSecondByRound: level.rounds.map((round) => round.baseline.rowsPerSecond),
        },
        ratio: level.ratio,
        ratioByRound: level.rounds.map((round) => round.store.eventsPerSecond / round.baseline.rowsPerSecond),
      })),
      latency: {
        appends: latency.appends,
        store: { p50Ms: latency.store.p50, p90Ms: latency.store.p90, p99Ms: latency.store.p99, meanMs: latency.store.mean, maxMs: latency.store.max },
        baseline: {
          p50Ms: latency.baseline.p50,
          p90Ms: latency.baseline.p90,
          p99Ms: latency.baseline.p99,
          meanMs: latency.baseline.mean,
          maxMs: latency.baseline.max,
        },
        ratioP50: latency.store.p50 / latency.baseline.p50,
        ratioP99: latency.store.p99 / latency.baseline.p99,
      },
      readAll: {
        events: read.events,
        pageSize: read.pageSize,
        rounds: read.rounds,
        store: { eventsPerSecond: read.storeEventsPerSecond },
        baseline: { rowsPerSecond: read.baselineRowsPerSecond },
        ratio: readRatio,
      },
      targets,
      seconds,
    };
    return { table: `${header}\n${table}`, figures };
  });
}
