/**
 * `npm run bench -- scheduler`: 10,000 active tasks (1,000 with --quick) of mixed schedules
 * firing over a few minutes on the real runtime pieces: the SQLite store, the actor host
 * with its wiring, every read model, and the scheduler as `start` opens it. Nearly every
 * task has a `new_messages` wake gate on a quiet group, so its fires are recorded as gated
 * skips and no run starts; the rest fire runs, which a stand-in container completes at once
 * (containers are the runs bench's subject, not this one's).
 *
 * - Lateness: from a due time to its decision (fired or skipped) stored, p50 and p99;
 *   beside, in the same run, bare timers doing the least an event-sourced fire must do:
 *   wake at the due time and append one event with an expected revision.
 * - RSS with every task armed, and its peak while firing; beside the RSS before any task.
 * - Restart to ready: from opening the store to every active task on the clock again;
 *   beside opening the store alone.
 * - Exactly once: every decision in the store, checked for a due time decided twice.
 */
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { actorKinds } from '../../actors/index.js';
import type { TaskSchedule } from '../../events/catalogue/task.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../events/catalogue/index.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { readModelProjections } from '../../projections/index.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import type { EffectContext } from '../../runtime/actor-host/effects.js';
import { actorWiring } from '../../runtime/actor-wiring.js';
import { loadConfig, type Config } from '../../runtime/config.js';
import { createLogger } from '../../runtime/logger.js';
import { ProcessSandbox } from '../../runtime/sandbox/process-sandbox.js';
import { openScheduler, type RunningScheduler } from '../../runtime/scheduler/open-scheduler.js';
import { tasksAwaitingRuns } from '../../runtime/scheduler/pending-task-runs.js';
import type { FireReport } from '../../runtime/scheduler/scheduler.js';
import type { Suite } from './main.js';
import { formatMs, formatNumber, formatTable, summarize, type Summary } from './stats.js';
import { inBenchWorkspace, verdict } from './suite-workspace.js';

/** The issue's target: a fire is at most this late at the 99th percentile. */
const TARGET_P99_MS = 50;
const ZONES = ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'];
/** One task in this many has no gate: it fires a run. */
const UNGATED_EVERY = 50;
const QUIET_GROUPS = 200;

interface Plan {
  readonly tasks: number;
  readonly firingMs: number;
  readonly baselineMs: number;
}

const FULL: Plan = { tasks: 10_000, firingMs: Number(process.env.BENCH_FIRING_MS ?? 180_000), baselineMs: 30_000 };
const QUICK: Plan = { tasks: 1_000, firingMs: 30_000, baselineMs: 10_000 };

/** Task `index`'s schedule: intervals of 20-120 s, six-field crons every minute or two in four zones, once times 30 s or more ahead. */
function scheduleOf(index: number, plan: Plan): TaskSchedule {
  switch (index % 20) {
    case 0:
    case 1:
      return { kind: 'once', at: new Date(Date.now() + 30_000 + ((index * 7_919) % (plan.firingMs / 2))).toISOString() };
    default:
      if (index % 2 === 0) return { kind: 'interval', everyMs: 20_000 + ((index * 7_919) % 100) * 1_000 };
      return { kind: 'cron', expression: `${(index * 13) % 60} */${1 + (index % 2)} * * * *`, timezone: ZONES[index % ZONES.length]! };
  }
}

/** A run completes as soon as it asks for a container. */
async function instantContainer(params: unknown, context: EffectContext): Promise<void> {
  const { runId } = params as { runId: string };
  await context.send('run', runId, { type: 'reportStarted', containerId: `bench-${runId}` });
  await context.send('run', runId, { type: 'complete', summary: 'done', tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 } });
}

interface Runtime {
  readonly store: EventStore;
  readonly projections: ProjectionHost;
  readonly host: ActorHost;
  readonly scheduler: RunningScheduler;
  /** How long resuming the owed effects took at open. */
  readonly resumeMs: number;
  close(): Promise<void>;
}

