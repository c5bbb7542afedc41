/**
 * The Slack side of the conversation port: posts through the Web API (the real
 * @slack/web-api client), in mrkdwn, split to Slack's limits, in the group's thread.
 *
 * Exactly one reply per owed reply: every part is posted with message metadata naming the
 * reply (`ledgerclaw_post`, its key and part number). A reply whose effect was resumed after
 * a restart may have been posted before the crash, so the thread is read first (with its
 * metadata) and only the parts not found are posted. A post made in this process is
 * remembered, so a repeated call in it posts nothing either.
 *
 * An agent's post in another channel (post_message) goes the same way, top-level in that
 * channel, keyed by the call. When it may have been posted before (an approved action carried
 * out again after a crash), the channel's recent history is read for it first. A channel the app
 * cannot post in (not a member, no such channel, archived) is a reason for the model, not an
 * error.
 *
 * Notices (an approval to vote on, a decision, a memory conflict) go the same way, keyed by
 * the notice's key and always looked for first: in the group's conversation, or in the
 * app's DM with a person (`conversations.open`). A vote request carries the Approve/Deny
 * buttons of approval-buttons.ts; a memory conflict, the keep/neither buttons of
 * conflict-buttons.ts.
 *
 * The "working on it" reaction goes on a message as soon as its turn is requested, and comes
 * off the messages a reply answers once it is posted.
 */
import type { ActionsBlock, KnownBlock } from '@slack/types';
import type { ChatPostMessageArguments, WebClient } from '@slack/web-api';
import type { PostReplyParams } from '../../../actors/group.js';
import type { Logger } from '../../actor-host/actor-host.js';
import type { ChannelPost, ChannelPostResult, OutboundMessage } from '../../gateways/host-tools/host-tool.js';
import type { ConversationChannel, PostReplyOptions } from '../conversation-channel.js';
import type { Notice, NoticePosted } from '../notice.js';
import { approvalButtonsBlock } from './approval-buttons.js';
import { conflictButtonsBlock } from './conflict-buttons.js';
import { toMrkdwn, splitForSlack } from './mrkdwn.js';
import { slackErrorCode } from './web-api-errors.js';
import { parseSlackGroupId, type SlackConversation } from './slack-ids.js';

/** The metadata event type that marks the runtime's own posts. */
export const POST_METADATA_TYPE = 'ledgerclaw_post';

/** How many pages of a thread (or of a DM's history) are read to find an earlier post. */
const LOOKUP_PAGES = 10;
/** Posts remembered in this process; an older repeat is found by the metadata lookup instead. */
const REMEMBERED_POSTS = 10_000;
/** Slack's limit on a section block's text. */
const SECTION_TEXT_CHARS = 3_000;
/** Slack's answers for a channel the app cannot post in, as what the model is told. */
const UNREACHABLE_CHANNEL: Readonly<Record<string, (channel: string) => string>> = {
  not_in_channel: (channel) => `the assistant is not in ${channel}; someone must invite it there (/invite) before it can post`,
  channel_not_found: (channel) =>
    `the assistant cannot see a channel ${channel}: there is none, or it is private and the assistant is not in it (someone must invite it)`,
  is_archived: (channel) => `${channel} is archived; nothing can be posted there`,
};

/** A Slack user (`U…`, or `W…` in Enterprise Grid). */
const SLACK_USER_ID = /^[UW][A-Z0-9]+$/;

export interface SlackChannelOptions {
  readonly client: WebClient;
  readonly ackReaction: string;
  readonly maxMessageChars: number;
  readonly logger: Logger;
}

interface PostedMessageMetadata {
  readonly event_type?: string;
  readonly event_payload?: { readonly key?: unknown; readonly part?: unknown };
}

interface HistoryMessage {
  readonly ts?: string;
  readonly metadata?: PostedMessageMetadata;
}

export class SlackChannel implements ConversationChannel {
  /** Posts made by this process: key → part → ts. */
  private readonly posted = new Map<string, Map<number, string>>();
  /** The app's DM channel with each person, once opened. */
  private readonly directMessages = new Map<string, string>();

