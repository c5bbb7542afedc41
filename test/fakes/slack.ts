/**
 * A fake Slack for end-to-end tests: the Web API fake (slack-web-api.ts), its Socket Mode end
 * (slack-socket-mode.ts) and the Events API over signed HTTP (slack-events.ts), plus
 * simulated users, so a real Bolt app (Socket Mode or HTTP) talks to it as to Slack.
 *
 * Faithful to:
 * - Where Slack sends an event: over Socket Mode while a client is connected, else to the
 *   HTTP Request URL (`http`), signed with the signing secret; retries carry
 *   `retry_attempt`/`retry_reason` (Socket Mode) or `X-Slack-Retry-Num`/`-Reason` (HTTP).
 * - Which events an app gets: only those it subscribes to (`subscriptions`, by Slack's
 *   names: `message.channels`, `message.groups`, `message.im`, `message.mpim`,
 *   `app_mention`, `reaction_added`, `reaction_removed`), and message events only from
 *   conversations the bot is in. A message mentioning the bot (`<@U…>`) outside a DM is
 *   delivered twice, as `message` and as `app_mention`, with different event IDs.
 * - Echo: the bot's own posts, edits, deletes and reactions come back as events (`message`
 *   with `bot_id`, `user` = the bot user, `bot_profile`, no subtype; `message_changed`;
 *   `message_deleted`; `reaction_added`), as Slack sends them to an app subscribed to them;
 *   `echo: false` turns that off.
 * - Nothing is deduplicated: redelivering an event (same `event_id`) delivers it again.
 *
 * Left out: Slack's automatic retries after a missed ack (call `redeliver`), ordering
 * guarantees (events go out in the order they happen), events other than those above
 * (deliver any event with `deliverEvent`), rate limits on event delivery.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  appMentionEvent,
  blockActionsPayload,
  eventCallback,
  messageChangedEvent,
  messageDeletedEvent,
  messageEvent,
  newEventId,
  postSignedCommand,
  postSignedEvent,
  postSignedInteraction,
  reactionEvent,
  richTextBlock,
  slashCommandFields,
  urlVerification,
  type BlockAction,
} from './slack-events.js';
import { FakeSlackSocketMode, type FakeSlackSocketModeOptions, type SocketModeEnvelopeType } from './slack-socket-mode.js';
import { FakeSlackWebApi, type FakeSlackActivity, type FakeSlackChannelType, type FakeSlackMessage, type FakeSlackOptions, type JsonObject } from './slack-web-api.js';

export interface FakeSlackHttpTarget {
  /** The Events API Request URL (Bolt: `http://127.0.0.1:<port>/slack/events`). */
  readonly url: string;
  readonly signingSecret: string;
  /** Where slash commands go. Default `url`. */
  readonly commandsUrl?: string;
  /** Where interactions go. Default `url`. */
  readonly interactivityUrl?: string;
}

export interface FakeSlackFacadeOptions extends FakeSlackOptions {
  /** Deliver over signed HTTP when no Socket Mode client is connected. */
  readonly http?: FakeSlackHttpTarget;
  readonly socketMode?: FakeSlackSocketModeOptions;
  /** The bot's own actions come back as events. Default true. */
  readonly echo?: boolean;
  /** The events the app subscribes to. Default all of `ALL_SUBSCRIPTIONS`. */
  readonly subscriptions?: readonly string[];
  /** How long a delivery waits for its ack (Socket Mode) or answer (HTTP). Default 3,000 ms. */
  readonly ackTimeoutMs?: number;
}

export const ALL_SUBSCRIPTIONS = ['message.channels', 'message.groups', 'message.im', 'message.mpim', 'app_mention', 'reaction_added', 'reaction_removed'] as const;

export type DeliveryTransport = 'socket' | 'http' | 'none';

