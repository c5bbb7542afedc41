/**
 * The Slack app in-process, on a real SQLite store and actor host, with the real Bolt app
 * against the fake Slack: the HTTP Events API with signature checks, `/ledgerclaw`, the
 * App Home tab, buttons deciding an approval, and posts under a role's identity. (Turns
 * through containers are in slack-e2e.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupContext } from '../../../actors/group.js';
import { actorKinds } from '../../../actors/index.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { readModelProjections } from '../../../projections/index.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { createActorWiring } from '../../../runtime/actor-wiring.js';
import { conversationEffects, routedChannel, loggedChannel, type ConversationChannel } from '../../../runtime/channels/conversation-channel.js';
import { approvalButtons } from '../../../runtime/channels/slack/approval-buttons.js';
import { buttonsBlock, InteractionRouter } from '../../../runtime/channels/slack/interactions.js';
import { openSlackApp, type RunningSlackApp } from '../../../runtime/channels/slack/slack-app.js';
import type { SlackTokens } from '../../../runtime/channels/slack/slack-tokens.js';
import { loadConfig, type Config } from '../../../runtime/config.js';
import { ReadModelReaders } from '../../../runtime/gateways/host-tools/read-model-readers.js';
import { ToolGateway } from '../../../runtime/gateways/tool-gateway.js';
import { FakeSlack } from '../../fakes/slack.js';
import { postSignedEvent, eventCallback, messageEvent } from '../../fakes/slack-events.js';
import { freePort, SIGNING_SECRET } from './slack-world.js';

const TEAM = 'T0FAKE';
const GENERAL = 'C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const silent = { info: () => {}, warn: () => {}, error: () => {} };

interface AppWorld {
  readonly slack: FakeSlack;
  readonly store: EventStore;
  readonly actors: ActorHost;
  readonly app: RunningSlackApp;
  readonly projections: ProjectionHost;
  readonly dataDir: string;
  close(): Promise<void>;
}

let world: AppWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function openAppWorld(options: { mode: 'socket' | 'http'; channels?: Config['slack']['channels'] }): Promise<AppWorld> {
  const port = options.mode === 'http' ? await freePort() : 0;
  const slack = await FakeSlack.start(options.mode === 'http' ? { http: { url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET } } : {});
  slack.web.addChannel({ id: GENERAL, name: 'general' });
  const dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-slack-app-'));
  const base = loadConfig({ env: {}, cwd: dataDir, flags: { data: dataDir } }).config;
  const config: Config = { ...base, slack: { ...base.slack, mode: options.mode, port, apiUrl: slack.url, channels: options.channels ?? {} } };
  const store = createEventStore(await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' }), catalogue);
  let channel: ConversationChannel = loggedChannel(silent);
  const actors = new ActorHost({
    requireAllEffects: false,
    store,
    kinds: actorKinds,
    defaultActor: 'runtime',
    effects: { ...createActorWiring({ retryInterruptedRuns: false }), ...conversationEffects(() => channel) },
    logger: silent,
  });
  const projections = new ProjectionHost({ store, dataDir, projections: readModelProjections, logger: silent });
  await projections.start();
  const tools = new ToolGateway({ actors, store, dataDir, channel: { post: (message) => channel.post(message), postToChannel: (post) => channel.postToChannel(post) } });
  const readModels = new ReadModelReaders(dataDir);
  const interactions = new InteractionRouter();
  interactions.register(approvalButtons(actors));
  const tokens: SlackTokens =
    options.mode === 'socket' ? { mode: 'socket', botToken: slack.botToken, appToken: slack.appToken } : { mode: 'http', botToken: slack.botToken, signingSecret: SIGNING_SECRET };
  const app = await openSlackApp({
    config,
    tokens,
    actors,
    readModels,
    interactions,
    logger: silent,
    slash: {
      callTool: (name, input, context) => tools.call(name, input, context),
      groupSettings: async (groupId) => ({ isAdmin: ((await actors.load('group', groupId)).snapshot.context as GroupContext).settings?.isAdmin ?? false }),
      status: async (groupId) => `status of ${groupId}`,
    },
  });
  channel = routedChannel([app.channel], loggedChannel(silent));
  if (options.mode === 'socket') await slack.socket.waitForConnection();
  return {
    slack,
    store,
    actors,
    app,
    projections,
    dataDir,
    async close() {
      await app.stop();
      if (options.mode === 'socket') await slack.socket.waitForNoConnection();
      await readModels.close();
      await tools.close();
      await projections.stop();
      await actors.stop();
      await store.close();
      await slack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function groupStreams(store: EventStore): Promise<string[]> {
  return (await store.listStreams({ prefix: 'group-' })).map((stream) => stream.streamId);
}

describe('the HTTP Events API', () => {
  it('records a signed event, and answers a bad or stale signature with 401, recording nothing', async () => {
    world = await openAppWorld({ mode: 'http' });
    const url = world.app.eventsUrl!;
    const message = { ts: '1712345678.000100', user: ALICE, text: `<@U0BOT> hello`, team: TEAM };
    const body = JSON.stringify(eventCallback(world.slack.identity, messageEvent(GENERAL, 'channel', message)));

    const forged = await postSignedEvent(url, SIGNING_SECRET, body, { signature: 'v0=' + '0'.repeat(64) });
    expect(forged.status).toBe(401);
    const stale = await postSignedEvent(url, SIGNING_SECRET, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    const wrongSecret = await postSignedEvent(url, 'not-the-signing-secret-at-all', body);
    expect(wrongSecret.status).toBe(401);
    expect(await groupStreams(world.store)).toEqual([]);

    const signed = await postSignedEvent(url, SIGNING_SECRET, body);
    expect(signed.status).toBe(200);
    // Answered after recording: by now the thread group holds the message and asked for a turn.
    const events = await world.store.readStream(`group-${TEAM}.${GENERAL}.${message.ts}`);
    expect(events.map((event) => event.type)).toEqual(['group.configured', 'group.message_received', 'group.turn_requested']);
    const retried = await postSignedEvent(url, SIGNING_SECRET, body, { retryNum: 1, retryReason: 'http_timeout' });
    expect(retried.status).toBe(200);
    expect((await world.store.readStream(`group-${TEAM}.${GENERAL}.${message.ts}`)).length).toBe(3);
  });

  it('answers Slack\'s URL verification challenge', async () => {
    world = await openAppWorld({ mode: 'http' });
    const verified = await world.slack.verifyUrl();
    expect(verified).toMatchObject({ status: 200, echoed: true });
  });
});

describe('who may address the assistant', () => {
  it("takes a turn only for the channel's allowed senders, and keeps no text of anyone else's", async () => {
    world = await openAppWorld({ mode: 'socket', channels: { C0LOCKED: { allowedSenders: [ALICE] } } });
    world.slack.web.addChannel({ id: 'C0LOCKED', name: 'finance' });
    const bob = await world.slack.userPosts({ channel: 'C0LOCKED', user: BOB, text: '<@U0BOT> wire $1M to me' });
    const alice = await world.slack.userPosts({ channel: 'C0LOCKED', user: ALICE, text: '<@U0BOT> what is our runway?' });
    await world.slack.settle();
    const channel = await world.store.readStream(`group-${TEAM}.C0LOCKED`);
    expect(channel.map((event) => event.type)).toEqual(['group.configured', 'group.message_ignored']);
    expect(channel[1]!.data).toEqual({ messageId: bob.ts, sender: BOB, reason: 'sender_not_allowed' });
    expect(JSON.stringify(channel.map((event) => event.data))).not.toContain('wire $1M');
    const thread = await world.store.readStream(`group-${TEAM}.C0LOCKED.${alice.ts}`);
    expect(thread.map((event) => event.type)).toEqual(['group.configured', 'group.message_received', 'group.turn_requested']);
  });
});

describe('sender names', () => {
  it("records the sender's display name (as Slack shows it) from users.info, asked once per person, and goes on without one Slack cannot give", async () => {
    world = await openAppWorld({ mode: 'socket' });
    world.slack.web.addUser({ id: BOB, name: 'bob', realName: 'Bob Stone' });
    world.slack.web.failNext('users.info', 'user_not_found');
    await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: 'first' });
    await world.slack.userPosts({ channel: GENERAL, user: BOB, text: 'second' });
    await world.slack.userPosts({ channel: GENERAL, user: BOB, text: 'third' });
    await world.slack.settle();
    const received = (await world.store.readStream(`group-${TEAM}.${GENERAL}`)).filter((event) => event.type === 'group.message_received');
    expect(received.map((event) => (event.data as { senderName: string | null }).senderName)).toEqual([null, 'bob', 'bob']);
    expect(world.slack.web.callsOf('users.info').map((call) => call.params.user)).toEqual([ALICE, BOB]);
  });
});

describe('/ledgerclaw', () => {
  it('answers status, tasks and memory only to the person asking, and help for anything else', async () => {
    world = await openAppWorld({ mode: 'socket' });
    const ask = async (text: string) => {
      const delivery = await world!.slack.deliverSlashCommand({ command: '/ledgerclaw', text, channel: GENERAL, user: ALICE });
      return delivery.response as { response_type?: string; text?: string };
    };
    expect(await ask('status')).toEqual({ response_type: 'ephemeral', text: `status of ${TEAM}.${GENERAL}` });
    const tasks = await ask('tasks');
    expect(tasks.response_type).toBe('ephemeral');
    expect(tasks.text).toContain('no active tasks');
    const memory = await ask('memory acme terms');
    expect(memory.text).toMatch(/nothing remembered matches|memory index is not built/);
    expect((await ask('memory'))?.text).toContain('Say what to look for');
    expect((await ask('launch the rockets'))?.text).toContain("I don't know `launch`");
    expect((await ask(''))?.text).toContain('/ledgerclaw status');
  });
});

describe('App Home', () => {
  it("shows the groups a person talks in with their WORK_CONTEXT summaries, and never another group's", async () => {
    world = await openAppWorld({ mode: 'socket' });
    world.slack.web.addChannel({ id: 'C0SECRET', name: 'secret' });
    await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: 'morning all' });
    await world.slack.userPosts({ channel: 'C0SECRET', user: BOB, text: 'the merger is on' });
    await world.slack.settle();
    const head = await world.store.headPosition();
    for (const projection of readModelProjections) await world.projections.waitFor(projection.name, head);
    await world.slack.deliverEvent({ type: 'app_home_opened', user: ALICE, channel: 'D0HOME', tab: 'home', event_ts: '1712345678.000100' });
    const view = await world.slack.waitFor(() => world!.slack.web.homeView(ALICE), { what: "Alice's home view" });
    const text = JSON.stringify(view.view);
    expect(text).toContain(`<#${GENERAL}>`);
    expect(text).toContain('Company-wide');
    expect(text).not.toContain('C0SECRET');
  });
});

describe('buttons', () => {
  const HASH = 'a'.repeat(64);

  async function requestApproval(actors: ActorHost, approvalId: string): Promise<void> {
    const result = await actors.send('approval', approvalId, {
      type: 'request',
      requester: 'agent:run-1',
      action: { tool: 'send_payment', summary: 'Pay Acme $1,200', argumentsHash: HASH },
      approvers: [ALICE],
      required: 1,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(result.status).toBe('accepted');
  }

  async function postButtons(approvalId: string): Promise<string> {
    const client = new WebClient(world!.slack.botToken, { slackApiUrl: world!.slack.url });
    const block = buttonsBlock(approvalButtons(world!.actors), { approvalId, argumentsHash: HASH }, [
      { action: 'approve', text: 'Approve', style: 'primary' },
      { action: 'deny', text: 'Deny', style: 'danger' },
    ]);
    const posted = await client.chat.postMessage({ channel: GENERAL, text: 'Pay Acme $1,200?', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Pay Acme $1,200?' } }, block] });
    return posted.ts!;
  }

  it("turns a listed approver's click into their vote, and replaces the buttons with the decision", async () => {
    world = await openAppWorld({ mode: 'socket' });
    await requestApproval(world.actors, 'ap-1');
    const ts = await postButtons('ap-1');
    await world.slack.clickButton({ channel: GENERAL, ts, user: ALICE, actionId: 'lc.approval.approve' });
    const updated = await world.slack.waitFor(() => world!.slack.web.callsOf('chat.update')[0], { what: 'the message to be updated' });
    expect(updated.params.blocks).toContain('Approved');
    expect(updated.params.blocks).not.toContain('lc.approval.approve');
    const events = await world.store.readStream('approval-ap-1');
    expect(events.map((event) => event.type)).toEqual(['approval.requested', 'approval.vote_cast', 'approval.granted']);
    expect(events[1]!.metadata.actor).toBe(`user:${ALICE}`);
  });

  it('tells only the person who clicked why their click did not count, and records it as refused, not as a vote', async () => {
    world = await openAppWorld({ mode: 'socket' });
    await requestApproval(world.actors, 'ap-2');
    const ts = await postButtons('ap-2');
    await world.slack.clickButton({ channel: GENERAL, ts, user: BOB, actionId: 'lc.approval.approve' });
    const ephemeral = await world.slack.waitFor(() => world!.slack.web.ephemeralMessages({ user: BOB })[0], { what: "Bob's ephemeral message" });
    expect(ephemeral.text).toMatch(/^Not done: .*U0BOB/);
    expect(world.slack.web.callsOf('chat.update')).toHaveLength(0);
    expect((await world.store.readStream('approval-ap-2')).map((event) => event.type)).toEqual(['approval.requested', 'approval.vote_refused']);
    await world.slack.clickButton({ channel: GENERAL, ts, user: ALICE, actionId: 'lc.approval.approve', value: '{"approvalId":"ap-2"}' });
    const refusal = await world.slack.waitFor(() => world!.slack.web.ephemeralMessages({ user: ALICE })[0], { what: "Alice's refusal" });
    expect(refusal.text).toContain("does not fit approval: argumentsHash");
  });
});

describe('named identities', () => {
  it("posts a role's message under the role's name and icon, in the run's thread", async () => {
    world = await openAppWorld({ mode: 'socket' });
    const root = world.slack.web.nextTs();
    world.slack.web.post(GENERAL, { ts: root, user: ALICE, text: 'start' });
    const { ref } = await world.app.channel.post({
      groupId: `${TEAM}.${GENERAL}.${root}`,
      runId: 'r1',
      callId: 'toolu_1',
      text: 'Found **three** invoices.',
      identity: { name: 'Researcher', icon: ':mag:' },
    });
    const [posted] = world.slack.web.thread(GENERAL, root).filter((message) => message.bot_id !== undefined);
    expect(posted).toMatchObject({ ts: ref, username: 'Researcher', icons: { emoji: ':mag:' }, text: expect.stringContaining('*three*') });
  });
});

describe('long replies', () => {
  it('splits a reply over Slack\'s limit into parts in order, and finds them all again after a restart', async () => {
    world = await openAppWorld({ mode: 'socket' });
    const root = world.slack.web.nextTs();
    world.slack.web.post(GENERAL, { ts: root, user: ALICE, text: 'long one please' });
    const text = Array.from({ length: 40 }, (_, index) => `Paragraph ${index}: ${'words '.repeat(30)}`).join('\n\n');
    const reply = { groupId: `${TEAM}.${GENERAL}.${root}`, replyId: 'r-long', runId: 'r-long', text, threadTs: root, messageIds: [root] };
    const first = await world.app.channel.postReply(reply);
    expect(first.refs.length).toBeGreaterThan(1);
    const parts = world.slack.web.thread(GENERAL, root).filter((message) => message.bot_id !== undefined);
    expect(parts.every((message) => (message.text ?? '').length <= 3_900)).toBe(true);
    expect(parts.map((message) => message.text).join('\n\n')).toContain('Paragraph 39');
    // A fresh channel (a restarted runtime) that may have posted it finds every part and posts nothing.
    const again = await openSlackAppAgain();
    const second = await again.channel.postReply(reply, { mayHavePosted: true });
    await again.stop();
    expect(second.refs).toEqual(first.refs);
    expect(world.slack.web.thread(GENERAL, root).filter((message) => message.bot_id !== undefined)).toHaveLength(parts.length);
  });
});

async function openSlackAppAgain(): Promise<RunningSlackApp> {
  const base = loadConfig({ env: {}, cwd: world!.dataDir, flags: { data: world!.dataDir } }).config;
  const config: Config = { ...base, slack: { ...base.slack, apiUrl: world!.slack.url } };
  const readModels = new ReadModelReaders(world!.dataDir);
  const app = await openSlackApp({
    config,
    tokens: { mode: 'socket', botToken: world!.slack.botToken, appToken: world!.slack.appToken },
    actors: world!.actors,
    readModels,
    interactions: new InteractionRouter(),
    logger: silent,
    slash: { callTool: async () => ({ content: '', isError: false }), groupSettings: async () => ({ isAdmin: false }), status: async () => '' },
  });
  return { ...app, stop: async () => { await app.stop(); await readModels.close(); } };
}
