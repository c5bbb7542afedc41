/**
 * Token budgets: a group's runs may spend `budgets.groupDailyTokens` per UTC day, and one
 * task's runs `budgets.taskDailyTokens`. Spending is read from the run-usage read model
 * once it has caught up with everything stored, so a call just recorded counts at once
 * and a restart forgets nothing.
 */
import { openReadModel } from '../../projections/read-model-files.js';
import { runUsageProjection } from '../../projections/run-usage.js';
import type { EventStore } from '../../events/port.js';

export interface UsageBudgets {
  readonly groupDailyTokens: number;
  readonly taskDailyTokens: number;
}

export interface UsageLedgerDeps {
  readonly store: EventStore;
  readonly dataDir: string;
  readonly budgets: UsageBudgets;
  /** Resolves once the run-usage projection has applied everything up to `position`. */
  readonly caughtUp: (projection: string, position: bigint) => Promise<void>;
  readonly now?: () => Date;
}

export class UsageLedger {
  constructor(private readonly deps: UsageLedgerDeps) {}

  /** Today's budgeted tokens of a group or task. */
  async spentToday(kind: 'group' | 'task', id: string): Promise<number> {
    const head = await this.deps.store.headPosition();
    if (head > 0n) await this.deps.caughtUp(runUsageProjection.name, head);
    const db = await openReadModel(this.deps.dataDir, runUsageProjection.name);
    if (!db) return 0;
    try {
      const day = (this.deps.now?.() ?? new Date()).toISOString().slice(0, 10);
      const row = await db.get<{ tokens: number }>('SELECT budgeted_tokens AS tokens FROM usage_daily WHERE owner_kind = ? AND owner_id = ? AND day = ?', [kind, id, day]);
      return row?.tokens ?? 0;
    } finally {
      await db.close();
    }
  }

  /** Null while the run may spend; otherwise the reason it may not, naming the budget. */
  async exceeded(run: { runId: string; groupId: string; taskId: string | null }): Promise<string | null> {
    const { budgets } = this.deps;
    const group = await this.spentToday('group', run.groupId);
    if (group >= budgets.groupDailyTokens) {
      return `group ${run.groupId} has spent ${group} of its ${budgets.groupDailyTokens} tokens today (budgets.groupDailyTokens); run ${run.runId} was stopped`;
    }
    if (run.taskId !== null) {
      const task = await this.spentToday('task', run.taskId);
      if (task >= budgets.taskDailyTokens) {
        return `task ${run.taskId} has spent ${task} of its ${budgets.taskDailyTokens} tokens today (budgets.taskDailyTokens); run ${run.runId} was stopped`;
      }
    }
    return null;
  }
}
