/**
 * The projection host on real SQLite files: catch-up then live, checkpoints in the same
 * transaction as the rows, one failing projection beside healthy ones, and blue/green
 * rebuilds when a version changes or an operator asks.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteBackend, type SqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { EventCatalogue } from '../../events/catalogue.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { openReadModel, readModelsDir } from '../../projections/read-model-files.js';
import { counterCatalogue, counterIncremented } from '../support/counter-kind.js';
import { tallyOf, tallyProjection } from '../support/tally-projection.js';

let dataDir: string;
let backend: SqliteBackend;
let store: EventStore;
const hosts: ProjectionHost[] = [];

async function append(streamId: string, count: number): Promise<bigint> {
  const result = await store.append(streamId, Array.from({ length: count }, () => counterIncremented.create({ by: 1 })), { expectedRevision: 'any' });
  return result.position;
}

async function startHost(projections = [tallyProjection()]): Promise<ProjectionHost> {
  const host = new ProjectionHost({ store, projections, dataDir, batchSize: 50 });
  hosts.push(host);
  await host.start();
  return host;
}

async function readTally(name = 'tally'): Promise<Record<string, number>> {
  const db = await openReadModel(dataDir, name);
  if (!db) throw new Error(`no read model ${name}`);
  try {
    return await tallyOf(db);
  } finally {
    await db.close();
  }
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-projections-'));
  backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, counterCatalogue);
});

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('catches up on stored events, then follows new ones', async () => {
  await append('counter-a', 120);
  const host = await startHost();
  await host.waitFor('tally', await store.headPosition());
  expect(await readTally()).toEqual({ 'counter-a': 120 });
  const head = await append('counter-b', 7);
  await host.waitFor('tally', head);
  expect(await readTally()).toEqual({ 'counter-a': 120, 'counter-b': 7 });
  expect((await host.entries())[0]).toMatchObject({ name: 'tally', status: 'live', activeVersion: 1 });
});

it('counts an empty store as caught up, for a reader waiting on its head', async () => {
  const host = await startHost();
  const head = await store.headPosition();
  const waited = await Promise.race([host.waitFor('tally', head).then(() => 'caught up'), new Promise((resolve) => setTimeout(resolve, 2_000, 'still waiting'))]);
  expect(waited).toBe('caught up');
});

it('resumes from its checkpoint after a restart, applying nothing twice', async () => {
  await append('counter-a', 60);
  const first = await startHost();
  await first.waitFor('tally', await store.headPosition());
  await first.stop();
  const head = await append('counter-a', 40);
  // The tally projection's primary key on event ids would fail any second application.
  const second = await startHost();
  await second.waitFor('tally', head);
  expect(await readTally()).toEqual({ 'counter-a': 100 });
});

it('marks a failing projection failed with its event and error, and the others go on', async () => {
  await append('counter-ok', 5);
  await append('counter-bad', 1);
  const host = await startHost([tallyProjection(), tallyProjection({ name: 'fragile', failOn: (event) => event.streamId === 'counter-bad' })]);
  await host.waitFor('tally', await store.headPosition());
  await expect(host.waitFor('fragile', await store.headPosition())).rejects.toThrow(/fragile failed/);
  const fragile = (await host.entries()).find((entry) => entry.name === 'fragile');
  expect(fragile).toMatchObject({ status: 'failed', failure: { eventType: 'counter.incremented', error: 'cannot tally counter-bad@0' } });
  // The failed batch was rolled back whole: its good events are not half-applied either.
  expect(await readTally('fragile')).toEqual({});
  const head = await append('counter-ok', 3);
  await host.waitFor('tally', head);
  expect(await readTally()).toEqual({ 'counter-ok': 8, 'counter-bad': 1 });
});

it('rebuilds a projection whose version was raised beside the live one, then swaps it in', async () => {
  await append('counter-a', 80);
  const v1 = await startHost([tallyProjection({ version: 1 })]);
  await v1.waitFor('tally', await store.headPosition());
  await v1.stop();
  const before = await readdir(readModelsDir(dataDir));

  const v2 = await startHost([tallyProjection({ version: 2 })]);
  await v2.whenBuilt('tally');
  const entry = (await v2.entries())[0]!;
  expect(entry).toMatchObject({ activeVersion: 2, buildingFile: null, status: 'live' });
  expect(await readTally()).toEqual({ 'counter-a': 80 });
  // The replaced build stays for readers that still have it open, until the next start.
  const retired = before.find((file) => file.startsWith('tally.v1') && file.endsWith('.db'))!;
  expect(await readdir(readModelsDir(dataDir))).toContain(retired);
  await v2.stop();
  await startHost([tallyProjection({ version: 2 })]);
  expect(await readdir(readModelsDir(dataDir))).not.toContain(retired);
  expect(existsSync(join(readModelsDir(dataDir), entry.activeFile))).toBe(true);
});

it('rebuilds on request into a new file while readers keep the old one until the swap', async () => {
  await append('counter-a', 300);
  const host = await startHost();
  await host.waitFor('tally', await store.headPosition());
  const reader = await openReadModel(dataDir, 'tally');
  const progress: bigint[] = [];
  host.onBuildProgress((step) => progress.push(step.position));
  await host.rebuild('tally');
  // The reader opened before the rebuild still reads a complete read model.
  expect(await tallyOf(reader!)).toEqual({ 'counter-a': 300 });
  await reader!.close();
  expect((await host.entries())[0]).toMatchObject({ generation: 2, status: 'live', buildingFile: null });
  expect(progress.length).toBeGreaterThan(1);
  expect(await readTally()).toEqual({ 'counter-a': 300 });
});

it('marks a projection failed when the store cannot deliver an event to it', async () => {
  await append('counter-a', 3);
  // A runtime whose catalogue does not know the stored events cannot read them.
  const blind = createEventStore(backend, new EventCatalogue([]));
  const host = new ProjectionHost({ store: blind, projections: [tallyProjection()], dataDir });
  hosts.push(host);
  await host.start();
  await expect(host.waitFor('tally', await store.headPosition())).rejects.toThrow(/tally failed/);
  expect((await host.entries())[0]).toMatchObject({ status: 'failed', failure: { error: expect.stringMatching(/unknown event type 'counter.incremented'/) } });
});