  constructor(private readonly options: SlackChannelOptions) {}

  handles(groupId: string): boolean {
    return parseSlackGroupId(groupId) !== null;
  }

  reachesPerson(userId: string): boolean {
    return SLACK_USER_ID.test(userId);
  }

  async postNotice(notice: Notice, options: PostReplyOptions = { mayHavePosted: false }): Promise<NoticePosted> {
    const { channel, threadTs } =
      notice.to.kind === 'group' ? this.conversationOf(notice.to.groupId) : { channel: await this.directMessageWith(notice.to.userId), threadTs: null };
    const buttons = notice.vote
      ? approvalButtonsBlock(notice.vote)
      : notice.conflict
        ? conflictButtonsBlock(notice.conflict.scope, notice.conflict.key, notice.conflict.facts)
        : null;
    const refs = await this.postParts(channel, threadTs, notice.key, notice.text, null, options.mayHavePosted, buttons);
    return { refs };
  }

  async postReply(reply: PostReplyParams, options: PostReplyOptions = { mayHavePosted: false }): Promise<{ refs: string[] }> {
    const conversation = this.conversationOf(reply.groupId);
    const threadTs = reply.threadTs ?? conversation.threadTs;
    const refs = await this.postParts(conversation.channel, threadTs, reply.replyId, reply.text, null, options.mayHavePosted);
    await Promise.all(reply.messageIds.map((messageId) => this.unreact(conversation.channel, messageId)));
    return { refs };
  }

  async post(message: OutboundMessage): Promise<{ ref: string }> {
    const conversation = this.conversationOf(message.groupId);
    const refs = await this.postParts(conversation.channel, conversation.threadTs, `${message.runId}:${message.callId}`, message.text, message.identity ?? null, false);
    return { ref: refs.join(',') };
  }

  async postToChannel(post: ChannelPost): Promise<ChannelPostResult> {
    try {
      const refs = await this.postParts(post.channel, null, post.key, post.text, null, post.mayHavePosted);
      return { posted: true, ref: refs.join(',') };
    } catch (error) {
      const unreachable = UNREACHABLE_CHANNEL[slackErrorCode(error)];
      if (unreachable === undefined) throw error;
      return { posted: false, reason: unreachable(post.channel) };
    }
  }

  async acknowledge(message: { groupId: string; messageId: string }): Promise<void> {
    const { channel } = this.conversationOf(message.groupId);
    try {
      await this.options.client.reactions.add({ channel, timestamp: message.messageId, name: this.options.ackReaction });
    } catch (error) {
      if (slackErrorCode(error) === 'already_reacted') return;
      // Cosmetic: the turn goes on without the reaction.
      this.options.logger.warn({ groupId: message.groupId, messageId: message.messageId, err: error }, 'could not add the working-on-it reaction');
    }
  }

  /** The app's DM with the person (opened once; Slack answers the same channel every time). */
  private async directMessageWith(userId: string): Promise<string> {
    const known = this.directMessages.get(userId);
    if (known !== undefined) return known;
    const response = await this.options.client.conversations.open({ users: userId });
    const channel = response.channel?.id;
    if (typeof channel !== 'string') throw new Error(`conversations.open answered without a channel for ${userId}`);
    this.directMessages.set(userId, channel);
    return channel;
  }

  private conversationOf(groupId: string): SlackConversation {
    const conversation = parseSlackGroupId(groupId);
    if (conversation === null) throw new Error(`group ${groupId} is not a Slack conversation`);
    return conversation;
  }

  private async unreact(channel: string, messageId: string): Promise<void> {
    try {
      await this.options.client.reactions.remove({ channel, timestamp: messageId, name: this.options.ackReaction });
    } catch (error) {
      const code = slackErrorCode(error);
      if (code === 'no_reaction' || code === 'message_not_found') return;
      this.options.logger.warn({ channel, messageId, err: error }, 'could not take the working-on-it reaction off');
    }
  }

