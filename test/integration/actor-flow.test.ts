/**
 * The six kinds wired together on the real SQLite store: a Slack mention becomes a turn,
 * a run, a supervisor slot, a finished run and a free slot again; a scheduled task fires,
 * runs and completes. The container is not here yet (it arrives with agent runs), so a
 * stand-in `run.startContainer` executor reports the container started and the run done.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { actorKinds } from '../../actors/index.js';
import { SUPERVISOR_ID, type SupervisorContext } from '../../actors/supervisor.js';
import { openSqliteBackend, type SqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../events/catalogue/index.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { verifyHashChains } from '../../events/verify.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import type { EffectContext } from '../../runtime/actor-host/effects.js';
import { actorWiring } from '../../runtime/actor-wiring.js';

let dir: string;
let backend: SqliteBackend;
let store: EventStore;
let host: ActorHost;
const acknowledged: string[] = [];

/** Stands in for the container runner of a later issue: starts, answers, finishes. */
async function fakeContainer(params: unknown, context: EffectContext): Promise<void> {
  const { runId } = params as { runId: string };
  await context.send('run', runId, { type: 'reportStarted', containerId: `container-${runId}` });
  await context.send('run', runId, { type: 'complete', summary: 'answered', tokens: { input: 10, output: 5, cacheRead: 0, cacheWrite: 0 } });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-flow-'));
  backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, catalogue);
  host = new ActorHost({
    requireAllEffects: false,
    store,
    kinds: actorKinds,
    effects: {
      ...actorWiring,
      'run.startContainer': fakeContainer,
      'group.acknowledgeMessage': async (params: unknown) => {
        acknowledged.push((params as { messageId: string }).messageId);
      },
    },
  });
});

afterEach(async () => {
  await host.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  acknowledged.length = 0;
});

it('takes a Slack mention through a run and back, every event in the message correlation', async () => {
  await host.send('group', 'T1.C1', { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
  const received = await host.send(
    'group',
    'T1.C1',
    { type: 'receiveMessage', messageId: '1712345678.000100', sender: 'U1', text: '<@B1> what is due today?', mentionsBot: true },
    { correlationId: 'slack-Ev001', actor: 'user:U1' },
  );
  expect(received).toMatchObject({ status: 'accepted' });
  await host.idle();

  const run = await host.load('run', 'T1.C1-1712345678.000100');
  expect(run.state).toBe('finished.completed');
  expect((await host.load('group', 'T1.C1')).state).toBe('configured.idle');
  const supervisor = (await host.load('supervisor', SUPERVISOR_ID)).snapshot.context as SupervisorContext;
  expect([supervisor.queue, supervisor.active]).toEqual([[], []]);
  expect(acknowledged).toEqual(['1712345678.000100']);

  const traced = await store.readByCorrelation('slack-Ev001');
  const streams = new Set(traced.map((event) => event.streamId));
  expect(streams).toEqual(new Set(['group-T1.C1', 'run-T1.C1-1712345678.000100', 'supervisor']));
  expect(traced.map((event) => event.type)).toEqual(
    expect.arrayContaining(['group.turn_requested', 'run.queued', 'supervisor.run_dispatched', 'run.completed', 'supervisor.run_released', 'group.run_finished']),
  );
  // Every event after the first names the event or command that caused it.
  expect(traced.every((event) => event.metadata.causationId !== null)).toBe(true);
  expect(await verifyHashChains(backend)).toMatchObject({ ok: true });
});

it('fires a once task, runs it and completes the task', async () => {
  // A day ahead of the real clock the host stamps commands with: a once time must be in the future.
  const dueAt = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000 + 86_400_000 + 9 * 3_600_000).toISOString();
  await host.send('task', 'digest', {
    type: 'schedule',
    groupId: 'T1.C1',
    prompt: 'Summarise yesterday',
    schedule: { kind: 'once', at: dueAt },
    contextMode: 'isolated',
  });
  const fired = await host.send('task', 'digest', { type: 'fire', dueAt });
  expect(fired).toMatchObject({ status: 'accepted' });
  await host.idle();
  expect((await host.load('task', 'digest')).state).toBe('completed');
  const again = await host.send('task', 'digest', { type: 'fire', dueAt: '2026-11-24T09:00:00.000Z' });
  expect(again).toMatchObject({ status: 'rejected' });
});
