/**
 * The fake Slack's Socket Mode end, driven by a real `@slack/bolt` App (its SocketModeReceiver,
 * `@slack/socket-mode` over undici's WebSocket): it connects through apps.connections.open,
 * takes the hello, stays alive on the fake's pings, gets events from simulated users, replies
 * through the Web API fake, drops the echo of its own reply (ignoreSelf), sees a redelivered
 * event again, acks slash commands with a payload, gets button clicks, and reconnects after a
 * `disconnect` message or a dropped link.
 */
import { App, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSlack } from '../../fakes/slack.js';

let fake: FakeSlack;
let apps: App[];

beforeEach(async () => {
  fake = await FakeSlack.start({ socketMode: { pingIntervalMs: 100 } });
  fake.web.addChannel({ id: 'C1', name: 'general' });
  fake.web.addChannel({ id: 'D1', name: 'dm-ada', isIm: true });
  fake.web.addChannel({ id: 'C9', name: 'elsewhere', botIsMember: false });
  apps = [];
});

afterEach(async () => {
  for (const app of apps) await app.stop();
  if (apps.length > 0) await fake.socket.waitForNoConnection();
  await fake.close();
});

/** A Bolt app as production would make it: socketMode with the app token, the API pointed at the fake. */
function socketApp(options: { ignoreSelf?: boolean } = {}): App {
  const app = new App({
    token: fake.botToken,
    appToken: fake.appToken,
    socketMode: true,
    clientOptions: { slackApiUrl: fake.url },
    logLevel: LogLevel.ERROR,
    ...(options.ignoreSelf === undefined ? {} : { ignoreSelf: options.ignoreSelf }),
  });
  apps.push(app);
  return app;
}

/** The same with its own receiver, for the client's timing options (reconnect delay = clientPingTimeout). */
function socketAppWithReceiver(options: { clientPingTimeout?: number; serverPingTimeout?: number }): App {
  const receiver = new SocketModeReceiver({
    appToken: fake.appToken,
    logLevel: LogLevel.ERROR,
    installerOptions: { clientOptions: { slackApiUrl: fake.url } },
    ...options,
  });
  const app = new App({ token: fake.botToken, receiver, clientOptions: { slackApiUrl: fake.url }, logLevel: LogLevel.ERROR });
  apps.push(app);
  return app;
}

/**
 * An event acked on the newest connection: the client has read its hello (messages arrive in
 * order). Stopping a Bolt app while a reconnect still waits for its hello leaves an unhandled
 * rejection inside @slack/socket-mode (its start() promise is rejected on disconnect).
 */
async function expectReady(): Promise<void> {
  const newest = fake.socket.connections.at(-1)!;
  const delivery = await fake.socket.deliverEvent({ type: 'reaction_added', user: 'U1', reaction: 'eyes', item: { type: 'message', channel: 'C1', ts: '1600000000.000100' }, event_ts: '1600000000.000200' }, { connectionId: newest.id });
  expect(delivery.acked).toBe(true);
}

interface Seen {
  readonly text: string | undefined;
  readonly subtype: string | undefined;
  readonly eventId: unknown;
  readonly retryNum: number | undefined;
  readonly user: string | undefined;
}

/** Records what reaches `app.message` listeners (after the global middleware, ignoreSelf first). */
function recordMessages(app: App): Seen[] {
  const seen: Seen[] = [];
  app.message(async ({ message, body, context }) => {
    seen.push({
      text: 'text' in message ? message.text : undefined,
      subtype: message.subtype,
      eventId: body.event_id,
      retryNum: context.retryNum,
      user: 'user' in message ? message.user : undefined,
    });
  });
  return seen;
}