  /**
   * Posts each part of `text` not yet posted under `key`, in order; returns every part's ts.
   * `buttons` go under the last part, whose text then shows as a section block above them.
   */
  private async postParts(
    channel: string,
    threadTs: string | null,
    key: string,
    text: string,
    identity: OutboundMessage['identity'] | null,
    mayHavePosted: boolean,
    buttons: ActionsBlock | null = null,
  ): Promise<string[]> {
    const parts = splitForSlack(toMrkdwn(text), this.options.maxMessageChars);
    const known = this.posted.get(key) ?? (mayHavePosted ? await this.findPosted(channel, threadTs, key) : new Map<number, string>());
    this.posted.set(key, known);
    if (this.posted.size > REMEMBERED_POSTS) this.posted.delete(this.posted.keys().next().value!);
    const refs: string[] = [];
    for (const [index, part] of parts.entries()) {
      const existing = known.get(index);
      if (existing !== undefined) {
        refs.push(existing);
        continue;
      }
      const response = await this.options.client.chat.postMessage(
        withIdentity(
          {
            channel,
            text: part,
            mrkdwn: true,
            ...(threadTs !== null ? { thread_ts: threadTs } : {}),
            metadata: { event_type: POST_METADATA_TYPE, event_payload: { key, part: index, parts: parts.length } },
            ...(buttons !== null && index === parts.length - 1 ? { blocks: withButtons(part, buttons) } : {}),
          },
          identity,
        ),
      );
      if (typeof response.ts !== 'string') throw new Error(`chat.postMessage answered without a ts in ${channel}`);
      known.set(index, response.ts);
      refs.push(response.ts);
    }
    return refs;
  }

  /** The parts of `key` already in the thread (or, for a top-level post, the channel's recent history). */
  private async findPosted(channel: string, threadTs: string | null, key: string): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    let cursor: string | undefined;
    for (let page = 0; page < LOOKUP_PAGES; page += 1) {
      const response =
        threadTs !== null
          ? await this.options.client.conversations.replies({ channel, ts: threadTs, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) })
          : await this.options.client.conversations.history({ channel, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) });
      for (const message of (response.messages ?? []) as HistoryMessage[]) {
        const payload = message.metadata?.event_type === POST_METADATA_TYPE ? message.metadata.event_payload : undefined;
        if (payload?.key === key && typeof payload.part === 'number' && typeof message.ts === 'string') found.set(payload.part, message.ts);
      }
      cursor = response.response_metadata?.next_cursor || undefined;
      // A top-level reply is recent: the newest page or two hold it.
      if (!cursor || (threadTs === null && page >= 1)) break;
    }
    if (found.size > 0) this.options.logger.info({ channel, threadTs, key, parts: found.size }, 'found a post made before a restart; not posting it again');
    return found;
  }
}

type PostArguments = ChatPostMessageArguments & { channel: string; text: string };

/** Blocks replace a message's text on screen, so the text comes back as a section above the buttons. */
function withButtons(text: string, buttons: ActionsBlock): KnownBlock[] {
  const shown = text.length > SECTION_TEXT_CHARS ? `${text.slice(0, SECTION_TEXT_CHARS - 1)}…` : text;
  return [{ type: 'section', text: { type: 'mrkdwn', text: shown } }, buttons];
}
type PostMetadata = { event_type: string; event_payload: Record<string, string | number> };

/** A role's post shows its name and icon (an emoji code, or an image URL); the main agent's, the app's. */
function withIdentity(
  base: { channel: string; text: string; mrkdwn: boolean; thread_ts?: string; metadata: PostMetadata; blocks?: KnownBlock[] },
  identity: OutboundMessage['identity'] | null): PostArguments {
  if (!identity) return base;
  if (identity.icon === null) return { ...base, username: identity.name };
  return identity.icon.startsWith(':') ? { ...base, username: identity.name, icon_emoji: identity.icon } : { ...base, username: identity.name, icon_url: identity.icon };
}
