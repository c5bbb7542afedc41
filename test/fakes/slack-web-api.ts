/**
 * A fake of the Slack Web API's wire protocol on 127.0.0.1, for the knowledge connector's
 * tests (and later the Slack channel's): real HTTP, the methods the connector calls, and
 * Slack's conventions as documented:
 *
 * - `POST /api/<method>` with a form-encoded or JSON body, or `GET` with a query string;
 *   the token as `Authorization: Bearer …` or a `token` argument. No token: `not_authed`;
 *   an unknown one: `invalid_auth`. Errors are HTTP 200 with `ok: false, error: …`.
 * - `conversations.history`: top-level messages (and replies broadcast to the channel),
 *   newest first, within `oldest`/`latest` (exclusive unless `inclusive`), `limit`
 *   (default 100, at most 999) and `cursor` (`response_metadata.next_cursor`, empty at
 *   the end, with `has_more`). A thread's parent carries `reply_count`, `latest_reply`…
 * - `conversations.replies`: a thread's parent then its replies, oldest first, paged the
 *   same way (the parent heads every page, as Slack does).
 * - `conversations.info`, `conversations.list` (paged), `auth.test`.
 * - A private channel the bot is not in is `channel_not_found`; a public one it is not in
 *   is `not_in_channel` for history.
 * - `rateLimitNext(method)`: the next call of that method is HTTP 429 with `Retry-After`.
 *
 * Every call is recorded (method, arguments without the token, how the token came) so a
 * test can check what the client sent, and that the token never travelled as an argument.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSlackMessage {
  readonly ts: string;
  readonly text: string;
  readonly user?: string;
  readonly bot_id?: string;
  readonly subtype?: string;
  /** Set on replies (the parent's ts); a parent gets it set to its own ts once it has replies. */
  readonly thread_ts?: string;
  readonly edited?: { readonly user: string; readonly ts: string };
}

export interface FakeSlackChannelInput {
  readonly id: string;
  readonly name: string;
  readonly isPrivate?: boolean;
  readonly isIm?: boolean;
  /** Whether the bot is a member. Default true. */
  readonly botIsMember?: boolean;
  readonly isArchived?: boolean;
  /** Unix seconds. */
  readonly created?: number;
  readonly messages?: readonly FakeSlackMessage[];
}

interface FakeChannel {
  readonly id: string;
  readonly name: string;
  readonly isPrivate: boolean;
  readonly isIm: boolean;
  botIsMember: boolean;
  readonly isArchived: boolean;
  readonly created: number;
  messages: FakeSlackMessage[];
}

export interface RecordedCall {
  readonly method: string;
  readonly httpMethod: string;
  /** The arguments as received, the `token` argument removed. */
  readonly params: Record<string, string>;
  /** Where the token came from. */
  readonly auth: 'header' | 'argument' | 'none';
  readonly contentType: string | undefined;
  /** The HTTP status answered. */
  readonly status: number;
}

export interface FakeSlackOptions {
  /** Tokens that authenticate. Default `['xoxb-test-token']`. */
  readonly tokens?: readonly string[];
  /** What `auth.test` answers as `url`. Default `https://fake-workspace.slack.com/`. */
  readonly workspaceUrl?: string;
  readonly teamId?: string;
  readonly botUserId?: string;
}

type Params = Record<string, string>;

class SlackError extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

/** Slack timestamps compared numerically. */
function compareTs(a: string, b: string): number {
  const [aSeconds = '0', aFraction = ''] = a.split('.');
  const [bSeconds = '0', bFraction = ''] = b.split('.');
  if (aSeconds !== bSeconds) return Number(aSeconds) - Number(bSeconds);
  const width = Math.max(aFraction.length, bFraction.length, 6);
  return Number(aFraction.padEnd(width, '0')) - Number(bFraction.padEnd(width, '0'));
}

function encodeCursor(value: string): string {
  return Buffer.from(`next_ts:${value}`, 'utf8').toString('base64');
}

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  const match = /^next_ts:(\d+\.\d+|\d+)$/.exec(text);
  if (!match) throw new SlackError('invalid_cursor');
  return match[1]!;
}

