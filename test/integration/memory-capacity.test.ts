/**
 * MEMORY.md's capacity through the real actor host and its wiring, on a real SQLite store:
 * facts past 200 lines are demoted by the enforce-memory-capacity workflow (never deleted),
 * and a demotion a crash left owed is made on restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { factsToDemote } from '../../actors/memory-capacity.js';
import { actorKinds } from '../../actors/index.js';
import { openSqliteBackend, type SqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../events/catalogue/index.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { actorWiring } from '../../runtime/actor-wiring.js';

const SCOPE = 'group.T1.C1';
let dir: string;
let backend: SqliteBackend;
let store: EventStore;
const hosts: ActorHost[] = [];

function newHost(withWiring: boolean): ActorHost {
  const host = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds, effects: withWiring ? actorWiring : {} });
  hosts.push(host);
  return host;
}

async function recordFacts(host: ActorHost, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    const fact = {
      id: `f${index}`,
      key: `topic.item_${index}`,
      statement: `Item ${index} ships on Tuesdays.`,
      confidence: 'agent-observed' as const,
      category: index % 2 === 0 ? ('project' as const) : ('reference' as const),
      source: { kind: 'message' as const, ref: `T1.C1/1712345678.${String(index).padStart(6, '0')}` },
    };
    expect(await host.send('memory', SCOPE, { type: 'recordFact', fact }, { actor: 'agent:run-1' })).toMatchObject({ status: 'accepted' });
  }
}

async function demotionEvents(): Promise<string[][]> {
  const events = await store.readStream(`memory-${SCOPE}`);
  return events.filter((event) => event.type === 'memory.fact_demoted').map((event) => (event.data as { factIds: string[] }).factIds);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-memory-capacity-'));
  backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, catalogue);
});

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

it('demotes the lowest-ranked facts once a group passes 200 lines, deleting none, each fact demoted once', async () => {
  const host = newHost(true);
  await recordFacts(host, 230);
  await host.idle();

  const memory = await host.load('memory', SCOPE);
  expect(factsToDemote(memory.context)).toEqual([]);
  expect(memory.context.facts.filter((fact) => fact.status === 'active')).toHaveLength(230);
  const demoted = (await demotionEvents()).flat();
  expect(demoted.length).toBeGreaterThan(20);
  expect(new Set(demoted).size).toBe(demoted.length);
  // The oldest agent facts went first; the newest is shown.
  expect(demoted).toContain('f0');
  expect(demoted).not.toContain('f229');
});

it('makes a demotion owed across a restart: a host that stopped before demoting leaves it pending, the next one demotes', async () => {
  const crashed = newHost(false);
  await recordFacts(crashed, 230);
  await crashed.idle();
  expect(await demotionEvents()).toEqual([]);
  await crashed.stop();

  const restarted = newHost(true);
  expect(await restarted.resumePendingEffects()).toBeGreaterThan(0);
  await restarted.idle();
  expect(factsToDemote((await restarted.load('memory', SCOPE)).context)).toEqual([]);
  expect((await demotionEvents()).flat().length).toBeGreaterThan(20);
});
