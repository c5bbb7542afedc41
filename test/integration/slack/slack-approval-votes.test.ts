/**
 * Forged and repeated votes on an approval, through the real Bolt app in HTTP mode (request
 * signing) against the fake Slack, on a real SQLite store and actor host: a click from
 * someone not listed, a second click by the same approver, a click after expiry and a click
 * carrying another action's hash are each refused, recorded (`approval.vote_refused`) and
 * answered to the clicker alone with why; a replayed click (the same `action_ts`) stores
 * nothing and is not answered again; a click whose signature is wrong records nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command } from '../../../actors/actor-kind.js';
import { actorKinds } from '../../../actors/index.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { conversationEffects, loggedChannel, routedChannel, type ConversationChannel } from '../../../runtime/channels/conversation-channel.js';
import { approvalButtons } from '../../../runtime/channels/slack/approval-buttons.js';
import { InteractionRouter } from '../../../runtime/channels/slack/interactions.js';
import { openSlackApp, type RunningSlackApp } from '../../../runtime/channels/slack/slack-app.js';
import { loadConfig, type Config } from '../../../runtime/config.js';
import { ReadModelReaders } from '../../../runtime/gateways/host-tools/read-model-readers.js';
import { blockActionsPayload, postSignedInteraction } from '../../fakes/slack-events.js';
import { FakeSlack } from '../../fakes/slack.js';
import type { FakeSlackMessage } from '../../fakes/slack-web-api.js';
import { freePort, SIGNING_SECRET } from './slack-world.js';

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CAROL = 'U0CAROL';
const DAVE = 'U0DAVE';
const HASH = 'c'.repeat(64);
const OTHER_HASH = 'd'.repeat(64);
const silent = { info: () => {}, warn: () => {}, error: () => {} };

interface VoteWorld {
  readonly slack: FakeSlack;
  readonly store: EventStore;
  readonly actors: ActorHost;
  readonly app: RunningSlackApp;
  close(): Promise<void>;
}

let world: VoteWorld;

beforeEach(async () => {
  world = await openVoteWorld();
});

afterEach(async () => {
  await world.close();
});

async function openVoteWorld(): Promise<VoteWorld> {
  const port = await freePort();
  const slack = await FakeSlack.start({ http: { url: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET } });
  for (const [id, name] of [[ALICE, 'alice'], [BOB, 'bob'], [CAROL, 'carol'], [DAVE, 'dave']] as const) slack.web.addUser({ id, name });
  const dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-slack-votes-'));
  const base = loadConfig({ env: {}, cwd: dataDir, flags: { data: dataDir } }).config;
  const config: Config = { ...base, slack: { ...base.slack, mode: 'http', port, apiUrl: slack.url, channels: {} } };
  const store = createEventStore(await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' }), catalogue);
  let channel: ConversationChannel = loggedChannel(silent);
  // The channel's executors only: approvers are asked by DM; no expiry timer runs here.
  const actors = new ActorHost({ store, kinds: actorKinds, defaultActor: 'runtime', effects: conversationEffects(() => channel), requireAllEffects: false, logger: silent });
  const readModels = new ReadModelReaders(dataDir);
  const interactions = new InteractionRouter();
  interactions.register(approvalButtons(actors));
  const app = await openSlackApp({
    config,
    tokens: { mode: 'http', botToken: slack.botToken, signingSecret: SIGNING_SECRET },
    actors,
    readModels,
    interactions,
    logger: silent,
    slash: { callTool: async () => ({ content: '', isError: false }), groupSettings: async () => ({ isAdmin: false }), status: async () => '' },
  });
  channel = routedChannel([app.channel], loggedChannel(silent));
  return {
    slack,
    store,
    actors,
    app,
    async close() {
      await app.stop();
      await readModels.close();
      await actors.stop();
      await store.close();
      await slack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function request(approvalId: string, approvers: readonly string[], required: number, expiresInMs = 3_600_000): Promise<void> {
  const command: Command = {
    type: 'request',
    requester: DAVE,
    action: { tool: 'send_payment', summary: 'Pay Acme 1,200 EUR for invoice 42', argumentsHash: HASH },
    approvers,
    required,
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  };
  const result = await world.actors.sendUnchecked('approval', approvalId, command, { actor: `user:${DAVE}` });
  expect(result.status === 'rejected' ? result.reason : result.status).toBe('accepted');
  await world.actors.idle();
}

/** The request DM an approver was sent, and the DM channel it is in. */
function requestDm(approver: string): { channel: string; message: FakeSlackMessage } {
  const channel = world.slack.web.directMessageChannel(approver)!;
  const message = world.slack.web.messagesIn(channel).find((candidate) => candidate.bot_id !== undefined);
  if (!message) throw new Error(`${approver} was sent no approval request`);
  return { channel, message };
}

/** `who` clicks Approve (or Deny) on their own request DM; `value` replaces the button's value (a forged click). */
async function click(who: string, action: 'approve' | 'deny' = 'approve', value?: { approvalId: string; argumentsHash: string }) {
  const { channel, message } = requestDm(who);
  const delivery = await world.slack.clickButton({
    channel,
    ts: message.ts,
    user: who,
    actionId: `lc.approval.${action}`,
    ...(value ? { value: JSON.stringify(value) } : {}),
  });
  expect(delivery.status).toBe(200);
  await world.actors.idle();
  return delivery;
}

