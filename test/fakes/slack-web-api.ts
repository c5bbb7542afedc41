/**
 * A fake of the Slack Web API's wire protocol on 127.0.0.1, for the knowledge connector's
 * tests and the Slack channel's: real HTTP, the methods those call, and Slack's conventions
 * as documented (and, where the documentation is silent, as Slack is seen to behave):
 *
 * - `POST /api/<method>` with a form-encoded or JSON body, or `GET` with a query string;
 *   the token as `Authorization: Bearer …` or a `token` argument. No token: `not_authed`;
 *   an unknown one: `invalid_auth`. Errors are HTTP 200 with `ok: false, error: …` (some
 *   with `response_metadata.messages`, as Slack adds to `invalid_blocks`).
 * - Two kinds of token: bot tokens (`xoxb-…`, `tokens`) for every method but
 *   `apps.connections.open`, which takes only an app-level token (`xapp-…`, `appTokens`);
 *   the wrong kind is `not_allowed_token_type`.
 * - `conversations.history`: top-level messages (and replies broadcast to the channel),
 *   newest first, within `oldest`/`latest` (exclusive unless `inclusive`), `limit`
 *   (default 100, at most 999) and `cursor` (`response_metadata.next_cursor`, empty at
 *   the end, with `has_more`). A thread's parent carries `reply_count`, `latest_reply`…
 *   Message `metadata` only with `include_all_metadata=true`.
 * - `conversations.replies`: a thread's parent then its replies, oldest first, paged the
 *   same way (the parent heads every page, as Slack does).
 * - `conversations.info`, `conversations.list` (paged), `auth.test`, `users.info`.
 * - `conversations.open` with one user: the app's DM with them (`D…`), made on first use and
 *   the same channel after (`already_open`); an unknown user is `user_not_found`, a
 *   deactivated one `user_disabled`, a bot `cannot_dm_bot`. Group DMs are left out.
 * - A private channel the bot is not in is `channel_not_found`; a public one it is not in
 *   is `not_in_channel` for history and for posting (unless `chatWritePublic`).
 * - `chat.postMessage` stores a bot message as Slack does for a bot token: no subtype,
 *   `user` = the bot user, `bot_id`, `app_id`, `team`, `bot_profile`; with a customised
 *   `username`/`icon_*` (chat:write.customize) it is a `bot_message` with `username` and
 *   `icons` and no `user`. Blocks get a `block_id` when they lack one. A `thread_ts` that
 *   names no message is accepted and the reply is stored but shows nowhere (Slack answers
 *   ok and the message is invisible); a malformed one is `invalid_thread_ts`. A `thread_ts`
 *   naming a reply is taken to mean that reply's thread. Errors: `channel_not_found`,
 *   `not_in_channel`, `is_archived`, `no_text`, `msg_too_long` (over 40,000 characters),
 *   `invalid_blocks_format` (not JSON, not an array), `invalid_blocks` (an element without
 *   a known `type`, more than 50), `invalid_metadata_format`/`invalid_metadata_schema`.
 * - `chat.update` (`message_not_found`, `cant_update_message`), `chat.delete`
 *   (`cant_delete_message`), `chat.postEphemeral` (kept apart, `message_ts`),
 *   `reactions.add`/`remove`/`get` (`already_reacted`, `no_reaction`, `invalid_name`),
 *   `views.publish` (home views only, else `invalid_arguments`; `hash_conflict`),
 *   `apps.connections.open` (a fresh single-use ticket per call, `ws://127.0.0.1:<port>/link/…`;
 *   the WebSocket end lives in slack-socket-mode.ts and attaches through `onUpgrade`).
 * - `response_url`s (`createResponseUrl`) answer POSTs as Slack does: `ephemeral` (the
 *   default) and `in_channel` responses, `replace_original`, `delete_original`.
 * - `rateLimitNext(method)`: the next call of that method is HTTP 429 with `Retry-After`;
 *   `failNext(method, error)`: the next call(s) answer `ok: false` with that error.
 *
 * Every call is recorded (method, arguments without the token, how the token came) so a
 * test can check what the client sent, and that the token never travelled as an argument.
 * What the bot does (posts, edits, deletes, reactions) is also announced to `onActivity`
 * listeners, which the facade (slack.ts) turns into the events Slack echoes back.
 *
 * Left out: scopes (every token may call every method), channel names in `conversations.*`,
 * posting to a user ID (opening a DM), files, attachments' rendering, `as_user`, scheduled
 * messages, the tombstone Slack leaves for a deleted parent with replies (here the parent
 * simply goes), emoji aliases (`thumbsup` stays `thumbsup`, Slack stores `+1`), message
 * text limits other than 40,000 characters, `too_many_websockets`, Enterprise Grid.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A JSON object as Slack sends and takes it (blocks, views, payloads). */
export type JsonObject = { [key: string]: unknown };

export interface FakeSlackReaction {
  readonly name: string;
  readonly users: readonly string[];
  readonly count: number;
}

export interface FakeSlackMetadata {
  readonly event_type: string;
  readonly event_payload: JsonObject;
}

export interface FakeSlackBotProfile {
  readonly id: string;
  readonly deleted: boolean;
  readonly name: string;
  readonly updated: number;
  readonly app_id: string;
  readonly icons: Readonly<Record<string, string>>;
  readonly team_id: string;
}

