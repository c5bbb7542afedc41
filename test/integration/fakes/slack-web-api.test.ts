/**
 * The Slack Web API fake's write methods, driven by the real `WebClient` (as Bolt bundles
 * it): what it stores and answers for chat.*, reactions.*, views.publish, users.info and
 * apps.connections.open, and the error codes Slack answers with.
 */
import { webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSlackWebApi } from '../../fakes/slack-web-api.js';

const BOT = 'xoxb-test-token';
const APP = 'xapp-test-token';

let slack: FakeSlackWebApi;

beforeEach(async () => {
  slack = await FakeSlackWebApi.start();
  slack.addChannel({ id: 'C1', name: 'general', members: ['U1', 'U2'] });
  slack.addChannel({ id: 'C2', name: 'not-joined', botIsMember: false });
  slack.addChannel({ id: 'G1', name: 'secret', isPrivate: true, botIsMember: false });
  slack.addChannel({ id: 'C3', name: 'old', isArchived: true });
  slack.addUser({ id: 'U1', name: 'ada', realName: 'Ada Lovelace' });
});

afterEach(async () => {
  await slack.close();
});

function client(token = BOT): webApi.WebClient {
  return new webApi.WebClient(token, { slackApiUrl: slack.url, retryConfig: { retries: 0 }, logLevel: webApi.LogLevel.ERROR });
}

/** The Slack error code a call was rejected with. */
async function slackError(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome === undefined) throw new Error('expected the call to fail');
  const data = (outcome as { data?: { error?: unknown } }).data;
  if (typeof data?.error !== 'string') throw outcome;
  return data.error;
}

