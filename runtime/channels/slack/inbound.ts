/**
 * Where a Slack message goes, decided without I/O: which group records it, as which
 * neutral inbound item (`../inbound.ts` turns that into the group's command). The rules:
 *
 * - The bot's own messages are dropped (Slack echoes every post back as an event).
 * - A reply goes to its thread's group (`<team>.<channel>.<thread_ts>`).
 * - A top-level message in a channel goes to the channel's group, unless it asks the bot
 *   for a turn (a mention, or any message in an `all` channel, from an allowed sender):
 *   then it opens its own thread's group, since the answer and the conversation that
 *   follows live in the thread under it.
 * - In a DM every top-level message goes to the DM's group and is answered there, not in
 *   a thread; a reply in a thread of a DM goes to that thread's group.
 * - Edits and deletions go where the message went. For a top-level message that is the
 *   thread it may have opened, which only the actors know, so both candidates are given.
 *
 * A message is known by Slack's ids alone (its channel and `ts`), so the `message` and
 * `app_mention` events of one message, and every redelivery of either, are one message.
 */
import type { GroupSettingsInput as AnyGroupSettings, InboundDeletion, InboundEdit, InboundMessage } from '../inbound.js';
import { isDirectMessage, slackGroupId } from './slack-ids.js';
import type { AppMentionEvent, MessageEvent, SlackMessage } from './payloads.js';

/** The name every Slack item goes in under (the prefix of its command keys). */
export const SLACK_CHANNEL = 'slack';

/** Who the bot is in this workspace (from `auth.test`). */
export interface BotIdentity {
  readonly userId: string;
  readonly botId: string | null;
}

/** How a Slack channel's groups behave; Slack settings always name the roles that may address people. */
export type GroupSettingsInput = Required<AnyGroupSettings>;

export type Inbound =
  | {
      readonly kind: 'message';
      readonly groupId: string;
      readonly settings: GroupSettingsInput;
      /** The channel and thread the message is in, for reading a thread's earlier messages. */
      readonly channel: string;
      /** Set for a reply: the thread's root, whose group may not have recorded what came before. */
      readonly threadRoot: string | null;
      /**
       * It asks the bot for a turn by itself (a mention, an `all` channel, a DM), from an
       * allowed sender; a follow-up in a thread the bot answers in asks too, which only the
       * group knows.
       */
      readonly asksForTurn: boolean;
      /** What was said, for the group `groupId` (its `conversationId`). */
      readonly message: InboundMessage;
    }
  /** `groupIds`: where the message may be, the likelier first; the change goes to the one that holds it. */
  | { readonly kind: 'edit'; readonly groupIds: readonly string[]; readonly change: Omit<InboundEdit, 'conversationId'> }
  | { readonly kind: 'delete'; readonly groupIds: readonly string[]; readonly change: Omit<InboundDeletion, 'conversationId'> }
  | { readonly kind: 'ignore'; readonly reason: string };

/** Message subtypes that are someone saying something. */
const CONTENT_SUBTYPES = new Set([undefined, 'file_share', 'me_message', 'thread_broadcast', 'bot_message']);

export function mentionsUser(text: string, userId: string): boolean {
  return text.includes(`<@${userId}>`) || text.includes(`<@${userId}|`);
}

function isOwn(message: { user?: string | undefined; bot_id?: string | undefined }, bot: BotIdentity): boolean {
  return message.user === bot.userId || (bot.botId !== null && message.bot_id === bot.botId);
}

function isReply(message: { ts: string; thread_ts?: string | undefined }): boolean {
  return message.thread_ts !== undefined && message.thread_ts !== message.ts;
}

function senderAllowed(settings: GroupSettingsInput, sender: string): boolean {
  return settings.allowedSenders.length === 0 || settings.allowedSenders.includes(sender);
}

export interface InboundContext {
  readonly team: string;
  readonly bot: BotIdentity;
  /** The settings of a channel or DM's groups (its threads share them). */
  readonly settingsFor: (channel: string) => GroupSettingsInput;
}

