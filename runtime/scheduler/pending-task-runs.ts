/**
 * Which task actors a restart must load to resume what they owe: only those the tasks read
 * model shows waiting for a run (a fired run not yet reported back), once the read model
 * has caught up with the store. With 10,000 tasks, loading every one took five seconds of
 * the start; the read model answers in one query. When it cannot answer (not built, or
 * failed), every task is loaded as before.
 */
import type { EventStore } from '../../events/port.js';
import { openReadModel } from '../../projections/read-model-files.js';
import { tasksWithRunInFlight } from '../../projections/tasks-queries.js';
import { TASKS_PROJECTION } from '../../projections/tasks.js';
import type { Logger } from '../logger.js';

export interface PendingTaskRunsSources {
  readonly store: Pick<EventStore, 'headPosition'>;
  readonly caughtUp: (projection: string, position: bigint) => Promise<void>;
  readonly dataDir: string;
  readonly logger: Logger;
}

export function tasksAwaitingRuns(sources: PendingTaskRunsSources): () => Promise<readonly string[] | undefined> {
  return async () => {
    try {
      await sources.caughtUp(TASKS_PROJECTION, await sources.store.headPosition());
      const db = await openReadModel(sources.dataDir, TASKS_PROJECTION);
      if (!db) return undefined;
      try {
        return await tasksWithRunInFlight(db);
      } finally {
        await db.close();
      }
    } catch (error) {
      sources.logger.warn({ err: error }, 'the tasks read model cannot say which tasks wait for a run; loading every task to find out');
      return undefined;
    }
  };
}
