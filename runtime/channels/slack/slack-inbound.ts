/**
 * Slack messages into group actors, through the one inbound seam (`../inbound.ts`). Each
 * message becomes a `receiveMessage` command keyed by its group and Slack `ts`, so a
 * redelivery, or the `app_mention` Slack sends beside the `message` of the same post, is
 * the same command and is stored once.
 *
 * Before a group's first message the group is configured from the channel's settings. A
 * thread the bot is brought into half-way (asked for a turn in a thread it has not answered
 * in) has its earlier messages read from Slack (`conversations.replies`) and recorded
 * first, for context only, so the agent sees the conversation it is asked about; replies
 * between people cost no API call. What the group recorded already is not recorded again.
 * Work for one group is done in arrival order.
 */
import type { WebClient } from '@slack/web-api';
import type { ActorHost, Logger } from '../../actor-host/actor-host.js';
import { configureDelivery, groupDeliveryFor, type InboundMessage } from '../inbound.js';
import { inboundFromAppMention, inboundFromMessageEvent, type GroupSettingsInput, type Inbound, type InboundContext } from './inbound.js';
import { UserNames } from './user-names.js';
import { appMentionEventSchema, describeIssues, eventCallbackSchema, messageEventSchema, slackMessageSchema } from './payloads.js';

/** Most earlier messages of a thread recorded when the bot is brought into it. */
const THREAD_HISTORY_LIMIT = 100;
/** Groups whose settings are remembered as checked; one beyond is checked again when it next speaks. */
const REMEMBERED_GROUPS = 50_000;

export interface SlackInboundOptions {
  readonly actors: Pick<ActorHost, 'send' | 'load'>;
  readonly client: WebClient;
  readonly context: (team: string) => InboundContext;
  readonly logger: Logger;
}

export class SlackInbound {
  /** Groups whose settings this process has checked, with the settings it found. */
  private readonly configured = new Map<string, string>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly names: UserNames;

  constructor(private readonly options: SlackInboundOptions) {
    this.names = new UserNames(options.client);
  }

  /** An Events API callback carrying a `message` or `app_mention` event. Throws if it could not be recorded. */
  async handleEventCallback(body: unknown): Promise<void> {
    const callback = eventCallbackSchema.safeParse(body);
    if (!callback.success) {
      this.options.logger.warn({ issues: describeIssues(callback.error) }, 'a Slack event callback did not fit; dropped');
      return;
    }
    const { event, team_id: team } = callback.data;
    const context = this.options.context(team);
    let inbound: Inbound;
    if (event.type === 'message') {
      const parsed = messageEventSchema.safeParse(event);
      if (!parsed.success) {
        this.options.logger.warn({ issues: describeIssues(parsed.error), eventId: callback.data.event_id }, 'a Slack message event did not fit; dropped');
        return;
      }
      inbound = inboundFromMessageEvent(parsed.data, context);
    } else if (event.type === 'app_mention') {
      const parsed = appMentionEventSchema.safeParse(event);
      if (!parsed.success) {
        this.options.logger.warn({ issues: describeIssues(parsed.error), eventId: callback.data.event_id }, 'a Slack app_mention event did not fit; dropped');
        return;
      }
      inbound = inboundFromAppMention(parsed.data, context);
    } else {
      return;
    }
    await this.apply(inbound);
  }

  async apply(inbound: Inbound): Promise<void> {
    switch (inbound.kind) {
      case 'ignore':
        return;
      case 'message':
        return this.serially(inbound.groupId, () => this.receive(inbound));
      case 'edit':
      case 'delete': {
        const groupId = await this.groupHolding(inbound.groupIds);
        if (groupId === null) return;
        const delivery = groupDeliveryFor({ ...inbound.change, conversationId: groupId });
        return this.serially(groupId, async () => {
          const result = await this.options.actors.send('group', groupId, delivery.command, delivery.options);
          if (result.status === 'rejected') this.options.logger.warn({ groupId, reason: result.reason }, 'a Slack edit or deletion was not recorded');
        });
      }
    }
  }

