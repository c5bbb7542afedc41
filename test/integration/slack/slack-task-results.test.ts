/**
 * A scheduled task's answer in Slack, in-process on a real SQLite store and actor host with
 * the real workflows and Slack channel against the fake Slack: the task fires, a stand-in
 * container ends its run with the answer, and the answer is posted once at the top level of
 * the task's channel; a silent task posts nothing. A runtime that stopped between the run's
 * end and the post (a second host on the same store, as after a SIGKILL) posts it once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actorKinds } from '../../../actors/index.js';
import { taskRunId, type TaskContext } from '../../../actors/task.js';
import { openSqliteBackend, type SqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import type { EffectContext, EffectExecutors } from '../../../runtime/actor-host/effects.js';
import { actorWiring } from '../../../runtime/actor-wiring.js';
import { conversationEffects, type ConversationChannel } from '../../../runtime/channels/conversation-channel.js';
import { SlackChannel } from '../../../runtime/channels/slack/slack-channel.js';
import { FakeSlack } from '../../fakes/slack.js';

const TEAM = 'T0FAKE';
const GENERAL = 'C0GENERAL';
const GROUP = `${TEAM}.${GENERAL}`;
const TASK = 't-sales';
const ANSWER = 'Sales yesterday: 42 orders, 3 refunds.';
const silent = { info: () => {}, warn: () => {}, error: () => {} };

let slack: FakeSlack;
let dataDir: string;
let backend: SqliteBackend;
let store: EventStore;
const hosts: ActorHost[] = [];

beforeEach(async () => {
  slack = await FakeSlack.start({});
  slack.web.addChannel({ id: GENERAL, name: 'general' });
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-task-results-'));
  backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  store = createEventStore(backend, catalogue);
});

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  await store.close();
  await slack.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A fresh Slack channel, as a newly started runtime has: it remembers no post. */
function slackChannel(): ConversationChannel {
  return new SlackChannel({ client: new WebClient(slack.botToken, { slackApiUrl: slack.url }), ackReaction: 'eyes', maxMessageChars: 3_900, logger: silent });
}

/** Stands in for the container and the model: the run starts and ends with `answer`. */
function answeringContainer(answer: string) {
  return async (params: unknown, context: EffectContext): Promise<void> => {
    const { runId } = params as { runId: string };
    await context.send('run', runId, { type: 'reportStarted', containerId: `container-${runId}` });
    await context.send('run', runId, { type: 'complete', summary: answer, tokens: { input: 10, output: 5, cacheRead: 0, cacheWrite: 0 } });
  };
}

/** A runtime on the shared store: the real workflows and Slack channel, with `overrides` for what a test breaks. */
function openHost(overrides: EffectExecutors = {}, answer = ANSWER): ActorHost {
  const channel = slackChannel();
  const host = new ActorHost({
    store,
    kinds: actorKinds,
    defaultActor: 'runtime',
    requireAllEffects: false,
    logger: silent,
    effects: { ...actorWiring, ...conversationEffects(() => channel), 'run.startContainer': answeringContainer(answer), ...overrides },
  });
  hosts.push(host);
  return host;
}

async function stopHost(host: ActorHost): Promise<void> {
  await host.idle();
  await host.stop();
  hosts.splice(hosts.indexOf(host), 1);
}

/** A minute ahead of the clock the host stamps commands with: a once time must be in the future. */
const dueAt = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 120_000).toISOString();

/** The group configured (it took part in a conversation), a once task scheduled for it and fired. */
async function fireTask(host: ActorHost, deliver?: 'group' | 'silent'): Promise<void> {
  const accepted = async (result: Promise<{ status: string; reason?: string }>) => {
    const outcome = await result;
    expect(outcome.status === 'rejected' ? outcome.reason : outcome.status).toBe('accepted');
  };
  await accepted(host.send('group', GROUP, { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false }));
  await accepted(
    host.send('task', TASK, {
      type: 'schedule',
      groupId: GROUP,
      prompt: 'Post the sales summary for yesterday',
      schedule: { kind: 'once', at: dueAt },
      contextMode: 'isolated',
      ...(deliver ? { deliver } : {}),
    }),
  );
  await accepted(host.send('task', TASK, { type: 'fire', dueAt }));
}

const botPosts = () => slack.web.topLevel(GENERAL).filter((message) => message.bot_id !== undefined);
const eventTypes = async (stream: string) => (await store.readStream(stream)).map((event) => event.type);