describe('chat.postMessage', () => {
  it('stores a bot message as Slack does for a bot token, with a realistic, increasing ts', async () => {
    const web = client();
    const first = await web.chat.postMessage({ channel: 'C1', text: 'hello' });
    const second = await web.chat.postMessage({ channel: 'C1', text: 'again' });

    expect(first.channel).toBe('C1');
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Math.abs(Number(first.ts) - Date.now() / 1000)).toBeLessThan(5);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(first.message).toMatchObject({ type: 'message', text: 'hello', user: 'U0BOT', bot_id: 'B0BOT', app_id: 'A0APP', team: 'T0FAKE', ts: first.ts });
    expect(first.message?.subtype).toBeUndefined();
    expect(first.message?.bot_profile).toMatchObject({ id: 'B0BOT', app_id: 'A0APP', name: 'ledgerclaw' });
    expect(slack.botMessages('C1').map((message) => message.text)).toEqual(['hello', 'again']);
  });

  it('threads replies, keeps blocks (adding block_id), metadata, and a customised sender as a bot_message', async () => {
    const web = client();
    const parent = await web.chat.postMessage({ channel: 'C1', text: 'parent' });
    const reply = await web.chat.postMessage({
      channel: 'C1',
      thread_ts: parent.ts!,
      text: 'fallback',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }],
      metadata: { event_type: 'run_reply', event_payload: { run: 'r1' } },
      username: 'Ledger Bot',
      icon_emoji: ':robot_face:',
    });

    expect(reply.message).toMatchObject({ subtype: 'bot_message', username: 'Ledger Bot', icons: { emoji: ':robot_face:' }, bot_id: 'B0BOT', thread_ts: parent.ts, parent_user_id: 'U0BOT' });
    expect(reply.message?.user).toBeUndefined();
    const thread = slack.thread('C1', parent.ts!);
    expect(thread.map((message) => message.text)).toEqual(['parent', 'fallback']);
    expect(thread[1]!.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' }, block_id: expect.stringMatching(/^\S+$/) }]);
    expect(thread[1]!.metadata).toEqual({ event_type: 'run_reply', event_payload: { run: 'r1' } });
  });

  it('answers metadata in history and replies only with include_all_metadata, and shows bot posts there', async () => {
    const web = client();
    const parent = await web.chat.postMessage({ channel: 'C1', text: 'with metadata', metadata: { event_type: 'x', event_payload: { a: 1 } } });
    await web.chat.postMessage({ channel: 'C1', thread_ts: parent.ts!, text: 'reply', metadata: { event_type: 'y', event_payload: {} } });

    const plain = await web.conversations.history({ channel: 'C1' });
    expect(plain.messages).toHaveLength(1);
    expect(plain.messages?.[0]).toMatchObject({ text: 'with metadata', bot_id: 'B0BOT', reply_count: 1 });
    expect(plain.messages?.[0]?.metadata).toBeUndefined();
    const withMetadata = await web.conversations.history({ channel: 'C1', include_all_metadata: true });
    expect(withMetadata.messages?.[0]?.metadata).toEqual({ event_type: 'x', event_payload: { a: 1 } });

    const replies = await web.conversations.replies({ channel: 'C1', ts: parent.ts!, include_all_metadata: true });
    expect(replies.messages?.map((message) => message.metadata?.event_type)).toEqual(['x', 'y']);
    const repliesPlain = await web.conversations.replies({ channel: 'C1', ts: parent.ts! });
    expect(repliesPlain.messages?.every((message) => message.metadata === undefined)).toBe(true);
  });

  it('accepts a thread_ts that names no message (the reply shows nowhere) but not a malformed one', async () => {
    const web = client();
    const orphan = await web.chat.postMessage({ channel: 'C1', thread_ts: '1600000000.000100', text: 'into the void' });
    expect(orphan.ok).toBe(true);
    expect((await web.conversations.history({ channel: 'C1' })).messages).toEqual([]);
    expect(await slackError(web.conversations.replies({ channel: 'C1', ts: '1600000000.000100' }))).toBe('thread_not_found');
    expect(await slackError(web.chat.postMessage({ channel: 'C1', thread_ts: '0', text: 'x' }))).toBe('invalid_thread_ts');
  });

  it('answers the errors Slack does', async () => {
    const web = client();
    expect(await slackError(web.chat.postMessage({ channel: 'C404', text: 'x' }))).toBe('channel_not_found');
    expect(await slackError(web.chat.postMessage({ channel: 'C2', text: 'x' }))).toBe('not_in_channel');
    expect(await slackError(web.chat.postMessage({ channel: 'G1', text: 'x' }))).toBe('channel_not_found');
    expect(await slackError(web.chat.postMessage({ channel: 'C3', text: 'x' }))).toBe('is_archived');
    expect(await slackError(web.chat.postMessage({ channel: 'C1', text: 'x'.repeat(40_001) }))).toBe('msg_too_long');
    expect(await slackError(web.apiCall('chat.postMessage', { channel: 'C1' }))).toBe('no_text');
    expect(await slackError(web.apiCall('chat.postMessage', { channel: 'C1', blocks: '{not json' }))).toBe('invalid_blocks_format');
    expect(await slackError(web.apiCall('chat.postMessage', { channel: 'C1', blocks: { type: 'section' } }))).toBe('invalid_blocks_format');
    expect(await slackError(web.apiCall('chat.postMessage', { channel: 'C1', blocks: [{ text: 'no type' }] }))).toBe('invalid_blocks');
    expect(await slackError(web.apiCall('chat.postMessage', { channel: 'C1', blocks: [{ type: 'nonsense' }] }))).toBe('invalid_blocks');
    expect(await slackError(web.apiCall('chat.postMessage', { channel: 'C1', text: 'x', metadata: '{"event_type":"x"}' }))).toBe('invalid_metadata_schema');
    expect(await slackError(web.apiCall('chat.postMessage', { channel: 'C1', text: 'x', metadata: 'nope' }))).toBe('invalid_metadata_format');
    expect(await slackError(client(APP).chat.postMessage({ channel: 'C1', text: 'x' }))).toBe('not_allowed_token_type');
    expect(slack.callsOf('chat.postMessage').at(-1)).toMatchObject({ status: 200, error: 'not_allowed_token_type' });
    // Blocks alone are enough; a message posted by name lands in the channel.
    await web.chat.postMessage({ channel: 'C1', blocks: [{ type: 'divider' }] });
    await web.chat.postMessage({ channel: '#general', text: 'by name' });
    expect(slack.botMessages('C1')).toHaveLength(2);
  });

  it('posts where the bot is not a member of a public channel with chat:write.public', async () => {
    const open = await FakeSlackWebApi.start({ chatWritePublic: true });
    try {
      open.addChannel({ id: 'C2', name: 'not-joined', botIsMember: false });
      const web = new webApi.WebClient(BOT, { slackApiUrl: open.url, retryConfig: { retries: 0 } });
      await web.chat.postMessage({ channel: 'C2', text: 'hi' });
      expect(open.botMessages('C2')).toHaveLength(1);
    } finally {
      await open.close();
    }
  });
});