async function openRuntime(root: string, config: Config, onFire: (report: FireReport) => void): Promise<Runtime> {
  const logger = createLogger({ level: 'warn' });
  const backend = await openSqliteBackend({ path: join(root, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  const projections = new ProjectionHost({ store, projections: readModelProjections, dataDir: config.dataDir, logger });
  const host = new ActorHost({
    requireAllEffects: false,
    store,
    kinds: actorKinds,
    effects: { ...actorWiring, 'run.startContainer': instantContainer, 'task.notifyAdmins': async () => {} },
    logger,
  });
  await projections.start();
  // As `start` does: the effects actor states say are owed first (the tasks read model names the task actors to load).
  const resumeStarted = performance.now();
  await host.resumePendingEffects({
    task: tasksAwaitingRuns({ store, caughtUp: (name, position) => projections.waitFor(name, position), dataDir: config.dataDir, logger }),
  });
  const resumeMs = performance.now() - resumeStarted;
  const scheduler = await openScheduler({
    store,
    actors: host,
    caughtUp: (name, position) => projections.waitFor(name, position),
    sandbox: new ProcessSandbox({ runsDir: join(config.dataDir, 'runs') }),
    config,
    logger,
    onFire,
  });
  return {
    store,
    projections,
    host,
    scheduler,
    resumeMs,
    close: async () => {
      await scheduler.close();
      await host.idle();
      await host.stop();
      await projections.stop();
      await store.close();
    },
  };
}

/** The floor: a timer per due time, each appending one event with the expected revision. */
async function bareTimerLateness(root: string, count: number, windowMs: number): Promise<number[]> {
  const backend = await openSqliteBackend({ path: join(root, 'baseline.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  const late: number[] = [];
  const start = Date.now() + 1_000;
  try {
    const appended = await Promise.allSettled(
      Array.from({ length: count }, (_, index) => {
        const dueMs = start + ((index * 7_919) % windowMs);
        return new Promise<void>((resolve, reject) => {
          setTimeout(() => {
            store
              .append(`task-baseline${index}`, [{ type: 'task.paused', data: { reason: null, pausedAt: new Date(dueMs).toISOString() } }], { expectedRevision: 'no_stream' })
              .then(() => {
                late.push(Date.now() - dueMs);
                resolve();
              }, reject);
          }, dueMs - Date.now());
        });
      }),
    );
    const failed = appended.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } finally {
    await store.close();
  }
  return late;
}

async function countDoubleDecisions(store: EventStore): Promise<{ decisions: number; doubles: number }> {
  const seen = new Set<string>();
  let decisions = 0;
  let doubles = 0;
  for (let from: bigint | 'start' = 'start'; ; ) {
    const page = await store.readAll({ fromPosition: from, maxCount: 1_000, filter: { eventTypes: ['task.fired', 'task.fire_skipped'] } });
    for (const event of page) {
      decisions += 1;
      const key = `${event.streamId} ${(event.data as { dueAt: string }).dueAt}`;
      if (seen.has(key)) doubles += 1;
      seen.add(key);
    }
    if (page.length < 1_000) return { decisions, doubles };
    from = page[page.length - 1]!.position + 1n;
  }
}

const mb = (bytes: number): string => `${formatNumber(bytes / 1_048_576, 0)} MB`;

export const runSchedulerSuite: Suite = (options) =>
  inBenchWorkspace('scheduler-', options.dir, async (root) => {
    const plan = options.quick ? QUICK : FULL;
    const { config } = loadConfig({ env: { LEDGERCLAW_DATA: join(root, 'data'), ...(process.env.LEDGERCLAW_MAX_CONCURRENT_FIRES ? { LEDGERCLAW_MAX_CONCURRENT_FIRES: process.env.LEDGERCLAW_MAX_CONCURRENT_FIRES } : {}) }, cwd: root });
    const rssBefore = process.memoryUsage().rss;

    options.log(`scheduler: baseline, ${formatNumber(plan.tasks)} bare timers appending one event each over ${plan.baselineMs / 1000} s`);
    const baseline = summarize(await bareTimerLateness(root, plan.tasks, plan.baselineMs));

    const reports: FireReport[] = [];
    let runtime = await openRuntime(root, config, (report) => reports.push(report));
    const startMs = Date.now();
    options.log(`scheduler: scheduling ${formatNumber(plan.tasks)} tasks`);
    for (let index = 0; index < plan.tasks; index += 1) {
      const gated = index % UNGATED_EVERY !== 0;
      const result = await runtime.host.send('task', `bench-${index}`, {
        type: 'schedule',
        groupId: `bench.g${index % QUIET_GROUPS}`,
        prompt: `bench task ${index}`,
        schedule: scheduleOf(index, plan),
        contextMode: 'isolated',
        ...(gated ? { gate: { kind: 'new_messages', groupId: `bench.g${index % QUIET_GROUPS}` } } : {}),
        maxConsecutiveFailures: 100,
      });
      if (result.status !== 'accepted') throw new Error(`bench task ${index} was refused: ${result.reason}`);
      if (index % 1_000 === 999) options.log(`  scheduled ${formatNumber(index + 1)}`);
    }
    const schedulingMs = Date.now() - startMs;
    // Restart once, so the clock is armed from the tasks read model the way `start` arms it.
    await runtime.close();
    const rssArmedBefore = process.memoryUsage().rss;
    let restartStarted = performance.now();
    runtime = await openRuntime(root, config, (report) => reports.push(report));
    const firstRestartMs = performance.now() - restartStarted;
    const armed = runtime.scheduler.armedTasks;
    const rssArmed = process.memoryUsage().rss;

    options.log(`scheduler: ${formatNumber(armed)} tasks armed; firing for ${plan.firingMs / 1000} s`);
    const firingFrom = Date.now();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    let rssPeak = rssArmed;
    while (Date.now() - firingFrom < plan.firingMs) {
      await sleep(1_000);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      const seconds = Math.round((Date.now() - firingFrom) / 1_000);
      if (seconds % 15 === 0) options.log(`  ${seconds} s: ${formatNumber(reports.length)} due times decided`);
    }

    loopDelay.disable();
    const loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
    options.log('scheduler: restart to ready');
    await runtime.close();
    const openStoreMs: number[] = [];
    const restartMs: number[] = [firstRestartMs];
    const resumeMs: number[] = [runtime.resumeMs];
    for (let round = 0; round < 3; round += 1) {
      const began = performance.now();
      const backend = await openSqliteBackend({ path: join(root, 'events.db'), mode: 'writer' });
      await backend.close();
      openStoreMs.push(performance.now() - began);
      restartStarted = performance.now();
      const again = await openRuntime(root, config, () => {});
      restartMs.push(performance.now() - restartStarted);
      resumeMs.push(again.resumeMs);
      await again.close();
    }
    const backend = await openSqliteBackend({ path: join(root, 'events.db'), mode: 'writer' });
    const store = createEventStore(backend, catalogue);
    const checked = await countDoubleDecisions(store).finally(() => store.close());
    return report(checked);

    function report(checked: { decisions: number; doubles: number }) {
      // Due times in the firing window: the scheduling phase before it is a write storm of its own.
      const onTime = reports.filter(
        (entry) => (entry.decision === 'fired' || entry.decision === 'skipped') && !entry.missed && Date.parse(entry.dueAt) >= firingFrom,
      );
      const lateness = summarize(onTime.map((entry) => entry.decidedAtMs - Date.parse(entry.dueAt)));
      // Lateness p99 per 30 s of firing: a tail that grows with time reads differently from one that comes in bursts.
      const windows = new Map<number, number[]>();
      for (const entry of onTime) {
        const window = Math.floor((Date.parse(entry.dueAt) - firingFrom) / 30_000);
        const values = windows.get(window) ?? [];
        values.push(entry.decidedAtMs - Date.parse(entry.dueAt));
        windows.set(window, values);
      }
      const windowP99 = [...windows.entries()].sort(([a], [b]) => a - b).map(([window, values]) => ({ fromS: window * 30, p99: summarize(values).p99, count: values.length }));
      const waiting = summarize(onTime.map((entry) => entry.startedAtMs - Date.parse(entry.dueAt)));
      const gates = summarize(onTime.filter((entry) => entry.gated).map((entry) => entry.gateMs));
      const deciding = summarize(onTime.map((entry) => entry.decidedAtMs - entry.startedAtMs - entry.gateMs));
      const fired = reports.filter((entry) => entry.decision === 'fired').length;
      const skipped = reports.filter((entry) => entry.decision === 'skipped').length;
      const restart = summarize(restartMs);
      const open = summarize(openStoreMs);
      const pass = lateness.p99 < TARGET_P99_MS;
      const table = [
        `scheduler: ${formatNumber(plan.tasks)} tasks (intervals 20-120 s, six-field crons every 1-2 min in ${ZONES.length} zones, once times), ` +
          `${formatNumber(plan.tasks - Math.ceil(plan.tasks / UNGATED_EVERY))} with a new_messages wake gate on quiet groups; fired for ${plan.firingMs / 1000} s`,
        `decisions: ${formatNumber(fired)} fired (runs completed by a stand-in container), ${formatNumber(skipped)} gated skips; ` +
          `in the store: ${formatNumber(checked.decisions)} decisions, ${checked.doubles} due times decided twice`,
        `scheduling the tasks took ${formatNumber(schedulingMs / 1000, 1)} s; RSS before the tasks ${mb(rssBefore)}, after scheduling ${mb(rssArmedBefore)}`,
        `lateness p99 per 30 s of firing: ${windowP99.map((window) => `${window.fromS} s: ${formatMs(window.p99)}`).join(', ')}`,
        formatTable(
          ['measure', 'value', 'baseline (same run)', 'target'],
          [
            ['lateness p50', formatMs(lateness.p50), `bare timer + one append: ${formatMs(baseline.p50)}`, ''],
            ['lateness p99', formatMs(lateness.p99), `bare timer + one append: ${formatMs(baseline.p99)}`, `< ${TARGET_P99_MS} ms: ${verdict(pass)}`],
            ['lateness max', formatMs(lateness.max), `bare timer + one append: ${formatMs(baseline.max)}`, ''],
            ['event-loop delay while firing, p99', formatMs(loopDelayP99Ms), '', ''],
            ['  of which: due → fire slot, p50 / p99', `${formatMs(waiting.p50)} / ${formatMs(waiting.p99)}`, '', ''],
            ['  of which: wake gate, p50 / p99', `${formatMs(gates.p50)} / ${formatMs(gates.p99)}`, '', ''],
            ['  of which: decision stored, p50 / p99', `${formatMs(deciding.p50)} / ${formatMs(deciding.p99)}`, '', ''],
            [`RSS, ${formatNumber(armed)} tasks armed`, mb(rssArmed), `before any task: ${mb(rssBefore)}`, ''],
            ['RSS peak while firing', mb(rssPeak), '', ''],
            [`restart to ready (${formatNumber(armed)} tasks), median of ${restart.count}`, formatMs(restart.p50), `opening the store alone: ${formatMs(open.p50)}`, ''],
            ['  of which: resuming owed effects', formatMs(summarize(resumeMs).p50), '', ''],
          ],
          { align: ['left', 'right', 'left', 'left'] },
        ),
      ].join('\n');
      const figures: Record<string, unknown> = {
        tasks: plan.tasks,
        firingMs: plan.firingMs,
        fired,
        skipped,
        decisionsInStore: checked.decisions,
        doubleDecisions: checked.doubles,
        lateness: lateness satisfies Summary,
        latenessParts: { dueToSlot: waiting, gate: gates, decision: deciding },
        eventLoopDelayP99Ms: loopDelayP99Ms,
        latenessP99PerWindow: windowP99,
        baselineBareTimerAppend: baseline,
        rss: { before: rssBefore, armed: rssArmed, peak: rssPeak },
        restartToReadyMs: restart,
        resumeEffectsMs: summarize(resumeMs),
        openStoreMs: open,
        targets: [{ name: 'latenessP99Below', value: lateness.p99, threshold: TARGET_P99_MS, pass }],
      };
      return { table, figures };
    }
  });