/** One thing sent to the app, and how it went. */
export interface FakeSlackDelivery {
  readonly transport: DeliveryTransport;
  readonly kind: SocketModeEnvelopeType;
  /** The event's type (`message`, `app_mention`…), the command, or the interaction's type. */
  readonly name: string;
  readonly eventId: string | undefined;
  /** The Events API body, the command's fields or the interaction payload, as sent. */
  readonly body: JsonObject;
  readonly retryAttempt: number;
  /** Whether this echoes the bot's own action. */
  readonly echo: boolean;
  /** Acked in time (Socket Mode), or answered 200 in time (HTTP). */
  readonly acked: boolean;
  /** The ack's payload (Socket Mode) or the parsed answer (HTTP, JSON or text). */
  readonly response: unknown;
  /** HTTP only. */
  readonly status: number | undefined;
  readonly envelopeId: string | undefined;
}

export interface DeliverOptions {
  /** Default: Socket Mode if a client is connected, else HTTP if configured, else none. */
  readonly transport?: 'auto' | 'socket' | 'http';
  readonly timeoutMs?: number;
}

export interface DeliverEventOptions extends DeliverOptions {
  readonly eventId?: string;
  readonly eventTime?: number;
  readonly retryAttempt?: number;
  readonly retryReason?: string;
}

export interface UserPostInput {
  readonly channel: string;
  readonly user: string;
  readonly text: string;
  readonly thread_ts?: string;
  /** Default the channel's own type. */
  readonly channel_type?: FakeSlackChannelType;
  /** Add the `rich_text` block Slack's client adds. Default true. */
  readonly richText?: boolean;
}

export interface UserPostResult {
  readonly ts: string;
  readonly message: FakeSlackMessage;
  readonly eventIds: { readonly message?: string; readonly appMention?: string };
  readonly deliveries: readonly FakeSlackDelivery[];
}

export class FakeSlack {
  readonly deliveries: FakeSlackDelivery[] = [];
  private webApi: FakeSlackWebApi | undefined;
  private socketMode: FakeSlackSocketMode | undefined;
  private httpTarget: FakeSlackHttpTarget | undefined;
  private echoing: boolean;
  private readonly subscriptions: Set<string>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopActivity: (() => void) | undefined;

  constructor(private readonly options: FakeSlackFacadeOptions = {}) {
    this.httpTarget = options.http;
    this.echoing = options.echo ?? true;
    this.subscriptions = new Set(options.subscriptions ?? ALL_SUBSCRIPTIONS);
  }

  static async start(options: FakeSlackFacadeOptions = {}): Promise<FakeSlack> {
    return new FakeSlack(options).start();
  }

  async start(): Promise<this> {
    if (this.webApi) return this;
    this.webApi = await FakeSlackWebApi.start(this.options);
    this.socketMode = FakeSlackSocketMode.attach(this.webApi, { ackTimeoutMs: this.options.ackTimeoutMs, ...this.options.socketMode });
    this.stopActivity = this.webApi.onActivity((activity) => this.echo(activity));
    return this;
  }

  get web(): FakeSlackWebApi {
    if (!this.webApi) throw new Error('fake Slack: not started');
    return this.webApi;
  }

  get socket(): FakeSlackSocketMode {
    if (!this.socketMode) throw new Error('fake Slack: not started');
    return this.socketMode;
  }

  /** The Web API base URL (`slackApiUrl`). */
  get url(): string {
    return this.web.url;
  }

  /** The first bot token and app token the fake accepts. */
  get botToken(): string {
    return this.options.tokens?.[0] ?? 'xoxb-test-token';
  }

  get appToken(): string {
    return this.options.appTokens?.[0] ?? 'xapp-test-token';
  }

  get identity(): FakeSlackWebApi['identity'] {
    return this.web.identity;
  }

  setHttpTarget(target: FakeSlackHttpTarget | undefined): void {
    this.httpTarget = target;
  }

  setEcho(enabled: boolean): void {
    this.echoing = enabled;
  }

  subscribe(...events: string[]): void {
    for (const event of events) this.subscriptions.add(event);
  }

  unsubscribe(...events: string[]): void {
    for (const event of events) this.subscriptions.delete(event);
  }

