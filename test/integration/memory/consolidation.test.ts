/**
 * Consolidation answered, on a real SQLite store with the real actors and the real model
 * gateway against the scripted fake Anthropic API: a request the trigger records is
 * answered with one model call, whose categorized facts, daily log and memory.consolidated
 * are recorded through the group's memory actor and whose tokens count in the group's
 * usage under the kind `consolidation`; a malformed answer is retried and the request ends
 * failed, after which the next window asks again; a restart between the model's answer and
 * its recording records nothing twice and pays for no second call. A Slack thread's window is
 * read from the thread and remembered in its channel's scope.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { consolidationFactId } from '../../../projections/consolidation.js';
import type { ConsolidateExecutor } from './consolidation-world.js';
import { ConsolidationWorld, MODEL, SAMPLE_GROUP, sampleAnswer, sampleConversation, textReply } from './consolidation-world.js';

const GROUP = SAMPLE_GROUP;
const SCOPE = `group.${GROUP}`;
const conversation = (w: ConsolidationWorld) => sampleConversation(w);
const goodAnswer = sampleAnswer;
const text = textReply;

let world: ConsolidationWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a good answer', () => {
  it('records categorized facts from one model call, the daily log and memory.consolidated, and charges the group under the kind consolidation', async () => {
    world = await ConsolidationWorld.open();
    const ids = await conversation(world);
    // Known already, in the same words: the memory actor refuses it as a duplicate, which is no failure.
    await world.host.send('memory', SCOPE, {
      type: 'recordFact',
      fact: { id: 'f-known', key: 'team.planning.topics', statement: 'The team reviews the pipeline, hiring and the office move together.', confidence: 'agent-observed', source: { kind: 'message', ref: 'x' } },
    });
    world.fake.enqueue(text(goodAnswer(ids)));

    expect(await world.trigger.check(GROUP)).toBe(true);
    await world.host.idle();

    const [request] = await world.memoryEvents(GROUP, 'memory.consolidation_requested');
    const requestId = request!.id;
    expect(world.fake.requests).toHaveLength(1);
    const body = world.fake.requests[0]!.body as { model: string; messages: { content: string }[] };
    expect(body.model).toBe(MODEL);
    expect(body.messages[0]!.content).toContain(`[${ids.acme}] U1: Heads up: Acme confirmed`);
    expect(body.messages[0]!.content).toContain('- team.planning.topics [agent-observed]');

    const facts = (await world.memoryEvents(GROUP, 'memory.fact_recorded')).map((event) => event.data);
    expect(facts.slice(1)).toEqual([
      expect.objectContaining({ factId: consolidationFactId(requestId, 1, 0), key: 'vendor.acme.payment_terms', category: 'project', confidence: 'agent-observed', source: { kind: 'consolidation', ref: requestId } }),
      expect.objectContaining({ factId: consolidationFactId(requestId, 1, 1), key: 'people.onboarding.checklist', category: 'reference', source: { kind: 'consolidation', ref: requestId } }),
    ]);
    expect((await world.memoryEvents(GROUP, 'memory.daily_log_written')).map((event) => event.data)).toEqual([
      { scope: SCOPE, day: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), summary: 'Acme moves to net 30 in February. The onboarding checklist is in the wiki.', writtenBy: 'agent:consolidation' },
    ]);
    const [consolidated] = await world.memoryEvents(GROUP, 'memory.consolidated');
    expect(consolidated!.data).toMatchObject({ scope: SCOPE, factIds: [consolidationFactId(requestId, 1, 0), consolidationFactId(requestId, 1, 1)], throughMessageId: ids.wiki });
    expect((await world.host.load('memory', SCOPE)).snapshot.context.consolidation).toBeNull();

    const [called] = await world.memoryEvents(GROUP, 'memory.consolidation_model_called');
    expect(called!.data).toMatchObject({ requestId, attempt: 1, model: MODEL, tokens: { input: 900, output: 150 }, costUsd: expect.any(Number) });
    expect(await world.usageByKind(GROUP)).toEqual([{ call_kind: 'consolidation', budgeted_tokens: 1_050, cost_usd: expect.any(Number), model_calls: 1 }]);
    // The group's daily budget counts it, as it counts runs.
    expect(await world.usage.spentToday('group', GROUP)).toBe(1_050);
  });

  it("of a thread's window records its facts and daily log in its channel's memory, which the channel's runs read (they went to a per-thread scope no run reads)", async () => {
    world = await ConsolidationWorld.open();
    const thread = `${GROUP}.1767600000.000100`;
    await world.configureGroup(GROUP);
    const channelTalk = await world.say(GROUP, 'Lunch is at noon on Fridays.');
    const ids = await sampleConversation(world, thread);
    world.fake.enqueue(text(goodAnswer(ids)));

    expect(await world.trigger.check(thread)).toBe(true);
    await world.host.idle();

    const [request] = await world.memoryEvents(GROUP, 'memory.consolidation_requested');
    expect(request!.data).toMatchObject({ scope: SCOPE, conversationId: thread, messagesSince: ids.acme, throughMessageId: ids.wiki });
    // The window is the thread's talk, read from the thread's stream, and only that.
    const prompt = (world.fake.requests[0]!.body as { messages: { content: string }[] }).messages[0]!.content;
    expect(prompt).toContain(`[${ids.acme}] U1: Heads up: Acme confirmed`);
    expect(prompt).not.toContain(channelTalk);
    const facts = (await world.memoryEvents(GROUP, 'memory.fact_recorded')).map((event) => event.data);
    expect(facts).toEqual([
      expect.objectContaining({ factId: consolidationFactId(request!.id, 1, 0), key: 'vendor.acme.payment_terms', source: { kind: 'consolidation', ref: request!.id } }),
      expect.objectContaining({ key: 'people.onboarding.checklist' }),
      expect.objectContaining({ key: 'team.planning.topics' }),
    ]);
    expect((await world.memoryEvents(GROUP, 'memory.daily_log_written')).map((event) => event.data)).toEqual([expect.objectContaining({ scope: SCOPE })]);
    expect((await world.memoryEvents(GROUP, 'memory.consolidated'))[0]!.data).toMatchObject({ scope: SCOPE, throughMessageId: ids.wiki });
    expect(await world.memoryEvents(thread)).toEqual([]);
    expect(await world.usage.spentToday('group', GROUP)).toBe(1_050);
  });

  it('is answered with one model call when the effect is asked for twice at once (the request event and the owed effects resumed at start)', async () => {
    world = await ConsolidationWorld.open();
    const ids = await conversation(world);
    // The model answers only once the owed effects were resumed: both are under way together.
    let resumed!: () => void;
    const bothAsked = new Promise<void>((resolve) => (resumed = resolve));
    world.fake.respondWith(async () => {
      await bothAsked;
      return text(goodAnswer(ids));
    });
    expect(await world.trigger.check(GROUP)).toBe(true);
    for (let tries = 0; tries < 100 && (await world.memoryEvents(GROUP, 'memory.consolidation_attempt_started')).length === 0; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await world.host.resumePendingEffects()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    resumed();
    await world.host.idle();
    expect(world.fake.requests).toHaveLength(1);
    expect(await world.memoryEvents(GROUP, 'memory.consolidated')).toHaveLength(1);
    expect(await world.memoryEvents(GROUP, 'memory.consolidation_attempt_failed')).toEqual([]);
  });

  it('tries a step again after an error that recorded nothing (the store refusing a read once), instead of leaving the request open until the next start', async () => {
    let loads = 0;
    const failFirstLoad = (executor: ConsolidateExecutor): ConsolidateExecutor => (params, context) =>
      executor(params, {
        ...context,
        load: (async (kind: string, id: string) => {
          if ((loads += 1) === 1) throw new Error('SQLITE_BUSY: database is locked');
          return context.load(kind as never, id);
        }) as typeof context.load,
      });
    world = await ConsolidationWorld.open({ wrap: failFirstLoad });
    const ids = await conversation(world);
    world.fake.enqueue(text(goodAnswer(ids)));
    expect(await world.trigger.check(GROUP)).toBe(true);
    await world.host.idle();
    expect(loads).toBeGreaterThan(1);
    expect(await world.memoryEvents(GROUP, 'memory.consolidated')).toHaveLength(1);
    expect(world.fake.requests).toHaveLength(1);
  });

  it('fails the request at once, with no model call, when the group has spent its daily budget', async () => {
    world = await ConsolidationWorld.open({ spentToday: async () => 5_000, settings: { groupDailyTokens: 4_000 } });
    await conversation(world);
    expect(await world.trigger.check(GROUP)).toBe(true);
    await world.host.idle();
    expect(world.fake.requests).toHaveLength(0);
    const [failed] = await world.memoryEvents(GROUP, 'memory.consolidation_failed');
    expect(failed!.data).toMatchObject({ attempts: 0, reason: expect.stringMatching(/group T1\.C1 has spent 5000 of its 4000 tokens today \(budgets\.groupDailyTokens\)/) });
  });
});

describe('a failing answer', () => {
  it('is retried with each failure recorded, ends as memory.consolidation_failed, and the next window asks again', async () => {
    world = await ConsolidationWorld.open();
    const ids = await conversation(world);
    world.fake.enqueue(text('Sure! Acme pays net 30.'), { error: { status: 400, message: 'prompt is too long' } }, text('{"facts": []}'));

    expect(await world.trigger.check(GROUP)).toBe(true);
    await world.host.idle();

    expect(world.fake.requests).toHaveLength(3);
    const [request] = await world.memoryEvents(GROUP, 'memory.consolidation_requested');
    const failures = (await world.memoryEvents(GROUP, 'memory.consolidation_attempt_failed')).map((event) => event.data as { attempt: number; reason: string });
    expect(failures.map((failure) => failure.attempt)).toEqual([1, 2, 3]);
    expect(failures[0]!.reason).toMatch(/not JSON/);
    expect(failures[1]!.reason).toMatch(/400 invalid_request_error: prompt is too long/);
    expect(failures[2]!.reason).toMatch(/dailyLog/);
    // Two calls were answered and paid for; the refused one cost nothing.
    expect(await world.memoryEvents(GROUP, 'memory.consolidation_model_called')).toHaveLength(2);
    const [failed] = await world.memoryEvents(GROUP, 'memory.consolidation_failed');
    expect(failed!.data).toEqual({ scope: SCOPE, requestId: request!.id, throughMessageId: ids.wiki, attempts: 3, reason: expect.stringMatching(/^gave up after 3 failed attempts .*the last: .*dailyLog/) });
    expect(await world.memoryEvents(GROUP, 'memory.fact_recorded')).toEqual([]);
    expect(await world.memoryEvents(GROUP, 'memory.consolidated')).toEqual([]);

    // Closed: a new message asks again for the whole unconsolidated window, which a good answer consolidates.
    const later = await world.say(GROUP, 'Also: the office move is on 2026-03-01.');
    world.fake.enqueue(text(goodAnswer(ids)));
    expect(await world.trigger.check(GROUP)).toBe(true);
    await world.host.idle();
    const requests = await world.memoryEvents(GROUP, 'memory.consolidation_requested');
    expect(requests).toHaveLength(2);
    expect(requests[1]!.data).toMatchObject({ messagesSince: ids.acme, throughMessageId: later });
    expect(await world.memoryEvents(GROUP, 'memory.consolidated')).toHaveLength(1);
    expect(await world.memoryEvents(GROUP, 'memory.fact_recorded')).toHaveLength(3);
  });
});

describe('a restart', () => {
  it('between the model answer and its recording records nothing twice and makes no second call', async () => {
    let cutOff!: () => void;
    const stopped = new Promise<void>((resolve) => (cutOff = resolve));
    // The first process dies after the answer is recorded and one fact is: its second fact never arrives.
    const dieAfterFirstFact = (executor: ConsolidateExecutor): ConsolidateExecutor => (params, context) => {
      let facts = 0;
      return executor(params, {
        ...context,
        send: (async (kind: string, id: string, command: { type: string }, options?: object) => {
          if (command.type === 'recordFact' && (facts += 1) === 2) {
            cutOff();
            return new Promise(() => {}); // never answered: the process is gone
          }
          return context.send(kind as never, id, command as never, options);
        }) as typeof context.send,
      });
    };
    world = await ConsolidationWorld.open({ wrap: dieAfterFirstFact });
    const ids = await conversation(world);
    world.fake.enqueue(text(goodAnswer(ids)));
    expect(await world.trigger.check(GROUP)).toBe(true);
    await stopped;
    expect(await world.memoryEvents(GROUP, 'memory.consolidation_model_called')).toHaveLength(1);
    expect(await world.memoryEvents(GROUP, 'memory.fact_recorded')).toHaveLength(1);

    // A new process on the same store resumes the open request from what was recorded.
    expect(await world.restart()).toBeGreaterThanOrEqual(1);
    await world.host.idle();
    expect(world.fake.requests).toHaveLength(1);
    expect(await world.memoryEvents(GROUP, 'memory.fact_recorded')).toHaveLength(3);
    expect(await world.memoryEvents(GROUP, 'memory.consolidation_model_called')).toHaveLength(1);
    expect(await world.memoryEvents(GROUP, 'memory.daily_log_written')).toHaveLength(1);
    expect(await world.memoryEvents(GROUP, 'memory.consolidated')).toHaveLength(1);
    expect(await world.memoryEvents(GROUP, 'memory.consolidation_attempt_failed')).toEqual([]);
    expect(await world.usageByKind(GROUP)).toEqual([expect.objectContaining({ call_kind: 'consolidation', model_calls: 1 })]);
  });

  it('during the model call counts the cut-off attempt as failed, so a request that crashes every time still ends', async () => {
    world = await ConsolidationWorld.open({ settings: { maxAttempts: 2 } });
    await conversation(world);
    world.fake.enqueue({ hang: true });
    expect(await world.trigger.check(GROUP)).toBe(true);
    for (let tries = 0; tries < 100 && (await world.memoryEvents(GROUP, 'memory.consolidation_attempt_started')).length === 0; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Killed mid-call twice over: each new process finds an attempt started and never finished.
    world.executor.stop();
    world.fake.enqueue({ hang: true });
    await world.restart();
    for (let tries = 0; tries < 100 && (await world.memoryEvents(GROUP, 'memory.consolidation_attempt_started')).length < 2; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    world.executor.stop();
    await world.restart();
    for (let tries = 0; tries < 100 && (await world.memoryEvents(GROUP, 'memory.consolidation_failed')).length === 0; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const failures = (await world.memoryEvents(GROUP, 'memory.consolidation_attempt_failed')).map((event) => (event.data as { reason: string }).reason);
    expect(failures).toEqual([expect.stringMatching(/attempt 1 did not finish/), expect.stringMatching(/attempt 2 did not finish/)]);
    expect(await world.memoryEvents(GROUP, 'memory.consolidation_failed')).toHaveLength(1);
  });
});
