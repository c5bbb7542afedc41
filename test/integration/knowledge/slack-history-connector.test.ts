/**
 * The Slack history connector against the fake Slack Web API (real HTTP on 127.0.0.1):
 * the WebClient-backed client's wire behaviour (bearer token, 429 + Retry-After, WebClient's
 * errors as SlackApiError codes), oldest-first backfill across pages, threads as one
 * document, live incremental sync (new messages, new replies to old threads), private
 * channels, resuming after a failure, and the token never reaching an event.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../../events/envelope.js';
import type { EventStore } from '../../../events/port.js';
import { syncConnector } from '../../../runtime/knowledge/connector.js';
import {
  SlackApiError,
  SlackHistoryConnector,
  slackWebApi,
  type SlackHistoryConnectorOptions,
  type SlackWebApi,
  type SlackWebApiOptions,
} from '../../../runtime/knowledge/slack-history-connector.js';
import { FakeSlackWebApi, type FakeSlackMessage } from '../../fakes/slack-web-api.js';
import { openKnowledgeStore } from './helpers.js';

const TOKEN = 'xoxb-test-token';

let slack: FakeSlackWebApi;
let dir: string;
let store: EventStore;

beforeEach(async () => {
  slack = await FakeSlackWebApi.start({ tokens: [TOKEN] });
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-slack-'));
  store = await openKnowledgeStore(dir);
});

afterEach(async () => {
  await slack.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The production client against the fake, retrying without backoff (a 429 still waits its Retry-After). */
function api(options: Partial<SlackWebApiOptions> = {}): SlackWebApi {
  return slackWebApi({ token: TOKEN, slackApiUrl: slack.url, retryConfig: { retries: 2, minTimeout: 0, maxTimeout: 0 }, ...options });
}

function connector(options: Partial<SlackHistoryConnectorOptions> = {}): SlackHistoryConnector {
  return new SlackHistoryConnector({ source: 'slack', api: api(), pageSize: 2, ...options });
}

const message = (ts: string, text: string, extra: Partial<FakeSlackMessage> = {}): FakeSlackMessage => ({ ts, text, user: 'U1', ...extra });

function docs(events: readonly StoredEvent[]): { type: string; id: string; content: string; visibility: unknown }[] {
  return events
    .filter((event) => event.type !== 'knowledge.cursor_advanced')
    .map((event) => {
      const data = event.data as { documentId: string; content?: string; visibility?: unknown };
      return { type: event.type.replace('knowledge.', ''), id: data.documentId, content: data.content ?? '', visibility: data.visibility };
    });
}

function cursorOf(events: readonly StoredEvent[]): { v: number; channels: Record<string, { newest: string; threads: Record<string, string> }> } {
  const last = [...events].reverse().find((event) => event.type === 'knowledge.cursor_advanced')!;
  return JSON.parse((last.data as { cursor: string }).cursor) as ReturnType<typeof cursorOf>;
}