  /** Deliveries of one event type (or command / interaction type). */
  deliveriesOf(name: string): FakeSlackDelivery[] {
    return this.deliveries.filter((delivery) => delivery.name === name);
  }

  // -------------------------------------------------------------------------------------
  // Delivering.

  /** Wraps `event` in an `event_callback` and delivers it. Redeliver with the same `eventId` and a `retryAttempt`. */
  deliverEvent(event: JsonObject, options: DeliverEventOptions = {}): Promise<FakeSlackDelivery> {
    return this.deliverEventAs(event, options, false);
  }

  /** Delivers `delivery`'s event again, as Slack's retry number `retryAttempt` (default the next one). */
  redeliver(delivery: FakeSlackDelivery, options: DeliverEventOptions = {}): Promise<FakeSlackDelivery> {
    const event = delivery.body.event;
    if (delivery.kind !== 'events_api' || typeof event !== 'object' || event === null) throw new Error('fake Slack: only events are redelivered');
    return this.deliverEventAs(event as JsonObject, { eventId: delivery.eventId, eventTime: Number(delivery.body.event_time), retryAttempt: delivery.retryAttempt + 1, ...options }, delivery.echo);
  }

  /** Delivers a slash command (fields built from `input`, with a response_url the fake answers). */
  deliverSlashCommand(
    input: { command: string; text?: string; channel: string; user: string; userName?: string; triggerId?: string },
    options: DeliverOptions = {},
  ): Promise<FakeSlackDelivery> {
    const channelName = this.web.hasChannel(input.channel) ? this.web.channelInfo(input.channel).name : 'unknown';
    const fields = slashCommandFields(this.identity, {
      command: input.command,
      channelId: input.channel,
      channelName,
      userId: input.user,
      responseUrl: this.web.createResponseUrl({ channel: input.channel, user: input.user }),
      ...(input.text === undefined ? {} : { text: input.text }),
      ...(input.userName === undefined ? {} : { userName: input.userName }),
      ...(input.triggerId === undefined ? {} : { triggerId: input.triggerId }),
    });
    return this.track(this.send('slash_commands', input.command, fields, undefined, 0, false, options));
  }

  /** Delivers an interaction payload as given. */
  deliverInteractive(payload: JsonObject, options: DeliverOptions = {}): Promise<FakeSlackDelivery> {
    return this.track(this.send('interactive', String(payload.type), payload, undefined, 0, false, options));
  }

  /** A user clicks an element (`actionId`) of a stored message's blocks: a `block_actions` payload. */
  clickButton(input: { channel: string; ts: string; user: string; actionId: string; value?: string }, options: DeliverOptions = {}): Promise<FakeSlackDelivery> {
    const message = this.web.message(input.channel, input.ts);
    if (!message) throw new Error(`fake Slack: no message ${input.ts} in ${input.channel}`);
    const found = findElement(message.blocks ?? [], input.actionId);
    const action: BlockAction = {
      action_id: input.actionId,
      ...(found?.blockId === undefined ? {} : { block_id: found.blockId }),
      type: typeof found?.element.type === 'string' ? found.element.type : 'button',
      ...(isObject(found?.element.text) ? { text: found.element.text } : {}),
      ...(input.value !== undefined ? { value: input.value } : typeof found?.element.value === 'string' ? { value: found.element.value } : {}),
    };
    const payload = blockActionsPayload(this.identity, {
      userId: input.user,
      channelId: input.channel,
      channelName: this.web.channelInfo(input.channel).name,
      message,
      actions: [action],
      responseUrl: this.web.createResponseUrl({ channel: input.channel, user: input.user, messageTs: input.ts }),
    });
    return this.deliverInteractive(payload, options);
  }

  /** A `disconnect` message to the Socket Mode clients (they reconnect through apps.connections.open). */
  deliverDisconnect(reason: 'refresh_requested' | 'link_disabled' | 'warning'): void {
    this.socket.deliverDisconnect(reason);
  }

