/**
 * The read models end to end, through the projection host and the CLI, on a real data
 * directory: delete every read model and generated file, start again, and the rebuild
 * gives byte-identical MEMORY.md and WORK_CONTEXT.md and identical search results.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import type { EventStore } from '../../events/port.js';
import { MEMORY_FILE_NAME } from '../../projections/memory-files.js';
import { memoryIndexProjection } from '../../projections/memory-index.js';
import { listScopes, searchMemory } from '../../projections/memory-queries.js';
import { openReadModel } from '../../projections/read-model-files.js';
import { readModelProjections } from '../../projections/index.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { readModelsDir } from '../../projections/read-model-files.js';
import { groupFilePath } from '../../projections/atomic-file.js';
import { workContextPath } from '../../projections/work-context.js';
import { runCliCaptured } from '../support/in-process-cli.js';
import { applyEvents, createWorld, openProjection, temporaryDir, type World } from './projections/fixture.js';
import { buildMemoryScenario, GROUP_A, GROUP_B } from './projections/memory-scenario.js';

let dir: { path: string; remove: () => Promise<void> };
let store: EventStore;
let world: World;

beforeEach(async () => {
  dir = await temporaryDir('read-model-rebuild');
  const backend = await openSqliteBackend({ path: join(dir.path, 'events.db'), mode: 'writer' });
  world = createWorld(undefined, backend);
  store = world.store;
  await buildMemoryScenario(world);
  await world.send('task', 'digest', {
    type: 'schedule',
    groupId: GROUP_A,
    prompt: 'Post the overdue invoices',
    schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' },
    contextMode: 'group',
  });
});

afterEach(async () => {
  await world.stop();
  await dir.remove();
});

async function buildReadModels(): Promise<void> {
  const host = new ProjectionHost({ store, projections: readModelProjections, dataDir: dir.path });
  await host.start();
  const head = await store.headPosition();
  for (const projection of readModelProjections) await host.waitFor(projection.name, head);
  await host.stop();
}

async function snapshotOfOutputs() {
  const files = [
    groupFilePath(dir.path, GROUP_A, MEMORY_FILE_NAME),
    groupFilePath(dir.path, GROUP_B, MEMORY_FILE_NAME),
    workContextPath(dir.path, GROUP_A),
    workContextPath(dir.path, null),
  ];
  const contents = await Promise.all(files.map((file) => readFile(file)));
  const cli = (args: string[]) => runCliCaptured([...args, '--data', dir.path, '--json'], { cwd: dir.path, env: { LEDGERCLAW_LOG_LEVEL: 'silent' } });
  const searches = await Promise.all([
    cli(['memory', 'search', 'acme payment', '--group', GROUP_A]),
    cli(['memory', 'search', 'meetings', '--group', GROUP_A, '--user', 'U1']),
    cli(['memory', 'search', 'acme']),
  ]);
  return { files, contents, searches };
}

it('gives byte-identical files and identical search results after every read model is deleted and rebuilt', async () => {
  await buildReadModels();
  const before = await snapshotOfOutputs();
  expect(before.contents[0]!.toString()).toContain('Acme pays invoices net 30 days.');
  expect(before.contents[2]!.toString()).toContain('Post the overdue invoices');
  for (const search of before.searches) expect(search.code, search.stderr).toBe(0);
  // A group sees its own memory only; the operator sees every scope.
  expect(before.searches[0]!.stdout).toContain('net 30 days');
  expect(before.searches[0]!.stdout).not.toContain('net 60 days');
  expect(before.searches[1]!.stdout).toContain('U1 prefers morning **meetings**');
  expect(before.searches[1]!.stdout).not.toContain('U2 prefers');
  expect(before.searches[2]!.stdout).toContain('net 60 days');

  await rm(readModelsDir(dir.path), { recursive: true });
  for (const file of before.files) await rm(file);
  expect(existsSync(before.files[0]!)).toBe(false);

  await buildReadModels();
  const after = await snapshotOfOutputs();
  expect(after.contents).toEqual(before.contents);
  expect(after.searches).toEqual(before.searches);
});

it('answers a memory search whose words hold nothing searchable with a clear usage error', async () => {
  await buildReadModels();
  const result = await runCliCaptured(['memory', 'search', '*** ---', '--data', dir.path], { cwd: dir.path });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/ledgerclaw: .*(no|nothing) .*search/i);
});

it('says so when the memory index was never built', async () => {
  const result = await runCliCaptured(['memory', 'show', '--data', dir.path], { cwd: dir.path });
  expect(result).toMatchObject({ code: 1, stderr: expect.stringMatching(/memory index is not built yet/) });
});

it('builds the same memory index in batches (applyMany) as one event at a time (apply)', async () => {
  await buildReadModels();
  const batched = await openReadModel(dir.path, 'memory-index');
  const oneByOne = await openProjection(join(dir.path, 'one-by-one.db'), memoryIndexProjection);
  try {
    await applyEvents(oneByOne, memoryIndexProjection, await world.all(), { batchSize: 1 });
    for (const query of ['acme', 'meetings', 'payment terms', 'Rotterdam warehouse']) {
      const scopes = await listScopes(batched!);
      expect(await searchMemory(oneByOne, query, { scopes, limit: 100 })).toEqual(await searchMemory(batched!, query, { scopes, limit: 100 }));
    }
    const rows = (db: typeof oneByOne) => db.all('SELECT * FROM memory_chunks ORDER BY chunk_id');
    expect(await rows(oneByOne)).toEqual(await rows(batched!));
  } finally {
    await batched?.close();
    await oneByOne.close();
  }
});
