/**
 * Exactly one decision per due time across crashes: the real runtime (`ledgerclaw start`,
 * built) is SIGKILLed 50 times, at random moments around due times that come every second
 * (during start-up, while arming, between a gate check and its fire, mid-append), and
 * started again. Then the events are checked: every task's decided due times follow its
 * schedule with no due time decided twice and none skipped over (missed due times only
 * ever collapsed into one decision that says how many), and nothing due before the last
 * stop was left undecided.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { actorKinds } from '../../../actors/index.js';
import { dueAfter, firstDueAt } from '../../../actors/task-schedule.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import type { TaskSchedule } from '../../../events/catalogue/task.js';
import { createEventStore } from '../../../events/event-store.js';
import type { StoredEvent } from '../../../events/envelope.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { builtFile } from '../../support/built-dist.js';
import { startProcess } from '../../support/child-process.js';
import { seededRandom } from '../../support/seeded-random.js';

const CYCLES = 50;
const MISSED_AFTER_MS = 1_000;

interface TaskPlan {
  readonly id: string;
  readonly schedule: TaskSchedule;
  readonly catchUp: 'fire_once' | 'skip';
  readonly gated: boolean;
}

const TASKS: readonly TaskPlan[] = [
  { id: 'watch-a', schedule: { kind: 'interval', everyMs: 1_000 }, catchUp: 'fire_once', gated: true },
  { id: 'watch-b', schedule: { kind: 'interval', everyMs: 1_500 }, catchUp: 'fire_once', gated: true },
  { id: 'watch-skip', schedule: { kind: 'interval', everyMs: 1_000 }, catchUp: 'skip', gated: true },
  { id: 'tick', schedule: { kind: 'cron', expression: '* * * * * *', timezone: 'Europe/Paris' }, catchUp: 'fire_once', gated: true },
  // Fires real runs, which fail at once (no model key): the run path crashes too.
  { id: 'runner', schedule: { kind: 'interval', everyMs: 2_000 }, catchUp: 'fire_once', gated: false },
];

let dataDir: string;

function runtimeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LEDGERCLAW_SANDBOX: 'process', LEDGERCLAW_MISSED_AFTER_MS: String(MISSED_AFTER_MS), LEDGERCLAW_LOG_LEVEL: 'warn' };
  delete env.ANTHROPIC_API_KEY;
  delete env.ANTHROPIC_BASE_URL;
  return env;
}

async function withStore<T>(use: (store: EventStore) => Promise<T>): Promise<T> {
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-scheduler-crash-'));
  await withStore(async (store) => {
    const host = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds });
    for (const task of TASKS) {
      const result = await host.send('task', task.id, {
        type: 'schedule',
        groupId: 'local.ops',
        prompt: `crash test task ${task.id}`,
        schedule: task.schedule,
        contextMode: 'isolated',
        catchUp: task.catchUp,
        maxConsecutiveFailures: 100,
        ...(task.gated ? { gate: { kind: 'new_messages', groupId: 'local.quiet' } } : {}),
      });
      expect(result.status).toBe('accepted');
    }
    await host.stop();
  });
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function startRuntime() {
  return startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start', '--data', dataDir], { env: runtimeEnv() });
}

interface Decision {
  readonly type: string;
  readonly dueAt: string;
  readonly missed: { firstDueAt: string; count: number } | null;
  readonly runId: string | null;
}

function decisionsOf(events: readonly StoredEvent[]): Decision[] {
  return events
    .filter((event) => event.type === 'task.fired' || event.type === 'task.fire_skipped')
    .map((event) => {
      const data = event.data as { dueAt: string; missed: Decision['missed']; runId?: string };
      return { type: event.type, dueAt: data.dueAt, missed: data.missed, runId: data.runId ?? null };
    });
}

it(
  'decides every due time exactly once across 50 SIGKILLs of the runtime',
  async () => {
    const random = seededRandom(20261122);
    for (let cycle = 0; cycle < CYCLES; cycle += 1) {
      const runtime = startRuntime();
      if (cycle % 2 === 0) {
        // Killed once it runs, at a random moment of the next due second and a half.
        await runtime.waitForOutput(/ started\n/);
        await sleep(Math.floor(random() * 1_500));
      } else {
        // Killed wherever start-up has got to: opening, catching up, arming, first fires.
        await sleep(150 + Math.floor(random() * 1_200));
      }
      runtime.kill('SIGKILL');
      expect((await runtime.exited).signal).toBe('SIGKILL');
    }

    const last = startRuntime();
    await last.waitForOutput(/ started\n/);
    await sleep(3_000);
    const stoppedAt = Date.now();
    last.kill('SIGTERM');
    expect(await last.exited).toMatchObject({ code: 0 });

    await withStore(async (store) => {
      for (const task of TASKS) {
        const events = await store.readStream(`task-${task.id}`);
        const scheduledAt = (events[0]!.data as { scheduledAt: string }).scheduledAt;
        const decisions = decisionsOf(events);
        expect(decisions.length, `${task.id} decided due times`).toBeGreaterThan(5);

        // Each decision stands for the due time after the one before (or, after missed
        // due times, for the last of them, naming the first).
        let expected = firstDueAt(task.schedule, scheduledAt)!;
        let missedDecisions = 0;
        for (const decision of decisions) {
          if (decision.missed === null) {
            expect(decision.dueAt, `${task.id}: the decision after ${expected}`).toBe(expected);
          } else {
            missedDecisions += 1;
            expect(decision.missed.firstDueAt, `${task.id}: missed due times start where the last decision left off`).toBe(expected);
            expect(Date.parse(decision.dueAt)).toBeGreaterThanOrEqual(Date.parse(expected));
            if (task.catchUp === 'skip') expect(decision.type).toBe('task.fire_skipped');
          }
          expected = dueAfter(task.schedule, decision.dueAt)!;
        }
        const dueTimes = decisions.map((decision) => decision.dueAt);
        expect(new Set(dueTimes).size, `${task.id}: no due time decided twice`).toBe(dueTimes.length);
        // Nothing left behind: the next due time was still ahead (bar one in flight) when the runtime stopped.
        expect(Date.parse(expected), `${task.id}: next due ${expected}, stopped at ${new Date(stoppedAt).toISOString()}`).toBeGreaterThan(stoppedAt - 1_500);

        if (!task.gated) {
          const runIds = decisions.filter((decision) => decision.type === 'task.fired').map((decision) => decision.runId);
          expect(new Set(runIds).size, 'one run per fire').toBe(runIds.length);
        } else {
          expect(decisions.filter((decision) => decision.type === 'task.fired'), `${task.id}: its gate never woke it`).toEqual([]);
        }
        // Restarts a second or more apart leave due times missed, and the catch-up policy decided them.
        if (task.schedule.kind === 'interval' && task.schedule.everyMs === 1_000) expect(missedDecisions).toBeGreaterThan(0);
      }
    });
  },
  400_000,
);
