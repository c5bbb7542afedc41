/**
 * A granted tool call's action runs exactly once, across a SIGKILL, on a real SQLite store
 * with real actor hosts, the real workflows and the real tool gateway (its `send_message`,
 * whose posts a counting channel tallies). A host without the executor stands for a
 * runtime killed between the grant and the run: the next host on the same store runs it
 * once, the result is posted in the asking conversation and recorded on the group's stream
 * (where the next turn's context reads it); a host started after the run is recorded runs
 * nothing.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command } from '../../../actors/actor-kind.js';
import { actorKinds } from '../../../actors/index.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { canonicalJson } from '../../../events/canonical-json.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import type { EffectExecutors } from '../../../runtime/actor-host/effects.js';
import { actorWiring } from '../../../runtime/actor-wiring.js';
import { executeApprovedActionEffects } from '../../../runtime/approvals/execute-approved-action.js';
import { conversationEffects, loggedChannel, type ConversationChannel } from '../../../runtime/channels/conversation-channel.js';
import type { OutboundMessage } from '../../../runtime/gateways/host-tools/host-tool.js';
import { ToolGateway } from '../../../runtime/gateways/tool-gateway.js';

const GROUP = 'T0FAKE.C0GENERAL';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const silent = { info: () => {}, warn: () => {}, error: () => {} };

let dataDir: string;
let store: EventStore;
const hosts: ActorHost[] = [];
const gateways: ToolGateway[] = [];
/** Every send_message post that reached the channel: the action's side effect, counted. */
let posts: OutboundMessage[];
/** Every reply the group's conversation was given. */
let replies: { replyId: string; text: string }[];
let failPosts: boolean;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-approved-action-'));
  store = createEventStore(await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' }), catalogue);
  posts = [];
  replies = [];
  failPosts = false;
});

afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const gateway of gateways.splice(0)) await gateway.close();
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

function countingChannel(): ConversationChannel {
  const logged = loggedChannel(silent);
  return {
    ...logged,
    post: async (message) => {
      if (failPosts) throw new Error('channel_not_found');
      posts.push(message);
      return { ref: `post-${posts.length}` };
    },
    postReply: async (reply) => {
      replies.push({ replyId: reply.replyId, text: reply.text });
      return { refs: [`reply-${replies.length}`] };
    },
  };
}

/** A runtime on the shared store; `withExecutor: false` stands for one killed before the action ran. */
function openHost(options: { withExecutor: boolean }): ActorHost {
  const channel = countingChannel();
  let host: ActorHost | undefined;
  const actors = {
    send: (...args: Parameters<ActorHost['send']>) => host!.send(...args),
    load: (...args: Parameters<ActorHost['load']>) => host!.load(...args),
  };
  const gateway = new ToolGateway({ actors, store, dataDir, channel, logger: silent });
  gateways.push(gateway);
  const executors: EffectExecutors = {
    ...actorWiring,
    ...conversationEffects(() => channel),
    'approval.awaitExpiry': async () => {},
    ...(options.withExecutor ? executeApprovedActionEffects({ tools: () => gateway, roles: [] }) : {}),
  };
  host = new ActorHost({ store, kinds: actorKinds, defaultActor: 'runtime', requireAllEffects: false, logger: silent, effects: executors });
  hosts.push(host);
  return host;
}

async function stopHost(host: ActorHost): Promise<void> {
  await host.idle();
  await host.stop();
  hosts.splice(hosts.indexOf(host), 1);
}

async function accepted(host: ActorHost, kind: string, id: string, command: Command, actor = 'runtime'): Promise<void> {
  const result = await host.sendUnchecked(kind, id, command, { actor });
  expect(result.status === 'rejected' ? result.reason : result.status).toBe('accepted');
  await host.idle();
}

const ARGUMENTS = canonicalJson({ text: 'Q3 numbers are in: revenue up 12%.' });
const ARGUMENTS_HASH = createHash('sha256').update(ARGUMENTS).digest('hex');

