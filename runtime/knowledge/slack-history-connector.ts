/**
 * Slack channel history as a knowledge source, read through the Web API:
 * `conversations.history` (cursor-paginated, newest first) for the channel, and
 * `conversations.replies` for threads. Each top-level message is a document
 * (`<channel>/<ts>`); a thread is one document, its parent and every reply, so a search
 * hit shows the conversation it belongs to.
 *
 * - Backfill is oldest first: the first sync of a channel pages through its whole history,
 *   sorts it, and yields it in batches from the oldest message, each with the cursor
 *   `newest ts stored`. A sync that stops half-way resumes after the last stored batch.
 * - Live sync asks only for messages newer than that ts (`oldest`, exclusive).
 * - New replies to a thread whose parent is older than the cursor never show up in the
 *   channel's history again, so the cursor also remembers recently active threads and
 *   each sync re-reads those (at most `maxWatchedThreads` a channel, active within
 *   `threadWatchSeconds` of the channel's newest message).
 * - Private channels, DMs and group DMs are `private_channel` documents; search shows them
 *   only to groups allowed to see that channel.
 * - Not seen incrementally: edits and deletions of messages older than the cursor. The
 *   Slack channel's live events (`message_changed`, `message_deleted`) do not feed this
 *   source yet.
 *
 * The Web API is @slack/web-api's WebClient (the Slack channel's client too), behind the
 * one-method {@link SlackWebApi} seam (`call(method, params)`, {@link slackWebApi}) so the
 * connector stays small and testable. WebClient waits out a 429 for its `Retry-After` and
 * retries, and retries calls that could not be sent or had a 5xx answer
 * ({@link SLACK_RETRY_CONFIG}); its errors become a {@link SlackApiError} naming Slack's
 * error code (`invalid_auth`, `channel_not_found`, `not_in_channel`, `ratelimited`…).
 *
 * The token goes in the `Authorization` header only; it is never logged, never put in an
 * error message, and never in an event.
 */
import { LogLevel, WebClient, type RetryOptions, type WebClientOptions } from '@slack/web-api';
import { slackErrorCode } from '../channels/slack/web-api-errors.js';
import { MAX_DOCUMENT_BYTES, type KnowledgeVisibility } from '../../events/catalogue/knowledge.js';
import { truncateUtf8, type Connector, type DocumentChange, type SourceDocument, type SyncBatch, type SyncContext } from './connector.js';

// ---------------------------------------------------------------------------------------
// The Web API client.

export type SlackParams = Readonly<Record<string, string | number | boolean | undefined>>;

/** What the connector needs of a Slack Web API client: one method call, `ok: true` or a thrown SlackApiError. */
export interface SlackWebApi {
  call<T extends SlackResponse>(method: string, params?: SlackParams): Promise<T>;
}

export interface SlackResponse {
  readonly ok: boolean;
  readonly response_metadata?: { readonly next_cursor?: string };
}

/** Slack answered `ok: false` (`invalid_auth`, `channel_not_found`, …), or the HTTP call failed. */
export class SlackApiError extends Error {
  readonly code = 'slack_api_error';
  constructor(
    readonly method: string,
    /** Slack's error code, or `ratelimited` / `http_<status>` / `request_failed (…)` / `invalid_response`. */
    readonly error: string,
    options?: { cause?: unknown },
  ) {
    super(`Slack ${method} failed: ${error}`, options);
    this.name = 'SlackApiError';
  }
}

export interface SlackWebApiOptions extends Pick<WebClientOptions, 'slackApiUrl' | 'retryConfig' | 'rejectRateLimitedCalls' | 'timeout' | 'logger' | 'logLevel'> {
  /** A bot token (`xoxb-…`). WebClient sends it only as `Authorization: Bearer`; never logged. */
  readonly token: string;
}

