/**
 * The runtime's notices in Slack, in-process on a real SQLite store and actor host with the
 * real Bolt app against the fake Slack: a memory conflict is posted in the group's channel,
 * an approval request reaches each approver as a DM with Approve/Deny buttons, a click on
 * one decides it and the requesting thread hears the decision. Each effect run again, as
 * a restarted runtime would, finds its earlier post by message metadata and posts nothing.
 * The conflict notice's keep/neither buttons settle the conflict as the person who clicks,
 * and only the conflict the notice is about.
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
import { conflictButtons } from '../../../runtime/channels/slack/conflict-buttons.js';
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
  interactions.register(conflictButtons(actors));
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

describe('settling a memory conflict from its notice', () => {
  const SCOPE = `group.${TEAM}.${GENERAL}`;
  const KEY = 'vendor.acme.payment_terms';

  async function flagConflict(...statements: string[]): Promise<FakeSlackMessage> {
    for (const [index, statement] of statements.entries()) {
      await world.send('memory', SCOPE, fact(`f${index + 1}`, statement, 'agent-observed', `1712345678.00010${index}`), `agent:run-${index + 1}`);
    }
    const notices = botPosts(world.slack.web.topLevel(GENERAL));
    return notices[notices.length - 1]!;
  }

  const memory = async () => (await world.actors.load('memory', SCOPE)).context;
  const statusOf = async (id: string) => (await memory()).facts.find((each) => each.id === id)?.status;
  const click = (notice: FakeSlackMessage, user: string, actionId: string, value?: string) =>
    world.slack.clickButton({ channel: GENERAL, ts: notice.ts, user, actionId, ...(value === undefined ? {} : { value }) });
  const ephemeralTo = (user: string) => world.slack.waitFor(() => world.slack.web.ephemeralMessages({ user })[0], { what: `the ephemeral answer to ${user}` });
  const firstUpdate = () => world.slack.waitFor(() => world.slack.web.callsOf('chat.update')[0], { what: 'the notice to be updated' });

  it('posts the notice with a keep button for each fact (Keep old, Take new) and Neither, bound to the scope, key and fact ids', async () => {
    const notice = await flagConflict('Acme pays net 30', 'Acme pays net 45');
    const blocks = JSON.stringify(notice.blocks);
    expect(blocks).toContain('lc.memory-conflict.keep-0');
    expect(blocks).toContain('lc.memory-conflict.keep-1');
    expect(blocks).toContain('lc.memory-conflict.neither');
    expect(blocks).toContain('Keep old: Acme pays net 30');
    expect(blocks).toContain('Take new: Acme pays net 45');
    expect(blocks).toContain(JSON.stringify(JSON.stringify({ scope: SCOPE, key: KEY, factIds: ['f1', 'f2'] })).slice(1, -1));
  });

  it("a click on Take new keeps the newer fact, retires the older as the clicking user, and the notice says who settled it and how", async () => {
    const notice = await flagConflict('Acme pays net 30', 'Acme pays net 45');
    await click(notice, ALICE, 'lc.memory-conflict.keep-1');
    const updated = await firstUpdate();
    await world.actors.idle();
    expect(updated.params.blocks).toContain(`<@${ALICE}> kept \\"Acme pays net 45\\" (f2)`);
    expect(updated.params.blocks).not.toContain('lc.memory-conflict');
    expect(await statusOf('f1')).toBe('retired');
    expect(await statusOf('f2')).toBe('active');
    expect((await memory()).conflicts).toEqual([]);
    const events = (await world.store.readStream(`memory-${SCOPE}`)).filter((event) => event.type === 'memory.fact_retired' || event.type === 'memory.conflict_resolved');
    expect(events.map((event) => [event.type, event.metadata.actor])).toEqual([
      ['memory.fact_retired', `user:${ALICE}`],
      ['memory.conflict_resolved', `user:${ALICE}`],
    ]);
  });

  it('Neither retires every fact of the conflict', async () => {
    const notice = await flagConflict('Acme pays net 30', 'Acme pays net 45');
    await click(notice, BOB, 'lc.memory-conflict.neither');
    const updated = await firstUpdate();
    expect(updated.params.blocks).toContain('neither is kept');
    expect([await statusOf('f1'), await statusOf('f2')]).toEqual(['retired', 'retired']);
  });

  it('a conflict of three facts keeps the one clicked and retires both others', async () => {
    const notice = await flagConflict('Acme pays net 30', 'Acme pays net 45', 'Acme pays net 60');
    const blocks = JSON.stringify(notice.blocks);
    expect(blocks).toContain('Keep 2: Acme pays net 45');
    await click(notice, ALICE, 'lc.memory-conflict.keep-1');
    await firstUpdate();
    expect([await statusOf('f1'), await statusOf('f2'), await statusOf('f3')]).toEqual(['retired', 'active', 'retired']);
    expect((await memory()).conflicts).toEqual([]);
  });

  it('a second click on a settled conflict changes nothing, tells the clicker how it stands, and leaves the first settlement on the notice', async () => {
    const notice = await flagConflict('Acme pays net 30', 'Acme pays net 45');
    const stale = notice.blocks!;
    await click(notice, ALICE, 'lc.memory-conflict.keep-0');
    await firstUpdate();
    await world.actors.idle();
    const before = (await world.store.readStream(`memory-${SCOPE}`)).length;
    // Bob's client still shows the buttons: his click carries the notice's original value.
    const value = JSON.stringify({ scope: SCOPE, key: KEY, factIds: ['f1', 'f2'] });
    expect(JSON.stringify(stale)).toContain('lc.memory-conflict.keep-1');
    await click(notice, BOB, 'lc.memory-conflict.keep-1', value);
    const second = await ephemeralTo(BOB);
    expect(second.text).toMatch(/^Nothing changed: this conflict on vendor.acme.payment_terms is settled already; it holds "Acme pays net 30" \(f1\)/);
    // The first settlement stays on the notice.
    expect(world.slack.web.callsOf('chat.update')).toHaveLength(1);
    expect(JSON.stringify(world.slack.web.message(GENERAL, notice.ts)!.blocks)).toContain(`<@${ALICE}> kept`);
    expect((await world.store.readStream(`memory-${SCOPE}`)).length).toBe(before);
    expect(await statusOf('f2')).toBe('retired');
  });

  it('refuses a stale click when the conflict gained a fact since the notice, and applies nothing', async () => {
    const first = await flagConflict('Acme pays net 30', 'Acme pays net 45');
    await world.send('memory', SCOPE, fact('f3', 'Acme pays net 60', 'agent-inferred', 'contract.pdf'), 'agent:run-3');
    expect(botPosts(world.slack.web.topLevel(GENERAL))).toHaveLength(2);
    await click(first, ALICE, 'lc.memory-conflict.keep-0');
    const refusal = await ephemeralTo(ALICE);
    expect(refusal.text).toMatch(/^Not done: .*gained fact f3 since this notice/);
    expect(world.slack.web.callsOf('chat.update')).toHaveLength(0);
    expect([await statusOf('f1'), await statusOf('f2'), await statusOf('f3')]).toEqual(['active', 'active', 'active']);
  });

  it("refuses a forged click naming another conversation's conflict, and one naming facts the notice does not show", async () => {
    const notice = await flagConflict('Acme pays net 30', 'Acme pays net 45');
    const otherScope = `group.${TEAM}.C0OTHER`;
    await world.send('memory', otherScope, { type: 'recordFact', fact: { id: 'o1', key: KEY, statement: 'net 10', confidence: 'agent-observed', source: { kind: 'message', ref: 'x' } } }, 'agent:run-9');
    await world.send('memory', otherScope, { type: 'recordFact', fact: { id: 'o2', key: KEY, statement: 'net 20', confidence: 'agent-observed', source: { kind: 'message', ref: 'y' } } }, 'agent:run-9');
    await click(notice, ALICE, 'lc.memory-conflict.keep-0', JSON.stringify({ scope: otherScope, key: KEY, factIds: ['o1', 'o2'] }));
    expect((await ephemeralTo(ALICE)).text).toMatch(/^Not done: this button is about another conversation's memory/);
    await click(notice, BOB, 'lc.memory-conflict.keep-0', JSON.stringify({ scope: SCOPE, key: KEY, factIds: ['f1', 'f9'] }));
    expect((await ephemeralTo(BOB)).text).toMatch(/^Not done: .*gained fact f2 since this notice/);
    await click(notice, CAROL, 'lc.memory-conflict.keep-0', JSON.stringify({ scope: SCOPE, key: KEY, factIds: ['f1', 'f2'], extra: 'x' }));
    expect((await ephemeralTo(CAROL)).text).toMatch(/^Not done: this button's value does not fit memory-conflict/);
    expect(world.slack.web.callsOf('chat.update')).toHaveLength(0);
    const memories = [(await world.actors.load('memory', otherScope)).context, await memory()];
    expect(memories.flatMap((each) => each.facts.map((one) => one.status))).toEqual(['active', 'active', 'active', 'active']);
  });

  it("settles a person's private memory from their DM, by them only", async () => {
    const scope = `user.${ALICE}`;
    await world.send('memory', scope, fact('p1', 'Prefers email', 'agent-observed', 'm1'), 'agent:run-1');
    await world.send('memory', scope, fact('p2', 'Prefers Slack', 'agent-observed', 'm2'), 'agent:run-2');
    const [notice] = directMessages(ALICE);
    const dm = world.slack.web.directMessageChannel(ALICE)!;
    await world.slack.clickButton({ channel: dm, ts: notice!.ts, user: BOB, actionId: 'lc.memory-conflict.keep-0' });
    // (Slack cannot show Bob an ephemeral message in Alice's DM; the refusal is what was attempted.)
    const refusal = await world.slack.waitFor(() => world.slack.web.callsOf('chat.postEphemeral')[0], { what: "the answer to Bob's click" });
    expect(refusal.params).toMatchObject({ user: BOB, text: "Not done: this is someone else's memory; only they can settle it" });
    expect(world.slack.web.callsOf('chat.update')).toHaveLength(0);
    await world.slack.clickButton({ channel: dm, ts: notice!.ts, user: ALICE, actionId: 'lc.memory-conflict.keep-1' });
    await firstUpdate();
    await world.actors.idle();
    const settled = (await world.store.readStream(`memory-${scope}`)).filter((event) => event.type === 'memory.fact_retired');
    expect(settled.map((event) => [event.data, event.metadata.actor])).toEqual([[{ factId: 'p1', reason: 'conflict resolved in favour of p2' }, `user:${ALICE}`]]);
  });

  it("refuses someone outside the channel's allowed senders", async () => {
    await world.send('group', `${TEAM}.${GENERAL}`, { type: 'configure', triggerMode: 'mention', allowedSenders: [BOB], isAdmin: false });
    const notice = await flagConflict('Acme pays net 30', 'Acme pays net 45');
    await click(notice, ALICE, 'lc.memory-conflict.keep-0');
    expect((await ephemeralTo(ALICE)).text).toMatch(/^Not done: only the people this channel takes requests from may settle its memory/);
    expect([await statusOf('f1'), await statusOf('f2')]).toEqual(['active', 'active']);
    await click(notice, BOB, 'lc.memory-conflict.keep-0');
    await firstUpdate();
    expect([await statusOf('f1'), await statusOf('f2')]).toEqual(['active', 'retired']);
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