describe('chat.update, chat.delete, chat.postEphemeral', () => {
  it('updates the bot’s own message and records edited; refuses others’', async () => {
    const web = client();
    const posted = await web.chat.postMessage({ channel: 'C1', text: 'draft', blocks: [{ type: 'divider' }] });
    slack.post('C1', { ts: '1600000001.000100', user: 'U1', text: 'human' });

    const updated = await web.chat.update({ channel: 'C1', ts: posted.ts!, text: 'final' });
    expect(updated).toMatchObject({ channel: 'C1', ts: posted.ts, text: 'final' });
    const stored = slack.message('C1', posted.ts!);
    expect(stored).toMatchObject({ text: 'final', edited: { user: 'U0BOT' }, blocks: [{ type: 'divider' }] });
    expect(Number(stored!.edited!.ts)).toBeGreaterThan(Number(posted.ts));

    expect(await slackError(web.chat.update({ channel: 'C1', ts: '1600000001.000100', text: 'hijack' }))).toBe('cant_update_message');
    expect(await slackError(web.chat.update({ channel: 'C1', ts: '1600000009.000100', text: 'x' }))).toBe('message_not_found');
    expect(await slackError(web.chat.delete({ channel: 'C1', ts: '1600000001.000100' }))).toBe('cant_delete_message');

    expect(await web.chat.delete({ channel: 'C1', ts: posted.ts! })).toMatchObject({ channel: 'C1', ts: posted.ts });
    expect(slack.message('C1', posted.ts!)).toBeUndefined();
    expect(await slackError(web.chat.delete({ channel: 'C1', ts: posted.ts! }))).toBe('message_not_found');
  });

  it('keeps ephemeral messages apart and answers message_ts', async () => {
    const web = client();
    const result = await web.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' });
    expect(result.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(slack.ephemeralMessages({ user: 'U1' })).toEqual([expect.objectContaining({ channel: 'C1', user: 'U1', text: 'only you', ts: result.message_ts, via: 'chat.postEphemeral' })]);
    expect(slack.messagesIn('C1')).toEqual([]);
    expect(await slackError(web.chat.postEphemeral({ channel: 'C1', user: 'U9', text: 'x' }))).toBe('user_not_in_channel');
  });
});

describe('reactions', () => {
  it('adds, lists and removes the bot’s reactions, with Slack’s errors', async () => {
    const web = client();
    slack.post('C1', { ts: '1600000001.000100', user: 'U1', text: 'react to me' });
    await web.reactions.add({ channel: 'C1', timestamp: '1600000001.000100', name: 'eyes' });

    expect(slack.reactionsOn('C1', '1600000001.000100')).toEqual([{ name: 'eyes', users: ['U0BOT'], count: 1 }]);
    const got = await web.reactions.get({ channel: 'C1', timestamp: '1600000001.000100' });
    expect(got.message?.reactions).toEqual([{ name: 'eyes', users: ['U0BOT'], count: 1 }]);
    expect((await web.conversations.history({ channel: 'C1' })).messages?.[0]?.reactions).toEqual([{ name: 'eyes', users: ['U0BOT'], count: 1 }]);

    expect(await slackError(web.reactions.add({ channel: 'C1', timestamp: '1600000001.000100', name: 'eyes' }))).toBe('already_reacted');
    expect(await slackError(web.reactions.add({ channel: 'C1', timestamp: '1600000009.000100', name: 'eyes' }))).toBe('message_not_found');
    expect(await slackError(web.reactions.add({ channel: 'C1', timestamp: '1600000001.000100', name: ':eyes:' }))).toBe('invalid_name');
    expect(await slackError(web.reactions.remove({ channel: 'C1', timestamp: '1600000001.000100', name: 'tada' }))).toBe('no_reaction');

    await web.reactions.remove({ channel: 'C1', timestamp: '1600000001.000100', name: 'eyes' });
    expect(slack.reactionsOn('C1', '1600000001.000100')).toEqual([]);
  });

  it('knows only the given emoji when told', async () => {
    const strict = await FakeSlackWebApi.start({ knownEmoji: ['white_check_mark'] });
    try {
      strict.addChannel({ id: 'C1', name: 'general', messages: [{ ts: '1600000001.000100', user: 'U1', text: 'x' }] });
      const web = new webApi.WebClient(BOT, { slackApiUrl: strict.url, retryConfig: { retries: 0 } });
      await web.reactions.add({ channel: 'C1', timestamp: '1600000001.000100', name: 'white_check_mark' });
      expect(await slackError(web.reactions.add({ channel: 'C1', timestamp: '1600000001.000100', name: 'not_an_emoji' }))).toBe('invalid_name');
    } finally {
      await strict.close();
    }
  });
});

describe('views.publish and users.info', () => {
  it('keeps the latest home view per user and refuses other view types', async () => {
    const web = client();
    const first = await web.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'v1' } }] } });
    const second = await web.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [{ type: 'divider' }] }, hash: first.view?.hash });

    expect(second.view).toMatchObject({ id: first.view?.id, type: 'home', app_id: 'A0APP', bot_id: 'B0BOT', team_id: 'T0FAKE' });
    expect(slack.homeView('U1')).toMatchObject({ publishCount: 2, view: { blocks: [{ type: 'divider' }] } });
    expect(await slackError(web.views.publish({ user_id: 'U1', view: { type: 'modal', title: { type: 'plain_text', text: 't' }, blocks: [] } }))).toBe('invalid_arguments');
    expect(await slackError(web.views.publish({ user_id: 'U1', view: { type: 'home', blocks: [] }, hash: 'stale' }))).toBe('hash_conflict');
  });

  it('answers users.info for known users and the bot, user_not_found otherwise', async () => {
    const web = client();
    expect((await web.users.info({ user: 'U1' })).user).toMatchObject({ id: 'U1', name: 'ada', real_name: 'Ada Lovelace', is_bot: false, team_id: 'T0FAKE' });
    expect((await web.users.info({ user: 'U0BOT' })).user).toMatchObject({ id: 'U0BOT', is_bot: true, profile: { bot_id: 'B0BOT' } });
    expect(await slackError(web.users.info({ user: 'U404' }))).toBe('user_not_found');
  });
});

