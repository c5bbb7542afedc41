/**
 * The actors suite: the actor host on the durable SQLite store (WAL, synchronous=FULL).
 *
 * - Rehydration of one actor with a 10,000-event stream by a fresh host each time (what a
 *   restart or a passivated actor costs): from a snapshot 50 events behind the head (the
 *   average under the default snapshotEvery=100), beside a full replay of the stream.
 * - Commands per second through the host (decide, append with expectedRevision, read back,
 *   fold) from many concurrent senders to many actors, beside raw store.append of the same
 *   events with the same concurrency in the same run, each stream's appends in order as the
 *   host's mailbox keeps them.
 * - Resident memory with 10,000 live actors of a few events each, measured in a child
 *   process of its own (test/bench/actors-memory.ts) after a full GC.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sqlite3 from 'sqlite3';
import { openSqliteBackend, type SqliteBackend, type SqliteSynchronous } from '../../events/adapters/sqlite/sqlite-backend.js';
import type { NewEvent } from '../../events/envelope.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { machineHash } from '../../snapshots/machine-hash.js';
import { SqliteSnapshotStore } from '../../snapshots/sqlite-snapshot-store.js';
import type { MemoryProbeResult } from './actors-memory.js';
import { benchCatalogue } from './bench-catalogue.js';
import { benchKind, benchMessage } from './bench-kind.js';
import { formatMs, formatNumber, formatRate, formatRatio, formatTable, median, summarize, type Summary } from './stats.js';
import { inBenchWorkspace, verdict, type Target } from './suite-workspace.js';

export interface ActorsSuiteOptions {
  readonly dir?: string;
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

interface Plan {
  readonly streamEvents: number;
  /** How far behind the head the snapshot is. */
  readonly snapshotLag: number;
  readonly snapshotLoads: number;
  readonly fullReplayLoads: number;
  readonly commandActors: number;
  readonly senders: number;
  readonly commands: number;
  readonly commandRounds: number;
  readonly memoryActors: number;
  readonly eventsPerMemoryActor: number;
}

const FULL_PLAN: Plan = {
  streamEvents: 10_000,
  snapshotLag: 50,
  snapshotLoads: 200,
  fullReplayLoads: 20,
  commandActors: 1_000,
  senders: 64,
  commands: 20_000,
  commandRounds: 3,
  memoryActors: 10_000,
  eventsPerMemoryActor: 5,
};

const QUICK_PLAN: Plan = {
  ...FULL_PLAN,
  snapshotLoads: 30,
  fullReplayLoads: 5,
  commandActors: 200,
  commands: 2_000,
  commandRounds: 1,
};

const TARGET_SNAPSHOT_P50_MS = 5;
const TARGET_SPEEDUP = 50;
const TARGET_RSS_MB = 400;
const MB = 1024 * 1024;

const LONG_ACTOR = 'long';
const SETUP_BATCH = 500;

async function openStore(dir: string, synchronous: SqliteSynchronous = 'FULL'): Promise<{ backend: SqliteBackend; store: EventStore }> {
  await mkdir(dir, { recursive: true });
  const backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer', synchronous });
  return { backend, store: createEventStore(backend, benchCatalogue) };
}

/** Appends `events` to one stream in batches. */
async function appendAll(store: EventStore, streamId: string, events: readonly NewEvent[]): Promise<void> {
  for (let start = 0; start < events.length; start += SETUP_BATCH) {
    await store.append(streamId, events.slice(start, start + SETUP_BATCH), { expectedRevision: 'any' });
  }
}

// ---------------------------------------------------------------------------------------
// (a) Rehydration.

interface RehydrateResult {
  readonly streamEvents: number;
  readonly snapshotRevision: number;
  readonly snapshot: Summary;
  readonly fullReplay: Summary;
}