  private async receive(inbound: Extract<Inbound, { kind: 'message' }>): Promise<void> {
    await this.ensureConfigured(inbound.groupId, inbound.settings);
    if (inbound.threadRoot !== null && inbound.asksForTurn) {
      const group = (await this.options.actors.load('group', inbound.groupId)).context;
      if (!group.engaged) await this.recordThreadHistory(inbound, inbound.threadRoot);
    }
    const delivery = groupDeliveryFor(await this.named(inbound.message));
    const result = await this.options.actors.send('group', delivery.groupId, delivery.command, delivery.options);
    // A message the group has (a redelivery, or the app_mention of a message) is no news.
    if (result.status === 'rejected' && !/already recorded/.test(result.reason)) {
      this.options.logger.warn({ groupId: inbound.groupId, messageId: inbound.message.messageId, reason: result.reason }, 'a Slack message was not recorded');
    }
  }

  /** Configures the group with these settings unless it has them. */
  private async ensureConfigured(groupId: string, settings: GroupSettingsInput): Promise<void> {
    const wanted = settingsKey(settings);
    if (this.configured.get(groupId) === wanted) return;
    const current = (await this.options.actors.load('group', groupId)).context.settings;
    if (current === null || settingsKey(current) !== wanted) {
      const delivery = configureDelivery(groupId, settings);
      const result = await this.options.actors.send('group', groupId, delivery.command, delivery.options);
      if (result.status === 'rejected' && !/exactly these settings/.test(result.reason)) throw new Error(`group ${groupId} could not be configured: ${result.reason}`);
    }
    this.configured.set(groupId, wanted);
    if (this.configured.size > REMEMBERED_GROUPS) this.configured.delete(this.configured.keys().next().value!);
  }

  /** Records the thread's messages before `inbound`, for context. A thread that cannot be read is logged and skipped. */
  private async recordThreadHistory(inbound: Extract<Inbound, { kind: 'message' }>, threadRoot: string): Promise<void> {
    let messages: unknown[];
    try {
      const response = await this.options.client.conversations.replies({ channel: inbound.channel, ts: threadRoot, latest: inbound.message.messageId, inclusive: false, limit: THREAD_HISTORY_LIMIT });
      messages = response.messages ?? [];
    } catch (error) {
      this.options.logger.warn({ groupId: inbound.groupId, err: error }, "the thread's earlier messages could not be read; the agent sees the thread from here on");
      return;
    }
    const team = inbound.groupId.split('.')[0]!;
    const context = this.options.context(team);
    for (const raw of messages) {
      const message = slackMessageSchema.safeParse(raw);
      if (!message.success || message.data.ts === inbound.message.messageId) continue;
      const earlier = inboundFromMessageEvent({ ...message.data, type: 'message', channel: inbound.channel }, context);
      if (earlier.kind !== 'message') continue;
      // Recorded on this thread's group, whichever group the message would open by itself.
      const named = await this.named(earlier.message);
      const delivery = groupDeliveryFor({ ...named, conversationId: inbound.groupId, threadTs: threadRoot, fromHistory: true });
      const result = await this.options.actors.send('group', delivery.groupId, delivery.command, delivery.options);
      if (result.status === 'rejected' && !/already recorded/.test(result.reason)) {
        this.options.logger.warn({ groupId: inbound.groupId, reason: result.reason }, "an earlier message of the thread was not recorded");
      }
    }
  }

  /** The message with its sender's display name, when Slack gives one (people only; a bot's id stays as it is). */
  private async named(message: InboundMessage): Promise<InboundMessage> {
    if (message.senderIsBot === true) return message;
    const senderName = await this.names.nameOf(message.sender);
    return senderName === null ? message : { ...message, senderName };
  }

  /** The first group that is configured (it recorded the message, then). */
  private async groupHolding(groupIds: readonly string[]): Promise<string | null> {
    for (const groupId of groupIds) {
      const view = await this.options.actors.load('group', groupId);
      if (view.context.settings !== null) return groupId;
    }
    return null;
  }

  private serially(groupId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(groupId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(groupId, settled);
    void settled.then(() => {
      if (this.queues.get(groupId) === settled) this.queues.delete(groupId);
    });
    return next;
  }
}

/** Settings compared as the group actor records them: lists sorted. */
function settingsKey(settings: GroupSettingsInput): string {
  return JSON.stringify({
    triggerMode: settings.triggerMode,
    allowedSenders: [...new Set(settings.allowedSenders)].sort(),
    isAdmin: settings.isAdmin,
    rolesAddressingUsers: [...new Set(settings.rolesAddressingUsers)].sort(),
  });
}