  /** Sends the `url_verification` challenge to the HTTP target; says whether it came back. */
  async verifyUrl(challenge = randomBytes(16).toString('hex')): Promise<{ status: number; echoed: boolean; body: string }> {
    const target = this.requireHttp();
    const result = await postSignedEvent(target.url, target.signingSecret, urlVerification(challenge));
    const json = result.json;
    const echoed = result.body === challenge || (isObject(json) && json.challenge === challenge);
    return { status: result.status, echoed, body: result.body };
  }

  // -------------------------------------------------------------------------------------
  // Simulated users.

  /** A user posts: stored (history and replies show it), then the events Slack sends for it. */
  async userPosts(input: UserPostInput): Promise<UserPostResult> {
    const web = this.web;
    const info = web.channelInfo(input.channel);
    const ts = web.nextTs();
    let parentUser: string | undefined;
    let threadTs = input.thread_ts;
    if (threadTs !== undefined) {
      const parent = web.message(input.channel, threadTs);
      if (parent?.thread_ts !== undefined && parent.thread_ts !== parent.ts) threadTs = parent.thread_ts;
      parentUser = web.message(input.channel, threadTs)?.user;
    }
    const message: FakeSlackMessage = {
      user: input.user,
      ts,
      text: input.text,
      client_msg_id: randomUUID(),
      team: web.identity.teamId,
      ...(input.richText === false ? {} : { blocks: [richTextBlock(input.text)] }),
      ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      ...(parentUser === undefined ? {} : { parent_user_id: parentUser }),
    };
    web.post(input.channel, message);
    const channelType = input.channel_type ?? info.type;
    const sends: Promise<FakeSlackDelivery>[] = [];
    const eventIds: { message?: string; appMention?: string } = {};
    if (info.botIsMember && this.subscriptions.has(messageSubscription(channelType))) {
      eventIds.message = newEventId();
      sends.push(this.deliverEventAs(messageEvent(input.channel, channelType, message), { eventId: eventIds.message }, false));
    }
    const mentioned = input.text.includes(`<@${web.identity.botUserId}>`);
    if (mentioned && channelType !== 'im' && info.botIsMember && this.subscriptions.has('app_mention')) {
      eventIds.appMention = newEventId();
      sends.push(this.deliverEventAs(appMentionEvent(input.channel, message), { eventId: eventIds.appMention }, false));
    }
    return { ts, message, eventIds, deliveries: await Promise.all(sends) };
  }

  /** A user edits their message: stored, then `message_changed`. */
  async userEdits(channel: string, ts: string, text: string): Promise<FakeSlackDelivery | undefined> {
    const eventTs = this.web.nextTs();
    const { previous, message } = this.web.replaceMessage(channel, ts, (old) => ({
      ...old,
      text,
      ...(old.blocks !== undefined ? { blocks: [richTextBlock(text)] } : {}),
      edited: { user: old.user ?? 'U0EDITOR', ts: eventTs },
    }));
    return this.messageSubtypeEvent(channel, (type) => messageChangedEvent(channel, type, message, previous, eventTs), false);
  }

  /** A user deletes a message: removed, then `message_deleted`. */
  async userDeletes(channel: string, ts: string): Promise<FakeSlackDelivery | undefined> {
    const eventTs = this.web.nextTs();
    const previous = this.web.removeMessage(channel, ts);
    return this.messageSubtypeEvent(channel, (type) => messageDeletedEvent(channel, type, previous, eventTs), false);
  }

  /** A user reacts to a message: stored, then `reaction_added`. */
  async userReacts(channel: string, ts: string, user: string, name: string): Promise<FakeSlackDelivery | undefined> {
    const { message } = this.web.replaceMessage(channel, ts, (old) => {
      const reactions = [...(old.reactions ?? [])];
      const index = reactions.findIndex((reaction) => reaction.name === name);
      const existing = reactions[index];
      if (existing?.users.includes(user)) return old;
      if (existing) reactions[index] = { name, users: [...existing.users, user], count: existing.count + 1 };
      else reactions.push({ name, users: [user], count: 1 });
      return { ...old, reactions };
    });
    if (!this.web.channelInfo(channel).botIsMember || !this.subscriptions.has('reaction_added')) return undefined;
    return this.deliverEventAs(reactionEvent('reaction_added', { user, reaction: name, channel, ts, itemUser: message.user, eventTs: this.web.nextTs() }), {}, false);
  }

