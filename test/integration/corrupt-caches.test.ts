/**
 * The caches in a data directory (`snapshots.db`, `read-models/catalog.db`, the read-model
 * files the catalog names) are built from the events: random bytes in any of them must not
 * stop `ledgerclaw start`, nor be reported as a corrupt event store. The built CLI in real
 * processes, on a data directory made by `tasks add`.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { builtFile } from '../support/built-dist.js';
import { killLeftoverProcesses, runProcess, startProcess } from '../support/child-process.js';
import { cliEnv } from '../support/cli-env.js';

let cliPath: string;
/** A data directory made once by `tasks add` and a start, copied for each test. */
let template: string;
let templateViews: { tasks: string; actors: string };
let dataDir: string;

beforeAll(async () => {
  cliPath = builtFile('runtime/cli/main.js');
  template = mkdtempSync(join(tmpdir(), 'ledgerclaw-corrupt-cache-template-'));
  dataDir = template;
  templateViews = await populated();
}, 120_000);

afterAll(() => {
  rmSync(template, { recursive: true, force: true });
});

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'ledgerclaw-corrupt-cache-'));
  cpSync(template, dataDir, { recursive: true });
});

afterEach(async () => {
  await killLeftoverProcesses();
  rmSync(dataDir, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', LEDGERCLAW_SANDBOX: 'process' });
}

function cli(...args: string[]) {
  return runProcess(process.execPath, [cliPath, ...args, '--data', dataDir], { env: env() });
}

/** `start` until its banner, then SIGTERM: what it logged, and how it exited. */
async function startAndStop(): Promise<{ code: number | null; stderr: string }> {
  const runtime = startProcess(process.execPath, [cliPath, 'start', '--data', dataDir], { env: env() });
  await runtime.waitForOutput('Stop with Ctrl-C', { timeoutMs: 60_000 });
  runtime.kill('SIGTERM');
  const exit = await runtime.exited;
  return { code: exit.code, stderr: runtime.stderr() };
}

/** What the read-only commands show: the caches' contents as an operator sees them. */
async function views(): Promise<{ tasks: string; actors: string }> {
  const tasks = await cli('tasks', 'list');
  const actors = await cli('actors', 'list');
  expect(tasks, tasks.stderr).toMatchObject({ code: 0, stderr: '' });
  expect(actors, actors.stderr).toMatchObject({ code: 0, stderr: '' });
  return { tasks: tasks.stdout, actors: actors.stdout };
}

/** Two scheduled tasks, their read model and snapshot cache written, and a clean start and stop. */
async function populated(): Promise<{ tasks: string; actors: string }> {
  for (const prompt of ['Summarise the open deals', 'Check the inbox']) {
    const added = await cli('tasks', 'add', '--group', 'T1.CSALES', '--prompt', prompt, '--every', '1h');
    expect(added, added.stderr).toMatchObject({ code: 0 });
  }
  expect((await startAndStop()).code).toBe(0);
  const before = await views();
  expect(before.tasks).toContain('Summarise the open deals');
  return before;
}

function filesIn(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Overwrites the whole file with random bytes, and drops the side files SQLite would read with it. */
function randomise(path: string): void {
  writeFileSync(path, randomBytes(statSync(path).size));
  for (const suffix of ['-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

const SQLITE_HEADER = 'SQLite format 3\0';

describe('a corrupt cache (defect 8: a corrupt cache blocks start with a misleading message)', () => {
  it('snapshots.db of random bytes: start moves it aside, says so, and actors are folded from their streams', async () => {
    const before = templateViews;
    randomise(join(dataDir, 'snapshots.db'));
    const started = await startAndStop();
    expect(started.code).toBe(0);
    expect(started.stderr).toMatch(/the snapshot cache was corrupt: moved aside/);
    expect(started.stderr).not.toMatch(/event store/);
    expect(filesIn(dataDir).filter((file) => /^snapshots\.db\.corrupt-\d{4}-\d\d-\d\dT[\d-]+\.\d{3}Z$/.test(file))).toHaveLength(1);
    expect(readFileSync(join(dataDir, 'snapshots.db')).subarray(0, 16).toString('latin1')).toBe(SQLITE_HEADER);
    expect(await views()).toEqual(before);
  });

  it('snapshots.db damaged past its first page, its header intact: found at start, moved aside', async () => {
    const before = templateViews;
    const path = join(dataDir, 'snapshots.db');
    const file = readFileSync(path);
    expect(file.length).toBeGreaterThan(4096);
    writeFileSync(path, Buffer.concat([file.subarray(0, 4096), randomBytes(file.length - 4096)]));
    const started = await startAndStop();
    expect(started.code).toBe(0);
    expect(started.stderr).toMatch(/"reason":"SQLITE_CORRUPT[^"]*".*the snapshot cache was corrupt: moved aside/);
    expect(filesIn(dataDir).some((file) => file.startsWith('snapshots.db.corrupt-'))).toBe(true);
    expect(await views()).toEqual(before);
  });

  it('read-models/catalog.db of random bytes: start moves it aside and builds every read model again', async () => {
    const before = templateViews;
    randomise(join(dataDir, 'read-models', 'catalog.db'));
    const started = await startAndStop();
    expect(started.code).toBe(0);
    expect(started.stderr).toMatch(/the read-model catalog was corrupt: moved aside/);
    expect(started.stderr).not.toMatch(/event store/);
    expect(filesIn(join(dataDir, 'read-models')).filter((file) => file.startsWith('catalog.db.corrupt-'))).toHaveLength(1);
    expect(await views()).toEqual(before);
  });

  it('a read-model file the catalog names, of random bytes: start moves it aside and builds it again', async () => {
    const before = templateViews;
    const tasksFile = filesIn(join(dataDir, 'read-models')).find((file) => /^tasks\.v\d+\.g\d+\.db$/.test(file));
    expect(tasksFile).toBeDefined();
    randomise(join(dataDir, 'read-models', tasksFile!));
    const started = await startAndStop();
    expect(started.code).toBe(0);
    expect(started.stderr).toMatch(/"projection":"tasks".*a read model file was corrupt: moved aside/);
    expect(filesIn(join(dataDir, 'read-models')).filter((file) => file.startsWith(`${tasksFile!}.corrupt-`))).toHaveLength(1);
    expect(await views()).toEqual(before);
  });

  it('read-only commands leave a corrupt cache in place: actors list does without snapshots, tasks list names the cache, not the event store', async () => {
    const before = templateViews;
    randomise(join(dataDir, 'snapshots.db'));
    randomise(join(dataDir, 'read-models', 'catalog.db'));
    const actors = await cli('actors', 'list');
    expect(actors).toMatchObject({ code: 0, stdout: before.actors });
    const tasks = await cli('tasks', 'list');
    expect(tasks.code).toBe(1);
    expect(tasks.stderr).toMatch(/^ledgerclaw: the cache .*catalog\.db is corrupt .*the next `ledgerclaw start` moves it aside and builds it again\n$/);
    expect(tasks.stderr).not.toMatch(/event store|restore it from a backup/);
    // Nothing was moved by a reader.
    expect(filesIn(dataDir).some((file) => file.includes('.corrupt-'))).toBe(false);
  });

  it('events.db is the store, not a cache: random bytes in it still refuse start, saying to restore it', async () => {
    randomise(join(dataDir, 'events.db'));
    const start = await cli('start');
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/^ledgerclaw: the event store at .*events\.db is corrupt.*restore it from a backup/);
    expect(filesIn(dataDir).some((file) => file.includes('.corrupt-'))).toBe(false);
  });
});