/** Loads the long actor with a fresh read-only host, as a restarted runtime would, and times the load alone. */
async function timedLoad(store: EventStore, snapshots: SqliteSnapshotStore | undefined, expectedMessages: number): Promise<number> {
  const host = new ActorHost({ requireAllEffects: false, store, kinds: [benchKind], readOnly: true, ...(snapshots ? { snapshots } : {}) });
  try {
    const began = performance.now();
    const view = await host.load('bench', LONG_ACTOR);
    const ms = performance.now() - began;
    const messages = (view.snapshot.context as { messages: number }).messages;
    if (messages !== expectedMessages) throw new Error(`the actor loaded with ${messages} messages, expected ${expectedMessages}`);
    return ms;
  } finally {
    await host.stop();
  }
}

async function measureRehydrate(root: string, plan: Plan, log: (line: string) => void): Promise<RehydrateResult> {
  const dir = join(root, 'rehydrate');
  const { store } = await openStore(dir);
  const snapshots = await SqliteSnapshotStore.open(join(dir, 'snapshots.db'));
  try {
    const conversationId = randomUUID();
    const events = Array.from({ length: plan.streamEvents }, (_, seq) => benchMessage(0, seq, conversationId).event);
    const streamId = `bench-${LONG_ACTOR}`;
    const head = plan.streamEvents - plan.snapshotLag;
    await appendAll(store, streamId, events.slice(0, head));
    // The host's own snapshot policy makes the snapshot: a load past snapshotEvery saves one.
    const writer = new ActorHost({ requireAllEffects: false, store, kinds: [benchKind], snapshots, snapshotEvery: 100 });
    await writer.load('bench', LONG_ACTOR);
    await writer.stop();
    const hash = machineHash(benchKind.machine);
    for (let waited = 0; !(await snapshots.load(streamId, hash)); waited += 10) {
      if (waited > 10_000) throw new Error('the host saved no snapshot');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const saved = await snapshots.load(streamId, hash);
    await appendAll(store, streamId, events.slice(head));
    log(`rehydrate: ${plan.streamEvents} events, snapshot at revision ${saved!.revision}`);

    // Untimed loads first: page caches, JIT.
    for (let warm = 0; warm < 3; warm += 1) {
      await timedLoad(store, undefined, plan.streamEvents);
      await timedLoad(store, snapshots, plan.streamEvents);
    }
    // In blocks, not interleaved: a full replay leaves garbage whose collection would land
    // in the snapshot loads after it and measure the replay, not the snapshot.
    const withSnapshot: number[] = [];
    for (let load = 0; load < plan.snapshotLoads; load += 1) withSnapshot.push(await timedLoad(store, snapshots, plan.streamEvents));
    const fullReplay: number[] = [];
    for (let load = 0; load < plan.fullReplayLoads; load += 1) fullReplay.push(await timedLoad(store, undefined, plan.streamEvents));
    const result = {
      streamEvents: plan.streamEvents,
      snapshotRevision: Number(saved!.revision),
      snapshot: summarize(withSnapshot),
      fullReplay: summarize(fullReplay),
    };
    log(
      `  ${withSnapshot.length} loads from the snapshot: p50 ${formatMs(result.snapshot.p50)}, p99 ${formatMs(result.snapshot.p99)}; ` +
        `${fullReplay.length} full replays: p50 ${formatMs(result.fullReplay.p50)}, p99 ${formatMs(result.fullReplay.p99)}`,
    );
    return result;
  } finally {
    await snapshots.close();
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------
// (b) Commands through the host, beside raw appends.

interface CommandWork {
  readonly actors: number;
  /** `[actor, message]` in the order senders take them. */
  readonly items: readonly { readonly actor: number; readonly message: ReturnType<typeof benchMessage> }[];
  /** One per actor, sent before timing: every actor is live and its stream exists. */
  readonly warmup: readonly { readonly actor: number; readonly message: ReturnType<typeof benchMessage> }[];
}

function buildCommandWork(plan: Plan): CommandWork {
  const conversations = Array.from({ length: plan.commandActors }, () => randomUUID());
  const warmup = conversations.map((conversationId, actor) => ({ actor, message: benchMessage(actor, 0, conversationId) }));
  const items = Array.from({ length: plan.commands }, (_, index) => {
    const actor = index % plan.commandActors;
    return { actor, message: benchMessage(actor, 1 + Math.floor(index / plan.commandActors), conversations[actor]!) };
  });
  return { actors: plan.commandActors, items, warmup };
}

/** `senders` loops taking the next item until none is left. */
async function runSenders<T>(items: readonly T[], senders: number, send: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      for (let index = next++; index < items.length; index = next++) await send(items[index]!);
    }),
  );
}