export interface FakeSlackMessage {
  readonly ts: string;
  readonly text: string;
  readonly user?: string;
  readonly bot_id?: string;
  readonly subtype?: string;
  /** Set on replies (the parent's ts); a parent gets it set to its own ts once it has replies. */
  readonly thread_ts?: string;
  readonly edited?: { readonly user: string; readonly ts: string };
  readonly app_id?: string;
  readonly team?: string;
  readonly bot_profile?: FakeSlackBotProfile;
  /** A customised sender name (chat:write.customize). */
  readonly username?: string;
  /** `{emoji}` or `{image_48}` for a customised icon. */
  readonly icons?: Readonly<Record<string, string>>;
  readonly blocks?: readonly JsonObject[];
  readonly attachments?: readonly JsonObject[];
  readonly metadata?: FakeSlackMetadata;
  readonly client_msg_id?: string;
  readonly parent_user_id?: string;
  readonly reactions?: readonly FakeSlackReaction[];
  /** On a `thread_broadcast`: the thread's parent. */
  readonly root?: JsonObject;
}

export interface FakeSlackChannelInput {
  readonly id: string;
  readonly name: string;
  readonly isPrivate?: boolean;
  readonly isIm?: boolean;
  readonly isMpim?: boolean;
  /** Whether the bot is a member. Default true. */
  readonly botIsMember?: boolean;
  readonly isArchived?: boolean;
  /** Unix seconds. */
  readonly created?: number;
  /** The human members, when a test wants `user_not_in_channel` checked (postEphemeral). */
  readonly members?: readonly string[];
  readonly messages?: readonly FakeSlackMessage[];
}

export type FakeSlackChannelType = 'channel' | 'group' | 'im' | 'mpim';

export interface FakeSlackChannelInfo {
  readonly id: string;
  readonly name: string;
  /** As the Events API's `channel_type` says it. */
  readonly type: FakeSlackChannelType;
  readonly botIsMember: boolean;
  readonly isArchived: boolean;
  readonly members: readonly string[] | undefined;
}

interface FakeChannel {
  readonly id: string;
  readonly name: string;
  readonly isPrivate: boolean;
  readonly isIm: boolean;
  readonly isMpim: boolean;
  botIsMember: boolean;
  readonly isArchived: boolean;
  readonly created: number;
  readonly members: readonly string[] | undefined;
  messages: FakeSlackMessage[];
}

export interface FakeSlackUserInput {
  readonly id: string;
  readonly name: string;
  readonly realName?: string;
  readonly isBot?: boolean;
  readonly deleted?: boolean;
  readonly tz?: string;
}

export interface FakeSlackEphemeral {
  readonly channel: string;
  readonly user: string;
  /** What `chat.postEphemeral` answered as `message_ts`. */
  readonly ts: string;
  readonly text: string;
  readonly blocks?: readonly JsonObject[];
  readonly thread_ts?: string;
  readonly username?: string;
  readonly icons?: Readonly<Record<string, string>>;
  /** `chat.postEphemeral` or a response_url. */
  readonly via: 'chat.postEphemeral' | 'response_url';
}

export interface FakeSlackHomeView {
  readonly userId: string;
  /** The view as `views.publish` answered it. */
  readonly view: JsonObject;
  /** How many times this user's home was published. */
  readonly publishCount: number;
}

export interface FakeSlackResponseUrlPost {
  readonly id: string;
  readonly body: JsonObject;
  readonly status: number;
}

/** What the bot did through the Web API, for the facade to echo as events. */
export type FakeSlackActivity =
  | { readonly kind: 'bot_message_posted'; readonly channel: string; readonly message: FakeSlackMessage }
  | { readonly kind: 'bot_message_updated'; readonly channel: string; readonly message: FakeSlackMessage; readonly previous: FakeSlackMessage }
  | { readonly kind: 'bot_message_deleted'; readonly channel: string; readonly previous: FakeSlackMessage }
  | { readonly kind: 'bot_reaction_added' | 'bot_reaction_removed'; readonly channel: string; readonly ts: string; readonly name: string; readonly itemUser: string | undefined };

export interface RecordedCall {
  readonly method: string;
  readonly httpMethod: string;
  /** The arguments as received, the `token` argument removed (JSON values as JSON text). */
  readonly params: Record<string, string>;
  /** Where the token came from. */
  readonly auth: 'header' | 'argument' | 'none';
  readonly contentType: string | undefined;
  /** The HTTP status answered. */
  readonly status: number;
  /** The `error` answered, when `ok` was false. */
  readonly error?: string;
}

export interface FakeSlackOptions {
  /** Bot tokens that authenticate. Default `['xoxb-test-token']`. */
  readonly tokens?: readonly string[];
  /** App-level tokens (for `apps.connections.open`). Default `['xapp-test-token']`. */
  readonly appTokens?: readonly string[];
  /** What `auth.test` answers as `url`. Default `https://fake-workspace.slack.com/`. */
  readonly workspaceUrl?: string;
  readonly teamId?: string;
  readonly teamDomain?: string;
  readonly botUserId?: string;
  /** Default `B0BOT`. */
  readonly botId?: string;
  /** Default `A0APP`. */
  readonly appId?: string;
  /** The bot user's name and the app's. Default `ledgerclaw`. */
  readonly botName?: string;
  /** The bot may post in public channels it is not in (the chat:write.public scope). Default false. */
  readonly chatWritePublic?: boolean;
  /** When given, the only reaction names `reactions.add` knows (else any well-formed name). */
  readonly knownEmoji?: readonly string[];
}

type Settled = Required<Omit<FakeSlackOptions, 'knownEmoji'>> & { readonly knownEmoji: readonly string[] | undefined };

type Params = Record<string, string>;

class SlackError extends Error {
  constructor(
    readonly error: string,
    readonly extra: JsonObject = {},
  ) {
    super(error);
  }
}