describe("a scheduled task's answer", () => {
  it("is posted once at the top level of its group's channel, found again by the run's id", async () => {
    const host = openHost();
    await fireTask(host);
    await host.idle();

    const posts = botPosts();
    expect(posts.map((post) => post.text)).toEqual([ANSWER]);
    expect(posts[0]!.thread_ts).toBeUndefined();
    expect(posts[0]!.metadata?.event_payload?.key).toBe(taskRunId(TASK, dueAt));
    expect(await eventTypes(`group-${GROUP}`)).toEqual(['group.configured', 'group.reply_requested', 'group.reply_posted']);
    expect((await host.load('task', TASK)).state).toBe('completed');
  });

  it('is not posted for a silent task, and stays recorded on its run', async () => {
    const host = openHost();
    await fireTask(host, 'silent');
    await host.idle();

    expect(botPosts()).toEqual([]);
    expect(await eventTypes(`group-${GROUP}`)).toEqual(['group.configured']);
    expect((await host.load('task', TASK)).state).toBe('completed');
    const completed = (await store.readStream(`run-${taskRunId(TASK, dueAt)}`)).find((event) => event.type === 'run.completed');
    expect(completed?.data).toMatchObject({ summary: ANSWER });
  });

  it('is not posted when the run answered nothing', async () => {
    const host = openHost({}, '   ');
    await fireTask(host);
    await host.idle();
    expect(botPosts()).toEqual([]);
    expect((await host.load('task', TASK)).state).toBe('completed');
  });
});

describe("a runtime stopped between a task run's end and the post", () => {
  it('posts the answer once after restart when the run ended but its report was lost (the task still waits)', async () => {
    // The first runtime dies right after the run ended: its report never ran.
    const first = openHost({ 'run.reportOutcome': async () => {} });
    await fireTask(first);
    await stopHost(first);
    expect((await first.load('run', taskRunId(TASK, dueAt))).state).toBe('finished.completed');
    expect(((await first.load('task', TASK)).snapshot.context as TaskContext).runInFlight?.runId).toBe(taskRunId(TASK, dueAt));
    expect(botPosts()).toEqual([]);

    const second = openHost();
    await second.resumePendingEffects();
    await second.idle();
    expect(botPosts().map((post) => post.text)).toEqual([ANSWER]);
    expect((await second.load('task', TASK)).state).toBe('completed');

    // A third start finds nothing owed.
    await stopHost(second);
    const third = openHost();
    await third.resumePendingEffects();
    await third.idle();
    expect(botPosts()).toHaveLength(1);
    expect((await eventTypes(`group-${GROUP}`)).filter((type) => type === 'group.reply_requested')).toHaveLength(1);
  });

  it('posts once after restart when the answer was delivered but the task never heard (the crash came between the two)', async () => {
    // The first runtime delivers the answer, then dies before the task is told.
    const first = openHost({
      'run.reportOutcome': async (report, context) => {
        const { runId } = report as { runId: string };
        await context.send('group', GROUP, { type: 'deliverTaskResult', taskId: TASK, runId, text: ANSWER });
      },
    });
    await fireTask(first);
    await stopHost(first);
    expect(botPosts()).toHaveLength(1);

    const second = openHost();
    await second.resumePendingEffects();
    await second.idle();
    expect(botPosts().map((post) => post.text)).toEqual([ANSWER]);
    expect((await eventTypes(`group-${GROUP}`)).filter((type) => type === 'group.reply_requested')).toHaveLength(1);
    expect((await second.load('task', TASK)).state).toBe('completed');
  });

  it('posts once after restart when Slack took the post but the runtime died before recording it', async () => {
    const channel = slackChannel();
    const first = openHost(
      conversationEffects(() => ({
        ...channel,
        handles: (groupId) => channel.handles(groupId),
        reachesPerson: (userId) => channel.reachesPerson(userId),
        post: (message) => channel.post(message),
        acknowledge: (message) => channel.acknowledge(message),
        postNotice: (notice, options) => channel.postNotice(notice, options),
        postReply: async (reply, options) => {
          await channel.postReply(reply, options);
          throw new Error('killed after the post, before group.reply_posted');
        },
      })),
    );
    await fireTask(first);
    await stopHost(first);
    expect(botPosts()).toHaveLength(1);
    expect(await eventTypes(`group-${GROUP}`)).not.toContain('group.reply_posted');

    const second = openHost();
    await second.resumePendingEffects();
    await second.idle();
    expect(botPosts().map((post) => post.text)).toEqual([ANSWER]);
    expect((await eventTypes(`group-${GROUP}`)).filter((type) => type === 'group.reply_posted')).toHaveLength(1);
  });
});