function flag(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

function limitOf(params: Params, fallback: number): number {
  if (params.limit === undefined || params.limit === '') return fallback;
  const limit = Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new SlackError('invalid_limit');
  return Math.min(limit, 999);
}

export class FakeSlackWebApi {
  readonly calls: RecordedCall[] = [];
  private readonly channels = new Map<string, FakeChannel>();
  private readonly rateLimits = new Map<string, number>();
  private readonly tokens: Set<string>;

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>/api/`: the client's base URL. */
    readonly url: string,
    private readonly options: Required<FakeSlackOptions>,
  ) {
    this.tokens = new Set(options.tokens);
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlackWebApi> {
    const settled: Required<FakeSlackOptions> = {
      tokens: options.tokens ?? ['xoxb-test-token'],
      workspaceUrl: options.workspaceUrl ?? 'https://fake-workspace.slack.com/',
      teamId: options.teamId ?? 'T0FAKE',
      botUserId: options.botUserId ?? 'U0BOT',
    };
    let fake: FakeSlackWebApi | undefined;
    const server = createServer((request, response) => {
      void fake!.handle(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    fake = new FakeSlackWebApi(server, `http://127.0.0.1:${port}/api/`, settled);
    return fake;
  }

  addChannel(input: FakeSlackChannelInput): void {
    const channel: FakeChannel = {
      id: input.id,
      name: input.name,
      isPrivate: input.isPrivate ?? false,
      isIm: input.isIm ?? false,
      botIsMember: input.botIsMember ?? true,
      isArchived: input.isArchived ?? false,
      created: input.created ?? 1_600_000_000,
      messages: [],
    };
    this.channels.set(input.id, channel);
    for (const message of input.messages ?? []) this.post(input.id, message);
  }

  /** Adds a message (a reply when `thread_ts` names another message). */
  post(channelId: string, message: FakeSlackMessage): void {
    const channel = this.channel(channelId);
    channel.messages.push({ ...message });
    channel.messages.sort((a, b) => compareTs(a.ts, b.ts));
  }

  /** Edits a message's text, as Slack records it (`edited`). */
  edit(channelId: string, ts: string, text: string, editedTs: string): void {
    const channel = this.channel(channelId);
    channel.messages = channel.messages.map((message) =>
      message.ts === ts ? { ...message, text, edited: { user: message.user ?? 'U0EDITOR', ts: editedTs } } : message,
    );
  }

  setBotMembership(channelId: string, member: boolean): void {
    this.channel(channelId).botIsMember = member;
  }

  /** The next `count` calls of `method` answer HTTP 429 with `Retry-After: <seconds>`. */
  rateLimitNext(method: string, count = 1, retryAfterSeconds = 1): void {
    this.rateLimits.set(method, count);
    this.retryAfter = retryAfterSeconds;
  }

  private retryAfter = 1;

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private channel(id: string): FakeChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`fake Slack: no channel ${id}`);
    return channel;
  }

  // -------------------------------------------------------------------------------------
  // HTTP.

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : '';
    const contentType = request.headers['content-type'];
    let params: Params = Object.fromEntries(url.searchParams);
    let status = 200;
    let auth: RecordedCall['auth'] = 'none';
    const send = (code: number, body: unknown, headers: Record<string, string> = {}): void => {
      status = code;
      response.writeHead(code, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(body));
    };
    try {
      const body = await readBody(request);
      if (request.method === 'POST' && body.length > 0) {
        const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
        if (type === 'application/x-www-form-urlencoded') {
          params = { ...params, ...Object.fromEntries(new URLSearchParams(body)) };
        } else if (type === 'application/json') {
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            throw new SlackError('invalid_json');
          }
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SlackError('json_not_object');
          params = { ...params, ...Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, String(value)])) };
        } else {
          throw new SlackError('invalid_form_data');
        }
      } else if (request.method !== 'POST' && request.method !== 'GET') {
        throw new SlackError('invalid_post_type');
      }

      const header = request.headers.authorization;
      let token: string | undefined;
      if (header !== undefined) {
        auth = 'header';
        token = /^Bearer (.+)$/.exec(header)?.[1];
      } else if (params.token !== undefined) {
        auth = 'argument';
        token = params.token;
      }
      delete params.token;

      const limited = this.rateLimits.get(method) ?? 0;
      if (limited > 0) {
        this.rateLimits.set(method, limited - 1);
        send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(this.retryAfter) });
        return;
      }
      if (token === undefined || token === '') throw new SlackError('not_authed');
      if (!this.tokens.has(token)) throw new SlackError('invalid_auth');
      send(200, { ok: true, ...this.dispatch(method, params) });
    } catch (error) {
      if (error instanceof SlackError) send(200, { ok: false, error: error.error });
      else send(500, { ok: false, error: 'internal_error' });
    } finally {
      this.calls.push({ method, httpMethod: request.method ?? '', params, auth, contentType, status });
    }
  }

  private dispatch(method: string, params: Params): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return {
          url: this.options.workspaceUrl,
          team: 'Fake Workspace',
          user: 'ledgerclaw',
          team_id: this.options.teamId,
          user_id: this.options.botUserId,
          bot_id: 'B0BOT',
          is_enterprise_install: false,
        };
      case 'conversations.info':
        return { channel: this.channelObject(this.readable(params, { forHistory: false })) };
      case 'conversations.list':
        return this.list(params);
      case 'conversations.history':
        return this.history(params);
      case 'conversations.replies':
        return this.replies(params);
      default:
        throw new SlackError('unknown_method');
    }
  }

  /** The channel named by `params.channel`, as the bot may see it. */
  private readable(params: Params, { forHistory }: { forHistory: boolean }): FakeChannel {
    if (!params.channel) throw new SlackError('channel_not_found');
    const channel = this.channels.get(params.channel);
    if (!channel) throw new SlackError('channel_not_found');
    if (!channel.botIsMember) {
      if (channel.isPrivate || channel.isIm) throw new SlackError('channel_not_found');
      if (forHistory) throw new SlackError('not_in_channel');
    }
    return channel;
  }

  private channelObject(channel: FakeChannel): Record<string, unknown> {
    return {
      id: channel.id,
      name: channel.name,
      is_channel: !channel.isPrivate && !channel.isIm,
      is_group: channel.isPrivate,
      is_im: channel.isIm,
      is_mpim: false,
      is_private: channel.isPrivate || channel.isIm,
      is_archived: channel.isArchived,
      is_member: channel.botIsMember,
      created: channel.created,
    };
  }

  private list(params: Params): Record<string, unknown> {
    const types = new Set((params.types ?? 'public_channel').split(',').map((type) => type.trim()));
    const excludeArchived = flag(params.exclude_archived);
    const visible = [...this.channels.values()]
      .filter((channel) => (channel.isIm ? types.has('im') : channel.isPrivate ? types.has('private_channel') && channel.botIsMember : types.has('public_channel')))
      .filter((channel) => !(excludeArchived && channel.isArchived))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const limit = limitOf(params, 100);
    let start = 0;
    if (params.cursor) {
      const text = Buffer.from(params.cursor, 'base64').toString('utf8');
      const match = /^offset:(\d+)$/.exec(text);
      if (!match) throw new SlackError('invalid_cursor');
      start = Number(match[1]);
    }
    const page = visible.slice(start, start + limit);
    const next = start + limit < visible.length ? Buffer.from(`offset:${start + limit}`).toString('base64') : '';
    return { channels: page.map((channel) => this.channelObject(channel)), response_metadata: { next_cursor: next } };
  }

  /** A message as the API shows it: a parent with its thread's summary. */
  private messageObject(channel: FakeChannel, message: FakeSlackMessage): Record<string, unknown> {
    const replies = channel.messages.filter((other) => other.thread_ts === message.ts && other.ts !== message.ts);
    const base: Record<string, unknown> = { type: 'message', ...message };
    if (replies.length > 0 && (message.thread_ts === undefined || message.thread_ts === message.ts)) {
      const users = [...new Set(replies.map((reply) => reply.user ?? reply.bot_id ?? 'unknown'))];
      Object.assign(base, {
        thread_ts: message.ts,
        reply_count: replies.length,
        reply_users_count: users.length,
        reply_users: users.slice(0, 5),
        latest_reply: replies[replies.length - 1]!.ts,
        is_locked: false,
        subscribed: false,
      });
    }
    return base;
  }

  private inRange(ts: string, params: Params): boolean {
    const inclusive = flag(params.inclusive);
    if (params.oldest !== undefined && params.oldest !== '') {
      const order = compareTs(ts, params.oldest);
      if (order < 0 || (order === 0 && !inclusive)) return false;
    }
    if (params.latest !== undefined && params.latest !== '') {
      const order = compareTs(ts, params.latest);
      if (order > 0 || (order === 0 && !inclusive)) return false;
    }
    return true;
  }

  private history(params: Params): Record<string, unknown> {
    const channel = this.readable(params, { forHistory: true });
    const limit = limitOf(params, 100);
    const top = channel.messages
      .filter((message) => message.thread_ts === undefined || message.thread_ts === message.ts || message.subtype === 'thread_broadcast')
      .filter((message) => this.inRange(message.ts, params))
      .sort((a, b) => compareTs(b.ts, a.ts));
    let start = 0;
    if (params.cursor) {
      const from = decodeCursor(params.cursor);
      start = top.findIndex((message) => compareTs(message.ts, from) <= 0);
      if (start < 0) start = top.length;
    }
    const page = top.slice(start, start + limit);
    const nextMessage = top[start + limit];
    return {
      messages: page.map((message) => this.messageObject(channel, message)),
      has_more: nextMessage !== undefined,
      pin_count: 0,
      channel_actions_ts: null,
      channel_actions_count: 0,
      response_metadata: { next_cursor: nextMessage ? encodeCursor(nextMessage.ts) : '' },
    };
  }

  private replies(params: Params): Record<string, unknown> {
    const channel = this.readable(params, { forHistory: true });
    if (!params.ts) throw new SlackError('thread_not_found');
    const parent = channel.messages.find((message) => message.ts === params.ts);
    if (!parent) throw new SlackError('thread_not_found');
    const limit = limitOf(params, 1000);
    const replies = channel.messages
      .filter((message) => message.thread_ts === parent.ts && message.ts !== parent.ts)
      .filter((message) => this.inRange(message.ts, params))
      .sort((a, b) => compareTs(a.ts, b.ts));
    let start = 0;
    if (params.cursor) {
      const from = decodeCursor(params.cursor);
      start = replies.findIndex((message) => compareTs(message.ts, from) >= 0);
      if (start < 0) start = replies.length;
    }
    // The parent heads every page and counts toward the limit.
    const page = replies.slice(start, start + Math.max(1, limit - 1));
    const nextReply = replies[start + page.length];
    return {
      messages: [this.messageObject(channel, parent), ...page.map((message) => this.messageObject(channel, message))],
      has_more: nextReply !== undefined,
      response_metadata: { next_cursor: nextReply ? encodeCursor(nextReply.ts) : '' },
    };
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