async function hostCommands(dir: string, work: CommandWork, senders: number): Promise<number> {
  const { store } = await openStore(dir);
  const host = new ActorHost({ requireAllEffects: false, store, kinds: [benchKind] });
  try {
    const send = async ({ actor, message }: CommandWork['items'][number]): Promise<void> => {
      const result = await host.send('bench', String(actor), message.command);
      if (result.status !== 'accepted') throw new Error(`bench-${actor} rejected a record: ${result.reason}`);
    };
    await runSenders(work.warmup, senders, send);
    const began = performance.now();
    await runSenders(work.items, senders, send);
    const seconds = (performance.now() - began) / 1_000;
    return work.items.length / seconds;
  } finally {
    await host.stop();
    await store.close();
  }
}

async function rawAppends(dir: string, work: CommandWork, senders: number): Promise<number> {
  const { store } = await openStore(dir);
  try {
    const revisions = new Map<number, bigint>();
    // Each stream's appends in order, as the host's mailbox orders each actor's commands.
    const chains = new Map<number, Promise<void>>();
    const append = ({ actor, message }: CommandWork['items'][number]): Promise<void> => {
      const work = (chains.get(actor) ?? Promise.resolve()).then(async () => {
        const expectedRevision = revisions.get(actor) ?? 'no_stream';
        const result = await store.append(`bench-${actor}`, [{ ...message.event, id: randomUUID() }], { expectedRevision });
        revisions.set(actor, result.nextExpectedRevision);
      });
      chains.set(actor, work);
      return work;
    };
    await runSenders(work.warmup, senders, append);
    const began = performance.now();
    await runSenders(work.items, senders, append);
    const seconds = (performance.now() - began) / 1_000;
    return work.items.length / seconds;
  } finally {
    await store.close();
  }
}

interface CommandsResult {
  readonly actors: number;
  readonly senders: number;
  readonly commands: number;
  readonly hostCommandsPerSecond: number;
  readonly rawAppendsPerSecond: number;
  readonly hostByRound: readonly number[];
  readonly rawByRound: readonly number[];
  readonly ratio: number;
}

async function measureCommands(root: string, plan: Plan, log: (line: string) => void): Promise<CommandsResult> {
  const work = buildCommandWork(plan);
  log(`commands: ${plan.commands} to ${plan.commandActors} actors from ${plan.senders} senders, ${plan.commandRounds} round(s):`);
  const hostByRound: number[] = [];
  const rawByRound: number[] = [];
  for (let round = 0; round < plan.commandRounds; round += 1) {
    const hostDir = join(root, `commands-host-r${round}`);
    const rawDir = join(root, `commands-raw-r${round}`);
    // Alternating which goes first, so neither always runs on a warmer machine.
    if (round % 2 === 0) {
      hostByRound.push(await hostCommands(hostDir, work, plan.senders));
      rawByRound.push(await rawAppends(rawDir, work, plan.senders));
    } else {
      rawByRound.push(await rawAppends(rawDir, work, plan.senders));
      hostByRound.push(await hostCommands(hostDir, work, plan.senders));
    }
    log(`  round ${round + 1}: host ${formatRate(hostByRound.at(-1))}, raw append ${formatRate(rawByRound.at(-1))}`);
    await rm(hostDir, { recursive: true, force: true });
    await rm(rawDir, { recursive: true, force: true });
  }
  const hostCommandsPerSecond = median(hostByRound);
  const rawAppendsPerSecond = median(rawByRound);
  return {
    actors: plan.commandActors,
    senders: plan.senders,
    commands: plan.commands,
    hostCommandsPerSecond,
    rawAppendsPerSecond,
    hostByRound,
    rawByRound,
    ratio: hostCommandsPerSecond / rawAppendsPerSecond,
  };
}

