/**
 * The consolidation trigger on a real store with the real actors: a group whose
 * conversation passes the budget gets one `memory.consolidation_requested` (through its
 * memory actor), no second one while it is pending, and a new window once it was
 * consolidated or failed; on start it catches up on what arrived while it was not running.
 * A Slack thread is a conversation of its own, with its own window, asked for in its
 * channel's scope.
 * No consolidation executor runs here: the tests close requests by hand.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { z } from 'zod';
import { actorKinds } from '../../actors/index.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../events/catalogue/index.js';
import type { consolidationRequestDataSchema } from '../../events/catalogue/daily-log.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { ConsolidationTrigger } from '../../runtime/consolidation-trigger.js';

let dir: string;
let store: EventStore;
let host: ActorHost;
let trigger: ConsolidationTrigger | undefined;
let ts = 1_712_345_678;
/** A Slack thread of T1.C1: its own conversation, remembered in T1.C1's scope. */
const THREAD = 'T1.C1.1712340000.000100';

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

/** Closes the open request the way the consolidation executor does, with no facts. */
async function consolidateByHand(groupId: string, requestId: string): Promise<void> {
  const scope = `group.${groupId}`;
  for (const command of [
    { type: 'startConsolidationAttempt', requestId, attempt: 1 },
    { type: 'noteConsolidationAnswer', requestId, attempt: 1, call: { model: 'claude-sonnet-5-5', tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, costUsd: 0, latencyMs: 1, httpAttempts: 1, stopReason: 'end_turn' }, answer: '{}' },
    { type: 'completeConsolidation', requestId, factIds: [], dailyLog: { day: '2026-01-05', summary: 'Talk.', writtenBy: 'agent:consolidation' } },
  ]) {
    const result = await host.sendUnchecked('memory', scope, command);
    if (result.status !== 'accepted') throw new Error(result.reason);
  }
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
  for (const group of ['T1.C1', 'T1.C2', THREAD]) {
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
  trigger = new ConsolidationTrigger({ store, actors: host, budgetTokens: 100 });
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

  await consolidateByHand('T1.C1', request!.id);
  await say('T1.C1', 50);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Only the message after the consolidated window and the one before it count now: 300 + 50 words.
  await eventually(async () => (await requests('T1.C1')).length === 2);
});

it('catches up on start with what arrived while it was not running, and asks once however often it checks', async () => {
  await say('T1.C2', 500);
  trigger = new ConsolidationTrigger({ store, actors: host, budgetTokens: 100 });
  await trigger.start();
  expect(await requests('T1.C2')).toHaveLength(1);
  expect(await trigger.check('T1.C2')).toBe(false);
  expect(await requests('T1.C2')).toHaveLength(1);
});

it('counts a window longer than one page of the stream, read back from the newest message', async () => {
  const first = await say('T1.C1', 1);
  for (let index = 0; index < 248; index += 1) await say('T1.C1', 1);
  const through = await say('T1.C1', 1);
  trigger = new ConsolidationTrigger({ store, actors: host, budgetTokens: 400 });
  expect(await trigger.check('T1.C1')).toBe(true);
  const [request] = await requests('T1.C1');
  expect(request!.data).toMatchObject({ messagesSince: first, throughMessageId: through, messageCount: 250 });
});

it('treats a failed request as closed: the next message asks again for the window it left unconsolidated (a pending request blocked a group forever)', async () => {
  trigger = new ConsolidationTrigger({ store, actors: host, budgetTokens: 100 });
  const first = await say('T1.C1', 300);
  expect(await trigger.check('T1.C1')).toBe(true);
  const [request] = await requests('T1.C1');
  const failed = await host.send('memory', 'group.T1.C1', { type: 'failConsolidation', requestId: request!.id, reason: 'the model answered nonsense three times' });
  expect(failed.status).toBe('accepted');

  const through = await say('T1.C1', 5);
  expect(await trigger.check('T1.C1')).toBe(true);
  const asked = await requests('T1.C1');
  expect(asked).toHaveLength(2);
  // The failed window is asked for again, with what came after it.
  expect(asked[1]!.data).toMatchObject({ messagesSince: first, throughMessageId: through, messageCount: 2 });
});

it('refuses a second request while one is open, even when asked past the trigger', async () => {
  trigger = new ConsolidationTrigger({ store, actors: host, budgetTokens: 100 });
  await say('T1.C1', 300);
  expect(await trigger.check('T1.C1')).toBe(true);
  const [request] = await requests('T1.C1');
  const again = await host.send('memory', 'group.T1.C1', { type: 'requestConsolidation', request: { ...(request!.data as z.infer<typeof consolidationRequestDataSchema>), throughMessageId: '1999999999.000100' } });
  expect(again).toMatchObject({ status: 'rejected', reason: expect.stringContaining('is still open; one request at a time') });
});

