/**
 * Run usage: what each group and each task spent on model calls, per UTC day, and whose
 * each run is. The model gateway's budgets read it (runtime/runs/usage-ledger.ts), and
 * it lists runs for operators. Derived from `run.queued` (a run's group and task),
 * `run.model_called` (its tokens and cost) and `memory.consolidation_model_called` (a
 * consolidation's call, charged to its group), so a rebuild gives the same totals.
 * `usage_by_kind` splits the same totals by what made the call: `run` or `consolidation`.
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import { memoryConsolidationModelCalled } from '../events/catalogue/daily-log.js';
import { runModelCalled, runQueued } from '../events/catalogue/run.js';
import { budgetedTokens } from '../runtime/gateways/pricing.js';
import { defineProjection } from './projection.js';

export const RUN_USAGE_SCHEMA = `
CREATE TABLE run_owners (
  run_id TEXT PRIMARY KEY,
  group_id TEXT NOT NULL,
  task_id TEXT
);
CREATE TABLE usage_daily (
  owner_kind TEXT NOT NULL CHECK (owner_kind IN ('group', 'task')),
  owner_id TEXT NOT NULL,
  day TEXT NOT NULL,
  -- input, cache-write and output tokens: what budgets count
  budgeted_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  model_calls INTEGER NOT NULL,
  PRIMARY KEY (owner_kind, owner_id, day)
);
CREATE TABLE usage_by_kind (
  owner_kind TEXT NOT NULL CHECK (owner_kind IN ('group', 'task')),
  owner_id TEXT NOT NULL,
  day TEXT NOT NULL,
  call_kind TEXT NOT NULL CHECK (call_kind IN ('run', 'consolidation')),
  budgeted_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  model_calls INTEGER NOT NULL,
  PRIMARY KEY (owner_kind, owner_id, day, call_kind)
)
`;

/** What made a model call. */
export type UsageCallKind = 'run' | 'consolidation';

interface ChargedCall {
  readonly tokens: { input: number; output: number; cacheRead: number; cacheWrite: number };
  readonly costUsd: number | null;
  readonly calledAt: string;
}

/** Adds one call to each owner's day, in total and under its kind. */
async function charge(db: SqliteConnection, owners: readonly [string, string][], kind: UsageCallKind, call: ChargedCall): Promise<void> {
  const day = call.calledAt.slice(0, 10);
  const tokens = budgetedTokens(call.tokens);
  const cost = call.costUsd ?? 0;
  for (const [ownerKind, id] of owners) {
    await db.run(
      `INSERT INTO usage_daily (owner_kind, owner_id, day, budgeted_tokens, cost_usd, model_calls) VALUES (?, ?, ?, ?, ?, 1)
       ON CONFLICT (owner_kind, owner_id, day) DO UPDATE SET budgeted_tokens = budgeted_tokens + excluded.budgeted_tokens,
         cost_usd = cost_usd + excluded.cost_usd, model_calls = model_calls + 1`,
      [ownerKind, id, day, tokens, cost],
    );
    await db.run(
      `INSERT INTO usage_by_kind (owner_kind, owner_id, day, call_kind, budgeted_tokens, cost_usd, model_calls) VALUES (?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT (owner_kind, owner_id, day, call_kind) DO UPDATE SET budgeted_tokens = budgeted_tokens + excluded.budgeted_tokens,
         cost_usd = cost_usd + excluded.cost_usd, model_calls = model_calls + 1`,
      [ownerKind, id, day, kind, tokens, cost],
    );
  }
}

function runIdOf(event: StoredEvent): string {
  return event.streamId.slice('run-'.length);
}

export const runUsageProjection = defineProjection({
  name: 'run-usage',
  // v2: consolidation's calls, and usage_by_kind.
  version: 2,
  eventTypes: [runQueued.type, runModelCalled.type, memoryConsolidationModelCalled.type],
  schema: RUN_USAGE_SCHEMA,
  async apply(db, event) {
    if (event.type === runQueued.type) {
      const data = event.data as { groupId: string; taskId: string | null };
      await db.run('INSERT INTO run_owners (run_id, group_id, task_id) VALUES (?, ?, ?) ON CONFLICT (run_id) DO NOTHING', [runIdOf(event), data.groupId, data.taskId]);
      return;
    }
    if (memoryConsolidationModelCalled.is(event)) {
      // The call is on the group's memory stream, `memory-group.<groupId>`.
      const groupId = event.streamId.slice('memory-group.'.length);
      await charge(db, [['group', groupId]], 'consolidation', event.data);
      return;
    }
    const data = event.data as ChargedCall;
    const owner = await db.get<{ group_id: string; task_id: string | null }>('SELECT group_id, task_id FROM run_owners WHERE run_id = ?', [runIdOf(event)]);
    if (!owner) return; // a model call before its run was queued cannot happen; nothing to charge
    const owners: [string, string][] = [['group', owner.group_id]];
    if (owner.task_id !== null) owners.push(['task', owner.task_id]);
    await charge(db, owners, 'run', data);
  },
});
