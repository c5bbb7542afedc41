/**
 * Issue 18: deleting every read model and generated file and rebuilding the way an operator
 * does (`ledgerclaw projections rebuild --all`) gives byte-identical MEMORY.md, daily logs
 * and WORK_CONTEXT.md, from a store holding facts of several categories, a demotion, a
 * restored fact, a conflict, daily logs (several entries in a day, several days) and work.
 * And `ledgerclaw memory search` finds what the daily logs and the demoted facts say.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { factsToDemote } from '../../actors/memory-capacity.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { memoryDailyLogWritten } from '../../events/catalogue/daily-log.js';
import { readModelProjections } from '../../projections/index.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { readModelsDir } from '../../projections/read-model-files.js';
import { runCliCaptured } from '../support/in-process-cli.js';
import { createWorld, temporaryDir, type World } from './projections/fixture.js';
import { buildMemoryScenario, GROUP_A, recordFact, SCOPE_A } from './projections/memory-scenario.js';

let dir: { path: string; remove: () => Promise<void> };
let world: World;
let stopped = false;

const GROUP_C = 'T1.C3';
const SCOPE_C = `group.${GROUP_C}`;

beforeEach(async () => {
  dir = await temporaryDir('memory-files-rebuild');
  const backend = await openSqliteBackend({ path: join(dir.path, 'events.db'), mode: 'writer' });
  world = createWorld(undefined, backend);
  stopped = false;
  await buildMemoryScenario(world);

  // Work context: a scheduled task of group A.
  await world.send('task', 'digest', {
    type: 'schedule',
    groupId: GROUP_A,
    prompt: 'Post the overdue invoices',
    schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' },
    contextMode: 'group',
  });

  // Daily logs: a second entry on the scenario's day, and a second day.
  await world.append(`memory-${SCOPE_A}`, [
    memoryDailyLogWritten.create({ scope: SCOPE_A, day: '2026-01-05', summary: 'Evening: Bob closed the Umbrella renewal.\r\nThe kestrel migration slipped a week.', writtenBy: 'user:U1' }),
  ]);
  await world.append(`memory-${SCOPE_A}`, [
    memoryDailyLogWritten.create({ scope: SCOPE_A, day: '2026-01-06', summary: 'Quiet day; the auditors asked for the Q4 ledger.', writtenBy: 'agent:consolidation' }),
  ]);

  // Group C: past capacity, in four categories; the lowest ranked demoted, one restored.
  const categories = ['user', 'feedback', 'project', 'reference'] as const;
  for (let index = 0; index < 230; index += 1) {
    await recordFact(world, SCOPE_C, {
      id: `c${index}`,
      key: `topic.item_${index}`,
      statement: `Item ${index} is tracked by the ${index % 2 === 0 ? 'osprey' : 'heron'} team.`,
      confidence: index % 7 === 0 ? 'user-stated' : 'agent-observed',
      category: categories[index % 4]!,
    });
  }
  const demoted = factsToDemote((await world.host.load('memory', SCOPE_C)).context);
  await world.send('memory', SCOPE_C, { type: 'demoteFacts', factIds: demoted, capacityLines: 200 }, 'runtime');
  // The oldest agent fact was demoted; a user confirming it brings it back.
  expect(demoted).toContain('c1');
  await world.send('memory', SCOPE_C, { type: 'confirmFact', factId: 'c1' }, 'user:U1');
});

afterEach(async () => {
  if (!stopped) await world.stop();
  await dir.remove();
});

async function buildReadModels(): Promise<void> {
  const host = new ProjectionHost({ store: world.store, projections: readModelProjections, dataDir: dir.path });
  await host.start();
  const head = await world.store.headPosition();
  for (const projection of readModelProjections) await host.waitFor(projection.name, head);
  await host.stop();
}

/** Every generated file of the data directory (all but the event store and the read models), by relative path. */
async function generatedFiles(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const entries = await readdir(dir.path, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.md')) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir.path, path), await readFile(path));
  }
  return new Map([...files].sort(([left], [right]) => (left < right ? -1 : 1)));
}

const cli = (args: string[]) => runCliCaptured([...args, '--data', dir.path, '--json'], { cwd: dir.path, env: { LEDGERCLAW_LOG_LEVEL: 'silent' } });

it('rebuilds byte-identical MEMORY.md, daily logs and WORK_CONTEXT.md after every read model and file is deleted', async () => {
  await buildReadModels();
  const before = await generatedFiles();
  expect([...before.keys()]).toEqual([
    'WORK_CONTEXT.md',
    'groups/T1.C1/MEMORY.md',
    'groups/T1.C1/WORK_CONTEXT.md',
    'groups/T1.C1/memory/2026-01-05.md',
    'groups/T1.C1/memory/2026-01-06.md',
    'groups/T1.C2/MEMORY.md',
    'groups/T1.C2/memory/2026-01-05.md',
    'groups/T1.C3/MEMORY.md',
  ]);
  const dayOne = before.get('groups/T1.C1/memory/2026-01-05.md')!.toString();
  expect(dayOne).toMatch(/^# Daily log of group T1\.C1, 2026-01-05\n/);
  // Both entries of the day, in the order they were written.
  expect(dayOne.indexOf('Twelve invoices are overdue')).toBeLessThan(dayOne.indexOf('Evening: Bob closed the Umbrella renewal.\nThe kestrel'));
  expect(dayOne).toContain('UTC, by user:U1\n');
  const memoryC = before.get('groups/T1.C3/MEMORY.md')!.toString();
  expect(memoryC.split('\n').length - 1).toBeLessThanOrEqual(200);
  expect(memoryC).toContain('(c1, ');
  expect(memoryC).not.toContain('(c3, ');

  stopped = true;
  await world.stop();
  await rm(readModelsDir(dir.path), { recursive: true });
  for (const file of before.keys()) await rm(join(dir.path, file));
  expect((await generatedFiles()).size).toBe(0);

  const rebuilt = await runCliCaptured(['projections', 'rebuild', '--all', '--data', dir.path], { cwd: dir.path, env: { LEDGERCLAW_LOG_LEVEL: 'silent' } });
  expect(rebuilt.code, rebuilt.stderr).toBe(0);
  const after = await generatedFiles();
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [file, bytes] of before) expect(after.get(file)?.equals(bytes), file).toBe(true);
});

it('finds daily-log text and demoted facts with ledgerclaw memory search', async () => {
  await buildReadModels();
  const daily = await cli(['memory', 'search', 'kestrel migration', '--group', GROUP_A]);
  expect(daily.code, daily.stderr).toBe(0);
  expect(daily.stdout).toContain('**kestrel**');
  expect(daily.stdout).toContain('2026-01-05');

  const demoted = await cli(['memory', 'search', 'Item 3 tracked', '--group', GROUP_C]);
  expect(demoted.code, demoted.stderr).toBe(0);
  expect(demoted.stdout).toContain('"factId":"c3"');
  expect(demoted.stdout).toMatch(/"factId":"c3"[^}]*"demoted":true/);
});
