/**
 * What Slack sends an app, built as Slack builds it, and Slack's signed HTTP delivery of it.
 *
 * Faithful to:
 * - The Events API outer payload (`event_callback`: token, team_id, api_app_id, event,
 *   event_id `Ev…`, event_time, authorizations [{team_id, user_id: the bot, is_bot}],
 *   is_ext_shared_channel, event_context), `url_verification`.
 * - The events a message produces: `message` (with `channel_type`, `client_msg_id`, `team`,
 *   a `rich_text` block mirroring the text, `thread_ts`/`parent_user_id` on replies),
 *   `app_mention` (the same without `channel_type`), `message_changed` (`hidden`, `message`,
 *   `previous_message`), `message_deleted` (`deleted_ts`, `previous_message`),
 *   `reaction_added`/`reaction_removed`.
 * - Slash command fields (form-encoded over HTTP) and `block_actions` interaction payloads
 *   (user, api_app_id, token, container, trigger_id, team, channel, message, response_url,
 *   actions[{action_id, block_id, type, value, action_ts, text}]); over HTTP, `payload=<JSON>`.
 * - Request signing: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<ts>:<raw body>">`,
 *   `X-Slack-Request-Timestamp`, and on retries `X-Slack-Retry-Num`/`X-Slack-Retry-Reason`;
 *   Slack's `User-Agent`.
 *
 * Left out: the many other event types (build them with `eventCallback` around your own
 * event), `authed_users` (deprecated), enterprise fields beyond `enterprise_id: null`,
 * views (`view_submission`), shortcuts, options loads.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { FakeSlackMessage, JsonObject } from './slack-web-api.js';

/** Who the app is, for the payloads Slack wraps around events. */
export interface SlackAppIdentity {
  readonly teamId: string;
  readonly teamDomain: string;
  readonly appId: string;
  readonly botUserId: string;
  readonly botId: string;
}

/** The legacy verification token Slack still puts in payloads. */
export const VERIFICATION_TOKEN = 'fakeVerificationToken0000';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomUpper(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join('');
}

/** An event ID as Slack makes them: `Ev` and nine to eleven characters. */
export function newEventId(): string {
  return `Ev0${randomUpper(9)}`;
}

/** A Socket Mode envelope ID (a UUID). */
export function newEnvelopeId(): string {
  return randomUUID();
}

/** A trigger ID: `<digits>.<digits>.<32 hex>`. */
export function newTriggerId(): string {
  return `${Math.floor(Math.random() * 1e13)}.${Math.floor(Math.random() * 1e12)}.${randomBytes(16).toString('hex')}`;
}

/** A `rich_text` block with the text as one section, as Slack adds to messages typed in its client. */
export function richTextBlock(text: string): JsonObject {
  return { type: 'rich_text', block_id: randomBytes(3).toString('base64url').slice(0, 4), elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }] };
}

export interface EventCallbackOptions {
  readonly eventId?: string;
  /** Unix seconds. Default now. */
  readonly eventTime?: number;
}

