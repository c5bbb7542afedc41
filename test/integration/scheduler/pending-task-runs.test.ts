/**
 * Resuming owed effects after a restart, for tasks: the tasks read model names the tasks
 * waiting for a run, and only those actors are loaded; the one that fired gets its run
 * asked for again, the idle ones are left on disk. Without a read model, every task is
 * loaded, as before.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { actorKinds } from '../../../actors/index.js';
import type { TaskContext } from '../../../actors/task.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { tasksProjection } from '../../../projections/tasks.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { tasksAwaitingRuns } from '../../../runtime/scheduler/pending-task-runs.js';

const silent = { info: () => {}, warn: () => {}, error: () => {} };

let dir: string;
let store: EventStore;
let requested: string[];

function hostRecordingRunRequests(): ActorHost {
  return new ActorHost({
    requireAllEffects: false,
    store,
    kinds: actorKinds,
    effects: {
      'task.requestTaskRun': async (params) => {
        requested.push((params as { runId: string }).runId);
      },
    },
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-pending-task-runs-'));
  store = createEventStore(await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' }), catalogue);
  requested = [];
  const host = hostRecordingRunRequests();
  for (const taskId of ['idle-1', 'idle-2', 'busy']) {
    await host.send('task', taskId, { type: 'schedule', groupId: 'local.ops', prompt: 'work', schedule: { kind: 'interval', everyMs: 60_000 }, contextMode: 'isolated' });
  }
  const busy = (await host.load('task', 'busy')).snapshot.context as TaskContext;
  await host.send('task', 'busy', { type: 'fire', dueAt: busy.nextDueAt! });
  await host.idle();
  await host.stop();
  requested = [];
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

it('loads only the tasks the read model shows waiting for a run, and asks for that run again', async () => {
  const projections = new ProjectionHost({ store, projections: [tasksProjection], dataDir: dir });
  await projections.start();
  const host = hostRecordingRunRequests();
  try {
    const resumed = await host.resumePendingEffects({
      task: tasksAwaitingRuns({ store, caughtUp: (name, position) => projections.waitFor(name, position), dataDir: dir, logger: silent }),
    });
    await host.idle();
    // The busy task's run asked for again, and read in case it ended while its report was lost.
    expect(resumed).toBe(2);
    expect(requested).toEqual([expect.stringMatching(/^task-busy-/)]);
    expect(host.liveActors().map((actor) => actor.id)).toEqual(['busy']);
  } finally {
    await host.stop();
    await projections.stop();
  }
});

it('loads every task when there is no tasks read model to ask', async () => {
  const host = hostRecordingRunRequests();
  try {
    const resumed = await host.resumePendingEffects({
      task: tasksAwaitingRuns({ store, caughtUp: async () => {}, dataDir: dir, logger: silent }),
    });
    await host.idle();
    // The busy task's run asked for again, and read in case it ended while its report was lost.
    expect(resumed).toBe(2);
    expect(requested).toEqual([expect.stringMatching(/^task-busy-/)]);
    expect(host.liveActors().map((actor) => actor.id).sort()).toEqual(['busy', 'idle-1', 'idle-2']);
  } finally {
    await host.stop();
  }
});