const eventTypes = async (approvalId: string) => (await world.store.readStream(`approval-${approvalId}`)).map((event) => event.type);

async function refusals(approvalId: string) {
  return (await world.store.readStream(`approval-${approvalId}`)).filter((event) => event.type === 'approval.vote_refused').map((event) => event.data as { approver: string; by: string; reason: string });
}

/** What `who` was told, to them alone. */
const toldOnly = (who: string) => world.slack.web.ephemeralMessages({ user: who }).map((message) => message.text);

describe('votes on an approval from Slack', () => {
  it("records a click from someone the approval does not list as refused, and tells them why, to them alone", async () => {
    await request('ap-1', [ALICE, BOB], 1);
    // CAROL approves another request; she sends her click to ap-1, whose approvers she is not among.
    await request('ap-carol', [CAROL], 1);
    await click(CAROL, 'approve', { approvalId: 'ap-1', argumentsHash: HASH });
    expect(await refusals('ap-1')).toEqual([expect.objectContaining({ approver: CAROL, by: `user:${CAROL}`, reason: `${CAROL} is not one of the approvers (${ALICE}, ${BOB})` })]);
    await world.slack.waitFor(() => toldOnly(CAROL).find((text) => text.includes('is not one of the approvers')), { what: "CAROL's ephemeral answer" });
    expect(await eventTypes('ap-1')).toEqual(['approval.requested', 'approval.vote_refused']);
  });

  it('records a second click by the same approver as refused (each approver votes once), and tells them why', async () => {
    await request('ap-2', [ALICE, BOB], 2);
    await click(ALICE);
    // The buttons have given way to the outcome so far; the second click carries the same value.
    await click(ALICE, 'deny', { approvalId: 'ap-2', argumentsHash: HASH });
    expect(await eventTypes('ap-2')).toEqual(['approval.requested', 'approval.vote_cast', 'approval.vote_refused']);
    expect((await refusals('ap-2'))[0]!.reason).toBe(`${ALICE} has already voted; each approver votes once`);
    await world.slack.waitFor(() => toldOnly(ALICE).find((text) => text.includes('has already voted')), { what: "ALICE's ephemeral answer" });
  });

  it('records a click after the approval expired as refused, and tells the approver voting closed', async () => {
    await request('ap-3', [ALICE], 1, 1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await click(ALICE);
    expect(await eventTypes('ap-3')).toEqual(['approval.requested', 'approval.vote_refused']);
    expect((await refusals('ap-3'))[0]!.reason).toMatch(/^voting closed at .*; the approval has expired$/);
    await world.slack.waitFor(() => toldOnly(ALICE).find((text) => text.includes('voting closed')), { what: "ALICE's ephemeral answer" });
  });

  it("records a click carrying another action's hash as refused, and tells the approver it is for a different action", async () => {
    await request('ap-4', [ALICE], 1);
    await click(ALICE, 'approve', { approvalId: 'ap-4', argumentsHash: OTHER_HASH });
    expect(await eventTypes('ap-4')).toEqual(['approval.requested', 'approval.vote_refused']);
    expect((await refusals('ap-4'))[0]!.reason).toContain(`its arguments hash ${OTHER_HASH} is not the requested ${HASH}`);
    await world.slack.waitFor(() => toldOnly(ALICE).find((text) => text.includes('different action')), { what: "ALICE's ephemeral answer" });
  });

  it('ignores a replayed click (the same action_ts): no new event, no second answer', async () => {
    await request('ap-5', [ALICE, BOB], 2);
    const first = await click(ALICE);
    const updatesBefore = world.slack.web.callsOf('chat.update').length;
    const replay = await world.slack.deliverInteractive(first.body);
    expect(replay.status).toBe(200);
    await world.actors.idle();
    await world.slack.settle();
    expect(await eventTypes('ap-5')).toEqual(['approval.requested', 'approval.vote_cast']);
    expect(world.slack.web.callsOf('chat.update')).toHaveLength(updatesBefore);
    expect(toldOnly(ALICE)).toEqual([]);
  });

  it('refuses a click whose request signature is wrong with 401, and records nothing', async () => {
    await request('ap-6', [ALICE], 1);
    const { channel, message } = requestDm(ALICE);
    const button = JSON.stringify({ approvalId: 'ap-6', argumentsHash: HASH });
    const payload = blockActionsPayload(world.slack.identity, {
      userId: ALICE,
      channelId: channel,
      message,
      actions: [{ action_id: 'lc.approval.approve', block_id: 'lc.approval', value: button }],
      responseUrl: world.slack.web.createResponseUrl({ channel, user: ALICE, messageTs: message.ts }),
    });
    const url = world.app.eventsUrl!;
    expect((await postSignedInteraction(url, SIGNING_SECRET, payload, { signature: `v0=${'0'.repeat(64)}` })).status).toBe(401);
    expect((await postSignedInteraction(url, 'not-the-signing-secret-at-all', payload)).status).toBe(401);
    await world.actors.idle();
    expect(await eventTypes('ap-6')).toEqual(['approval.requested']);
    // The same click, signed, counts: the refusal was the signature's.
    expect((await postSignedInteraction(url, SIGNING_SECRET, payload)).status).toBe(200);
    await world.actors.idle();
    expect(await eventTypes('ap-6')).toEqual(['approval.requested', 'approval.vote_cast', 'approval.granted', 'approval.decision_reported']);
  });
});
