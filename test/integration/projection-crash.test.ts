/**
 * SIGKILL a process in the middle of building a read model, and in the middle of catching
 * up with new events, then restart it: the tally projection records every event id it
 * applies under a primary key, so an event applied twice fails the projection, and the
 * final tally shows whether any was missed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { openReadModel, readCheckpoint } from '../../projections/read-model-files.js';
import { builtFile } from '../support/built-dist.js';
import { startProcess } from '../support/child-process.js';
import { counterCatalogue, counterIncremented } from '../support/counter-kind.js';
import { tallyOf } from '../support/tally-projection.js';

let dataDir: string;
let store: EventStore;
const expected: Record<string, number> = {};

async function appendMany(total: number): Promise<void> {
  for (let index = 0; index < total; index += 100) {
    const stream = `counter-s${(index / 100) % 40}`;
    await store.append(stream, Array.from({ length: 100 }, () => counterIncremented.create({ by: 1 })), { expectedRevision: 'any' });
    expected[stream] = (expected[stream] ?? 0) + 100;
  }
}

async function checkpoint(): Promise<bigint | null> {
  const db = await openReadModel(dataDir, 'tally');
  if (!db) return null;
  try {
    return await readCheckpoint(db);
  } finally {
    await db.close();
  }
}

/** Runs the projection process and kills it after `afterMs`; says whether it was mid-way. */
async function killMidway(afterMs: number): Promise<boolean> {
  const runner = startProcess(process.execPath, [builtFile('test/support/projection-runner.js'), dataDir]);
  await runner.waitForOutput('started');
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  runner.kill('SIGKILL');
  await runner.exited;
  return !runner.stdout().includes('caught up');
}

async function runToTheEnd(): Promise<void> {
  const runner = startProcess(process.execPath, [builtFile('test/support/projection-runner.js'), dataDir]);
  const exit = await runner.exited;
  expect(exit.code, runner.stderr()).toBe(0);
  expect(runner.stdout()).toContain('caught up live');
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-projection-crash-'));
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, counterCatalogue);
});

afterAll(async () => {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('applies every event exactly once across SIGKILLs during a build and during catch-up', async () => {
  await appendMany(30_000);
  let interrupted = 0;
  for (const delay of [40, 120, 250]) if (await killMidway(delay)) interrupted += 1;
  await runToTheEnd();
  await appendMany(20_000);
  for (const delay of [30, 90]) if (await killMidway(delay)) interrupted += 1;
  await runToTheEnd();

  // At least some kills landed mid-way, with work done and work left.
  expect(interrupted).toBeGreaterThan(0);
  expect(await checkpoint()).toBe(await store.headPosition());
  const db = await openReadModel(dataDir, 'tally');
  try {
    expect(await tallyOf(db!)).toEqual(Object.fromEntries(Object.entries(expected).sort(([a], [b]) => (a < b ? -1 : 1))));
    expect(await db!.get('SELECT count(*) AS n FROM applied')).toEqual({ n: 50_000 });
  } finally {
    await db!.close();
  }
}, 120_000);
