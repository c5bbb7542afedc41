/**
 * The store comparison behind `npm run bench -- events --backend eventstoredb`, on a tiny
 * plan: what it measures and how it reports, not how fast anything is (timing targets
 * belong to the bench itself).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore } from '../../events/port.js';
import { compareStores, formatComparison, sqliteComparedStore, type ComparedStore, type ComparisonPlan } from '../bench/store-comparison.js';

const TINY: ComparisonPlan = {
  rounds: 2,
  warmupEvents: 5,
  singleAppenderEvents: 20,
  concurrentAppenders: 4,
  concurrentEvents: 40,
  readPasses: 2,
  // Smaller than what a round appends (65 events), so readAll goes through several pages.
  readPage: 7,
};

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});
function workspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'ledgerclaw-bench-comparison-'));
  roots.push(root);
  return root;
}

/** Another name for a store, to compare two stores without a second backend. */
function renamed(target: ComparedStore, name: string): ComparedStore {
  return { ...target, name };
}

describe('store comparison', () => {
  it('measures every store in every round, first in turn, and reads back exactly what each round appended', async () => {
    const lines: string[] = [];
    const results = await compareStores([sqliteComparedStore(), renamed(sqliteComparedStore(), 'sqlite again')], TINY, workspace(), (line) => lines.push(line));

    expect(results.map((result) => result.name)).toEqual(['sqlite', 'sqlite again']);
    for (const result of results) {
      expect(result.rounds).toHaveLength(TINY.rounds);
      for (const round of result.rounds) {
        expect(round.eventsRead).toBe(TINY.warmupEvents + TINY.singleAppenderEvents + TINY.concurrentEvents);
        expect(round.singleLatency.count).toBe(TINY.singleAppenderEvents);
      }
      for (const figure of [result.singleEventsPerSecond, result.concurrentEventsPerSecond, result.readEventsPerSecond, result.singleP50Ms, result.singleP99Ms]) {
        expect(Number.isFinite(figure) && figure > 0).toBe(true);
      }
    }
    // Round 1 starts with the first store, round 2 with the second.
    expect(lines.map((line) => /round (\d)\/2, (sqlite(?: again)?):/.exec(line)?.slice(1).join(' '))).toEqual(['1 sqlite', '1 sqlite again', '2 sqlite again', '2 sqlite']);

    const table = formatComparison(results, TINY).split('\n');
    expect(table[0]).toMatch(/^metric\s+sqlite\s+sqlite again\s+\/ sqlite$/);
    expect(table.slice(2).map((row) => row.split(/\s{2,}/)[0])).toEqual([
      'append, 1 appender (events/s)',
      'append latency p50, 1 appender',
      'append latency p99, 1 appender',
      'append, 4 appenders (events/s)',
      'readAll, pages of 7 (events/s)',
    ]);
    for (const row of table.slice(2)) expect(row).toMatch(/\d\.\d\dx$/);
  });

  it('refuses figures from a store whose readAll does not return every event the round appended', async () => {
    const sqlite = sqliteComparedStore();
    const losing: ComparedStore = {
      name: 'losing',
      kind: 'sqlite',
      openRound: async (dir) => {
        const opened = await sqlite.openRound(dir);
        // Drops the newest event of every page: a store that loses events must not get a rate.
        const store = new Proxy(opened.store, {
          get: (target, property, receiver) =>
            property === 'readAll'
              ? async (...args: Parameters<EventStore['readAll']>) => (await target.readAll(...args)).slice(0, -1)
              : (Reflect.get(target, property, receiver) as unknown),
        });
        return { store, close: () => opened.close() };
      },
    };
    await expect(compareStores([losing], { ...TINY, rounds: 1 }, workspace(), () => undefined)).rejects.toThrow(/^losing: readAll from position 1 found \d+ events, the round appended 65$/);
  });
});
