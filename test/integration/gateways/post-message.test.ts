/**
 * post_message through the channels that carry it: the Slack channel (the real
 * @slack/web-api client against the fake Slack Web API) posts top-level in the named
 * channel with the call's key in its metadata, refuses a channel the app is not in, cannot
 * see or that is archived in words the model can act on, and posts an approved action once
 * however often it is carried out, in a fresh process too. The console prints it once; with
 * no channel connected nothing is posted and the model is told.
 */
import { PassThrough } from 'node:stream';
import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatSession } from '../../../runtime/channels/console/chat-session.js';
import { loggedChannel, routedChannel, type ConversationChannel } from '../../../runtime/channels/conversation-channel.js';
import { POST_METADATA_TYPE, SlackChannel } from '../../../runtime/channels/slack/slack-channel.js';
import { postMessageTool } from '../../../runtime/gateways/host-tools/post-message.js';
import { NO_OUTSIDE_REACH } from '../../../runtime/gateways/tool-gateway.js';
import { FakeSlackWebApi } from '../../fakes/slack-web-api.js';
import { openGatewayWorld, runContext, type GatewayWorld, permissionsAllowing } from './gateway-world.js';

const TEAM = 'T0FAKE';
const GENERAL = 'C0GENERAL';
const SALES = 'C0SALES';
const OUTSIDE = 'C0OUTSIDE';
const SECRET = 'C0SECRET';
const OLD = 'C0OLD';
const silent = { info: () => {}, warn: () => {}, error: () => {} };

