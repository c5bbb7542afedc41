/**
 * Build mode: a rebuild beside the live read model is written without fsync and without
 * the projection's deferred schema, which it gets once it has caught up, just before the
 * swap. A build stopped or killed before then goes on at the next start and still ends
 * with its deferred schema, every event applied once; a build the machine may have lost
 * (written without fsync before a reboot) is built again from the start.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { openReadModel, readModelsDir, type CatalogEntry } from '../../../projections/read-model-files.js';
import { builtFile } from '../../support/built-dist.js';
import { killLeftoverProcesses, startProcess } from '../../support/child-process.js';
import { counterCatalogue, counterIncremented } from '../../support/counter-kind.js';
import { tallyOf } from '../../support/tally-projection.js';
import { temporaryDir } from './fixture.js';
import { DEFERRED_INDEX, indexedTally, schemaNames } from './indexed-tally.js';

let dir: { path: string; remove: () => Promise<void> };
let store: EventStore;
const hosts: ProjectionHost[] = [];
const expected: Record<string, number> = {};
let appended = 0;

async function appendMany(total: number): Promise<void> {
  for (let index = 0; index < total; index += 100) {
    const stream = `counter-s${(appended / 100) % 20}`;
    await store.append(stream, Array.from({ length: 100 }, () => counterIncremented.create({ by: 1 })), { expectedRevision: 'any' });
    expected[stream] = (expected[stream] ?? 0) + 100;
    appended += 100;
  }
}

async function startHost(version: number, batchSize = 50): Promise<ProjectionHost> {
  const host = new ProjectionHost({ store, projections: [indexedTally(version)], dataDir: dir.path, batchSize });
  hosts.push(host);
  await host.start();
  return host;
}

async function catalogEntry(): Promise<CatalogEntry> {
  const host = new ProjectionHost({ store, projections: [], dataDir: dir.path });
  await host.start();
  try {
    return (await host.entries())[0]!;
  } finally {
    await host.stop();
  }
}

async function withFile<T>(file: string, read: (db: SqliteConnection) => Promise<T>): Promise<T> {
  const db = await SqliteConnection.open(join(readModelsDir(dir.path), file), { create: false });
  try {
    return await read(db);
  } finally {
    await db.close();
  }
}

async function withCatalog<T>(use: (db: SqliteConnection) => Promise<T>): Promise<T> {
  return withFile('catalog.db', use);
}

/** The live read model is complete: every event once, and its deferred schema in place. */
async function expectCompleteReadModel(): Promise<void> {
  const db = await openReadModel(dir.path, 'tally');
  try {
    expect(await tallyOf(db!)).toEqual(Object.fromEntries(Object.entries(expected).sort(([a], [b]) => (a < b ? -1 : 1))));
    expect(await db!.get('SELECT count(*) AS n FROM applied')).toEqual({ n: appended });
    const names = await schemaNames(db!);
    expect(names).toContain(DEFERRED_INDEX);
    expect(names).not.toContain('projection_deferred_schema');
  } finally {
    await db?.close();
  }
  expect(await withCatalog((db) => db.all('SELECT * FROM unsynced_builds'))).toEqual([]);
}

/** Starts a rebuild to version 2 and stops the host at its first committed batch, long before it catches up. */
async function stopBuildMidway(): Promise<CatalogEntry> {
  const host = await startHost(2, 10);
  let stopping: Promise<void> | undefined;
  await new Promise<void>((resolve) => {
    host.onBuildProgress((progress) => {
      if (!stopping && progress.position < progress.head) {
        stopping = host.stop();
        resolve();
      }
    });
  });
  await stopping;
  const entry = await catalogEntry();
  expect(entry).toMatchObject({ activeVersion: 1, buildingVersion: 2, status: 'rebuilding' });
  return entry;
}

