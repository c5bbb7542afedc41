/**
 * `projections list` and `projections rebuild`, in-process through the CLI program on a
 * real data directory, with the test's tally projection handed in as `runCli` allows.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { EventCatalogue } from '../../events/catalogue.js';
import { runtimeStarted, runtimeStopped } from '../../events/catalogue/runtime.js';
import { createEventStore } from '../../events/event-store.js';
import type { Projection } from '../../projections/projection.js';
import { openReadModel } from '../../projections/read-model-files.js';
import { builtFile } from '../support/built-dist.js';
import { startProcess } from '../support/child-process.js';
import { counterEvents, counterIncremented, counterKind } from '../support/counter-kind.js';
import { tallyOf, tallyProjection } from '../support/tally-projection.js';
import { runCliCaptured } from '../support/in-process-cli.js';

const catalogue = new EventCatalogue([...counterEvents, runtimeStarted, runtimeStopped]);
let cwd: string;
let dataDir: string;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'ledgerclaw-projections-cli-'));
  dataDir = join(cwd, 'data');
  await mkdir(dataDir);
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const cli = (args: string[], readModels: readonly Projection[] = [tallyProjection()]) =>
  runCliCaptured([...args, '--data', dataDir], { cwd, env: { LEDGERCLAW_LOG_LEVEL: 'silent' }, actors: { kinds: [counterKind], catalogue }, readModels });

async function writeEvents(count: number): Promise<void> {
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  for (let index = 0; index < count; index += 50) {
    await store.append(`counter-${index % 3}`, Array.from({ length: 50 }, () => counterIncremented.create({ by: 1 })), { expectedRevision: 'any' });
  }
  await store.close();
}

it('lists a projection that was never built', async () => {
  const listed = await cli(['projections', 'list']);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/^PROJECTION\s+VERSION\s+POSITION\s+LAG\s+STATUS\ntally\s+1\s+-\s+-\s+not built\n$/);
});

it('rebuilds a projection from the events and lists it caught up', async () => {
  await writeEvents(600);
  const rebuilt = await cli(['projections', 'rebuild', 'tally']);
  expect(rebuilt).toMatchObject({ code: 0, stdout: 'rebuilt tally from 600 events\n' });
  const db = await openReadModel(dataDir, 'tally');
  expect(await tallyOf(db!)).toEqual({ 'counter-0': 200, 'counter-1': 200, 'counter-2': 200 });
  await db!.close();
  const listed = await cli(['projections', 'list', '--json']);
  expect(JSON.parse(listed.stdout)).toMatchObject({ name: 'tally', version: 1, activeVersion: 1, position: 600, lag: 0, status: 'live' });
});

it('shows a projection whose version was raised as outdated until it is rebuilt', async () => {
  await writeEvents(100);
  await cli(['projections', 'rebuild', '--all']);
  const listed = await cli(['projections', 'list'], [tallyProjection({ version: 2 })]);
  expect(listed.stdout).toMatch(/tally\s+1 → 2\s+100\s+0\s+outdated/);
  await cli(['projections', 'rebuild', 'tally'], [tallyProjection({ version: 2 })]);
  expect((await cli(['projections', 'list'], [tallyProjection({ version: 2 })])).stdout).toMatch(/tally\s+2\s+100\s+0\s+live/);
});

it('shows where a failed projection stopped and why', async () => {
  await writeEvents(100);
  const fragile = tallyProjection({ failOn: (event) => event.revision === 7n });
  const rebuilt = await cli(['projections', 'rebuild', 'tally'], [fragile]);
  expect(rebuilt.code).toBe(1);
  expect(rebuilt.stderr).toMatch(/rebuilding tally failed at counter\.incremented: cannot tally counter-0@7/);
  expect((await cli(['projections', 'list'], [fragile])).stdout).toMatch(/failed at \d+ \(counter\.incremented\): cannot tally counter-0@7/);
});

it('refuses bad arguments with exit 2', async () => {
  expect(await cli(['projections', 'rebuild'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/name one projection to rebuild, or pass --all/) });
  expect(await cli(['projections', 'rebuild', 'nosuch'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown projection 'nosuch' \(known: tally\)/) });
  expect(await cli(['projections', 'rebuild', 'tally', '--all'])).toMatchObject({ code: 2 });
});

it('will not rebuild while a runtime writes the data directory, and says what to do', async () => {
  const runtime = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start', '--data', dataDir], {
    env: { ...process.env, LEDGERCLAW_LOG_LEVEL: 'silent' },
  });
  try {
    await runtime.waitForOutput('started');
    const refused = await cli(['projections', 'rebuild', 'tally']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`in use by pid ${runtime.pid}.*stop it to rebuild, or raise the projection's version`));
  } finally {
    runtime.kill('SIGTERM');
    await runtime.exited;
  }
});
