/**
 * The runtime's notices in Slack, in-process on a real SQLite store and actor host with the
 * real Bolt app against the fake Slack: a memory conflict is posted in the group's channel,
 * an approval request reaches each approver as a DM with Approve/Deny buttons, a click on
 * one decides it and the requesting thread hears the decision. Each effect run again, as
 * a restarted runtime would, finds its earlier post by message metadata and posts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command } from '../../../actors/actor-kind.js';
import { actorKinds } from '../../../actors/index.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import type { EffectContext } from '../../../runtime/actor-host/effects.js';
import { conversationEffects, loggedChannel, routedChannel, type ConversationChannel } from '../../../runtime/channels/conversation-channel.js';
import { noticeEffects } from '../../../runtime/channels/notice-effects.js';
import { approvalButtons } from '../../../runtime/channels/slack/approval-buttons.js';
import { InteractionRouter } from '../../../runtime/channels/slack/interactions.js';
import { openSlackApp, type RunningSlackApp } from '../../../runtime/channels/slack/slack-app.js';
import { SlackChannel } from '../../../runtime/channels/slack/slack-channel.js';
import { loadConfig, type Config } from '../../../runtime/config.js';
import { ReadModelReaders } from '../../../runtime/gateways/host-tools/read-model-readers.js';
import { FakeSlack } from '../../fakes/slack.js';
import type { FakeSlackMessage } from '../../fakes/slack-web-api.js';

const TEAM = 'T0FAKE';
const GENERAL = 'C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CAROL = 'U0CAROL';
const HASH = 'b'.repeat(64);
const silent = { info: () => {}, warn: () => {}, error: () => {} };

interface NoticeWorld {
  readonly slack: FakeSlack;
  readonly store: EventStore;
  readonly actors: ActorHost;
  readonly app: RunningSlackApp;
  send(kind: string, id: string, command: Command, actor?: string): Promise<void>;
  /** The notice executors of a runtime started afresh: a new Slack channel that remembers no post. */
  restartedExecutors(): ReturnType<typeof noticeEffects>;
  /** An effect context as the host gives a resumed effect (no causing event in this process). */
  effectContext(kind: string, id: string): EffectContext;
  close(): Promise<void>;
}

let world: NoticeWorld;

beforeEach(async () => {
  world = await openNoticeWorld();
});

afterEach(async () => {
  await world.close();
});