/**
 * Retries of a call that was rate limited (after its `Retry-After`), could not be sent, or
 * had a 5xx answer: three, after 1 s, 2 s and 4 s or so (WebClient's default, ten over
 * half an hour, would hold a sync pass up for that long; the sync loop tries again anyway).
 */
export const SLACK_RETRY_CONFIG: RetryOptions = { retries: 3, factor: 2, minTimeout: 1_000, maxTimeout: 30_000, randomize: true };

/**
 * The Web API through @slack/web-api's WebClient, which waits out a 429 for its
 * `Retry-After` and retries (rate-limited calls are not rejected by default), times each
 * request out after 30 s, and says little (errors only) unless given a logger.
 */
export function slackWebApi(options: SlackWebApiOptions): SlackWebApi {
  const { token, ...clientOptions } = options;
  // The client holds the token (WebClient keeps it as a property); it stays in this closure
  // so no object the connector holds can be logged or inspected with it.
  const client = new WebClient(token, {
    retryConfig: SLACK_RETRY_CONFIG,
    rejectRateLimitedCalls: false,
    timeout: 30_000,
    ...(clientOptions.logger ? {} : { logLevel: LogLevel.ERROR }),
    ...clientOptions,
    // A method name that is a URL must not send the bearer token elsewhere.
    allowAbsoluteUrls: false,
  });
  return {
    async call<T extends SlackResponse>(method: string, params: SlackParams = {}): Promise<T> {
      try {
        return (await client.apiCall(method, params)) as T;
      } catch (error) {
        throw new SlackApiError(method, slackErrorCode(error), { cause: error });
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// The Web API's shapes, as far as the connector reads them.

interface SlackMessage {
  readonly type?: string;
  readonly subtype?: string;
  readonly ts: string;
  readonly user?: string;
  readonly bot_id?: string;
  readonly username?: string;
  readonly text?: string;
  readonly thread_ts?: string;
  readonly reply_count?: number;
  readonly latest_reply?: string;
  readonly edited?: { readonly ts?: string };
}

interface HistoryResponse extends SlackResponse {
  readonly messages?: readonly SlackMessage[];
  readonly has_more?: boolean;
}

interface ChannelInfo {
  readonly id: string;
  readonly name?: string;
  readonly is_private?: boolean;
  readonly is_im?: boolean;
  readonly is_mpim?: boolean;
  readonly is_member?: boolean;
  readonly is_archived?: boolean;
}

interface ConversationsInfoResponse extends SlackResponse {
  readonly channel: ChannelInfo;
}

interface ConversationsListResponse extends SlackResponse {
  readonly channels?: readonly ChannelInfo[];
}

interface AuthTestResponse extends SlackResponse {
  readonly url?: string;
  readonly team_id?: string;
}

// ---------------------------------------------------------------------------------------
// Cursor.

interface ChannelCursor {
  /** The newest message ts stored, or null before the first. */
  newest: string | null;
  /** Recently active threads: parent ts → latest reply ts stored. */
  threads: Record<string, string>;
}

interface SlackCursor {
  readonly v: 1;
  readonly channels: Record<string, ChannelCursor>;
}

function parseCursor(cursor: string | null): SlackCursor {
  if (cursor !== null) {
    try {
      const value = JSON.parse(cursor) as Partial<SlackCursor>;
      if (value.v === 1 && value.channels && typeof value.channels === 'object') return { v: 1, channels: value.channels };
    } catch {
      // An unreadable cursor starts over; the content hashes keep that from writing duplicates.
    }
  }
  return { v: 1, channels: {} };
}

/** Orders Slack timestamps (`seconds.micro`) numerically, without float rounding. */
export function compareTs(a: string, b: string): number {
  const [aSeconds = '0', aFraction = ''] = a.split('.');
  const [bSeconds = '0', bFraction = ''] = b.split('.');
  const seconds = BigInt(aSeconds) - BigInt(bSeconds);
  if (seconds !== 0n) return seconds < 0n ? -1 : 1;
  const width = Math.max(aFraction.length, bFraction.length);
  const fraction = BigInt(aFraction.padEnd(width, '0') || '0') - BigInt(bFraction.padEnd(width, '0') || '0');
  return fraction === 0n ? 0 : fraction < 0n ? -1 : 1;
}

/** A Slack ts as ISO 8601 (millisecond precision). */
export function tsToIso(ts: string): string {
  const [seconds = '0', fraction = ''] = ts.split('.');
  const ms = Number(seconds) * 1000 + Number(fraction.padEnd(3, '0').slice(0, 3));
  return new Date(ms).toISOString();
}

/** Subtypes that are not something someone said: joins, leaves, topic changes… */
const CONTENT_SUBTYPES = new Set([undefined, 'bot_message', 'file_share', 'me_message', 'thread_broadcast']);

function isContent(message: SlackMessage): boolean {
  return CONTENT_SUBTYPES.has(message.subtype) && (message.text ?? '').trim() !== '';
}

/** Slack's mrkdwn made readable: entities decoded, `<url|label>` and `<#C1|name>` spelled out. */
export function plainText(text: string): string {
  return text
    .replace(/<#([A-Z0-9]+)\|([^>]*)>/g, (_m, _id: string, name: string) => `#${name}`)
    .replace(/<@([A-Z0-9]+)(\|[^>]*)?>/g, (_m, id: string) => `@${id}`)
    .replace(/<!(here|channel|everyone)(\|[^>]*)?>/g, (_m, word: string) => `@${word}`)
    .replace(/<(https?:[^|>]+)\|([^>]*)>/g, (_m, url: string, label: string) => `${label} (${url})`)
    .replace(/<(https?:[^>]+)>/g, (_m, url: string) => url)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function author(message: SlackMessage): string {
  return message.user ?? message.username ?? message.bot_id ?? 'unknown';
}

function line(message: SlackMessage): string {
  return `[${tsToIso(message.ts)}] ${author(message)}: ${plainText(message.text ?? '')}`;
}

function firstLine(text: string, max = 80): string {
  const first = plainText(text).split('\n').find((part) => part.trim() !== '')?.trim() ?? '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

// ---------------------------------------------------------------------------------------
// The connector.

export interface SlackHistoryConnectorOptions {
  /** The source id, `slack` for instance. */
  readonly source: string;
  readonly api: SlackWebApi;
  /** Channel ids to read; by default every channel the bot is a member of (`conversations.list`). */
  readonly channels?: readonly string[];
  /** `limit` of each history and replies page. Default 200 (Slack allows up to 999). */
  readonly pageSize?: number;
  /** Messages per batch (one append each). Default 200. */
  readonly batchSize?: number;
  /** Most threads re-read per channel on each sync for new replies. Default 50. */
  readonly maxWatchedThreads?: number;
  /** Threads with no reply within this many seconds of the channel's newest message are no longer re-read. Default 7 days. */
  readonly threadWatchSeconds?: number;
}

interface ChannelDescription {
  readonly id: string;
  readonly name: string;
  readonly visibility: KnowledgeVisibility;
}

export class SlackHistoryConnector implements Connector {
  readonly source: string;
  private readonly pageSize: number;
  private readonly batchSize: number;
  private readonly maxWatchedThreads: number;
  private readonly threadWatchSeconds: number;
  private workspaceUrl: string | undefined;

  constructor(private readonly options: SlackHistoryConnectorOptions) {
    this.source = options.source;
    this.pageSize = options.pageSize ?? 200;
    this.batchSize = options.batchSize ?? 200;
    this.maxWatchedThreads = options.maxWatchedThreads ?? 50;
    this.threadWatchSeconds = options.threadWatchSeconds ?? 7 * 24 * 3600;
  }

  async *sync(context: SyncContext): AsyncIterable<SyncBatch> {
    const cursor = parseCursor(context.cursor);
    if (this.workspaceUrl === undefined) {
      const auth = await this.options.api.call<AuthTestResponse>('auth.test');
      this.workspaceUrl = auth.url ?? '';
    }
    for (const channel of await this.channels()) {
      context.signal?.throwIfAborted();
      yield* this.syncChannel(channel, cursor, context);
    }
  }

  private async channels(): Promise<ChannelDescription[]> {
    const described: ChannelDescription[] = [];
    if (this.options.channels) {
      for (const id of this.options.channels) {
        const info = await this.options.api.call<ConversationsInfoResponse>('conversations.info', { channel: id });
        described.push(describe(info.channel));
      }
      return described;
    }
    let page: string | undefined;
    do {
      const listed = await this.options.api.call<ConversationsListResponse>('conversations.list', {
        types: 'public_channel,private_channel',
        exclude_archived: true,
        limit: this.pageSize,
        cursor: page,
      });
      for (const channel of listed.channels ?? []) if (channel.is_member) described.push(describe(channel));
      page = listed.response_metadata?.next_cursor || undefined;
    } while (page);
    return described.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Every top-level message newer than `oldest` (exclusive), oldest first. */
  private async history(channelId: string, oldest: string | null): Promise<SlackMessage[]> {
    const messages = await this.allPages('conversations.history', {
      channel: channelId,
      ...(oldest !== null ? { oldest, inclusive: false } : {}),
    });
    return messages.filter((message) => oldest === null || compareTs(message.ts, oldest) > 0);
  }

  /** A thread's parent and replies, oldest first. */
  private async replies(channelId: string, threadTs: string): Promise<SlackMessage[]> {
    return this.allPages('conversations.replies', { channel: channelId, ts: threadTs });
  }

  /**
   * Every message of a paged history method, each once (a message can straddle two pages
   * when the channel moves while it is read), oldest first.
   */
  private async allPages(method: 'conversations.history' | 'conversations.replies', params: SlackParams): Promise<SlackMessage[]> {
    const messages: SlackMessage[] = [];
    let page: string | undefined;
    do {
      const response = await this.options.api.call<HistoryResponse>(method, { ...params, limit: this.pageSize, cursor: page });
      messages.push(...(response.messages ?? []));
      page = response.has_more ? response.response_metadata?.next_cursor || undefined : undefined;
    } while (page);
    const seen = new Set<string>();
    return messages
      .filter((message) => (seen.has(message.ts) ? false : (seen.add(message.ts), true)))
      .sort((a, b) => compareTs(a.ts, b.ts));
  }

  private permalink(channelId: string, ts: string): string | undefined {
    if (!this.workspaceUrl) return undefined;
    const base = this.workspaceUrl.endsWith('/') ? this.workspaceUrl : `${this.workspaceUrl}/`;
    return `${base}archives/${channelId}/p${ts.replace('.', '')}`;
  }

  private document(channel: ChannelDescription, parent: SlackMessage, thread: readonly SlackMessage[] | undefined): SourceDocument {
    const messages = (thread ?? [parent]).filter(isContent);
    const latest = thread && thread.length > 0 ? thread[thread.length - 1]! : parent;
    const updatedTs = [latest.ts, parent.edited?.ts].filter((ts): ts is string => ts !== undefined).sort(compareTs).pop()!;
    const header = `#${channel.name}${thread ? ` thread (${thread.length - 1} ${thread.length === 2 ? 'reply' : 'replies'})` : ''}`;
    const content = truncateUtf8(`${header}\n${messages.map(line).join('\n')}`, MAX_DOCUMENT_BYTES);
    const url = this.permalink(channel.id, parent.ts);
    return {
      documentId: `${channel.id}/${parent.ts}`,
      title: `#${channel.name}: ${firstLine(parent.text ?? '') || parent.ts}`,
      content,
      updatedAt: tsToIso(updatedTs),
      visibility: channel.visibility,
      format: 'prose',
      sourceVersion: thread ? `thread:${latest.ts}` : `message:${parent.edited?.ts ?? parent.ts}`,
      ...(url !== undefined ? { url } : {}),
    };
  }

  private async *syncChannel(channel: ChannelDescription, cursor: SlackCursor, context: SyncContext): AsyncIterable<SyncBatch> {
    const state: ChannelCursor = cursor.channels[channel.id] ?? { newest: null, threads: {} };
    const next = (): string => {
      cursor.channels[channel.id] = { newest: state.newest, threads: { ...state.threads } };
      return JSON.stringify(cursor);
    };

    const messages = await this.history(channel.id, state.newest);
    let changes: DocumentChange[] = [];
    for (const message of messages) {
      context.signal?.throwIfAborted();
      const isThreadParent = (message.reply_count ?? 0) > 0 && (message.thread_ts === undefined || message.thread_ts === message.ts);
      // A reply broadcast to the channel is part of its thread's document already.
      const isBroadcastReply = message.subtype === 'thread_broadcast' && message.thread_ts !== undefined && message.thread_ts !== message.ts;
      if (isThreadParent) {
        const known = context.documents.get(`${channel.id}/${message.ts}`);
        if (message.latest_reply && known?.sourceVersion === `thread:${message.latest_reply}`) {
          state.threads[message.ts] = message.latest_reply;
        } else {
          const thread = await this.replies(channel.id, message.ts);
          if (thread.some(isContent)) changes.push({ kind: 'upsert', document: this.document(channel, thread[0] ?? message, thread) });
          const latest = thread[thread.length - 1]?.ts ?? message.ts;
          state.threads[message.ts] = latest;
        }
      } else if (!isBroadcastReply && isContent(message)) {
        changes.push({ kind: 'upsert', document: this.document(channel, message, undefined) });
      }
      state.newest = message.ts;
      if (changes.length >= this.batchSize) {
        this.pruneThreads(state);
        yield { changes, cursor: next() };
        changes = [];
      }
    }

    // Threads whose parent is older than this sync's window: their new replies show up only here.
    const fresh = new Set(messages.map((message) => message.ts));
    for (const [threadTs, latestStored] of Object.entries(state.threads)) {
      if (fresh.has(threadTs)) continue;
      context.signal?.throwIfAborted();
      let thread: SlackMessage[];
      try {
        thread = await this.replies(channel.id, threadTs);
      } catch (error) {
        if (error instanceof SlackApiError && error.error === 'thread_not_found') {
          delete state.threads[threadTs];
          continue;
        }
        throw error;
      }
      const latest = thread[thread.length - 1]?.ts ?? threadTs;
      if (compareTs(latest, latestStored) > 0 && thread.some(isContent)) {
        changes.push({ kind: 'upsert', document: this.document(channel, thread[0]!, thread) });
      }
      state.threads[threadTs] = latest;
    }
    this.pruneThreads(state);
    // syncConnector appends nothing for a batch with no changes and the cursor it already has.
    yield { changes, cursor: next() };
  }

  /** Keeps the threads active within the watch window of the channel's newest message, at most `maxWatchedThreads`. */
  private pruneThreads(state: ChannelCursor): void {
    const entries = Object.entries(state.threads);
    if (entries.length === 0) return;
    const horizon = state.newest === null ? null : Number(state.newest.split('.')[0]) - this.threadWatchSeconds;
    const kept = entries
      .filter(([, latest]) => horizon === null || Number(latest.split('.')[0]) >= horizon)
      .sort(([, a], [, b]) => compareTs(b, a))
      .slice(0, this.maxWatchedThreads);
    state.threads = Object.fromEntries(kept.sort(([a], [b]) => compareTs(a, b)));
  }
}

function describe(channel: ChannelInfo): ChannelDescription {
  const isPrivate = channel.is_private === true || channel.is_im === true || channel.is_mpim === true;
  return {
    id: channel.id,
    name: channel.name ?? channel.id,
    visibility: isPrivate ? { kind: 'private_channel', channelId: channel.id } : { kind: 'public' },
  };
}