it("asks for a thread's window in its channel's scope, the memory the channel's runs read (a thread was consolidated into a scope of its own)", async () => {
  trigger = new ConsolidationTrigger({ store, actors: host, budgetTokens: 100 });
  const first = await say(THREAD, 10);
  const through = await say(THREAD, 300);
  expect(await trigger.check(THREAD)).toBe(true);
  const [request] = await requests('T1.C1');
  expect(request!.data).toMatchObject({ scope: 'group.T1.C1', conversationId: THREAD, messagesSince: first, throughMessageId: through, messageCount: 2 });
  expect(await store.readStream(`memory-group.${THREAD}`)).toEqual([]);
  // The channel has said nothing: its own window is empty, and its check asks nothing.
  expect(await trigger.check('T1.C1')).toBe(false);
  expect(await requests('T1.C1')).toHaveLength(1);
});

it("starts each conversation's window after its own last consolidation, not the scope's newest, and asks for one while another's is open only later", async () => {
  trigger = new ConsolidationTrigger({ store, actors: host, budgetTokens: 100 });
  const threadFirst = await say(THREAD, 60); // about 75 tokens: under the budget alone
  expect(await trigger.check(THREAD)).toBe(false);
  await say('T1.C1', 300);
  expect(await trigger.check('T1.C1')).toBe(true);
  await consolidateByHand('T1.C1', (await requests('T1.C1'))[0]!.id);

  // The channel's consolidation (through a later message) does not end the thread's window.
  const threadThrough = await say(THREAD, 60);
  expect(await trigger.check(THREAD)).toBe(true);
  const threadRequest = (await requests('T1.C1'))[1]!;
  expect(threadRequest.data).toMatchObject({ conversationId: THREAD, messagesSince: threadFirst, throughMessageId: threadThrough, messageCount: 2 });

  // The thread's request is open: the channel's over-budget window waits for it, and is asked for by its next message.
  const channelNext = await say('T1.C1', 300);
  expect(await trigger.check('T1.C1')).toBe(false);
  expect(await requests('T1.C1')).toHaveLength(2);
  await consolidateByHand('T1.C1', threadRequest.id);
  const channelThrough = await say('T1.C1', 5);
  expect(await trigger.check('T1.C1')).toBe(true);
  const channelRequest = (await requests('T1.C1'))[2]!;
  expect(channelRequest.data).toMatchObject({ conversationId: 'T1.C1', messagesSince: channelNext, throughMessageId: channelThrough, messageCount: 2 });

  // The thread's window starts after its own consolidation: one more short message is under budget.
  await say(THREAD, 5);
  expect(await trigger.check(THREAD)).toBe(false);
});

it("reads a conversation's window start back past its own failed request and another conversation's consolidated one, to its own consolidated one", async () => {
  trigger = new ConsolidationTrigger({ store, actors: host, budgetTokens: 100 });
  await say(THREAD, 300);
  expect(await trigger.check(THREAD)).toBe(true);
  await consolidateByHand('T1.C1', (await requests('T1.C1'))[0]!.id);
  const failedFirst = await say(THREAD, 300);
  expect(await trigger.check(THREAD)).toBe(true);
  const failing = (await requests('T1.C1'))[1]!;
  expect((await host.send('memory', 'group.T1.C1', { type: 'failConsolidation', requestId: failing.id, reason: 'the model answered nonsense' })).status).toBe('accepted');
  // The channel's window, consolidated through a message later than the thread's failed window.
  await say('T1.C1', 300);
  expect(await trigger.check('T1.C1')).toBe(true);
  await consolidateByHand('T1.C1', (await requests('T1.C1'))[2]!.id);

  const through = await say(THREAD, 5);
  expect(await trigger.check(THREAD)).toBe(true);
  expect((await requests('T1.C1'))[3]!.data).toMatchObject({ conversationId: THREAD, messagesSince: failedFirst, throughMessageId: through, messageCount: 2 });
});

it("reads the scope's memory back no further than the thread's first message, however much the channel remembers from before it", async () => {
  for (let index = 0; index < 450; index += 1) {
    const fact = { id: `f${index}`, key: `topic.item_${index}`, statement: `Item ${index} ships on Tuesdays.`, confidence: 'agent-observed' as const, source: { kind: 'message' as const, ref: 'x' } };
    expect(await host.send('memory', 'group.T1.C1', { type: 'recordFact', fact }, { actor: 'agent:run-1' })).toMatchObject({ status: 'accepted' });
  }
  const memoryPages: number[] = [];
  const counted = new Proxy(store, {
    get(target, key) {
      if (key === 'readStream') {
        return async (...args: Parameters<EventStore['readStream']>) => {
          const page = await target.readStream(...args);
          if (args[0] === 'memory-group.T1.C1') memoryPages.push(page.length);
          return page;
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  trigger = new ConsolidationTrigger({ store: counted, actors: host, budgetTokens: 100 });
  const thread = 'T1.C1.1712350000.000100';
  await host.send('group', thread, { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
  await say(thread, 300);
  expect(await trigger.check(thread)).toBe(true);
  // One page, whose newest event is older than the thread: none of the 450 facts' pages after it.
  expect(memoryPages).toEqual([200]);
});
