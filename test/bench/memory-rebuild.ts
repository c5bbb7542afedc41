/**
 * Rebuild throughput of the memory index, beside raw readAll throughput of the same
 * events in the same run (target: at least 50%). The events are facts and daily logs
 * across many group and user scopes, appended straight to a durable SQLite store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../events/catalogue/index.js';
import { memoryDailyLogWritten } from '../../events/catalogue/daily-log.js';
import { memoryFactRecorded } from '../../events/catalogue/memory.js';
import type { NewEvent } from '../../events/envelope.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { memoryIndexProjection } from '../../projections/memory-index.js';
import { ProjectionHost } from '../../projections/projection-host.js';

const WORDS = ['invoice', 'vendor', 'payment', 'terms', 'shipping', 'contract', 'renewal', 'budget', 'meeting', 'Tuesday', 'warehouse', 'Rotterdam', 'Acme', 'Globex', 'Initech', 'overdue', 'escalation', 'security', 'onboarding', 'review'];

/** A deterministic pseudo-sentence, so every run indexes the same text. */
function sentence(seed: number, words: number): string {
  let state = seed * 2_654_435_761;
  const out: string[] = [];
  for (let index = 0; index < words; index += 1) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    out.push(WORDS[state % WORDS.length]!);
  }
  return `${out.join(' ')}.`;
}

function memoryEvents(scope: string, scopeIndex: number, facts: number): NewEvent[] {
  const events: NewEvent[] = [];
  for (let fact = 0; fact < facts; fact += 1) {
    events.push(
      memoryFactRecorded.create({
        factId: `f${scopeIndex}-${fact}`,
        key: `topic.t${scopeIndex}.k${fact}`,
        statement: sentence(scopeIndex * 10_000 + fact, 24),
        category: 'project',
        confidence: fact % 3 === 0 ? 'user-stated' : 'agent-observed',
        source: { kind: 'message', ref: `${scope}/${fact}` },
        recordedAt: new Date(Date.UTC(2026, 0, 1) + fact * 60_000).toISOString(),
      }),
    );
  }
  // Daily logs are a group's; a user's memory holds facts only.
  if (!scope.startsWith('group.')) return events;
  events.push(
    memoryDailyLogWritten.create({
      scope,
      day: '2026-01-05',
      summary: Array.from({ length: 6 }, (_, paragraph) => sentence(scopeIndex * 100 + paragraph, 80)).join('\n\n'),
      writtenBy: 'agent:consolidation',
    }),
  );
  return events;
}

export interface MemoryRebuildFigures {
  readonly events: number;
  readonly readAllEventsPerSecond: number;
  readonly rebuildEventsPerSecond: number;
  readonly ratio: number;
}

async function readEverything(store: EventStore): Promise<number> {
  let count = 0;
  for (let from: bigint | 'start' = 'start'; ; ) {
    const page = await store.readAll({ fromPosition: from, maxCount: 1_000 });
    count += page.length;
    if (page.length < 1_000) return count;
    from = page[page.length - 1]!.position + 1n;
  }
}

export async function measureMemoryRebuild(root: string, options: { quick: boolean; log: (line: string) => void }): Promise<MemoryRebuildFigures> {
  const dir = await mkdtemp(join(root, 'memory-rebuild-'));
  const backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  try {
    const scopes = options.quick ? 40 : 200;
    const factsPerScope = options.quick ? 50 : 100;
    options.log(`memory rebuild: appending ${scopes * (factsPerScope + 1)} memory events`);
    for (let index = 0; index < scopes; index += 1) {
      const scope = index % 4 === 0 ? `user.U${index}` : `group.T1.C${index}`;
      await store.append(`memory-${scope}`, memoryEvents(scope, index, factsPerScope), { expectedRevision: 'any' });
    }

    // Warm both paths once, then time them back to back.
    await readEverything(store);
    const readStarted = performance.now();
    const events = await readEverything(store);
    const readSeconds = (performance.now() - readStarted) / 1000;

    const host = new ProjectionHost({ store, projections: [memoryIndexProjection], dataDir: dir });
    await host.start();
    await host.waitFor(memoryIndexProjection.name, await store.headPosition());
    const rebuildStarted = performance.now();
    await host.rebuild(memoryIndexProjection.name);
    const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;
    await host.stop();

    const readAllEventsPerSecond = events / readSeconds;
    const rebuildEventsPerSecond = events / rebuildSeconds;
    return { events, readAllEventsPerSecond, rebuildEventsPerSecond, ratio: rebuildEventsPerSecond / readAllEventsPerSecond };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