describe('the Web API client', () => {
  it('sends the token as a bearer header, never as an argument, form-encoded', async () => {
    await api().call('auth.test');
    expect(slack.calls).toEqual([expect.objectContaining({ method: 'auth.test', httpMethod: 'POST', auth: 'header', params: {}, status: 200 })]);
    expect(slack.calls[0]!.contentType).toMatch(/^application\/x-www-form-urlencoded/);
  });

  it('throws invalid_auth for a bad token, and the message does not carry the token', async () => {
    const error = await api({ token: 'xoxb-wrong-secret' }).call('auth.test').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SlackApiError);
    expect(error).toMatchObject({ method: 'auth.test', error: 'invalid_auth' });
    expect(String((error as Error).message)).not.toContain('xoxb-wrong-secret');
    expect(JSON.stringify(error)).not.toContain('xoxb-wrong-secret');
    // WebClient's own error is kept as the cause; neither it nor the client object holds the token in view.
    expect((error as Error).cause).toBeDefined();
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain('xoxb-wrong-secret');
    expect(inspect(api({ token: 'xoxb-wrong-secret' }), { depth: 10, showHidden: true })).not.toContain('xoxb-wrong-secret');
  });

  it("names Slack's error code: channel_not_found, not_in_channel", async () => {
    slack.addChannel({ id: 'C2', name: 'not-joined', botIsMember: false });
    await expect(api().call('conversations.info', { channel: 'C404' })).rejects.toMatchObject({
      method: 'conversations.info',
      error: 'channel_not_found',
      message: 'Slack conversations.info failed: channel_not_found',
    });
    await expect(syncConnector(store, connector({ channels: ['C2'] }))).rejects.toMatchObject({ method: 'conversations.history', error: 'not_in_channel' });
  });

  it('a call that cannot be sent is request_failed, after the retries', async () => {
    const closed = await FakeSlackWebApi.start({ tokens: [TOKEN] });
    const url = closed.url;
    await closed.close();
    const error = await api({ slackApiUrl: url, timeout: 5_000 })
      .call('auth.test')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SlackApiError);
    expect((error as SlackApiError).error).toMatch(/^request_failed \(/);
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(TOKEN);
  });

  it('waits out a 429 for its Retry-After and retries', async () => {
    slack.addChannel({ id: 'C1', name: 'general' });
    slack.rateLimitNext('conversations.info', 1, 1);
    const started = Date.now();
    const response = await api().call<{ ok: boolean; channel: { id: string } }>('conversations.info', { channel: 'C1' });
    expect(response.channel.id).toBe('C1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(slack.callsOf('conversations.info').map((call) => call.status)).toEqual([429, 200]);
  });

  it('gives up after its retries with ratelimited', async () => {
    slack.addChannel({ id: 'C1', name: 'general' });
    slack.rateLimitNext('conversations.info', 5, 0);
    await expect(api().call('conversations.info', { channel: 'C1' })).rejects.toMatchObject({ method: 'conversations.info', error: 'ratelimited' });
    expect(slack.callsOf('conversations.info').map((call) => call.status)).toEqual([429, 429, 429]);
  });

  it('with rejectRateLimitedCalls, a 429 is ratelimited at once', async () => {
    slack.addChannel({ id: 'C1', name: 'general' });
    slack.rateLimitNext('conversations.info', 1, 30);
    const started = Date.now();
    await expect(api({ rejectRateLimitedCalls: true }).call('conversations.info', { channel: 'C1' })).rejects.toMatchObject({ error: 'ratelimited' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(slack.callsOf('conversations.info').map((call) => call.status)).toEqual([429]);
  });

  it('the fake takes JSON bodies and the token as an argument too, as Slack does', async () => {
    const json = await fetch(`${slack.url}auth.test`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(await json.json()).toMatchObject({ ok: true });
    const argument = await fetch(`${slack.url}auth.test`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
    expect(await argument.json()).toMatchObject({ ok: true });
    const none = await fetch(`${slack.url}auth.test`, { method: 'POST' });
    expect(await none.json()).toEqual({ ok: false, error: 'not_authed' });
    expect(slack.calls.map((call) => call.auth)).toEqual(['header', 'argument', 'none']);
    expect(slack.calls.every((call) => !('token' in call.params))).toBe(true);
  });
});

describe('backfill', () => {
  beforeEach(() => {
    slack.addChannel({
      id: 'C1',
      name: 'general',
      messages: [
        message('1700000001.000100', 'first: the quarterly close starts Monday'),
        message('1700000002.000100', 'U2 has joined the channel', { subtype: 'channel_join', user: 'U2' }),
        message('1700000003.000100', 'thread parent: who owns the &lt;ledger&gt; migration?'),
        message('1700000004.000100', 'second top-level message'),
        message('1700000003.000200', 'reply one: Dana does', { thread_ts: '1700000003.000100', user: 'U2' }),
        message('1700000003.000300', 'reply two, also sent to the channel', { thread_ts: '1700000003.000100', subtype: 'thread_broadcast' }),
        message('1700000005.000100', 'third: see <https://example.com/plan|the plan> in <#C9|finance>'),
      ],
    });
  });

  it('reads the whole history across pages, oldest first, a thread as one document', async () => {
    const report = await syncConnector(store, connector({ channels: ['C1'] }));
    const events = await store.readStream('knowledge-slack');
    expect(docs(events).map((doc) => doc.id)).toEqual(['C1/1700000001.000100', 'C1/1700000003.000100', 'C1/1700000004.000100', 'C1/1700000005.000100']);
    expect(report).toMatchObject({ added: 4, removed: 0 });
    const thread = docs(events)[1]!;
    expect(thread.content).toContain('thread parent: who owns the <ledger> migration?');
    expect(thread.content).toContain('U2: reply one: Dana does');
    expect(thread.content).toContain('reply two, also sent to the channel');
    expect(docs(events)[3]!.content).toContain('the plan (https://example.com/plan) in #finance');
    expect(thread.visibility).toEqual({ kind: 'public' });
    const added = events.find((event) => event.type === 'knowledge.document_added')!.data as Record<string, unknown>;
    expect(added).toMatchObject({
      title: '#general: first: the quarterly close starts Monday',
      url: 'https://fake-workspace.slack.com/archives/C1/p1700000001000100',
      updatedAt: '2023-11-14T22:13:21.000Z',
      format: 'prose',
    });
    // Paged: later history pages were asked for with the cursor Slack gave.
    const history = slack.callsOf('conversations.history');
    expect(history.length).toBeGreaterThan(2);
    expect(history.slice(1).every((call) => call.params.cursor !== undefined)).toBe(true);
    expect(cursorOf(events).channels.C1!.newest).toBe('1700000005.000100');
  });

  it('stores the backfill in batches, each with its cursor, and resumes after a failure from the last one', async () => {
    slack.rateLimitNext('conversations.replies', 10, 1);
    const failing = new SlackHistoryConnector({ source: 'slack', api: api({ rejectRateLimitedCalls: true }), pageSize: 2, batchSize: 1, channels: ['C1'] });
    await expect(syncConnector(store, failing)).rejects.toMatchObject({ error: 'ratelimited' });
    const partial = await store.readStream('knowledge-slack');
    expect(docs(partial).map((doc) => doc.id)).toEqual(['C1/1700000001.000100']);
    // The last stored batch ended at the first message (the join after it is no document).
    expect(cursorOf(partial).channels.C1!.newest).toBe('1700000001.000100');

    slack.rateLimitNext('conversations.replies', 0);
    await syncConnector(store, connector({ channels: ['C1'], batchSize: 1 }));
    const history = slack.callsOf('conversations.history');
    expect(history[history.length - 1]!.params.oldest).toBe('1700000001.000100');
    expect(docs(await store.readStream('knowledge-slack')).map((doc) => doc.id)).toEqual([
      'C1/1700000001.000100',
      'C1/1700000003.000100',
      'C1/1700000004.000100',
      'C1/1700000005.000100',
    ]);
  });
});

describe('live sync', () => {
  it('asks only for newer messages, picks up new replies to older threads, and appends nothing when nothing changed', async () => {
    slack.addChannel({
      id: 'C1',
      name: 'general',
      messages: [
        message('1700000001.000100', 'an old thread about invoices'),
        message('1700000001.000200', 'first reply', { thread_ts: '1700000001.000100' }),
        message('1700000002.000100', 'plain message'),
      ],
    });
    const sync = connector({ channels: ['C1'] });
    await syncConnector(store, sync);
    const before = await store.streamRevision('knowledge-slack');

    slack.post('C1', message('1700000009.000100', 'a new message about payroll'));
    slack.post('C1', message('1700000009.000200', 'late reply to the invoice thread', { thread_ts: '1700000001.000100', user: 'U3' }));
    const report = await syncConnector(store, sync);
    expect(report).toMatchObject({ added: 1, changed: 1 });
    const history = slack.callsOf('conversations.history');
    expect(history[history.length - 1]!.params).toMatchObject({ oldest: '1700000002.000100', inclusive: 'false' });
    const after = (await store.readStream('knowledge-slack')).filter((event) => event.revision > before!);
    expect(docs(after).map((doc) => `${doc.type}:${doc.id}`)).toEqual(['document_added:C1/1700000009.000100', 'document_changed:C1/1700000001.000100']);
    expect(docs(after)[1]!.content).toContain('late reply to the invoice thread');

    const revision = await store.streamRevision('knowledge-slack');
    expect(await syncConnector(store, sync)).toMatchObject({ added: 0, changed: 0, appends: 0 });
    expect(await store.streamRevision('knowledge-slack')).toBe(revision);
  });

  it('stops watching threads that went quiet long before the newest message', async () => {
    slack.addChannel({
      id: 'C1',
      name: 'general',
      messages: [message('1700000001.000100', 'old thread'), message('1700000001.000200', 'reply', { thread_ts: '1700000001.000100' })],
    });
    const sync = connector({ channels: ['C1'], threadWatchSeconds: 3600 });
    await syncConnector(store, sync);
    expect(Object.keys(cursorOf(await store.readStream('knowledge-slack')).channels.C1!.threads)).toEqual(['1700000001.000100']);
    slack.post('C1', message('1700090000.000100', 'a day later'));
    await syncConnector(store, sync);
    expect(cursorOf(await store.readStream('knowledge-slack')).channels.C1!.threads).toEqual({});
  });
});

describe('channels', () => {
  it('by default reads every channel the bot is in; private ones are private_channel documents', async () => {
    slack.addChannel({ id: 'C1', name: 'general', messages: [message('1700000001.000100', 'public words')] });
    slack.addChannel({ id: 'C2', name: 'not-joined', botIsMember: false, messages: [message('1700000001.000100', 'unseen')] });
    slack.addChannel({ id: 'G1', name: 'board', isPrivate: true, messages: [message('1700000001.000100', 'board words')] });
    slack.addChannel({ id: 'G2', name: 'hr', isPrivate: true, botIsMember: false, messages: [message('1700000001.000100', 'hr words')] });
    await syncConnector(store, connector({ pageSize: 1 }));
    const events = await store.readStream('knowledge-slack');
    expect(docs(events).map((doc) => [doc.id, doc.visibility])).toEqual([
      ['C1/1700000001.000100', { kind: 'public' }],
      ['G1/1700000001.000100', { kind: 'private_channel', channelId: 'G1' }],
    ]);
    expect(slack.callsOf('conversations.list').length).toBeGreaterThan(1);
  });

  it('fails clearly on a bad token, and the token appears in no event', async () => {
    slack.addChannel({ id: 'C1', name: 'general', messages: [message('1700000001.000100', 'words')] });
    const bad = new SlackHistoryConnector({ source: 'slack', api: api({ token: 'xoxb-bad' }), channels: ['C1'] });
    await expect(syncConnector(store, bad)).rejects.toMatchObject({ error: 'invalid_auth' });
    expect(await store.streamRevision('knowledge-slack')).toBeNull();

    await syncConnector(store, connector({ channels: ['C1'] }));
    const raw = JSON.stringify(await store.readStream('knowledge-slack'), (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
    expect(raw).not.toContain(TOKEN);
    expect(raw).not.toContain('xoxb');
  });
});