/** A new message (a `message` event without an edit or deletion subtype, or an `app_mention`). */
function newMessage(
  event: { channel: string; ts: string; thread_ts?: string | undefined; user?: string | undefined; bot_id?: string | undefined; subtype?: string | undefined; text?: string | undefined },
  context: InboundContext,
): Inbound {
  if (isOwn(event, context.bot)) return { kind: 'ignore', reason: "the bot's own message" };
  const sender = event.user ?? event.bot_id;
  if (sender === undefined) return { kind: 'ignore', reason: 'a message with no sender' };
  const senderIsBot = event.user === undefined || event.subtype === 'bot_message';
  const text = event.text ?? '';
  const mentionsBot = mentionsUser(text, context.bot.userId);
  const settings = context.settingsFor(event.channel);
  const reply = isReply(event);
  const where = { team: context.team, channel: event.channel };
  const asksForTurn = !senderIsBot && senderAllowed(settings, sender) && (mentionsBot || settings.triggerMode !== 'mention');
  const groupId = reply
    ? slackGroupId({ ...where, threadTs: event.thread_ts! })
    : slackGroupId({ ...where, threadTs: !isDirectMessage(event.channel) && asksForTurn ? event.ts : null });
  const message: InboundMessage = {
    kind: 'message',
    channel: SLACK_CHANNEL,
    conversationId: groupId,
    messageId: event.ts,
    sender,
    content: text,
    mentionsBot,
    ...(reply ? { threadTs: event.thread_ts! } : {}),
    ...(senderIsBot ? { senderIsBot: true } : {}),
  };
  return { kind: 'message', groupId, settings, channel: event.channel, threadRoot: reply ? event.thread_ts! : null, asksForTurn, message };
}

/** The groups a message already recorded may be in, the likelier first. */
function groupsOfMessage(team: string, channel: string, message: { ts: string; thread_ts?: string | undefined }): string[] {
  if (isReply(message)) return [slackGroupId({ team, channel, threadTs: message.thread_ts! })];
  const own = slackGroupId({ team, channel, threadTs: null });
  return isDirectMessage(channel) ? [own] : [slackGroupId({ team, channel, threadTs: message.ts }), own];
}

export function inboundFromMessageEvent(event: MessageEvent, context: InboundContext): Inbound {
  if (event.subtype === 'message_changed') {
    const now: SlackMessage | undefined = event.message;
    if (!now) return { kind: 'ignore', reason: 'an edit without the message' };
    if (isOwn(now, context.bot)) return { kind: 'ignore', reason: "an edit of the bot's own message" };
    const before = event.previous_message;
    if (before && before.text === now.text) return { kind: 'ignore', reason: 'an edit that left the text as it was (an unfurl, say)' };
    return {
      kind: 'edit',
      groupIds: groupsOfMessage(context.team, event.channel, now),
      change: { kind: 'edit', channel: SLACK_CHANNEL, messageId: now.ts, content: now.text ?? '', editedTs: now.edited?.ts ?? event.event_ts ?? event.ts },
    };
  }
  if (event.subtype === 'message_deleted') {
    const deleted = event.deleted_ts ?? event.previous_message?.ts;
    if (deleted === undefined) return { kind: 'ignore', reason: 'a deletion naming no message' };
    if (event.previous_message && isOwn(event.previous_message, context.bot)) return { kind: 'ignore', reason: "a deletion of the bot's own message" };
    const message = { ts: deleted, thread_ts: event.previous_message?.thread_ts };
    return { kind: 'delete', groupIds: groupsOfMessage(context.team, event.channel, message), change: { kind: 'delete', channel: SLACK_CHANNEL, messageId: deleted } };
  }
  if (!CONTENT_SUBTYPES.has(event.subtype)) return { kind: 'ignore', reason: `a ${event.subtype} event, not a message` };
  return newMessage(event, context);
}

export function inboundFromAppMention(event: AppMentionEvent, context: InboundContext): Inbound {
  return newMessage(event, context);
}
