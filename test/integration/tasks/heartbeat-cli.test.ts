/**
 * `ledgerclaw tasks heartbeat <group>`: off until turned on; on, a group task with the
 * heartbeat wake gate and the heartbeat prompt; asked again with the same interval, left
 * as it is; with another, replaced; `--off`, cancelled. One live heartbeat per group.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { HEARTBEAT_PROMPT } from '../../../runtime/scheduler/heartbeat-task.js';
import { runCliCaptured, type CliOutcome } from '../../support/in-process-cli.js';
import { temporaryDir } from '../projections/fixture.js';

let dir: { path: string; remove: () => Promise<void> };

beforeEach(async () => {
  dir = await temporaryDir('heartbeat-cli');
});

afterEach(async () => {
  await dir.remove();
});

const cli = (...args: string[]): Promise<CliOutcome> => runCliCaptured(['tasks', ...args, '--data', dir.path], { cwd: dir.path, env: { LEDGERCLAW_LOG_LEVEL: 'silent' } });

async function taskStreams(): Promise<Map<string, StoredEvent[]>> {
  const backend = await openSqliteBackend({ path: join(dir.path, 'events.db'), mode: 'writer' });
  const store = createEventStore(backend, catalogue);
  try {
    const streams = new Map<string, StoredEvent[]>();
    for (const { streamId } of await store.listStreams({ prefix: 'task-' })) streams.set(streamId, await store.readStream(streamId));
    return streams;
  } finally {
    await store.close();
  }
}

const lastType = (events: readonly StoredEvent[]) => events[events.length - 1]!.type;

it('schedules one gated heartbeat task for the group, keeps it when asked again, and replaces it for a new interval', async () => {
  const on = await cli('heartbeat', 'T1.COPS', '--every', '15m');
  expect(on, on.stderr).toMatchObject({ code: 0 });
  expect(on.stdout).toMatch(/^the heartbeat of T1\.COPS is on, every 15 ?min \(task heartbeat\.T1\.COPS\.[0-9a-z]+\)\n$/);
  let streams = await taskStreams();
  expect(streams.size).toBe(1);
  const [first] = [...streams.values()];
  expect(first![0]).toMatchObject({
    type: 'task.scheduled',
    data: { groupId: 'T1.COPS', prompt: HEARTBEAT_PROMPT, schedule: { kind: 'interval', everyMs: 900_000 }, contextMode: 'group', catchUp: 'skip', gate: { kind: 'heartbeat' } },
  });

  const again = await cli('heartbeat', 'T1.COPS', '--every', '15m');
  expect(again.stdout).toMatch(/is already on/);
  expect((await taskStreams()).size).toBe(1);

  const replaced = await cli('heartbeat', 'T1.COPS', '--every', '1h');
  expect(replaced, replaced.stderr).toMatchObject({ code: 0 });
  streams = await taskStreams();
  expect(streams.size).toBe(2);
  expect([...streams.values()].map(lastType).sort()).toEqual(['task.cancelled', 'task.scheduled']);
});

it('turns the heartbeat off by cancelling its task, and says so when there was none', async () => {
  expect((await cli('heartbeat', 'T1.COPS', '--off')).stdout).toBe('the heartbeat of T1.COPS was not on\n');
  await cli('heartbeat', 'T1.COPS');
  const off = await cli('heartbeat', 'T1.COPS', '--off');
  expect(off.stdout).toMatch(/^the heartbeat of T1\.COPS is off \(cancelled heartbeat\.T1\.COPS\.[0-9a-z]+\)\n$/);
  const [events] = [...(await taskStreams()).values()];
  expect(events!.map((event) => event.type)).toEqual(['task.scheduled', 'task.cancelled']);
  expect((events![0]!.data as { schedule: { everyMs: number } }).schedule.everyMs).toBe(30 * 60_000);
});

it('refuses --every together with --off', async () => {
  const both = await cli('heartbeat', 'T1.COPS', '--off', '--every', '5m');
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/--every and --off/);
});
