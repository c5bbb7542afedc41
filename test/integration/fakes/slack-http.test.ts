/**
 * The fake Slack's Events API over HTTP, driven by a real `@slack/bolt` App on its default
 * HTTPReceiver: signed events (and their retries), slash commands and interactions reach it
 * and are answered 200; a wrong signature or a stale timestamp is refused 401; the
 * url_verification challenge comes back; the echo of the app's own reply is delivered too.
 */
import type { AddressInfo } from 'node:net';
import { App, LogLevel, webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventCallback, postSignedEvent, signSlackRequest } from '../../fakes/slack-events.js';
import { FakeSlack } from '../../fakes/slack.js';

const SECRET = 'fake-signing-secret';

let fake: FakeSlack;
let app: App | undefined;
let eventsUrl: string;

beforeEach(async () => {
  fake = await FakeSlack.start();
  fake.web.addChannel({ id: 'C1', name: 'general' });
  app = undefined;
});

afterEach(async () => {
  await app?.stop();
  await fake.close();
});

/** A Bolt app on HTTP at a free port, its Request URL handed to the fake. */
async function httpApp(setup: (app: App) => void): Promise<App> {
  app = new App({ token: fake.botToken, signingSecret: SECRET, clientOptions: { slackApiUrl: fake.url }, logLevel: LogLevel.ERROR });
  setup(app);
  const server = await app.start({ port: 0, host: '127.0.0.1' });
  eventsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  fake.setHttpTarget({ url: eventsUrl, signingSecret: SECRET });
  return app;
}

describe('signing', () => {
  it('signs as Slack does (v0, HMAC-SHA256 of v0:timestamp:body)', () => {
    // Slack's documented example.
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body)).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
  });

  it('gets 200 for a signed event, 401 for a wrong signature or a stale timestamp', async () => {
    await httpApp(() => undefined);
    const body = eventCallback(fake.identity, { type: 'reaction_added', user: 'U1', reaction: 'eyes', item: { type: 'message', channel: 'C1', ts: '1600000000.000100' }, event_ts: '1600000000.000200' });

    expect((await postSignedEvent(eventsUrl, SECRET, body)).status).toBe(200);
    expect((await postSignedEvent(eventsUrl, SECRET, body, { signature: 'v0=0000' })).status).toBe(401);
    expect((await postSignedEvent(eventsUrl, 'another-secret', body)).status).toBe(401);
    expect((await postSignedEvent(eventsUrl, SECRET, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
  });

  it('answers the url_verification challenge', async () => {
    await httpApp(() => undefined);
    expect(await fake.verifyUrl('a-challenge-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P')).toMatchObject({ status: 200, echoed: true });
  });
});

describe('events over HTTP', () => {
  it('delivers a user message signed; the app replies in thread; the echo is delivered and dropped', async () => {
    const seen: string[] = [];
    await httpApp((bolt) => {
      bolt.message(async ({ message, say }) => {
        if (message.subtype !== undefined) return;
        seen.push(message.text ?? '');
        if (message.text !== 'sentinel') await say({ text: `re: ${message.text}`, thread_ts: message.ts });
      });
    });

    const posted = await fake.userPosts({ channel: 'C1', user: 'U1', text: 'over http' });
    expect(posted.deliveries).toEqual([expect.objectContaining({ transport: 'http', status: 200, acked: true })]);
    const reply = await fake.waitFor(() => fake.web.thread('C1', posted.ts)[1], { what: 'the reply' });
    expect(reply).toMatchObject({ text: 're: over http', user: 'U0BOT', thread_ts: posted.ts });
    const echo = await fake.waitForDelivery((delivery) => delivery.echo);
    expect(echo).toMatchObject({ transport: 'http', status: 200, name: 'message' });

    await fake.userPosts({ channel: 'C1', user: 'U1', text: 'sentinel' });
    await fake.waitFor(() => seen.includes('sentinel'), { what: 'the sentinel' });
    expect(seen).toEqual(['over http', 'sentinel']);
  });

  it('redelivers with X-Slack-Retry-Num and -Reason, and the app sees the retry', async () => {
    const retries: unknown[] = [];
    await httpApp((bolt) => {
      bolt.message(async ({ body, context }) => {
        retries.push([body.event_id, context.retryNum, context.retryReason]);
      });
    });
    const posted = await fake.userPosts({ channel: 'C1', user: 'U1', text: 'retry me' });
    const again = await fake.redeliver(posted.deliveries[0]!, { retryReason: 'http_error' });
    expect(again).toMatchObject({ status: 200, retryAttempt: 1 });
    await fake.waitFor(() => retries.length === 2, { what: 'both deliveries' });
    expect(retries).toEqual([
      [posted.eventIds.message, undefined, undefined],
      [posted.eventIds.message, 1, 'http_error'],
    ]);
  });

  it('posts slash commands form-encoded and returns the ack body; interactions as payload=', async () => {
    const clicks: string[] = [];
    await httpApp((bolt) => {
      bolt.command('/ledger', async ({ command, ack }) => {
        await ack({ text: `on it: ${command.text}` });
      });
      bolt.action('go', async ({ ack, body }) => {
        await ack();
        clicks.push(body.user.id);
      });
    });
    const command = await fake.deliverSlashCommand({ command: '/ledger', text: 'report', channel: 'C1', user: 'U1' });
    expect(command).toMatchObject({ transport: 'http', status: 200, response: { text: 'on it: report' } });

    const posted = await new webApi.WebClient(fake.botToken, { slackApiUrl: fake.url }).chat.postMessage({
      channel: 'C1',
      text: 'go?',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' } }] }],
    });
    const click = await fake.clickButton({ channel: 'C1', ts: posted.ts!, user: 'U2', actionId: 'go' });
    expect(click).toMatchObject({ transport: 'http', status: 200 });
    await fake.waitFor(() => clicks.length === 1, { what: 'the click' });
    expect(clicks).toEqual(['U2']);
  });

  it('reports a delivery to an app that is gone as not acked', async () => {
    await httpApp(() => undefined);
    await app!.stop();
    app = undefined;
    const posted = await fake.userPosts({ channel: 'C1', user: 'U1', text: 'anyone?' });
    expect(posted.deliveries[0]).toMatchObject({ transport: 'http', acked: false, status: undefined });
    expect(fake.web.messagesIn('C1')).toHaveLength(1);
  });
});