describe('connecting', () => {
  it('connects through apps.connections.open with the app token and takes the hello', async () => {
    const app = socketApp();
    await app.start();
    await fake.socket.waitForConnection();

    const open = fake.web.callsOf('apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ auth: 'header', status: 200 });
    expect(fake.web.callsOf('auth.test')).toHaveLength(1);
    expect(fake.socket.sent[0]).toEqual({
      type: 'hello',
      num_connections: 1,
      debug_info: { host: expect.any(String), build_number: expect.any(Number), approximate_connection_time: expect.any(Number) },
      connection_info: { app_id: 'A0APP' },
    });
    await fake.waitFor(() => fake.socket.connections[0]!.pongsReceived >= 2 && fake.socket.connections[0]!.clientPings >= 1, { what: 'pings both ways' });
  });

  it('refuses a ticket used twice, or none', async () => {
    const { url } = (await (await fetch(`${fake.url}apps.connections.open`, { method: 'POST', headers: { authorization: `Bearer ${fake.appToken}` } })).json()) as { url: string };
    const first = new WebSocket(url);
    const hello = await new Promise<unknown>((resolve, reject) => {
      first.once('message', (data: Buffer) => resolve(JSON.parse(data.toString('utf8'))));
      first.once('error', reject);
    });
    expect(hello).toMatchObject({ type: 'hello' });
    const refused = (target: string): Promise<string> =>
      new Promise((resolve) => {
        const again = new WebSocket(target);
        again.once('error', (error) => resolve(error.message));
        again.once('open', () => resolve('opened'));
      });
    expect(await refused(url)).toMatch(/401/);
    expect(await refused(url.replace(/ticket=[^&]+/, 'ticket=made-up'))).toMatch(/401/);
    expect(fake.socket.rejectedUpgrades).toBe(2);
    first.close();
    await fake.socket.waitForNoConnection();
  });

  it('keeps the link alive with server pings, and the client drops it when they stop', async () => {
    const app = socketAppWithReceiver({ clientPingTimeout: 300, serverPingTimeout: 600 });
    await app.start();
    await fake.socket.waitForConnection();
    // Several serverPingTimeouts pass with pings flowing: the same connection stays.
    await fake.waitFor(() => fake.socket.connections[0]!.pingsSent >= 15, { what: 'fifteen server pings' });
    expect(fake.socket.connections).toHaveLength(1);
    expect(fake.socket.connections[0]!.closedAt).toBeUndefined();

    fake.socket.setServerPings(false);
    await fake.waitFor(() => fake.socket.connections[0]!.closedAt, { what: 'the client to drop a silent link' });
    fake.socket.setServerPings(true);
    await fake.socket.waitForConnection({ opened: 2 });
    expect(fake.web.callsOf('apps.connections.open')).toHaveLength(2);
    await expectReady();
  });
});

describe('events', () => {
  it('delivers a user message; the threaded reply lands in the fake; its echo is acked and ignoreSelf drops it', async () => {
    const app = socketApp();
    const seen = recordMessages(app);
    app.message(async ({ message, say }) => {
      if (message.subtype === undefined && !message.text?.startsWith('sentinel')) await say({ text: `echo: ${message.text}`, thread_ts: message.ts });
    });
    await app.start();
    await fake.socket.waitForConnection();

    const posted = await fake.userPosts({ channel: 'C1', user: 'U1', text: 'hello bot' });
    expect(posted.deliveries).toEqual([expect.objectContaining({ transport: 'socket', name: 'message', acked: true, eventId: posted.eventIds.message })]);
    expect(posted.deliveries[0]!.body).toMatchObject({
      type: 'event_callback',
      team_id: 'T0FAKE',
      api_app_id: 'A0APP',
      event_id: expect.stringMatching(/^Ev\w+$/),
      authorizations: [{ team_id: 'T0FAKE', user_id: 'U0BOT', is_bot: true }],
      event: { type: 'message', channel: 'C1', user: 'U1', text: 'hello bot', ts: posted.ts, event_ts: posted.ts, channel_type: 'channel', team: 'T0FAKE', client_msg_id: expect.any(String) },
    });

    const reply = await fake.waitFor(() => fake.web.thread('C1', posted.ts)[1], { what: 'the threaded reply' });
    expect(reply).toMatchObject({ text: 'echo: hello bot', thread_ts: posted.ts, user: 'U0BOT', bot_id: 'B0BOT', parent_user_id: 'U1' });
    const echo = await fake.waitForDelivery((delivery) => delivery.echo && delivery.name === 'message');
    expect(echo).toMatchObject({ acked: true, transport: 'socket' });
    expect(echo.body.event).toMatchObject({ type: 'message', user: 'U0BOT', bot_id: 'B0BOT', app_id: 'A0APP', thread_ts: posted.ts, text: 'echo: hello bot', bot_profile: { id: 'B0BOT' } });
    expect((echo.body.event as { subtype?: string }).subtype).toBeUndefined();

    // A later message gets through: by then the echo, delivered before it, has been dropped.
    await fake.userPosts({ channel: 'C1', user: 'U1', text: 'sentinel' });
    await fake.waitFor(() => seen.some((entry) => entry.text === 'sentinel'), { what: 'the sentinel' });
    expect(seen.map((entry) => entry.text)).toEqual(['hello bot', 'sentinel']);
    expect(fake.web.botMessages('C1')).toHaveLength(1);
  });

  it('the echo does reach an app that does not ignore itself', async () => {
    const app = socketApp({ ignoreSelf: false });
    const seen = recordMessages(app);
    await app.start();
    await fake.socket.waitForConnection();
    await app.client.chat.postMessage({ channel: 'C1', text: 'from the bot' });
    await fake.waitFor(() => seen.length === 1, { what: 'the echo' });
    expect(seen[0]).toMatchObject({ text: 'from the bot', user: 'U0BOT', subtype: undefined });
  });

  it('does not deduplicate: a redelivered event (same event_id, retry_attempt 1) reaches the app again', async () => {
    const app = socketApp();
    const seen = recordMessages(app);
    await app.start();
    await fake.socket.waitForConnection();

    const posted = await fake.userPosts({ channel: 'C1', user: 'U1', text: 'once' });
    const again = await fake.redeliver(posted.deliveries[0]!);
    expect(again).toMatchObject({ acked: true, retryAttempt: 1, eventId: posted.eventIds.message });
    await fake.waitFor(() => seen.length === 2, { what: 'both deliveries' });
    expect(seen.map((entry) => [entry.eventId, entry.retryNum])).toEqual([
      [posted.eventIds.message, 0],
      [posted.eventIds.message, 1],
    ]);
    const envelopes = fake.socket.sent.filter((message) => message.type === 'events_api');
    expect(envelopes.map((envelope) => [envelope.retry_attempt, envelope.retry_reason, envelope.accepts_response_payload])).toEqual([
      [0, ''],
      [1, 'timeout'],
    ].map(([attempt, reason]) => [attempt, reason, false]));
  });

  it('sends a mention as message and app_mention (different event ids), app_mention switchable, nothing from channels the bot is not in', async () => {
    const app = socketApp();
    const mentions: unknown[] = [];
    const seen = recordMessages(app);
    app.event('app_mention', async ({ event, body }) => {
      mentions.push([event.text, body.event_id]);
    });
    await app.start();
    await fake.socket.waitForConnection();

    const posted = await fake.userPosts({ channel: 'C1', user: 'U1', text: '<@U0BOT> what is up' });
    expect(posted.eventIds.message).toBeDefined();
    expect(posted.eventIds.appMention).toBeDefined();
    expect(posted.eventIds.appMention).not.toBe(posted.eventIds.message);
    await fake.waitFor(() => mentions.length === 1 && seen.length === 1, { what: 'both events' });
    expect(mentions).toEqual([['<@U0BOT> what is up', posted.eventIds.appMention]]);

    fake.unsubscribe('app_mention');
    const second = await fake.userPosts({ channel: 'C1', user: 'U1', text: '<@U0BOT> again' });
    expect(second.eventIds.appMention).toBeUndefined();

    const dm = await fake.userPosts({ channel: 'D1', user: 'U1', text: '<@U0BOT> in a DM' });
    expect(dm.deliveries.map((delivery) => (delivery.body.event as { channel_type?: string }).channel_type)).toEqual(['im']);

    const outside = await fake.userPosts({ channel: 'C9', user: 'U1', text: 'unseen' });
    expect(outside.deliveries).toEqual([]);
    expect(fake.web.messagesIn('C9').map((message) => message.text)).toEqual(['unseen']);
  });

  it('delivers a user’s edit (message_changed) and delete (message_deleted), and a reply with thread_ts and parent_user_id', async () => {
    const app = socketApp();
    const events: { subtype?: string; raw: Record<string, unknown> }[] = [];
    app.event('message', async ({ event }) => {
      events.push({ subtype: event.subtype, raw: event as unknown as Record<string, unknown> });
    });
    await app.start();
    await fake.socket.waitForConnection();

    const parent = await fake.userPosts({ channel: 'C1', user: 'U1', text: 'first' });
    const reply = await fake.userPosts({ channel: 'C1', user: 'U2', text: 'in thread', thread_ts: parent.ts });
    await fake.userEdits('C1', parent.ts, 'first, edited');
    await fake.userDeletes('C1', reply.ts);
    await fake.waitFor(() => events.length === 4, { what: 'four events' });

    expect(events[1]!.raw).toMatchObject({ thread_ts: parent.ts, parent_user_id: 'U1', user: 'U2' });
    expect(events[2]!.raw).toMatchObject({
      subtype: 'message_changed',
      hidden: true,
      channel: 'C1',
      message: { text: 'first, edited', ts: parent.ts, user: 'U1', edited: { user: 'U1' } },
      previous_message: { text: 'first', ts: parent.ts },
    });
    expect(events[3]!.raw).toMatchObject({ subtype: 'message_deleted', deleted_ts: reply.ts, previous_message: { text: 'in thread' } });
    expect(fake.web.messagesIn('C1').map((message) => message.text)).toEqual(['first, edited']);
  });
});

describe('echo', () => {
  it('echoes the bot’s edits, deletes and reactions as Slack does, and can be turned off', async () => {
    const app = socketApp({ ignoreSelf: false });
    const events: Record<string, unknown>[] = [];
    app.event('message', async ({ event }) => {
      events.push(event as unknown as Record<string, unknown>);
    });
    app.event('reaction_added', async ({ event }) => {
      events.push(event as unknown as Record<string, unknown>);
    });
    await app.start();
    await fake.socket.waitForConnection();

    const human = await fake.userPosts({ channel: 'C1', user: 'U1', text: 'hi' });
    const posted = await app.client.chat.postMessage({ channel: 'C1', text: 'v1' });
    await app.client.chat.update({ channel: 'C1', ts: posted.ts!, text: 'v2' });
    await app.client.reactions.add({ channel: 'C1', timestamp: human.ts, name: 'eyes' });
    await app.client.chat.delete({ channel: 'C1', ts: posted.ts! });
    await fake.waitFor(() => events.length === 5, { what: 'five events' });
    // Bolt handles envelopes concurrently, so the order they reach listeners is not asserted.
    expect(events.map((event) => [event.type, event.subtype ?? (event.user === 'U0BOT' && event.type === 'message' ? 'own' : undefined)])).toEqual(
      expect.arrayContaining([
        ['message', undefined],
        ['message', 'own'],
        ['message', 'message_changed'],
        ['reaction_added', undefined],
        ['message', 'message_deleted'],
      ]),
    );
    expect(events.find((event) => event.type === 'reaction_added')).toMatchObject({ user: 'U0BOT', reaction: 'eyes', item_user: 'U1', item: { type: 'message', channel: 'C1', ts: human.ts } });
    expect(fake.deliveries.filter((delivery) => delivery.echo)).toHaveLength(4);

    fake.setEcho(false);
    await app.client.chat.postMessage({ channel: 'C1', text: 'silent' });
    await fake.userPosts({ channel: 'C1', user: 'U1', text: 'after' });
    await fake.waitFor(() => events.length === 6, { what: 'the user message' });
    expect(events.at(-1)).toMatchObject({ text: 'after' });
    expect(fake.deliveries.filter((delivery) => delivery.echo)).toHaveLength(4);
  });

  it('delivers a user’s reaction as reaction_added', async () => {
    const app = socketApp();
    const reactions: unknown[] = [];
    app.event('reaction_added', async ({ event }) => {
      reactions.push([event.user, event.reaction, event.item]);
    });
    await app.start();
    await fake.socket.waitForConnection();
    const posted = await app.client.chat.postMessage({ channel: 'C1', text: 'react please' });
    await fake.userReacts('C1', posted.ts!, 'U1', 'tada');
    await fake.waitFor(() => reactions.length === 1, { what: 'the reaction' });
    expect(reactions).toEqual([['U1', 'tada', { type: 'message', channel: 'C1', ts: posted.ts }]]);
    expect(fake.web.reactionsOn('C1', posted.ts!)).toEqual([{ name: 'tada', users: ['U1'], count: 1 }]);
  });
});

describe('commands and interactivity', () => {
  it('acks a slash command with a payload; respond() goes to the response_url', async () => {
    const app = socketApp();
    app.command('/ledger', async ({ command, ack, respond }) => {
      await ack({ text: `looking into ${command.text}` });
      await respond({ response_type: 'in_channel', text: 'done' });
    });
    await app.start();
    await fake.socket.waitForConnection();

    const delivery = await fake.deliverSlashCommand({ command: '/ledger', text: 'invoices', channel: 'C1', user: 'U1' });
    expect(delivery).toMatchObject({ acked: true, kind: 'slash_commands', response: { text: 'looking into invoices' } });
    const envelope = fake.socket.sent.find((message) => message.type === 'slash_commands');
    expect(envelope).toMatchObject({ accepts_response_payload: true, payload: { command: '/ledger', text: 'invoices', channel_id: 'C1', user_id: 'U1', team_id: 'T0FAKE' } });
    await fake.waitFor(() => fake.web.responseUrlPosts.length === 1, { what: 'the respond()' });
    expect(fake.web.responseUrlPosts[0]).toMatchObject({ status: 200, body: { response_type: 'in_channel', text: 'done' } });
    expect(fake.web.botMessages('C1').map((message) => message.text)).toEqual(['done']);
  });

  it('delivers a button click (block_actions) to app.action, which can replace the message', async () => {
    const app = socketApp();
    const clicks: unknown[] = [];
    app.action('approve', async ({ ack, action, body, respond }) => {
      await ack();
      clicks.push([action.type, 'value' in action ? action.value : undefined, body.user.id]);
      await respond({ replace_original: true, text: 'approved' });
    });
    await app.start();
    await fake.socket.waitForConnection();
    const posted = await app.client.chat.postMessage({
      channel: 'C1',
      text: 'approve?',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'approve', value: 'invoice-7', text: { type: 'plain_text', text: 'Approve' } }] }],
    });

    const delivery = await fake.clickButton({ channel: 'C1', ts: posted.ts!, user: 'U1', actionId: 'approve' });
    expect(delivery).toMatchObject({ acked: true, kind: 'interactive', name: 'block_actions' });
    expect(delivery.body).toMatchObject({
      type: 'block_actions',
      user: { id: 'U1' },
      container: { type: 'message', message_ts: posted.ts, channel_id: 'C1' },
      channel: { id: 'C1' },
      message: { ts: posted.ts, bot_id: 'B0BOT' },
      trigger_id: expect.stringMatching(/^\d+\.\d+\.[0-9a-f]{32}$/),
      actions: [{ type: 'button', action_id: 'approve', value: 'invoice-7', block_id: expect.any(String) }],
    });
    await fake.waitFor(() => fake.web.message('C1', posted.ts!)?.text === 'approved', { what: 'the replaced message' });
    expect(clicks).toEqual([['button', 'invoice-7', 'U1']]);
  });
});

