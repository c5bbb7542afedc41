/**
 * The consolidation trigger on a real store with the real actors: a group whose
 * conversation passes the budget gets one `memory.consolidation_requested`, no second one
 * while it is pending, and a new window once it was consolidated; on start it catches up
 * on what arrived while it was not running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { actorKinds } from '../../actors/index.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { memoryConsolidated } from '../../events/catalogue/daily-log.js';
import { catalogue } from '../../events/catalogue/index.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { ConsolidationTrigger } from '../../runtime/consolidation-trigger.js';

let dir: string;
let store: EventStore;
let host: ActorHost;
let trigger: ConsolidationTrigger | undefined;
let ts = 1_712_345_678;

async function say(groupId: string, words: number): Promise<string> {
  ts += 1;
  const messageId = `${ts}.000100`;
  const result = await host.send('group', groupId, { type: 'receiveMessage', messageId, sender: 'U1', text: 'word '.repeat(words).trim(), mentionsBot: false });
  if (result.status !== 'accepted') throw new Error(result.reason);
  return messageId;
}

async function requests(groupId: string) {
  return (await store.readStream(`memory-group.${groupId}`)).filter((event) => event.type === 'memory.consolidation_requested');
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('timed out');
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-consolidation-'));
  const backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, catalogue);
  host = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds });
  for (const group of ['T1.C1', 'T1.C2']) {
    await host.send('group', group, { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
  }
});

afterEach(async () => {
  trigger?.stop();
  await host.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

it('asks once when a conversation passes the budget, and again only after it was consolidated', async () => {
  trigger = new ConsolidationTrigger({ store, budgetTokens: 100 });
  await trigger.start();
  // Under the budget alone (about 15 tokens of 100): checked, and nothing asked.
  await say('T1.C1', 10);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await requests('T1.C1')).toHaveLength(0);
  const through = await say('T1.C1', 300);
  await eventually(async () => (await requests('T1.C1')).length === 1);
  const [request] = await requests('T1.C1');
  expect(request!.data).toMatchObject({ scope: 'group.T1.C1', reason: 'budget_exceeded', throughMessageId: through, messageCount: 2, budgetTokens: 100 });

  // Pending: more talk asks nothing more.
  await say('T1.C1', 300);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await requests('T1.C1')).toHaveLength(1);
  expect(await requests('T1.C2')).toHaveLength(0);

  await store.append('memory-group.T1.C1', [memoryConsolidated.create({ scope: 'group.T1.C1', factIds: [], dailyLogDay: '2026-01-05', throughMessageId: through })], { expectedRevision: 'any' });
  await say('T1.C1', 50);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Only the message after the consolidated window and the one before it count now: 300 + 50 words.
  await eventually(async () => (await requests('T1.C1')).length === 2);
});

it('catches up on start with what arrived while it was not running, and asks once however often it checks', async () => {
  await say('T1.C2', 500);
  trigger = new ConsolidationTrigger({ store, budgetTokens: 100 });
  await trigger.start();
  expect(await requests('T1.C2')).toHaveLength(1);
  expect(await trigger.check('T1.C2')).toBe(false);
  expect(await requests('T1.C2')).toHaveLength(1);
});

it('counts a window longer than one page of the stream, read back from the newest message', async () => {
  const first = await say('T1.C1', 1);
  for (let index = 0; index < 248; index += 1) await say('T1.C1', 1);
  const through = await say('T1.C1', 1);
  trigger = new ConsolidationTrigger({ store, budgetTokens: 400 });
  expect(await trigger.check('T1.C1')).toBe(true);
  const [request] = await requests('T1.C1');
  expect(request!.data).toMatchObject({ messagesSince: first, throughMessageId: through, messageCount: 250 });
});