describe('post_message in Slack', () => {
  let slack: FakeSlackWebApi;
  let world: GatewayWorld;
  const group = runContext({ groupId: `${TEAM}.${GENERAL}`, userId: 'U0ALICE' });

  /** A Slack channel as a newly started runtime has it: it remembers no post. */
  const freshSlackChannel = (): ConversationChannel =>
    routedChannel([new SlackChannel({ client: new WebClient('xoxb-test-token', { slackApiUrl: slack.url }), ackReaction: 'eyes', maxMessageChars: 3_900, logger: silent })], loggedChannel(silent));

  beforeEach(async () => {
    slack = await FakeSlackWebApi.start();
    slack.addChannel({ id: GENERAL, name: 'general' });
    slack.addChannel({ id: SALES, name: 'sales' });
    slack.addChannel({ id: OUTSIDE, name: 'outside', botIsMember: false });
    slack.addChannel({ id: SECRET, name: 'secret', isPrivate: true, botIsMember: false });
    slack.addChannel({ id: OLD, name: 'old', isArchived: true });
    world = await openGatewayWorld({ gateway: { permissions: permissionsAllowing('external') }, channel: freshSlackChannel() });
  });

  afterEach(async () => {
    await world.stop();
    await slack.close();
  });

  it('posts top-level in the named channel, with the call key in its metadata, and nowhere else', async () => {
    const outcome = await world.call('post_message', { channel: SALES, text: 'The Q3 numbers are in.', reason: 'Alice asked me to tell sales' }, group, 'toolu_post1');
    expect(outcome.isError).toBe(false);
    expect(outcome.content).toMatch(new RegExp(`^posted in ${SALES} \\(\\d+\\.\\d+\\)$`));
    const [posted, ...others] = slack.botMessages(SALES);
    expect(others).toEqual([]);
    expect(posted).toMatchObject({ text: 'The Q3 numbers are in.', metadata: { event_type: POST_METADATA_TYPE, event_payload: { key: `run-of-${group.groupId}:toolu_post1` } } });
    expect(posted!.thread_ts).toBeUndefined();
    expect(slack.botMessages(GENERAL)).toEqual([]);
  });

  it('refuses a channel the assistant is not in, saying someone must invite it', async () => {
    const outcome = await world.call('post_message', { channel: OUTSIDE, text: 'hello' }, group);
    expect(outcome).toMatchObject({
      isError: true,
      content: `post_message: not posted: the assistant is not in ${OUTSIDE}; someone must invite it there (/invite) before it can post`,
    });
    expect(slack.messagesIn(OUTSIDE)).toEqual([]);
  });

  it('refuses a private channel it is not in, or one that does not exist, as a channel it cannot see', async () => {
    for (const channel of [SECRET, 'C0NOSUCH']) {
      const outcome = await world.call('post_message', { channel, text: 'hello' }, group);
      expect(outcome).toMatchObject({ isError: true, content: expect.stringContaining(`the assistant cannot see a channel ${channel}`) });
    }
    expect(slack.messagesIn(SECRET)).toEqual([]);
  });

  it('refuses an archived channel', async () => {
    expect(await world.call('post_message', { channel: OLD, text: 'hello' }, group)).toMatchObject({ isError: true, content: `post_message: not posted: ${OLD} is archived; nothing can be posted there` });
  });

  it('posts an approved action once, however often it is carried out, in this process or a restarted one', async () => {
    const args = JSON.stringify({ channel: SALES, text: 'Approved announcement' });
    expect((await world.gateway.runApproved('ap-7', 'post_message', args, group)).isError).toBe(false);
    expect((await world.gateway.runApproved('ap-7', 'post_message', args, group)).isError).toBe(false);
    // A restarted runtime: a new channel that remembers nothing finds the post by its metadata.
    const restarted = await openGatewayWorld({ gateway: { permissions: permissionsAllowing('external') }, channel: freshSlackChannel() });
    try {
      const again = await restarted.gateway.runApproved('ap-7', 'post_message', args, group);
      expect(again.isError).toBe(false);
    } finally {
      await restarted.stop();
    }
    const posts = slack.botMessages(SALES);
    expect(posts.map((message) => message.text)).toEqual(['Approved announcement']);
    expect(posts[0]!.metadata?.event_payload).toMatchObject({ key: 'approval:ap-7' });
    // Another approval is another action.
    await world.gateway.runApproved('ap-8', 'post_message', args, group);
    expect(slack.botMessages(SALES)).toHaveLength(2);
  });

  it('posts a repeated call of one run once', async () => {
    await world.call('post_message', { channel: SALES, text: 'once' }, group, 'toolu_same');
    await world.call('post_message', { channel: SALES, text: 'once' }, group, 'toolu_same');
    expect(slack.botMessages(SALES)).toHaveLength(1);
  });

  it('refuses a channel name or a DM in place of a channel id, without calling Slack', async () => {
    expect((await world.call('post_message', { channel: '#sales', text: 'hi' }, group)).content).toContain('post_message: channel: expected a Slack channel id');
    expect((await world.call('post_message', { channel: 'D0ALICE', text: 'hi' }, group)).content).toContain('not a DM');
    expect(slack.callsOf('chat.postMessage')).toEqual([]);
  });

  it('summarizes the post for the approvers', () => {
    expect(postMessageTool.summarize({ channel: SALES, text: 'x'.repeat(300) }, NO_OUTSIDE_REACH)).toBe(`post in ${SALES}: "${'x'.repeat(199)}…"`);
  });
});

describe('post_message without Slack', () => {
  it('prints the post once in the console, with the channel it is for', async () => {
    let printed = '';
    const session = new ChatSession({ groupId: 'local.chat', sender: 'alice', input: new PassThrough(), output: { write: (text: string) => (printed += text) } });
    const world = await openGatewayWorld({ gateway: { permissions: permissionsAllowing('external') }, channel: session.channel });
    try {
      const group = runContext({ groupId: 'local.chat' });
      const args = JSON.stringify({ channel: SALES, text: 'Approved announcement' });
      expect(await world.gateway.runApproved('ap-1', 'post_message', args, group)).toMatchObject({ isError: false, content: `posted in ${SALES} (console:${SALES}:approval:ap-1)` });
      await world.gateway.runApproved('ap-1', 'post_message', args, group);
      expect(printed).toBe(`\nin ${SALES}: Approved announcement\n`);
    } finally {
      await world.stop();
    }
  });

  it('tells the model nothing was posted when no channel is connected', async () => {
    const world = await openGatewayWorld({ gateway: { permissions: permissionsAllowing('external') }, channel: routedChannel([], loggedChannel(silent)) });
    try {
      expect(await world.call('post_message', { channel: SALES, text: 'hi' }, runContext({ groupId: `${TEAM}.${GENERAL}` }))).toMatchObject({
        isError: true,
        content: `post_message: not posted: no connected channel reaches ${SALES}; nothing was posted`,
      });
    } finally {
      await world.stop();
    }
  });
});
