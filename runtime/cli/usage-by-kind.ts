/**
 * `ledgerclaw runs usage`: what each group spent on model calls per UTC day, split by what
 * made the call: `run` (an agent turn, `run.model_called` on `run-<id>`, charged to the
 * run's group) or `consolidation` (`memory.consolidation_model_called` on the group's memory
 * stream). Read from the events, like `runs list`, so it needs no running runtime.
 */
import { z } from 'zod';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventStore } from '../../events/port.js';
import { budgetedTokens } from '../gateways/pricing.js';

export interface UsageRow {
  readonly day: string;
  readonly groupId: string;
  readonly kind: 'run' | 'consolidation';
  readonly modelCalls: number;
  /** Input, cache-write and output tokens: what budgets count. */
  readonly tokens: number;
  readonly costUsd: number;
  /** A call's model had no known price: the cost is a lower bound. */
  readonly unknownCost: boolean;
}

const charged = z.object({
  tokens: z.object({ input: z.number(), output: z.number(), cacheRead: z.number(), cacheWrite: z.number() }),
  costUsd: z.number().nullable(),
  calledAt: z.string(),
});

/** Adds up calls by (day, group, kind), ordered by day, group, kind. Pure. */
export function usageByKind(calls: readonly { groupId: string; kind: UsageRow['kind']; event: StoredEvent }[]): UsageRow[] {
  const rows = new Map<string, { -readonly [K in keyof UsageRow]: UsageRow[K] }>();
  for (const { groupId, kind, event } of calls) {
    const call = charged.parse(event.data);
    const day = call.calledAt.slice(0, 10);
    const key = JSON.stringify([day, groupId, kind]);
    const row = rows.get(key) ?? { day, groupId, kind, modelCalls: 0, tokens: 0, costUsd: 0, unknownCost: false };
    row.modelCalls += 1;
    row.tokens += budgetedTokens(call.tokens);
    row.costUsd += call.costUsd ?? 0;
    row.unknownCost ||= call.costUsd === null;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => a.day.localeCompare(b.day) || a.groupId.localeCompare(b.groupId) || a.kind.localeCompare(b.kind));
}

async function* streamsWithPrefix(store: EventStore, prefix: string): AsyncGenerator<string> {
  for (let after: string | undefined; ; ) {
    const streams = await store.listStreams({ prefix, ...(after ? { after } : {}), limit: 500 });
    for (const stream of streams) yield stream.streamId;
    if (streams.length < 500) return;
    after = streams[streams.length - 1]!.streamId;
  }
}

/** Every model call in the store, with its group and kind. */
export async function readUsage(store: EventStore): Promise<UsageRow[]> {
  const calls: { groupId: string; kind: UsageRow['kind']; event: StoredEvent }[] = [];
  for await (const streamId of streamsWithPrefix(store, 'run-')) {
    const events = await store.readStream(streamId);
    const groupId = (events.find((event) => event.type === 'run.queued')?.data as { groupId?: string } | undefined)?.groupId;
    if (groupId === undefined) continue;
    for (const event of events) if (event.type === 'run.model_called') calls.push({ groupId, kind: 'run', event });
  }
  for await (const streamId of streamsWithPrefix(store, 'memory-group.')) {
    const groupId = streamId.slice('memory-group.'.length);
    for (const event of await store.readStream(streamId)) {
      if (event.type === 'memory.consolidation_model_called') calls.push({ groupId, kind: 'consolidation', event });
    }
  }
  return usageByKind(calls);
}