/** Slack timestamps compared numerically. */
export function compareTs(a: string, b: string): number {
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

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An argument that Slack takes as JSON text (form) or as JSON (a JSON body, recorded as its text). */
function jsonArgument(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The block types Slack accepts in messages and views. */
const BLOCK_TYPES = new Set(['actions', 'context', 'divider', 'file', 'header', 'image', 'input', 'markdown', 'rich_text', 'section', 'table', 'video', 'context_actions', 'call']);

const MAX_TEXT = 40_000;
const MAX_BLOCKS = 50;
const MAX_VIEW_BLOCKS = 100;
const REACTION_NAME = /^[a-z0-9_+'\-]+(::skin-tone-[2-6])?$/;
const THREAD_TS = /^\d+\.\d+$/;

function blockId(): string {
  return randomBytes(3).toString('base64url').slice(0, 4);
}

/** Blocks as Slack stores them, or the error it answers. `undefined`: none given. */
function parseBlocks(raw: string | undefined, max: number, error: 'message' | 'view'): JsonObject[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const parsed = jsonArgument(raw);
  const formatError = error === 'message' ? 'invalid_blocks_format' : 'invalid_arguments';
  const blocksError = error === 'message' ? 'invalid_blocks' : 'invalid_arguments';
  if (!parsed.ok || !Array.isArray(parsed.value)) throw new SlackError(formatError);
  const blocks = parsed.value as unknown[];
  if (blocks.length > max) throw new SlackError(blocksError, { response_metadata: { messages: [`[ERROR] no more than ${max} items allowed [json-pointer:/blocks]`] } });
  return blocks.map((block, index) => {
    if (!isJsonObject(block)) throw new SlackError(blocksError, { response_metadata: { messages: [`[ERROR] expected an object [json-pointer:/blocks/${index}]`] } });
    if (typeof block.type !== 'string') throw new SlackError(blocksError, { response_metadata: { messages: [`[ERROR] missing required field: type [json-pointer:/blocks/${index}]`] } });
    if (!BLOCK_TYPES.has(block.type)) throw new SlackError(blocksError, { response_metadata: { messages: [`[ERROR] unsupported type: ${block.type} [json-pointer:/blocks/${index}/type]`] } });
    return typeof block.block_id === 'string' ? { ...block } : { ...block, block_id: blockId() };
  });
}

function parseAttachments(raw: string | undefined): JsonObject[] | undefined {
  if (raw === undefined || raw === '') return undefined;
  const parsed = jsonArgument(raw);
  if (!parsed.ok || !Array.isArray(parsed.value) || !parsed.value.every(isJsonObject)) throw new SlackError('invalid_attachments');
  return parsed.value.map((attachment, index) => ({ id: index + 1, ...attachment }));
}

function parseMetadata(raw: string | undefined): FakeSlackMetadata | undefined {
  if (raw === undefined || raw === '') return undefined;
  const parsed = jsonArgument(raw);
  if (!parsed.ok || !isJsonObject(parsed.value)) throw new SlackError('invalid_metadata_format');
  const { event_type: eventType, event_payload: eventPayload } = parsed.value;
  if (typeof eventType !== 'string' || eventType === '' || !isJsonObject(eventPayload)) throw new SlackError('invalid_metadata_schema');
  return { event_type: eventType, event_payload: eventPayload };
}

export class FakeSlackWebApi {
  readonly calls: RecordedCall[] = [];
  /** Every POST to a response_url, in order. */
  readonly responseUrlPosts: FakeSlackResponseUrlPost[] = [];
  private readonly channels = new Map<string, FakeChannel>();
  private readonly users = new Map<string, FakeSlackUserInput>();
  private readonly ephemerals: FakeSlackEphemeral[] = [];
  private readonly homeViews = new Map<string, FakeSlackHomeView>();
  private readonly rateLimits = new Map<string, number>();
  private readonly failures = new Map<string, { error: string; count: number }>();
  private readonly tickets = new Map<string, { used: boolean; issuedAt: number }>();
  private readonly responseUrls = new Map<string, { channel: string; user: string; messageTs: string | undefined; uses: number }>();
  private readonly activityListeners = new Set<(activity: FakeSlackActivity) => void>();
  private readonly tokens: Set<string>;
  private readonly appTokens: Set<string>;
  private upgradeHandler: ((request: IncomingMessage, socket: Socket, head: Buffer) => void) | undefined;
  private lastTsMicros = 0;
  private retryAfter = 1;

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>/api/`: the client's base URL. */
    readonly url: string,
    /** `http://127.0.0.1:<port>`. */
    readonly origin: string,
    private readonly options: Settled,
  ) {
    this.tokens = new Set(options.tokens);
    this.appTokens = new Set(options.appTokens);
    this.addUser({ id: options.botUserId, name: options.botName, realName: options.botName, isBot: true });
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlackWebApi> {
    const settled: Settled = {
      tokens: options.tokens ?? ['xoxb-test-token'],
      appTokens: options.appTokens ?? ['xapp-test-token'],
      workspaceUrl: options.workspaceUrl ?? 'https://fake-workspace.slack.com/',
      teamId: options.teamId ?? 'T0FAKE',
      teamDomain: options.teamDomain ?? 'fake-workspace',
      botUserId: options.botUserId ?? 'U0BOT',
      botId: options.botId ?? 'B0BOT',
      appId: options.appId ?? 'A0APP',
      botName: options.botName ?? 'ledgerclaw',
      chatWritePublic: options.chatWritePublic ?? false,
      knownEmoji: options.knownEmoji,
    };
    let fake: FakeSlackWebApi | undefined;
    const server = createServer((request, response) => {
      void fake!.handle(request, response);
    });
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
      if (fake?.upgradeHandler) fake.upgradeHandler(request, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    fake = new FakeSlackWebApi(server, `http://127.0.0.1:${port}/api/`, `http://127.0.0.1:${port}`, settled);
    return fake;
  }

  /** The workspace and app this fake plays. */
  get identity(): { readonly teamId: string; readonly teamDomain: string; readonly botUserId: string; readonly botId: string; readonly appId: string; readonly botName: string } {
    const { teamId, teamDomain, botUserId, botId, appId, botName } = this.options;
    return { teamId, teamDomain, botUserId, botId, appId, botName };
  }

  addChannel(input: FakeSlackChannelInput): void {
    const channel: FakeChannel = {
      id: input.id,
      name: input.name,
      isPrivate: input.isPrivate ?? false,
      isIm: input.isIm ?? false,
      isMpim: input.isMpim ?? false,
      botIsMember: input.botIsMember ?? true,
      isArchived: input.isArchived ?? false,
      created: input.created ?? 1_600_000_000,
      members: input.members,
      messages: [],
    };
    this.channels.set(input.id, channel);
    for (const message of input.messages ?? []) this.post(input.id, message);
  }

  addUser(input: FakeSlackUserInput): void {
    this.users.set(input.id, input);
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

  /** Replaces a stored message (found by ts) with what `change` makes of it; returns the old and the new. */
  replaceMessage(channelId: string, ts: string, change: (message: FakeSlackMessage) => FakeSlackMessage): { previous: FakeSlackMessage; message: FakeSlackMessage } {
    const channel = this.channel(channelId);
    const index = channel.messages.findIndex((message) => message.ts === ts);
    if (index < 0) throw new Error(`fake Slack: no message ${ts} in ${channelId}`);
    const previous = channel.messages[index]!;
    const message = change(previous);
    channel.messages[index] = message;
    return { previous, message };
  }

  /** Removes a stored message; returns it. */
  removeMessage(channelId: string, ts: string): FakeSlackMessage {
    const channel = this.channel(channelId);
    const index = channel.messages.findIndex((message) => message.ts === ts);
    if (index < 0) throw new Error(`fake Slack: no message ${ts} in ${channelId}`);
    const [removed] = channel.messages.splice(index, 1);
    return removed!;
  }

  setBotMembership(channelId: string, member: boolean): void {
    this.channel(channelId).botIsMember = member;
  }

  /** The next `count` calls of `method` answer HTTP 429 with `Retry-After: <seconds>`. */
  rateLimitNext(method: string, count = 1, retryAfterSeconds = 1): void {
    this.rateLimits.set(method, count);
    this.retryAfter = retryAfterSeconds;
  }

  /** The next `count` calls of `method` (once authenticated) answer `ok: false` with `error`. */
  failNext(method: string, error: string, count = 1): void {
    this.failures.set(method, { error, count });
  }

  /**
   * The next call of `method` is never answered, as when the process that made it dies
   * before Slack's answer reaches it: with `applied`, Slack did the work (a post is stored
   * and announced); without, the request was lost on the way. Resolves with the call once
   * it has arrived, so a test can kill the caller at exactly that point.
   */
  holdNext(method: string, options: { readonly applied: boolean }): Promise<RecordedCall> {
    return new Promise((resolve) => {
      this.holds.set(method, { applied: options.applied, arrived: resolve });
    });
  }

  private readonly holds = new Map<string, { applied: boolean; arrived: (call: RecordedCall) => void }>();

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** A Slack timestamp, `<unix seconds>.<6 digits>`, later than every one made before. */
  nextTs(): string {
    const micros = Math.max(Date.now() * 1000, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  // -------------------------------------------------------------------------------------
  // Inspection.

  channelInfo(id: string): FakeSlackChannelInfo {
    const channel = this.channel(id);
    return { id: channel.id, name: channel.name, type: channelType(channel), botIsMember: channel.botIsMember, isArchived: channel.isArchived, members: channel.members };
  }

  hasChannel(id: string): boolean {
    return this.channels.has(id);
  }

  userInfo(id: string): FakeSlackUserInput | undefined {
    return this.users.get(id);
  }

  /** Every message of a channel, replies included, oldest first. */
  messagesIn(channelId: string): FakeSlackMessage[] {
    return [...this.channel(channelId).messages];
  }

  /** The channel's top-level messages (and broadcast replies), oldest first. */
  topLevel(channelId: string): FakeSlackMessage[] {
    return this.channel(channelId).messages.filter(isTopLevel);
  }

  /** A thread: its parent (when it exists) then its replies, oldest first. */
  thread(channelId: string, threadTs: string): FakeSlackMessage[] {
    return this.channel(channelId).messages.filter((message) => message.ts === threadTs || message.thread_ts === threadTs);
  }

  message(channelId: string, ts: string): FakeSlackMessage | undefined {
    return this.channel(channelId).messages.find((message) => message.ts === ts);
  }

  /** The messages this app's bot posted in a channel, oldest first. */
  botMessages(channelId: string): FakeSlackMessage[] {
    return this.channel(channelId).messages.filter((message) => message.bot_id === this.options.botId);
  }

  reactionsOn(channelId: string, ts: string): readonly FakeSlackReaction[] {
    return this.message(channelId, ts)?.reactions ?? [];
  }

  /** The home view last published for a user. */
  homeView(userId: string): FakeSlackHomeView | undefined {
    return this.homeViews.get(userId);
  }

  ephemeralMessages(filter: { channel?: string; user?: string } = {}): FakeSlackEphemeral[] {
    return this.ephemerals.filter((message) => (filter.channel === undefined || message.channel === filter.channel) && (filter.user === undefined || message.user === filter.user));
  }

  // -------------------------------------------------------------------------------------
  // Hooks for the Socket Mode end and the facade.

  /** Hands the HTTP server's WebSocket upgrades (the URLs `apps.connections.open` gives) to `handler`. */
  onUpgrade(handler: (request: IncomingMessage, socket: Socket, head: Buffer) => void): void {
    this.upgradeHandler = handler;
  }

  /** Whether `ticket` was issued by `apps.connections.open` and not used yet; uses it. */
  redeemTicket(ticket: string): boolean {
    const entry = this.tickets.get(ticket);
    if (!entry || entry.used) return false;
    entry.used = true;
    return true;
  }

  /** What the bot does through the API, as it happens. Returns an unsubscribe. */
  onActivity(listener: (activity: FakeSlackActivity) => void): () => void {
    this.activityListeners.add(listener);
    return () => this.activityListeners.delete(listener);
  }

  /** A response_url for a slash command or an interaction in `channel` by `user` (on `messageTs`). */
  createResponseUrl(context: { channel: string; user: string; messageTs?: string }): string {
    const id = `${this.options.teamId}/${Math.floor(Math.random() * 1e12)}/${randomBytes(12).toString('hex')}`;
    this.responseUrls.set(id, { channel: context.channel, user: context.user, messageTs: context.messageTs, uses: 0 });
    return `${this.origin}/commands/${id}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private announce(activity: FakeSlackActivity): void {
    for (const listener of this.activityListeners) listener(activity);
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
    if (url.pathname.startsWith('/commands/')) {
      await this.handleResponseUrl(url.pathname.slice('/commands/'.length), request, response);
      return;
    }
    const method = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : '';
    const contentType = request.headers['content-type'];
    let params: Params = Object.fromEntries(url.searchParams);
    let status = 200;
    let error: string | undefined;
    let auth: RecordedCall['auth'] = 'none';
    let held: { arrived: (call: RecordedCall) => void } | undefined;
    const activities: FakeSlackActivity[] = [];
    const send = (code: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void => {
      status = code;
      if (body.ok === false && typeof body.error === 'string') error = body.error;
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
          if (!isJsonObject(parsed)) throw new SlackError('json_not_object');
          params = {
            ...params,
            ...Object.fromEntries(
              Object.entries(parsed)
                .filter(([, value]) => value !== undefined && value !== null)
                .map(([key, value]) => [key, typeof value === 'object' ? JSON.stringify(value) : String(value)]),
            ),
          };
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
      const isBot = this.tokens.has(token);
      const isApp = this.appTokens.has(token);
      if (!isBot && !isApp) throw new SlackError('invalid_auth');
      const wantsApp = method === 'apps.connections.open';
      if (wantsApp !== isApp) throw new SlackError('not_allowed_token_type');
      const failure = this.failures.get(method);
      if (failure && failure.count > 0) {
        failure.count -= 1;
        throw new SlackError(failure.error);
      }
      const hold = this.holds.get(method);
      if (hold) {
        this.holds.delete(method);
        if (hold.applied) this.dispatch(method, params, activities);
        status = 0;
        held = hold;
        return;
      }
      send(200, { ok: true, ...this.dispatch(method, params, activities) });
    } catch (caught) {
      if (caught instanceof SlackError) send(200, { ok: false, error: caught.error, ...caught.extra });
      else send(500, { ok: false, error: 'internal_error' });
    } finally {
      const call: RecordedCall = { method, httpMethod: request.method ?? '', params, auth, contentType, status, ...(error === undefined ? {} : { error }) };
      this.calls.push(call);
      held?.arrived(call);
    }
    // After the answer has gone, as Slack's events follow its API responses.
    for (const activity of activities) this.announce(activity);
  }

  private dispatch(method: string, params: Params, activities: FakeSlackActivity[]): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return {
          url: this.options.workspaceUrl,
          team: 'Fake Workspace',
          user: this.options.botName,
          team_id: this.options.teamId,
          user_id: this.options.botUserId,
          bot_id: this.options.botId,
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
      case 'conversations.open':
        return this.openDirectMessage(params);
      case 'chat.postMessage':
        return this.postMessage(params, activities);
      case 'chat.update':
        return this.update(params, activities);
      case 'chat.delete':
        return this.deleteMessage(params, activities);
      case 'chat.postEphemeral':
        return this.postEphemeral(params);
      case 'reactions.add':
        return this.react(params, 'add', activities);
      case 'reactions.remove':
        return this.react(params, 'remove', activities);
      case 'reactions.get':
        return this.reactionsGet(params);
      case 'views.publish':
        return this.publishView(params);
      case 'users.info':
        return this.usersInfo(params);
      case 'apps.connections.open':
        return this.connectionsOpen();
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
      if (channel.isPrivate || channel.isIm || channel.isMpim) throw new SlackError('channel_not_found');
      if (forHistory) throw new SlackError('not_in_channel');
    }
    return channel;
  }

  /** The channel named by `params.channel` (an ID, or a name with or without `#`), as the bot may post in it. */
  private writable(params: Params): FakeChannel {
    const wanted = params.channel;
    if (!wanted) throw new SlackError('channel_not_found');
    const byName = wanted.replace(/^#/, '');
    const channel = this.channels.get(wanted) ?? [...this.channels.values()].find((candidate) => candidate.name === byName && !candidate.isIm);
    if (!channel) throw new SlackError('channel_not_found');
    if (!channel.botIsMember) {
      if (channel.isPrivate || channel.isIm || channel.isMpim) throw new SlackError('channel_not_found');
      if (!this.options.chatWritePublic) throw new SlackError('not_in_channel');
    }
    if (channel.isArchived) throw new SlackError('is_archived');
    return channel;
  }

  private channelObject(channel: FakeChannel): Record<string, unknown> {
    return {
      id: channel.id,
      name: channel.name,
      is_channel: !channel.isPrivate && !channel.isIm && !channel.isMpim,
      is_group: channel.isPrivate,
      is_im: channel.isIm,
      is_mpim: channel.isMpim,
      is_private: channel.isPrivate || channel.isIm || channel.isMpim,
      is_archived: channel.isArchived,
      is_member: channel.botIsMember,
      created: channel.created,
    };
  }

  private list(params: Params): Record<string, unknown> {
    const types = new Set((params.types ?? 'public_channel').split(',').map((type) => type.trim()));
    const excludeArchived = flag(params.exclude_archived);
    const visible = [...this.channels.values()]
      .filter((channel) =>
        channel.isIm ? types.has('im') : channel.isMpim ? types.has('mpim') && channel.botIsMember : channel.isPrivate ? types.has('private_channel') && channel.botIsMember : types.has('public_channel'),
      )
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

  /** A message as the API shows it: a parent with its thread's summary; metadata only when asked for. */
  private messageObject(channel: FakeChannel, message: FakeSlackMessage, { metadata }: { metadata: boolean }): Record<string, unknown> {
    const replies = channel.messages.filter((other) => other.thread_ts === message.ts && other.ts !== message.ts);
    const { metadata: messageMetadata, ...rest } = message;
    const base: Record<string, unknown> = { type: 'message', ...rest };
    if (metadata && messageMetadata !== undefined) base.metadata = messageMetadata;
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
    const metadata = flag(params.include_all_metadata);
    const top = channel.messages
      .filter(isTopLevel)
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
      messages: page.map((message) => this.messageObject(channel, message, { metadata })),
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
    const metadata = flag(params.include_all_metadata);
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
      messages: [this.messageObject(channel, parent, { metadata }), ...page.map((message) => this.messageObject(channel, message, { metadata }))],
      has_more: nextReply !== undefined,
      response_metadata: { next_cursor: nextReply ? encodeCursor(nextReply.ts) : '' },
    };
  }

  // -------------------------------------------------------------------------------------
  // Writing.

  private botProfile(): FakeSlackBotProfile {
    return {
      id: this.options.botId,
      deleted: false,
      name: this.options.botName,
      updated: 1_700_000_000,
      app_id: this.options.appId,
      icons: {
        image_36: 'https://a.slack-edge.com/80588/img/plugins/app/bot_36.png',
        image_48: 'https://a.slack-edge.com/80588/img/plugins/app/bot_48.png',
        image_72: 'https://a.slack-edge.com/80588/img/plugins/app/service_72.png',
      },
      team_id: this.options.teamId,
    };
  }

  /** Text, blocks and attachments of a message as Slack checks them. */
  private content(params: Params): { text: string; blocks: JsonObject[] | undefined; attachments: JsonObject[] | undefined } {
    const blocks = parseBlocks(params.blocks, MAX_BLOCKS, 'message');
    const attachments = parseAttachments(params.attachments);
    const text = params.text ?? '';
    if (text === '' && (blocks === undefined || blocks.length === 0) && (attachments === undefined || attachments.length === 0)) throw new SlackError('no_text');
    if (text.length > MAX_TEXT) throw new SlackError('msg_too_long');
    return { text, blocks: blocks !== undefined && blocks.length > 0 ? blocks : undefined, attachments };
  }

  private customisation(params: Params): { username?: string; icons?: Record<string, string> } {
    const username = params.username !== undefined && params.username !== '' ? params.username : undefined;
    const icons: Record<string, string> | undefined = params.icon_emoji ? { emoji: params.icon_emoji } : params.icon_url ? { image_48: params.icon_url } : undefined;
    return { ...(username === undefined ? {} : { username }), ...(icons === undefined ? {} : { icons }) };
  }

  private postMessage(params: Params, activities: FakeSlackActivity[]): Record<string, unknown> {
    const channel = this.writable(params);
    const { text, blocks, attachments } = this.content(params);
    const metadata = parseMetadata(params.metadata);
    let threadTs: string | undefined;
    let parent: FakeSlackMessage | undefined;
    if (params.thread_ts !== undefined && params.thread_ts !== '') {
      if (!THREAD_TS.test(params.thread_ts)) throw new SlackError('invalid_thread_ts', { response_metadata: { messages: [`[ERROR] ${params.thread_ts} is not a valid thread_ts`] } });
      const named = channel.messages.find((message) => message.ts === params.thread_ts);
      // Naming a reply means its thread; naming nothing leaves an orphan nobody sees.
      threadTs = named?.thread_ts ?? params.thread_ts;
      parent = channel.messages.find((message) => message.ts === threadTs);
    }
    const broadcast = threadTs !== undefined && flag(params.reply_broadcast);
    const custom = this.customisation(params);
    const customised = custom.username !== undefined || custom.icons !== undefined;
    const ts = this.nextTs();
    const message: FakeSlackMessage = {
      ...(customised ? { subtype: 'bot_message' } : broadcast ? { subtype: 'thread_broadcast' } : {}),
      text,
      ...(customised ? {} : { user: this.options.botUserId }),
      ts,
      bot_id: this.options.botId,
      app_id: this.options.appId,
      team: this.options.teamId,
      bot_profile: this.botProfile(),
      ...custom,
      ...(blocks === undefined ? {} : { blocks }),
      ...(attachments === undefined ? {} : { attachments }),
      ...(metadata === undefined ? {} : { metadata }),
      ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      ...(parent === undefined ? {} : { parent_user_id: parent.user ?? this.options.botUserId }),
      ...(broadcast && parent !== undefined ? { root: this.messageObject(channel, parent, { metadata: false }) } : {}),
    };
    channel.messages.push(message);
    channel.messages.sort((a, b) => compareTs(a.ts, b.ts));
    activities.push({ kind: 'bot_message_posted', channel: channel.id, message });
    return { channel: channel.id, ts, message: this.messageObject(channel, message, { metadata: true }) };
  }

  /** The bot's own message named by `channel` and `ts`. */
  private ownMessage(params: Params, forbidden: 'cant_update_message' | 'cant_delete_message'): { channel: FakeChannel; message: FakeSlackMessage } {
    const channel = this.readable(params, { forHistory: false });
    const message = params.ts ? channel.messages.find((candidate) => candidate.ts === params.ts) : undefined;
    if (!message) throw new SlackError('message_not_found');
    if (message.bot_id !== this.options.botId) throw new SlackError(forbidden);
    return { channel, message };
  }

  private update(params: Params, activities: FakeSlackActivity[]): Record<string, unknown> {
    const { channel, message: previous } = this.ownMessage(params, 'cant_update_message');
    const blocks = parseBlocks(params.blocks, MAX_BLOCKS, 'message');
    const metadata = parseMetadata(params.metadata);
    const text = params.text ?? (blocks !== undefined ? '' : previous.text);
    if (text === '' && (blocks === undefined || blocks.length === 0) && previous.attachments === undefined) throw new SlackError('no_text');
    if (text.length > MAX_TEXT) throw new SlackError('msg_too_long');
    const replaced = this.replaceMessage(channel.id, previous.ts, (old) => {
      const { blocks: oldBlocks, ...withoutBlocks } = old;
      const keptBlocks = blocks !== undefined ? blocks : oldBlocks;
      return {
        ...withoutBlocks,
        text,
        ...(keptBlocks !== undefined && keptBlocks.length > 0 ? { blocks: keptBlocks } : {}),
        ...(metadata === undefined ? {} : { metadata }),
        edited: { user: this.options.botUserId, ts: this.nextTs() },
      };
    });
    activities.push({ kind: 'bot_message_updated', channel: channel.id, message: replaced.message, previous });
    return { channel: channel.id, ts: previous.ts, text, message: this.messageObject(channel, replaced.message, { metadata: true }) };
  }

  private deleteMessage(params: Params, activities: FakeSlackActivity[]): Record<string, unknown> {
    const { channel, message } = this.ownMessage(params, 'cant_delete_message');
    this.removeMessage(channel.id, message.ts);
    activities.push({ kind: 'bot_message_deleted', channel: channel.id, previous: message });
    return { channel: channel.id, ts: message.ts };
  }

  private postEphemeral(params: Params): Record<string, unknown> {
    const channel = this.writable(params);
    if (!params.user) throw new SlackError('user_not_found');
    if (channel.members !== undefined && !channel.members.includes(params.user)) throw new SlackError('user_not_in_channel');
    const { text, blocks } = this.content(params);
    const ts = this.nextTs();
    this.ephemerals.push({
      channel: channel.id,
      user: params.user,
      ts,
      text,
      ...(blocks === undefined ? {} : { blocks }),
      ...(params.thread_ts ? { thread_ts: params.thread_ts } : {}),
      ...this.customisation(params),
      via: 'chat.postEphemeral',
    });
    return { message_ts: ts };
  }

  private react(params: Params, how: 'add' | 'remove', activities: FakeSlackActivity[]): Record<string, unknown> {
    const channel = this.readable(params, { forHistory: true });
    if (!params.timestamp) throw new SlackError('no_item_specified');
    const message = channel.messages.find((candidate) => candidate.ts === params.timestamp);
    if (!message) throw new SlackError('message_not_found');
    const name = params.name ?? '';
    if (!REACTION_NAME.test(name) || (this.options.knownEmoji !== undefined && !this.options.knownEmoji.includes(name))) throw new SlackError('invalid_name');
    const bot = this.options.botUserId;
    const reactions = [...(message.reactions ?? [])];
    const index = reactions.findIndex((reaction) => reaction.name === name);
    const existing = reactions[index];
    if (how === 'add') {
      if (existing?.users.includes(bot)) throw new SlackError('already_reacted');
      if (existing) reactions[index] = { name, users: [...existing.users, bot], count: existing.count + 1 };
      else reactions.push({ name, users: [bot], count: 1 });
    } else {
      if (!existing?.users.includes(bot)) throw new SlackError('no_reaction');
      const users = existing.users.filter((user) => user !== bot);
      if (users.length === 0) reactions.splice(index, 1);
      else reactions[index] = { name, users, count: users.length };
    }
    this.replaceMessage(channel.id, message.ts, (old) => {
      const { reactions: _old, ...rest } = old;
      return reactions.length > 0 ? { ...rest, reactions } : rest;
    });
    activities.push({ kind: how === 'add' ? 'bot_reaction_added' : 'bot_reaction_removed', channel: channel.id, ts: message.ts, name, itemUser: message.user });
    return {};
  }

  private reactionsGet(params: Params): Record<string, unknown> {
    const channel = this.readable(params, { forHistory: true });
    if (!params.timestamp) throw new SlackError('no_item_specified');
    const message = channel.messages.find((candidate) => candidate.ts === params.timestamp);
    if (!message) throw new SlackError('message_not_found');
    return { type: 'message', channel: channel.id, message: this.messageObject(channel, message, { metadata: false }) };
  }

  private publishView(params: Params): Record<string, unknown> {
    if (!params.user_id) throw new SlackError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: user_id'] } });
    const parsed = params.view === undefined ? { ok: false as const } : jsonArgument(params.view);
    if (!parsed.ok || !isJsonObject(parsed.value)) throw new SlackError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: view'] } });
    const view = parsed.value;
    if (view.type !== 'home') throw new SlackError('invalid_arguments', { response_metadata: { messages: ['[ERROR] must be a home view [json-pointer:/view/type]'] } });
    const blocks = parseBlocks(view.blocks === undefined ? '[]' : JSON.stringify(view.blocks), MAX_VIEW_BLOCKS, 'view') ?? [];
    const previous = this.homeViews.get(params.user_id);
    if (params.hash !== undefined && params.hash !== '' && previous !== undefined && previous.view.hash !== params.hash) throw new SlackError('hash_conflict');
    const id = previous !== undefined ? String(previous.view.id) : `V${randomBytes(5).toString('hex').toUpperCase()}`;
    const published: JsonObject = {
      id,
      team_id: this.options.teamId,
      type: 'home',
      blocks,
      private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
      callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
      state: { values: {} },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      title: { type: 'plain_text', text: 'View Title', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: null,
      previous_view_id: null,
      root_view_id: id,
      app_id: this.options.appId,
      external_id: typeof view.external_id === 'string' ? view.external_id : '',
      app_installed_team_id: this.options.teamId,
      bot_id: this.options.botId,
    };
    this.homeViews.set(params.user_id, { userId: params.user_id, view: published, publishCount: (previous?.publishCount ?? 0) + 1 });
    return { view: published };
  }

  /** The app's DM with one person, opened on first use. */
  private openDirectMessage(params: Params): Record<string, unknown> {
    const users = (params.users ?? '').split(',').map((user) => user.trim()).filter((user) => user !== '');
    if (users.length !== 1) throw new SlackError(users.length === 0 ? 'users_list_not_supplied' : 'not_implemented');
    const user = this.users.get(users[0]!);
    if (!user) throw new SlackError('user_not_found');
    if (user.deleted) throw new SlackError('user_disabled');
    if (user.isBot) throw new SlackError('cannot_dm_bot');
    const existing = [...this.channels.values()].find((channel) => channel.isIm && channel.members?.length === 1 && channel.members[0] === user.id);
    if (existing) return { no_op: true, already_open: true, channel: { id: existing.id } };
    const id = `D${user.id.slice(1)}`;
    this.addChannel({ id, name: id, isIm: true, members: [user.id] });
    return { channel: { id } };
  }

  /** The app's DM channel with a person, once `conversations.open` has opened it. */
  directMessageChannel(userId: string): string | undefined {
    return [...this.channels.values()].find((channel) => channel.isIm && channel.members?.length === 1 && channel.members[0] === userId)?.id;
  }

  private usersInfo(params: Params): Record<string, unknown> {
    const user = params.user ? this.users.get(params.user) : undefined;
    if (!user) throw new SlackError('user_not_found');
    const realName = user.realName ?? user.name;
    return {
      user: {
        id: user.id,
        team_id: this.options.teamId,
        name: user.name,
        deleted: user.deleted ?? false,
        real_name: realName,
        tz: user.tz ?? 'Europe/London',
        tz_label: 'Greenwich Mean Time',
        tz_offset: 0,
        is_admin: false,
        is_owner: false,
        is_bot: user.isBot ?? false,
        is_app_user: false,
        updated: 1_700_000_000,
        profile: {
          real_name: realName,
          real_name_normalized: realName,
          display_name: user.name,
          display_name_normalized: user.name,
          team: this.options.teamId,
          ...(user.id === this.options.botUserId ? { bot_id: this.options.botId, api_app_id: this.options.appId } : {}),
        },
      },
    };
  }

  private connectionsOpen(): Record<string, unknown> {
    const ticket = randomUUID();
    this.tickets.set(ticket, { used: false, issuedAt: Date.now() });
    const { port } = this.server.address() as AddressInfo;
    return { url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${this.options.appId}` };
  }

  // -------------------------------------------------------------------------------------
  // response_url.

  private async handleResponseUrl(id: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const answer = (status: number, payload: JsonObject): void => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(payload));
    };
    const hook = this.responseUrls.get(id);
    let parsed: JsonObject = {};
    try {
      const value: unknown = JSON.parse(body);
      if (isJsonObject(value)) parsed = value;
    } catch {
      parsed = {};
    }
    const record = (status: number): void => {
      this.responseUrlPosts.push({ id, body: parsed, status });
    };
    if (!hook || request.method !== 'POST') {
      record(404);
      answer(404, { ok: false, error: 'no_active_hooks' });
      return;
    }
    // Slack allows five responses per response_url within 30 minutes.
    if (hook.uses >= 5) {
      record(404);
      answer(404, { ok: false, error: 'used_url' });
      return;
    }
    hook.uses += 1;
    const activities: FakeSlackActivity[] = [];
    const text = typeof parsed.text === 'string' ? parsed.text : '';
    const blocks = Array.isArray(parsed.blocks) ? parsed.blocks.filter(isJsonObject) : undefined;
    const channel = this.channels.get(hook.channel);
    try {
      if (parsed.delete_original === true && hook.messageTs !== undefined && channel) {
        const previous = this.removeMessage(channel.id, hook.messageTs);
        activities.push({ kind: 'bot_message_deleted', channel: channel.id, previous });
      } else if (parsed.replace_original === true && hook.messageTs !== undefined && channel && this.message(channel.id, hook.messageTs)) {
        const replaced = this.replaceMessage(channel.id, hook.messageTs, (old) => ({ ...old, text, ...(blocks === undefined ? {} : { blocks }), edited: { user: this.options.botUserId, ts: this.nextTs() } }));
        activities.push({ kind: 'bot_message_updated', channel: channel.id, message: replaced.message, previous: replaced.previous });
      } else if (parsed.response_type === 'in_channel' && channel) {
        const ts = this.nextTs();
        const message: FakeSlackMessage = {
          text,
          user: this.options.botUserId,
          ts,
          bot_id: this.options.botId,
          app_id: this.options.appId,
          team: this.options.teamId,
          bot_profile: this.botProfile(),
          ...(blocks === undefined ? {} : { blocks }),
          ...(typeof parsed.thread_ts === 'string' ? { thread_ts: parsed.thread_ts } : {}),
        };
        this.post(channel.id, message);
        activities.push({ kind: 'bot_message_posted', channel: channel.id, message });
      } else {
        this.ephemerals.push({ channel: hook.channel, user: hook.user, ts: this.nextTs(), text, ...(blocks === undefined ? {} : { blocks }), via: 'response_url' });
      }
    } catch {
      record(500);
      answer(500, { ok: false, error: 'internal_error' });
      return;
    }
    record(200);
    answer(200, { ok: true });
    for (const activity of activities) this.announce(activity);
  }
}

function isTopLevel(message: FakeSlackMessage): boolean {
  return message.thread_ts === undefined || message.thread_ts === message.ts || message.subtype === 'thread_broadcast';
}

function channelType(channel: FakeChannel): FakeSlackChannelType {
  if (channel.isIm) return 'im';
  if (channel.isMpim) return 'mpim';
  if (channel.isPrivate) return 'group';
  return 'channel';
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