describe('apps.connections.open', () => {
  it('takes only an app-level token and hands out a fresh ticket each time', async () => {
    const first = await client(APP).apps.connections.open();
    const second = await client(APP).apps.connections.open();
    expect(first.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f-]{36}&app_id=A0APP$/);
    expect(second.url).not.toBe(first.url);
    expect(await slackError(client(BOT).apps.connections.open())).toBe('not_allowed_token_type');
    expect(await slackError(client('xapp-wrong').apps.connections.open())).toBe('invalid_auth');
    expect(slack.callsOf('apps.connections.open').map((call) => call.auth)).toEqual(['header', 'header', 'header', 'header']);
  });
});

describe('failNext', () => {
  it('fails the next calls of a method with the given error, then lets them through', async () => {
    const web = client();
    slack.failNext('chat.postMessage', 'fatal_error', 2);
    expect(await slackError(web.chat.postMessage({ channel: 'C1', text: 'x' }))).toBe('fatal_error');
    expect(await slackError(web.chat.postMessage({ channel: 'C1', text: 'x' }))).toBe('fatal_error');
    await web.chat.postMessage({ channel: 'C1', text: 'x' });
    expect(slack.callsOf('chat.postMessage').map((call) => call.error ?? 'ok')).toEqual(['fatal_error', 'fatal_error', 'ok']);
  });
});