beforeEach(async () => {
  dir = await temporaryDir('build-mode');
  const backend = await openSqliteBackend({ path: join(dir.path, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, counterCatalogue);
  for (const key of Object.keys(expected)) delete expected[key];
  appended = 0;
});

afterEach(async () => {
  await killLeftoverProcesses();
  for (const host of hosts.splice(0)) await host.stop();
  await store.close();
  await dir.remove();
});

it('gives a live read model its deferred schema from the start', async () => {
  await appendMany(300);
  const host = await startHost(1);
  await host.waitFor('tally', await store.headPosition());
  await expectCompleteReadModel();
});

it('creates the deferred schema of a rebuild once it has caught up, and swaps in a synced file', async () => {
  await appendMany(2_000);
  const v1 = await startHost(1);
  await v1.waitFor('tally', await store.headPosition());
  await v1.stop();
  const building = await stopBuildMidway();
  // Half built: no deferred schema yet, only the note of it.
  const names = await withFile(building.buildingFile!, schemaNames);
  expect(names).toContain('projection_deferred_schema');
  expect(names).not.toContain(DEFERRED_INDEX);
  // Built with a rollback journal (no reader needs a WAL yet; a rollback mode is not kept
  // in the file, so another connection sees its default), live in WAL mode.
  expect(await withFile(building.buildingFile!, (db) => db.get('PRAGMA journal_mode'))).not.toEqual({ journal_mode: 'wal' });

  const v2 = await startHost(2);
  await v2.whenBuilt('tally');
  expect((await v2.entries())[0]).toMatchObject({ activeVersion: 2, activeFile: building.buildingFile, buildingFile: null, status: 'live' });
  await expectCompleteReadModel();
  expect(await withFile(building.buildingFile!, (db) => db.get('PRAGMA journal_mode'))).toEqual({ journal_mode: 'wal' });
  expect(existsSync(join(readModelsDir(dir.path), `${building.buildingFile!}-journal`))).toBe(false);
  // Live from here on, like any read model: it follows new events.
  await appendMany(200);
  await v2.waitFor('tally', await store.headPosition());
  await expectCompleteReadModel();
});

it('builds again from the start a build written without fsync before the machine restarted', async () => {
  await appendMany(2_000);
  const v1 = await startHost(1);
  await v1.waitFor('tally', await store.headPosition());
  await v1.stop();
  const building = await stopBuildMidway();
  // As if the process had died mid-build and the machine had then rebooted.
  await withCatalog((db) => db.run("INSERT INTO unsynced_builds (file, boot_id) VALUES (?, 'an-earlier-boot')", [building.buildingFile!]));

  const v2 = await startHost(2);
  const restarted = (await v2.entries())[0]!;
  expect(restarted.generation).toBe(building.generation + 1);
  expect(restarted.buildingFile).not.toBe(building.buildingFile);
  expect(existsSync(join(readModelsDir(dir.path), building.buildingFile!))).toBe(false);
  await v2.whenBuilt('tally');
  expect((await v2.entries())[0]).toMatchObject({ activeVersion: 2, activeFile: restarted.buildingFile, status: 'live' });
  await expectCompleteReadModel();
});

it('goes on with a build whose file cannot be opened by building it again', async () => {
  await appendMany(2_000);
  const v1 = await startHost(1);
  await v1.waitFor('tally', await store.headPosition());
  await v1.stop();
  const building = await stopBuildMidway();
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(readModelsDir(dir.path), building.buildingFile!), 'not a database, whatever it was');

  const v2 = await startHost(2);
  await v2.whenBuilt('tally');
  const entry = (await v2.entries())[0]!;
  expect(entry).toMatchObject({ activeVersion: 2, status: 'live', generation: building.generation + 1 });
  await expectCompleteReadModel();
});

/** Runs the build process and kills it after `afterMs`; says whether it was mid-way. */
async function killMidway(version: number, afterMs: number): Promise<boolean> {
  const runner = startProcess(process.execPath, [builtFile('test/integration/projections/build-runner.js'), dir.path, String(version)]);
  await runner.waitForOutput('started');
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  runner.kill('SIGKILL');
  await runner.exited;
  return !runner.stdout().includes('caught up');
}

async function runToTheEnd(version: number): Promise<void> {
  const runner = startProcess(process.execPath, [builtFile('test/integration/projections/build-runner.js'), dir.path, String(version)]);
  const exit = await runner.exited;
  expect(exit.code, runner.stderr()).toBe(0);
  expect(runner.stdout()).toContain(`caught up live v${version}`);
}

it('applies every event exactly once across SIGKILLs during a rebuild, and ends with the deferred schema', async () => {
  await appendMany(20_000);
  await runToTheEnd(1);
  let interrupted = 0;
  for (const delay of [40, 150, 300]) if (await killMidway(2, delay)) interrupted += 1;
  await runToTheEnd(2);
  expect(interrupted).toBeGreaterThan(0);
  await expectCompleteReadModel();
  expect(await catalogEntry()).toMatchObject({ activeVersion: 2, buildingFile: null, status: 'live' });
}, 120_000);
