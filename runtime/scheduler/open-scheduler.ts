/**
 * The scheduler as the runtime runs it: due times loaded from the tasks read model once it
 * has caught up, wake gates checked with the runtime's own pieces (the group-activity read
 * model, the sandbox, the data directory), and the limits from `scheduler.*` in the config.
 */
import type { EventStore } from '../../events/port.js';
import { activeTaskDueTimes } from '../../projections/tasks-queries.js';
import { TASKS_PROJECTION } from '../../projections/tasks.js';
import type { Config } from '../config.js';
import { ReadModelReaders } from '../gateways/host-tools/read-model-readers.js';
import type { Logger } from '../logger.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { evaluateGate } from './gates/evaluate-gate.js';
import { openGateDeps } from './gates/gate-deps.js';
import { TaskScheduler, type FireReport, type TaskActors } from './scheduler.js';

export interface SchedulerSources {
  readonly store: EventStore;
  readonly actors: TaskActors;
  /** Resolves once the named projection has applied everything up to `position` (ProjectionHost.waitFor). */
  readonly caughtUp: (projection: string, position: bigint) => Promise<void>;
  readonly sandbox: Sandbox;
  readonly config: Pick<Config, 'dataDir' | 'runs' | 'scheduler'>;
  readonly logger: Logger;
  readonly onFire?: (report: FireReport) => void;
}

export interface RunningScheduler {
  /** Active tasks on the clock when it was armed. */
  readonly armedTasks: number;
  close(): Promise<void>;
}

/** Starts the scheduler; resolves once every active task is on the clock. */
export async function openScheduler(sources: SchedulerSources): Promise<RunningScheduler> {
  const { store, config, logger } = sources;
  const readers = new ReadModelReaders(config.dataDir);
  const gates = openGateDeps({ store, caughtUp: sources.caughtUp, dataDir: config.dataDir, sandbox: sources.sandbox, runs: config.runs, logger });
  const scheduler = new TaskScheduler({
    store,
    actors: sources.actors,
    activeTasks: async (position) => {
      await sources.caughtUp(TASKS_PROJECTION, position);
      return (await readers.withReadModel(TASKS_PROJECTION, activeTaskDueTimes)) ?? [];
    },
    checkGate: (gate, task) => evaluateGate(gate, task, gates),
    missedAfterMs: config.scheduler.missedAfterMs,
    maxConcurrentFires: config.scheduler.maxConcurrentFires,
    logger,
    ...(sources.onFire ? { onFire: sources.onFire } : {}),
  });
  try {
    await scheduler.start();
  } catch (error) {
    await Promise.allSettled([scheduler.stop(), gates.close(), readers.close()]);
    throw error;
  }
  return {
    armedTasks: scheduler.size,
    close: async () => {
      await scheduler.stop();
      await gates.close();
      await readers.close();
    },
  };
}
