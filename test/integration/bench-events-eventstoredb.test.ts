/**
 * `npm run bench -- events --backend eventstoredb` on a tiny plan, with the fake EventStoreDB
 * in this process (the bench itself runs it as a child process of the built tree): every store
 * measured, the fake's figures labelled as not a real server's, and a "real server" (a second
 * fake here) measured when LEDGERCLAW_EVENTSTOREDB_URL names one, its password never shown.
 */
import { describe, expect, it } from 'vitest';
import { EVENTSTOREDB_URL_ENV } from '../../runtime/eventstoredb-url.js';
import { FAKE_FIGURES_WARNING, runEventStoreDbEventsSuite } from '../bench/events-eventstoredb.js';
import type { ComparisonPlan } from '../bench/store-comparison.js';
import { startFakeEventStoreDb } from '../fakes/eventstoredb/fake-eventstoredb.js';

const TINY: ComparisonPlan = {
  rounds: 2,
  warmupEvents: 5,
  singleAppenderEvents: 20,
  concurrentAppenders: 4,
  concurrentEvents: 40,
  readPasses: 1,
  readPage: 25,
};

/** Each round's fake, closed after it; how many were started. */
function fakePerRound(): { start: () => Promise<{ url: string; close(): Promise<void> }>; started: () => number } {
  let count = 0;
  return {
    start: async () => {
      count += 1;
      return startFakeEventStoreDb();
    },
    started: () => count,
  };
}

describe('bench: events --backend eventstoredb', () => {
  it('measures SQLite and the adapter on a fresh fake each round, and says the fake is not a real server', async () => {
    const fakes = fakePerRound();
    const lines: string[] = [];
    const report = await runEventStoreDbEventsSuite({ quick: true, log: (line) => lines.push(line) }, { startFake: fakes.start, env: {}, plan: TINY });

    expect(fakes.started()).toBe(TINY.rounds);
    expect(report.table).toContain(FAKE_FIGURES_WARNING);
    expect(report.table).toMatch(/^metric\s+sqlite\s+eventstoredb \(fake\)\s+\/ sqlite$/m);
    expect(report.table).toContain(`no real server measured: ${EVENTSTOREDB_URL_ENV} is not set.`);
    expect(lines.join('\n')).toContain(FAKE_FIGURES_WARNING);
    const stores = report.figures['stores'] as { name: string; rounds: { eventsRead: number }[]; readAll: { eventsPerSecond: number } }[];
    expect(stores.map((store) => store.name)).toEqual(['sqlite', 'eventstoredb (fake)']);
    for (const store of stores) {
      expect(store.rounds.map((round) => round.eventsRead)).toEqual([65, 65]);
      expect(store.readAll.eventsPerSecond).toBeGreaterThan(0);
    }
    expect(report.figures['fakeFiguresAreNotARealServers']).toBe(true);
  });

  it('also measures the server LEDGERCLAW_EVENTSTOREDB_URL names, each round in a namespace of its own, showing its address without the password', async () => {
    const server = await startFakeEventStoreDb();
    try {
      const withPassword = server.url.replace('esdb://', 'esdb://bench:hunter2-secret@');
      const fakes = fakePerRound();
      const report = await runEventStoreDbEventsSuite({ quick: true, log: () => undefined }, { startFake: fakes.start, env: { [EVENTSTOREDB_URL_ENV]: withPassword }, plan: TINY });

      const name = `eventstoredb (${server.url.replace('esdb://', 'esdb://[redacted]@')})`;
      const stores = report.figures['stores'] as { name: string; kind: string; rounds: { eventsRead: number }[] }[];
      expect(stores.map((store) => [store.name, store.kind])).toEqual([
        ['sqlite', 'sqlite'],
        ['eventstoredb (fake)', 'fake'],
        [name, 'server'],
      ]);
      // Each round on the server is a namespace of its own: it reads only its own events, and the server keeps both.
      expect(stores[2]!.rounds.map((round) => round.eventsRead)).toEqual([65, 65]);
      const namespaces = new Set(server.backdoor.records().flatMap((record) => /^(ledgerclaw-bench-[0-9a-f]{8}\.)bench/.exec(record.stream)?.[1] ?? []));
      expect(namespaces.size).toBe(2);
      expect(server.backdoor.records().filter((record) => record.stream.startsWith('ledgerclaw-bench-')).length).toBe(130);
      expect(report.table).toContain(`real server: ${name}.`);
      expect(`${report.table}\n${JSON.stringify(report.figures)}`).not.toContain('hunter2');
    } finally {
      await server.close();
    }
  });

  it('fails on an unreachable server with its address redacted, never its password', async () => {
    const fakes = fakePerRound();
    const env = { [EVENTSTOREDB_URL_ENV]: 'esdb://bench:hunter2-secret@127.0.0.1:1?tls=false&maxDiscoverAttempts=1' };
    // One appender in both phases: their streams must still be distinct.
    const plan: ComparisonPlan = { ...TINY, rounds: 1, concurrentAppenders: 1, concurrentEvents: 3 };
    const failure = await runEventStoreDbEventsSuite({ quick: true, log: () => undefined }, { startFake: fakes.start, env, plan }).then(
      () => new Error('the suite did not fail'),
      (error: unknown) => error as Error,
    );
    expect(failure.message).toContain('esdb://[redacted]@127.0.0.1:1');
    expect(failure.message).not.toContain('hunter2');
  });
});
