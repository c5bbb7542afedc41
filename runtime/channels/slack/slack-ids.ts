/**
 * Slack's ids as group ids: a channel or DM is `<team>.<channel>` (`T024BE7LH.C0123ABCD`),
 * a thread in it `<team>.<channel>.<thread_ts>`. The group actor's stream is `group-<id>`.
 */
import { z } from 'zod';
import { slackTsSchema } from '../../../events/catalogue/group.js';

export const slackTeamIdSchema = z.string().regex(/^[TE][A-Z0-9]+$/, 'expected a Slack team id such as T024BE7LH');
export const slackChannelIdSchema = z.string().regex(/^[CDG][A-Z0-9]+$/, 'expected a Slack channel id such as C0123ABCD');

export interface SlackConversation {
  readonly team: string;
  readonly channel: string;
  /** The thread's root message; null for the channel or DM itself. */
  readonly threadTs: string | null;
}

export function slackGroupId(conversation: SlackConversation): string {
  return conversation.threadTs === null
    ? `${conversation.team}.${conversation.channel}`
    : `${conversation.team}.${conversation.channel}.${conversation.threadTs}`;
}

/** The Slack conversation a group id names, or null when it is not a Slack group (`local.chat`). */
export function parseSlackGroupId(groupId: string): SlackConversation | null {
  const [team = '', channel = '', ...rest] = groupId.split('.');
  if (!slackTeamIdSchema.safeParse(team).success || !slackChannelIdSchema.safeParse(channel).success) return null;
  if (rest.length === 0) return { team, channel, threadTs: null };
  const threadTs = rest.join('.');
  return slackTsSchema.safeParse(threadTs).success ? { team, channel, threadTs } : null;
}

/** A DM (`D…`) rather than a channel or a private group. */
export function isDirectMessage(channel: string): boolean {
  return channel.startsWith('D');
}