// ---------------------------------------------------------------------------------------
// (c) Memory with many live actors, in a process of its own.

async function writeMemoryStore(dir: string, plan: Plan): Promise<string> {
  // Setup only: the probe reads these events, so how durably they were written does not matter.
  const { store } = await openStore(dir, 'NORMAL');
  try {
    const actors = Array.from({ length: plan.memoryActors }, (_, actor) => actor);
    await runSenders(actors, 64, async (actor) => {
      const conversationId = randomUUID();
      const events = Array.from({ length: plan.eventsPerMemoryActor }, (_, seq) => benchMessage(actor, seq, conversationId).event);
      await store.append(`bench-${actor}`, events, { expectedRevision: 'no_stream' });
    });
  } finally {
    await store.close();
  }
  return join(dir, 'events.db');
}

function runMemoryProbe(path: string, actors: number): Promise<MemoryProbeResult> {
  const script = fileURLToPath(new URL('./actors-memory.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, path, String(actors)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the memory probe exited with ${code}: ${stderr.trim()}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as MemoryProbeResult);
    });
  });
}

async function measureMemory(root: string, plan: Plan, log: (line: string) => void): Promise<MemoryProbeResult> {
  log(`memory: writing ${plan.memoryActors} actors of ${plan.eventsPerMemoryActor} events`);
  const path = await writeMemoryStore(join(root, 'memory'), plan);
  const result = await runMemoryProbe(path, plan.memoryActors);
  if (result.live !== plan.memoryActors) throw new Error(`the probe kept ${result.live} actors live, expected ${plan.memoryActors}`);
  log(`  RSS ${formatNumber(result.rssBeforeBytes / MB, 1)} MB before loading, ${formatNumber(result.rssAfterBytes / MB, 1)} MB with ${result.live} live actors`);
  return result;
}

// ---------------------------------------------------------------------------------------