  // -------------------------------------------------------------------------------------
  // Waiting.

  /** Resolves once `condition` holds (checked every 10 ms), or rejects after `timeoutMs` (default 5,000). */
  async waitFor<T>(condition: () => T | undefined | false | null, options: { timeoutMs?: number; what?: string } = {}): Promise<T> {
    const deadline = Date.now() + (options.timeoutMs ?? 5_000);
    for (;;) {
      const value = condition();
      if (value !== undefined && value !== false && value !== null) return value;
      if (Date.now() > deadline) throw new Error(`fake Slack: timed out waiting for ${options.what ?? 'a condition'}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Resolves with the first delivery (already made or still to come) that `predicate` accepts. */
  waitForDelivery(predicate: (delivery: FakeSlackDelivery) => boolean, options: { timeoutMs?: number } = {}): Promise<FakeSlackDelivery> {
    return this.waitFor(() => this.deliveries.find(predicate), { ...options, what: 'a matching delivery' });
  }

  /** Waits for the deliveries under way (echoes included) to settle. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.stopActivity?.();
    await this.socketMode?.close();
    await this.settle();
    await this.webApi?.close();
  }

  // -------------------------------------------------------------------------------------

  private requireHttp(): FakeSlackHttpTarget {
    if (!this.httpTarget) throw new Error('fake Slack: no HTTP target (pass `http` or call setHttpTarget)');
    return this.httpTarget;
  }

  private deliverEventAs(event: JsonObject, options: DeliverEventOptions, echo: boolean): Promise<FakeSlackDelivery> {
    const body = eventCallback(this.identity, event, {
      eventId: options.eventId ?? newEventId(),
      ...(options.eventTime === undefined ? {} : { eventTime: options.eventTime }),
    });
    return this.track(this.send('events_api', String(event.type), body, options, options.retryAttempt ?? 0, echo, options));
  }

  private messageSubtypeEvent(channel: string, build: (channelType: FakeSlackChannelType) => JsonObject, echo: boolean): Promise<FakeSlackDelivery> | undefined {
    const info = this.web.channelInfo(channel);
    if (!info.botIsMember || !this.subscriptions.has(messageSubscription(info.type))) return undefined;
    return this.deliverEventAs(build(info.type), {}, echo);
  }

  private echo(activity: FakeSlackActivity): void {
    if (!this.echoing) return;
    const info = this.web.channelInfo(activity.channel);
    if (!info.botIsMember) return;
    switch (activity.kind) {
      case 'bot_message_posted':
        if (this.subscriptions.has(messageSubscription(info.type))) void this.deliverEventAs(messageEvent(activity.channel, info.type, activity.message), {}, true);
        return;
      case 'bot_message_updated':
        if (this.subscriptions.has(messageSubscription(info.type))) {
          void this.deliverEventAs(messageChangedEvent(activity.channel, info.type, activity.message, activity.previous, activity.message.edited?.ts ?? this.web.nextTs()), {}, true);
        }
        return;
      case 'bot_message_deleted':
        if (this.subscriptions.has(messageSubscription(info.type))) void this.deliverEventAs(messageDeletedEvent(activity.channel, info.type, activity.previous, this.web.nextTs()), {}, true);
        return;
      case 'bot_reaction_added':
      case 'bot_reaction_removed': {
        const type = activity.kind === 'bot_reaction_added' ? 'reaction_added' : 'reaction_removed';
        if (this.subscriptions.has(type)) {
          void this.deliverEventAs(
            reactionEvent(type, { user: this.identity.botUserId, reaction: activity.name, channel: activity.channel, ts: activity.ts, itemUser: activity.itemUser, eventTs: this.web.nextTs() }),
            {},
            true,
          );
        }
        return;
      }
    }
  }

  private track(promise: Promise<FakeSlackDelivery>): Promise<FakeSlackDelivery> {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }

  private async send(
    kind: SocketModeEnvelopeType,
    name: string,
    body: JsonObject,
    eventOptions: DeliverEventOptions | undefined,
    retryAttempt: number,
    echo: boolean,
    options: DeliverOptions,
  ): Promise<FakeSlackDelivery> {
    const transport = this.transportFor(options.transport ?? 'auto');
    const eventId = kind === 'events_api' ? String(body.event_id) : undefined;
    const base = { transport, kind, name, eventId, body, retryAttempt, echo };
    let delivery: FakeSlackDelivery;
    if (transport === 'socket') {
      const timeout = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
      try {
        const result =
          kind === 'events_api'
            ? await this.socket.deliverEventCallback(body, { ...timeout, retryAttempt, ...(eventOptions?.retryReason === undefined ? {} : { retryReason: eventOptions.retryReason }) })
            : kind === 'slash_commands'
              ? await this.socket.deliverSlashCommand(body as Record<string, string>, timeout)
              : await this.socket.deliverInteractive(body, timeout);
        delivery = { ...base, acked: result.acked, response: result.payload, status: undefined, envelopeId: result.envelopeId };
      } catch (error) {
        // No client connected (any more).
        delivery = { ...base, acked: false, response: error instanceof Error ? error.message : String(error), status: undefined, envelopeId: undefined };
      }
    } else if (transport === 'http') {
      const target = this.requireHttp();
      const signed = {
        timeoutMs: options.timeoutMs ?? this.options.ackTimeoutMs ?? 3_000,
        ...(retryAttempt > 0 ? { retryNum: retryAttempt, retryReason: eventOptions?.retryReason ?? 'http_timeout' } : {}),
      };
      try {
        const result =
          kind === 'events_api'
            ? await postSignedEvent(target.url, target.signingSecret, body, signed)
            : kind === 'slash_commands'
              ? await postSignedCommand(target.commandsUrl ?? target.url, target.signingSecret, body as Record<string, string>, signed)
              : await postSignedInteraction(target.interactivityUrl ?? target.url, target.signingSecret, body, signed);
        delivery = { ...base, acked: result.status === 200, response: result.json ?? result.body, status: result.status, envelopeId: undefined };
      } catch (error) {
        delivery = { ...base, acked: false, response: error instanceof Error ? error.message : String(error), status: undefined, envelopeId: undefined };
      }
    } else {
      delivery = { ...base, acked: false, response: undefined, status: undefined, envelopeId: undefined };
    }
    this.deliveries.push(delivery);
    return delivery;
  }

  private transportFor(wanted: 'auto' | 'socket' | 'http'): DeliveryTransport {
    if (wanted !== 'auto') return wanted;
    if (this.socketMode && this.socketMode.connectionCount > 0) return 'socket';
    if (this.httpTarget) return 'http';
    return 'none';
  }
}

function messageSubscription(type: FakeSlackChannelType): string {
  switch (type) {
    case 'channel':
      return 'message.channels';
    case 'group':
      return 'message.groups';
    case 'im':
      return 'message.im';
    case 'mpim':
      return 'message.mpim';
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The interactive element with `actionId` in `blocks`, and its block's ID. */
function findElement(blocks: readonly JsonObject[], actionId: string): { element: JsonObject; blockId: string | undefined } | undefined {
  for (const block of blocks) {
    const blockId = typeof block.block_id === 'string' ? block.block_id : undefined;
    const candidates = [...(Array.isArray(block.elements) ? block.elements : []), block.accessory];
    for (const candidate of candidates) {
      if (isObject(candidate) && candidate.action_id === actionId) return { element: candidate, blockId };
    }
  }
  return undefined;
}