/** The group takes part; run r-1 asked to send_message (above its tier) and BOB granted it. */
async function grant(host: ActorHost, approvalId: string, action: Record<string, unknown> = toolCall()): Promise<void> {
  await accepted(host, 'group', GROUP, { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
  await accepted(
    host,
    'approval',
    approvalId,
    {
      type: 'request',
      requester: 'agent:run-r-1',
      action,
      approvers: [BOB],
      required: 1,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      ...('arguments' in action ? { origin: { runId: 'r-1', groupId: GROUP, conversationId: GROUP, userId: ALICE } } : {}),
    },
    'agent:run-r-1',
  );
  await accepted(host, 'approval', approvalId, { type: 'vote', approver: BOB, decision: 'approve', argumentsHash: ARGUMENTS_HASH }, `user:${BOB}`);
}

function toolCall(): Record<string, unknown> {
  return { tool: 'send_message', summary: 'Post "Q3 numbers are in" here', argumentsHash: ARGUMENTS_HASH, arguments: ARGUMENTS, tier: 'write', reason: 'Alice asked for it' };
}

/** The approval's events, but for the decision's report (the run r-1 was never queued here, so nobody hears it). */
const eventTypes = async (stream: string) => (await store.readStream(stream)).map((event) => event.type).filter((type) => type !== 'approval.decision_reported');

async function approvalReplies(): Promise<{ replyId: string; text: string }[]> {
  return (await store.readStream(`group-${GROUP}`))
    .filter((event) => event.type === 'group.reply_requested')
    .map((event) => event.data as { replyId: string; text: string })
    .filter((data) => data.replyId.startsWith('approval-'));
}

describe('a granted action', () => {
  it('killed between the grant and the run, runs once at the next start, and its result reaches the asking conversation and its stream', async () => {
    const killed = openHost({ withExecutor: false });
    await grant(killed, 'ap-1');
    expect(await eventTypes('approval-ap-1')).toEqual(['approval.requested', 'approval.vote_cast', 'approval.granted']);
    expect(posts).toEqual([]);
    await stopHost(killed);

    const restarted = openHost({ withExecutor: true });
    await restarted.resumePendingEffects();
    await restarted.idle();
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ groupId: GROUP, runId: 'r-1', callId: 'approval:ap-1', text: 'Q3 numbers are in: revenue up 12%.' });
    expect(await eventTypes('approval-ap-1')).toEqual([
      'approval.requested',
      'approval.vote_cast',
      'approval.granted',
      'approval.action_executed',
      'approval.result_delivered',
    ]);
    const executed = (await store.readStream('approval-ap-1')).find((event) => event.type === 'approval.action_executed')!;
    expect(executed.data).toMatchObject({ outcome: 'executed', content: 'sent (post-1)' });
    // Recorded on the group's stream, where the next turn's conversation window reads it, and posted there.
    const text = 'Approved action `send_message` (ap-1) ran: sent (post-1)';
    expect(await approvalReplies()).toEqual([expect.objectContaining({ replyId: 'approval-ap-1', runId: 'r-1', text })]);
    expect(replies).toEqual([{ replyId: 'approval-ap-1', text }]);
    await stopHost(restarted);

    // Killed after the run was recorded: a start runs nothing and posts nothing again.
    const again = openHost({ withExecutor: true });
    await again.resumePendingEffects();
    await again.idle();
    expect(posts).toHaveLength(1);
    expect(await approvalReplies()).toHaveLength(1);
    expect(replies).toHaveLength(1);
  });

  it('runs once in a host that stays up, and a repeated effect runs nothing', async () => {
    const host = openHost({ withExecutor: true });
    await grant(host, 'ap-2');
    expect(posts).toHaveLength(1);
    await host.resumePendingEffects();
    await host.idle();
    expect(posts).toHaveLength(1);
    expect(await eventTypes('approval-ap-2')).toContain('approval.result_delivered');
  });

  it('that fails is recorded as failed, once, and the conversation is told it failed', async () => {
    failPosts = true;
    const host = openHost({ withExecutor: true });
    await grant(host, 'ap-3');
    const executed = (await store.readStream('approval-ap-3')).find((event) => event.type === 'approval.action_executed')!;
    expect(executed.data).toMatchObject({ outcome: 'failed', content: expect.stringContaining('channel_not_found') });
    expect((await approvalReplies())[0]!.text).toMatch(/^Approved action `send_message` \(ap-3\) failed: /);
    await host.resumePendingEffects();
    await host.idle();
    expect((await eventTypes('approval-ap-3')).filter((type) => type === 'approval.action_executed')).toHaveLength(1);
  });

  it('made by hand (a summary, no arguments or origin) runs nothing when granted', async () => {
    const host = openHost({ withExecutor: true });
    await grant(host, 'ap-4', { tool: 'send_payment', summary: 'Pay Acme 1,200 EUR', argumentsHash: ARGUMENTS_HASH });
    await host.resumePendingEffects();
    await host.idle();
    expect(posts).toEqual([]);
    expect(await eventTypes('approval-ap-4')).toEqual(['approval.requested', 'approval.vote_cast', 'approval.granted']);
  });
});