export async function runActorsSuite(options: ActorsSuiteOptions): Promise<{ table: string; figures: Record<string, unknown> }> {
  const { log } = options;
  const plan = options.quick ? QUICK_PLAN : FULL_PLAN;
  const suiteStarted = performance.now();
  return inBenchWorkspace('ledgerclaw-bench-actors-', options.dir, async (root) => {
    log(`actors suite${options.quick ? ' (quick)' : ''}: working in ${root}`);
    const rehydrate = await measureRehydrate(root, plan, log);
    const commands = await measureCommands(root, plan, log);
    const memory = await measureMemory(root, plan, log);
    const seconds = (performance.now() - suiteStarted) / 1_000;

    const speedup = rehydrate.fullReplay.p50 / rehydrate.snapshot.p50;
    const rssMb = memory.rssAfterBytes / MB;
    const targets: Target[] = [
      { name: 'rehydrateSnapshotP50MsBelow', value: rehydrate.snapshot.p50, threshold: TARGET_SNAPSHOT_P50_MS, pass: rehydrate.snapshot.p50 < TARGET_SNAPSHOT_P50_MS },
      { name: 'rehydrateSpeedupAtLeast', value: speedup, threshold: TARGET_SPEEDUP, pass: speedup >= TARGET_SPEEDUP },
      { name: 'rssWith10kLiveActorsMbBelow', value: rssMb, threshold: TARGET_RSS_MB, pass: rssMb < TARGET_RSS_MB },
    ];
    const events = formatNumber(rehydrate.streamEvents);
    const rows: string[][] = [
      [
        `rehydrate, ${events}-event stream, p50`,
        formatMs(rehydrate.snapshot.p50),
        formatMs(rehydrate.fullReplay.p50),
        `${formatRatio(speedup)} faster`,
        `< ${TARGET_SNAPSHOT_P50_MS} ms: ${verdict(targets[0]!.pass)}; >= ${TARGET_SPEEDUP}x: ${verdict(targets[1]!.pass)}`,
      ],
      [
        `rehydrate, ${events}-event stream, p99`,
        formatMs(rehydrate.snapshot.p99),
        formatMs(rehydrate.fullReplay.p99),
        `${formatRatio(rehydrate.fullReplay.p99 / rehydrate.snapshot.p99)} faster`,
        '',
      ],
      [
        `commands, ${commands.senders} senders to ${formatNumber(commands.actors)} actors`,
        formatRate(commands.hostCommandsPerSecond),
        formatRate(commands.rawAppendsPerSecond),
        formatRatio(commands.ratio),
        '',
      ],
      [
        `RSS with ${formatNumber(memory.live)} live actors (${plan.eventsPerMemoryActor} events each)`,
        `${formatNumber(rssMb, 1)} MB`,
        `${formatNumber(memory.rssBeforeBytes / MB, 1)} MB`,
        `+${formatNumber((memory.rssAfterBytes - memory.rssBeforeBytes) / memory.live / 1024, 1)} KB/actor`,
        `< ${TARGET_RSS_MB} MB: ${verdict(targets[2]!.pass)}`,
      ],
    ];
    const header = [
      `actors suite${options.quick ? ' (quick)' : ''}: the actor host on the durable SQLite store (WAL, synchronous=FULL), sqlite ${sqlite3.VERSION}, node ${process.version}`,
      `rehydrate: one load by a fresh host each time, warm caches; ledgerclaw = from a snapshot ${plan.snapshotLag} events behind the head, baseline = full replay;`,
      `  ${rehydrate.snapshot.count} loads from the snapshot, then ${rehydrate.fullReplay.count} full replays.`,
      `commands: record commands through ActorHost.send (decide, append, read back, fold), baseline = raw store.append of the same`,
      `  events, same concurrency, each stream in order; one warm-up command per actor first; median of ${plan.commandRounds} round(s); ratio = host / raw.`,
      `RSS: process.memoryUsage().rss of a child process (node --expose-gc${memory.gc ? '' : ', unavailable'}) after a full GC, with every actor`,
      `  loaded into one host; baseline = the same process with the store open, before loading. Took ${seconds.toFixed(0)} s.`,
      '',
    ].join('\n');
    const table = formatTable(['metric', 'ledgerclaw', 'baseline', 'ratio', 'target'], rows, {
      align: ['left', 'right', 'right', 'right', 'left'],
    });
    const summary = (value: Summary) => ({ p50Ms: value.p50, p90Ms: value.p90, p99Ms: value.p99, meanMs: value.mean, minMs: value.min, maxMs: value.max, count: value.count });
    const figures = {
      suite: 'actors',
      quick: options.quick,
      durability: 'FULL',
      sqlite: sqlite3.VERSION,
      node: process.version,
      rehydrate: {
        streamEvents: rehydrate.streamEvents,
        snapshotRevision: rehydrate.snapshotRevision,
        withSnapshot: summary(rehydrate.snapshot),
        fullReplay: summary(rehydrate.fullReplay),
        speedupP50: speedup,
      },
      commands,
      memory: { ...memory, rssAfterMb: rssMb, rssBeforeMb: memory.rssBeforeBytes / MB },
      targets,
      seconds,
    };
    return { table: `${header}\n${table}`, figures };
  });
}