describe('reconnecting', () => {
  it.each(['refresh_requested', 'warning', 'link_disabled'] as const)('reconnects through apps.connections.open after a %s disconnect, and events flow again', async (reason) => {
    const app = socketAppWithReceiver({ clientPingTimeout: 300 });
    const seen = recordMessages(app);
    await app.start();
    await fake.socket.waitForConnection();

    fake.deliverDisconnect(reason);
    expect(fake.socket.sent.at(-1)).toEqual({ type: 'disconnect', reason, debug_info: { host: expect.any(String) } });
    await fake.socket.waitForConnection({ opened: 2 });
    expect(fake.socket.connections[0]!.closedAt).toBeDefined();
    expect(fake.web.callsOf('apps.connections.open')).toHaveLength(2);

    await fake.userPosts({ channel: 'C1', user: 'U1', text: 'after the refresh' });
    await fake.waitFor(() => seen.length === 1, { what: 'the message on the new connection' });
  });

  it('reconnects after the link drops without a close handshake', async () => {
    const app = socketAppWithReceiver({ clientPingTimeout: 300 });
    await app.start();
    await fake.socket.waitForConnection();
    fake.socket.terminateConnections();
    await fake.socket.waitForConnection({ opened: 2 });
    expect(fake.web.callsOf('apps.connections.open')).toHaveLength(2);
    await expectReady();
  });

  it('reports an unacked envelope as not acked, and needs a connected client', async () => {
    await expect(fake.socket.deliverEvent({ type: 'message', channel: 'C1', user: 'U1', text: 'x', ts: '1.000001' })).rejects.toThrow(/no client is connected/);
    const raw = new WebSocket(((await (await fetch(`${fake.url}apps.connections.open`, { method: 'POST', headers: { authorization: `Bearer ${fake.appToken}` } })).json()) as { url: string }).url);
    await fake.socket.waitForConnection();
    const delivery = await fake.socket.deliverEvent({ type: 'message', channel: 'C1', user: 'U1', text: 'x', ts: '1.000001' }, { timeoutMs: 200 });
    expect(delivery.acked).toBe(false);
    raw.send(JSON.stringify({ envelope_id: delivery.envelopeId }));
    await fake.waitFor(() => fake.socket.acks.length === 1, { what: 'the late ack' });
    expect(fake.socket.acks[0]).toMatchObject({ envelopeId: delivery.envelopeId, inTime: false });
    raw.close();
    await fake.socket.waitForNoConnection();
  });
});
