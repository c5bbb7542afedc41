/**
 * Which group actors a restart must load to resume what they owe (a run to ask for or to
 * reconcile, a reply to post): only those the group-activity read model shows with a turn
 * open or a reply owed, once it has caught up with the store. A workspace collects a group
 * per Slack thread, tens of thousands over months, and nearly all of them owe nothing.
 * When the read model cannot answer, every group is loaded.
 */
import type { EventStore } from '../../events/port.js';
import { groupActivityProjection, groupsOwingEffects } from '../../projections/group-activity.js';
import { openReadModel } from '../../projections/read-model-files.js';
import type { Logger } from '../actor-host/actor-host.js';

export interface PendingGroupEffectsSources {
  readonly store: Pick<EventStore, 'headPosition'>;
  readonly caughtUp: (projection: string, position: bigint) => Promise<void>;
  readonly dataDir: string;
  readonly logger: Logger;
}

export function groupsAwaitingEffects(sources: PendingGroupEffectsSources): () => Promise<readonly string[] | undefined> {
  return async () => {
    try {
      await sources.caughtUp(groupActivityProjection.name, await sources.store.headPosition());
      const db = await openReadModel(sources.dataDir, groupActivityProjection.name);
      if (!db) return undefined;
      try {
        return await groupsOwingEffects(db);
      } finally {
        await db.close();
      }
    } catch (error) {
      sources.logger.warn({ err: error }, 'the group-activity read model cannot say which groups owe a run or a reply; loading every group to find out');
      return undefined;
    }
  };
}