async function openNoticeWorld(): Promise<NoticeWorld> {
  const slack = await FakeSlack.start({});
  slack.web.addChannel({ id: GENERAL, name: 'general' });
  for (const [id, name] of [[ALICE, 'alice'], [BOB, 'bob'], [CAROL, 'carol']] as const) slack.web.addUser({ id, name });
  const dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-slack-notices-'));
  const base = loadConfig({ env: {}, cwd: dataDir, flags: { data: dataDir } }).config;
  const config: Config = { ...base, slack: { ...base.slack, mode: 'socket', apiUrl: slack.url, channels: {} } };
  const store = createEventStore(await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' }), catalogue);
  let channel: ConversationChannel = loggedChannel(silent);
  // Only the channel's executors: the other effects of these kinds are not what this test drives.
  const actors = new ActorHost({ store, kinds: actorKinds, defaultActor: 'runtime', effects: conversationEffects(() => channel), requireAllEffects: false, logger: silent });
  const readModels = new ReadModelReaders(dataDir);
  const interactions = new InteractionRouter();
  interactions.register(approvalButtons(actors));
  const app = await openSlackApp({
    config,
    tokens: { mode: 'socket', botToken: slack.botToken, appToken: slack.appToken },
    actors,
    readModels,
    interactions,
    logger: silent,
    slash: { callTool: async () => ({ content: '', isError: false }), groupSettings: async () => ({ isAdmin: false }), status: async () => '' },
  });
  channel = routedChannel([app.channel], loggedChannel(silent));
  await slack.socket.waitForConnection();
  return {
    slack,
    store,
    actors,
    app,
    async send(kind, id, command, actor = 'runtime') {
      const result = await actors.sendUnchecked(kind, id, command, { actor });
      expect(result.status === 'rejected' ? result.reason : result.status).toBe('accepted');
      await actors.idle();
    },
    restartedExecutors() {
      const fresh = new SlackChannel({ client: new WebClient(slack.botToken, { slackApiUrl: slack.url }), ackReaction: 'eyes', maxMessageChars: 3_900, logger: silent });
      return noticeEffects(() => routedChannel([fresh], loggedChannel(silent)));
    },
    effectContext(kind, id) {
      return {
        key: `${kind}-${id}@0:pending:0`,
        actor: { kind, id, streamId: `${kind}-${id}` },
        cause: undefined,
        load: async (loadKind, loadId) => {
          const view = await actors.load(loadKind, loadId);
          return { state: view.state, context: view.context };
        },
        send: (sendKind, sendId, command, options) => actors.send(sendKind, sendId, command, options),
      };
    },
    async close() {
      await app.stop();
      await slack.socket.waitForNoConnection();
      await readModels.close();
      await actors.stop();
      await store.close();
      await slack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const botPosts = (messages: readonly FakeSlackMessage[]) => messages.filter((message) => message.bot_id !== undefined);

function directMessages(userId: string): FakeSlackMessage[] {
  const channel = world.slack.web.directMessageChannel(userId);
  return channel === undefined ? [] : botPosts(world.slack.web.messagesIn(channel));
}

function fact(id: string, statement: string, confidence: string, ref: string): Command {
  return { type: 'recordFact', fact: { id, key: 'vendor.acme.payment_terms', statement, confidence, source: { kind: 'message', ref } } };
}

function approvalRequest(requester: string, approvers: readonly string[], required = 1): Command {
  return {
    type: 'request',
    requester,
    action: { tool: 'send_payment', summary: 'Pay Acme 1,200 EUR for invoice 42', argumentsHash: HASH },
    approvers,
    required,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  };
}

/** A run queued from a thread of #general, as an agent's approval request names it. */
async function queueRunInThread(runId: string): Promise<string> {
  const threadTs = world.slack.web.nextTs();
  world.slack.web.post(GENERAL, { ts: threadTs, user: ALICE, text: '<@U0BOT> pay Acme' });
  await world.send('run', runId, {
    type: 'queue',
    groupId: `${TEAM}.${GENERAL}`,
    conversationId: `${TEAM}.${GENERAL}.${threadTs}`,
    trigger: 'mention',
    turnRef: `${TEAM}.${GENERAL}.${threadTs}:${threadTs}`,
    contextMode: 'group',
  });
  return threadTs;
}

describe('memory.notifyConflict', () => {
  it("posts a memory conflict in the group's channel with the key, both statements and their sources", async () => {
    const scope = `group.${TEAM}.${GENERAL}`;
    await world.send('memory', scope, fact('f1', 'Acme pays net 30', 'agent-observed', '1712345678.000100'), 'agent:run-1');
    await world.send('memory', scope, fact('f2', 'Acme pays net 45', 'agent-inferred', 'contract.pdf'), 'agent:run-2');
    const [notice, ...more] = botPosts(world.slack.web.topLevel(GENERAL));
    expect(more).toEqual([]);
    expect(notice!.text).toContain('vendor.acme.payment_terms');
    expect(notice!.text).toContain('"Acme pays net 30" (agent-observed, from message 1712345678.000100)');
    expect(notice!.text).toContain('"Acme pays net 45" (agent-inferred, from message contract.pdf)');
    expect(notice!.metadata).toMatchObject({ event_type: 'ledgerclaw_post', event_payload: { key: expect.stringMatching(/^memory-conflict:/) } });
    // Told, so a restart owes it nothing.
    const notified = (await world.store.readStream(`memory-${scope}`)).filter((event) => event.type === 'memory.conflict_notified');
    expect(notified.map((event) => event.data)).toEqual([{ key: 'vendor.acme.payment_terms', factIds: ['f1', 'f2'], refs: [notice!.ts] }]);
  });

  it('posts the conflict once when its effect runs again after a restart (the post is found by its metadata)', async () => {
    const scope = `group.${TEAM}.${GENERAL}`;
    await world.send('memory', scope, fact('f1', 'Acme pays net 30', 'user-stated', 'U0ALICE'), `user:${ALICE}`);
    await world.send('memory', scope, fact('f2', 'Acme pays net 60', 'user-stated', 'U0BOB'), `user:${BOB}`);
    expect(botPosts(world.slack.web.topLevel(GENERAL))).toHaveLength(1);
    const params = { scope, key: 'vendor.acme.payment_terms', factIds: ['f1', 'f2'] };
    const restarted = world.restartedExecutors();
    await restarted['memory.notifyConflict']!(params, world.effectContext('memory', scope));
    await restarted['memory.notifyConflict']!(params, world.effectContext('memory', scope));
    expect(botPosts(world.slack.web.topLevel(GENERAL))).toHaveLength(1);
  });
});

describe('approval.notifyApprovers', () => {
  it('sends each listed approver, but not the requester, a DM with the exact action and its Approve/Deny buttons', async () => {
    await world.send('approval', 'ap-1', approvalRequest(CAROL, [ALICE, BOB, CAROL], 2), `user:${CAROL}`);
    for (const approver of [ALICE, BOB]) {
      const [dm, ...more] = directMessages(approver);
      expect(more).toEqual([]);
      expect(dm!.text).toContain('send_payment');
      expect(dm!.text).toContain('Pay Acme 1,200 EUR for invoice 42');
      const blocks = JSON.stringify(dm!.blocks);
      expect(blocks).toContain('lc.approval.approve');
      expect(blocks).toContain('lc.approval.deny');
      expect(blocks).toContain(JSON.stringify(JSON.stringify({ approvalId: 'ap-1', argumentsHash: HASH })).slice(1, -1));
    }
    expect(directMessages(CAROL)).toEqual([]);
  });

  it('asks each approver once when the effect is resumed twice after a restart', async () => {
    await world.send('approval', 'ap-2', approvalRequest(CAROL, [ALICE, BOB]), `user:${CAROL}`);
    const restarted = world.restartedExecutors();
    const params = { approvalId: 'ap-2', approvers: [ALICE, BOB], summary: 'Pay Acme 1,200 EUR for invoice 42' };
    await restarted['approval.notifyApprovers']!(params, world.effectContext('approval', 'ap-2'));
    await restarted['approval.notifyApprovers']!(params, world.effectContext('approval', 'ap-2'));
    expect(directMessages(ALICE)).toHaveLength(1);
    expect(directMessages(BOB)).toHaveLength(1);
  });
});

describe('approval.reportDecision', () => {
  it("a click on Approve in the approver's DM decides it, and the requesting run's thread is told the decision and who made it", async () => {
    const threadTs = await queueRunInThread('r-pay');
    await world.send('approval', 'ap-3', approvalRequest('agent:run-r-pay', [ALICE]), 'agent:run-r-pay');
    const [dm] = directMessages(ALICE);
    await world.slack.clickButton({ channel: world.slack.web.directMessageChannel(ALICE)!, ts: dm!.ts, user: ALICE, actionId: 'lc.approval.approve' });
    const report = await world.slack.waitFor(() => botPosts(world.slack.web.thread(GENERAL, threadTs))[0], { what: 'the decision in the requesting thread' });
    await world.actors.idle();
    expect(report.text).toContain('Approved');
    expect(report.text).toContain(`by ${ALICE}`);
    expect(report.text).toContain('send_payment');
    expect(report.thread_ts).toBe(threadTs);
    // The report is settled, so a restart owes it no more.
    const events = await world.store.readStream('approval-ap-3');
    expect(events.map((event) => event.type)).toEqual(['approval.requested', 'approval.vote_cast', 'approval.granted', 'approval.decision_reported']);
    expect(events[3]!.data).toEqual({ refs: [report.ts] });
  });

  it('tells a denial once, with who denied it, when the report runs again after a restart', async () => {
    const threadTs = await queueRunInThread('r-deny');
    await world.send('approval', 'ap-4', approvalRequest('agent:r-deny', [ALICE, BOB]), 'agent:r-deny');
    await world.send('approval', 'ap-4', { type: 'vote', approver: BOB, decision: 'deny', argumentsHash: HASH }, `user:${BOB}`);
    const params = { approvalId: 'ap-4', requester: 'agent:r-deny', decision: 'denied' as const };
    const restarted = world.restartedExecutors();
    await restarted['approval.reportDecision']!(params, world.effectContext('approval', 'ap-4'));
    await restarted['approval.reportDecision']!(params, world.effectContext('approval', 'ap-4'));
    const reports = botPosts(world.slack.web.thread(GENERAL, threadTs));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.text).toContain(`Denied`);
    expect(reports[0]!.text).toContain(`by ${BOB}`);
  });

  it('tells a person who asked for an approval themself in a DM', async () => {
    await world.send('approval', 'ap-5', approvalRequest(CAROL, [ALICE]), `user:${CAROL}`);
    await world.send('approval', 'ap-5', { type: 'vote', approver: ALICE, decision: 'approve', argumentsHash: HASH }, `user:${ALICE}`);
    const [report, ...more] = directMessages(CAROL);
    expect(more).toEqual([]);
    expect(report!.text).toContain(`Approved`);
    expect(report!.text).toContain(`by ${ALICE}`);
  });
});
