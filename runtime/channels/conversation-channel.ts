/**
 * The port between the actors and wherever their conversations happen (Slack, the local
 * console, or nowhere but the log): posting a message for an agent, posting the reply a
 * group owes, showing a sender their message was taken up, and posting the runtime's own
 * notices (approvals, memory conflicts). The effects the actors ask for (`postReply`,
 * `acknowledgeMessage`, and those of notice-effects.ts) run through it, so the actors never
 * know which channel a group or a person is reached in.
 *
 * Several channels can be open in one runtime (Slack and the console's `local.*` groups):
 * {@link routedChannel} hands each group to the first channel that claims it.
 */
import type { PostReplyParams } from '../../actors/group.js';
import type { Logger } from '../actor-host/actor-host.js';
import type { EffectExecutorsFor } from '../actor-host/effects.js';
import type { OutboundChannel, OutboundMessage } from '../gateways/host-tools/host-tool.js';
import type { Notice, NoticePosted, NoticeRecipient } from './notice.js';
import { noticeEffects, type NoticeEffect } from './notice-effects.js';

export interface PostReplyOptions {
  /** The effect was resumed after a restart: an earlier process may have posted the reply already. */
  readonly mayHavePosted: boolean;
}

export interface ConversationChannel extends OutboundChannel {
  /** Whether this channel carries the group (`T024BE7LH.C0123` is Slack's; `local.chat` the console's). */
  handles(groupId: string): boolean;
  /** Whether this channel reaches the person directly (`U024BE7LH` is a Slack user). */
  reachesPerson(userId: string): boolean;
  /**
   * Posts a reply the group owes, keyed by `replyId`: when it may have been posted before a
   * crash, the channel must find that post rather than post again. Returns where each part landed.
   */
  postReply(reply: PostReplyParams, options?: PostReplyOptions): Promise<{ refs: string[] }>;
  /** Shows the sender their message was taken up (a reaction in Slack). Best effort. */
  acknowledge(message: { groupId: string; messageId: string }): Promise<void>;
  /**
   * Posts a notice once per `notice.key`: when it may have been posted before (a repeated
   * effect, a restart), the channel must find that post rather than post again.
   */
  postNotice(notice: Notice, options?: PostReplyOptions): Promise<NoticePosted>;
}

/** Each group to the first channel that handles it; the last is the fallback for every other. */
export function routedChannel(channels: readonly ConversationChannel[], fallback: ConversationChannel): ConversationChannel {
  const pick = (groupId: string) => channels.find((channel) => channel.handles(groupId)) ?? fallback;
  const pickFor = (to: NoticeRecipient) =>
    to.kind === 'group' ? pick(to.groupId) : (channels.find((channel) => channel.reachesPerson(to.userId)) ?? fallback);
  return {
    handles: () => true,
    reachesPerson: () => true,
    post: (message: OutboundMessage) => pick(message.groupId).post(message),
    postToChannel: (post) => pick(post.fromGroupId).postToChannel(post),
    postReply: (reply, options) => pick(reply.groupId).postReply(reply, options),
    acknowledge: (message) => pick(message.groupId).acknowledge(message),
    postNotice: (notice, options) => pickFor(notice.to).postNotice(notice, options),
  };
}

/** With no channel for a group, what would have been said is logged (and stays recorded on the run). */
export function loggedChannel(logger: Logger): ConversationChannel {
  return {
    handles: () => true,
    post: async (message) => {
      logger.info({ groupId: message.groupId, runId: message.runId, identity: message.identity?.name, text: message.text }, 'agent message (no channel connected)');
      return { ref: `log:${message.runId}:${message.callId}` };
    },
    // A post elsewhere is an action outside the conversation: with nothing to carry it, it did not happen.
    postToChannel: async (post) => ({ posted: false, reason: `no connected channel reaches ${post.channel}; nothing was posted` }),
    postReply: async (reply) => {
      logger.info({ groupId: reply.groupId, runId: reply.runId, text: reply.text }, 'reply (no channel connected)');
      return { refs: [`log:${reply.replyId}`] };
    },
    acknowledge: async () => {},
    reachesPerson: () => true,
    postNotice: async (notice) => {
      logger.info({ to: notice.to, key: notice.key, text: notice.text }, 'notice (no channel connected)');
      return { refs: [`log:${notice.key}`] };
    },
  };
}

/**
 * The effects that reach people through the channel. The group actor's: `postReply` posts,
 * then records `group.reply_posted` (keyed by the reply, so a repeat is stored once); a
 * reply no longer owed is skipped. The approval and memory actors' notices: notice-effects.ts.
 */
export function conversationEffects(channel: () => ConversationChannel): EffectExecutorsFor<'group.postReply' | 'group.acknowledgeMessage' | NoticeEffect> {
  return {
    'group.postReply': async (reply, context) => {
      const group = (await context.load('group', reply.groupId)).context;
      if (!group.pendingReplies.some((pending) => pending.replyId === reply.replyId)) return;
      // Resumed from state (no causing event in this process): the previous one may have posted it.
      const { refs } = await channel().postReply(reply, { mayHavePosted: context.cause === undefined });
      await context.send('group', reply.groupId, { type: 'replyPosted', replyId: reply.replyId, refs }, { commandId: `${reply.replyId}:reply-posted` });
    },
    'group.acknowledgeMessage': async (message) => {
      await channel().acknowledge(message);
    },
    ...noticeEffects(channel),
  };
}