/** The Events API `event_callback` around `event`. */
export function eventCallback(app: SlackAppIdentity, event: JsonObject, options: EventCallbackOptions = {}): JsonObject {
  const eventId = options.eventId ?? newEventId();
  const context = { et: event.type, tid: app.teamId, aid: app.appId, ...(typeof event.channel === 'string' ? { cid: event.channel } : {}) };
  return {
    token: VERIFICATION_TOKEN,
    team_id: app.teamId,
    context_team_id: app.teamId,
    context_enterprise_id: null,
    api_app_id: app.appId,
    event,
    type: 'event_callback',
    event_id: eventId,
    event_time: options.eventTime ?? Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: app.teamId, user_id: app.botUserId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${Buffer.from(JSON.stringify(context)).toString('base64url')}`,
  };
}

/** The `url_verification` body Slack sends when a Request URL is saved. */
export function urlVerification(challenge: string): JsonObject {
  return { token: VERIFICATION_TOKEN, challenge, type: 'url_verification' };
}

/** A message as the `message` event carries it (the stored message plus `channel`, `event_ts`, `channel_type`). */
export function messageEvent(channel: string, channelType: string, message: FakeSlackMessage): JsonObject {
  const { reactions: _reactions, metadata: _metadata, ...rest } = message;
  return { type: 'message', ...rest, channel, event_ts: message.ts, channel_type: channelType };
}

/** The `app_mention` event for a message that mentions the bot. */
export function appMentionEvent(channel: string, message: FakeSlackMessage): JsonObject {
  const { reactions: _reactions, metadata: _metadata, subtype: _subtype, ...rest } = message;
  return { type: 'app_mention', ...rest, channel, event_ts: message.ts };
}

/** `message` subtype `message_changed`. */
export function messageChangedEvent(channel: string, channelType: string, message: FakeSlackMessage, previous: FakeSlackMessage, eventTs: string): JsonObject {
  return {
    type: 'message',
    subtype: 'message_changed',
    message: { type: 'message', ...stripped(message) },
    previous_message: { type: 'message', ...stripped(previous) },
    channel,
    hidden: true,
    ts: eventTs,
    event_ts: eventTs,
    channel_type: channelType,
  };
}

/** `message` subtype `message_deleted`. */
export function messageDeletedEvent(channel: string, channelType: string, previous: FakeSlackMessage, eventTs: string): JsonObject {
  return {
    type: 'message',
    subtype: 'message_deleted',
    previous_message: { type: 'message', ...stripped(previous) },
    channel,
    hidden: true,
    deleted_ts: previous.ts,
    ts: eventTs,
    event_ts: eventTs,
    channel_type: channelType,
  };
}

export function reactionEvent(
  type: 'reaction_added' | 'reaction_removed',
  fields: { user: string; reaction: string; channel: string; ts: string; itemUser: string | undefined; eventTs: string },
): JsonObject {
  return {
    type,
    user: fields.user,
    reaction: fields.reaction,
    ...(fields.itemUser === undefined ? {} : { item_user: fields.itemUser }),
    item: { type: 'message', channel: fields.channel, ts: fields.ts },
    event_ts: fields.eventTs,
  };
}

function stripped(message: FakeSlackMessage): Omit<FakeSlackMessage, 'reactions' | 'metadata'> {
  const { reactions: _reactions, metadata: _metadata, ...rest } = message;
  return rest;
}

export interface SlashCommandInput {
  readonly command: string;
  readonly text?: string;
  readonly channelId: string;
  readonly channelName?: string;
  readonly userId: string;
  readonly userName?: string;
  readonly responseUrl: string;
  readonly triggerId?: string;
}

/** The fields of a slash command invocation, as Slack sends them (every value a string). */
export function slashCommandFields(app: SlackAppIdentity, input: SlashCommandInput): Record<string, string> {
  return {
    token: VERIFICATION_TOKEN,
    team_id: app.teamId,
    team_domain: app.teamDomain,
    channel_id: input.channelId,
    channel_name: input.channelName ?? 'general',
    user_id: input.userId,
    user_name: input.userName ?? input.userId.toLowerCase(),
    command: input.command,
    text: input.text ?? '',
    api_app_id: app.appId,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId ?? newTriggerId(),
  };
}

export interface BlockAction {
  readonly action_id: string;
  readonly block_id?: string;
  /** Default `button`. */
  readonly type?: string;
  readonly value?: string;
  readonly text?: JsonObject;
  readonly selected_option?: JsonObject;
}

export interface BlockActionsInput {
  readonly userId: string;
  readonly userName?: string;
  readonly channelId: string;
  readonly channelName?: string;
  /** The message the clicked element is in (as stored). */
  readonly message: FakeSlackMessage;
  readonly actions: readonly BlockAction[];
  readonly responseUrl: string;
  readonly triggerId?: string;
  /** Whether the message is ephemeral. Default false. */
  readonly isEphemeral?: boolean;
}

/** A `block_actions` interaction payload. */
export function blockActionsPayload(app: SlackAppIdentity, input: BlockActionsInput): JsonObject {
  const actionTs = `${(Date.now() / 1000).toFixed(6)}`;
  const { reactions: _reactions, metadata: _metadata, ...message } = input.message;
  const userName = input.userName ?? input.userId.toLowerCase();
  return {
    type: 'block_actions',
    user: { id: input.userId, username: userName, name: userName, team_id: app.teamId },
    api_app_id: app.appId,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: input.message.ts, channel_id: input.channelId, is_ephemeral: input.isEphemeral ?? false },
    trigger_id: input.triggerId ?? newTriggerId(),
    team: { id: app.teamId, domain: app.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId, name: input.channelName ?? 'general' },
    message: { type: 'message', ...message },
    state: { values: {} },
    response_url: input.responseUrl,
    actions: input.actions.map((action) => ({
      type: action.type ?? 'button',
      action_id: action.action_id,
      block_id: action.block_id ?? randomBytes(3).toString('base64url').slice(0, 4),
      ...(action.text === undefined ? (action.type ?? 'button') === 'button' ? { text: { type: 'plain_text', text: action.action_id, emoji: true } } : {} : { text: action.text }),
      ...(action.value === undefined ? {} : { value: action.value }),
      ...(action.selected_option === undefined ? {} : { selected_option: action.selected_option }),
      action_ts: actionTs,
    })),
  };
}

// ---------------------------------------------------------------------------------------
// Signed HTTP delivery.

/** `v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>">`. */
export function signSlackRequest(signingSecret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SignedPostOptions {
  /** Unix seconds. Default now; older than five minutes is stale. */
  readonly timestamp?: number;
  /** Sent instead of the right signature (to test rejection). */
  readonly signature?: string;
  /** Sets `X-Slack-Retry-Num` (and `X-Slack-Retry-Reason`, default `http_timeout`). */
  readonly retryNum?: number;
  readonly retryReason?: string;
  /** Abort after this many milliseconds (Slack waits three seconds). Default 10,000. */
  readonly timeoutMs?: number;
}

export interface SignedPostResult {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body parsed as JSON, when it is JSON. */
  readonly json: unknown;
}

async function postSigned(url: string, signingSecret: string, rawBody: string, contentType: string, options: SignedPostOptions): Promise<SignedPostResult> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': options.signature ?? signSlackRequest(signingSecret, timestamp, rawBody),
  };
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = options.retryReason ?? 'http_timeout';
  }
  const response = await fetch(url, { method: 'POST', headers, body: rawBody, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
  const body = await response.text();
  let json: unknown;
  try {
    json = body === '' ? undefined : JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: response.status, body, headers: Object.fromEntries(response.headers.entries()), json };
}

/** POSTs an Events API body (JSON) as Slack does, signed with `signingSecret`. */
export function postSignedEvent(url: string, signingSecret: string, body: JsonObject | string, options: SignedPostOptions = {}): Promise<SignedPostResult> {
  return postSigned(url, signingSecret, typeof body === 'string' ? body : JSON.stringify(body), 'application/json', options);
}

/** POSTs a slash command (form-encoded fields) as Slack does. */
export function postSignedCommand(url: string, signingSecret: string, fields: Record<string, string>, options: SignedPostOptions = {}): Promise<SignedPostResult> {
  return postSigned(url, signingSecret, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded', options);
}

/** POSTs an interaction payload (form-encoded `payload=<JSON>`) as Slack does. */
export function postSignedInteraction(url: string, signingSecret: string, payload: JsonObject, options: SignedPostOptions = {}): Promise<SignedPostResult> {
  return postSigned(url, signingSecret, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded', options);
}
