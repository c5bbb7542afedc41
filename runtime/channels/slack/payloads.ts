/**
 * The Slack payloads the channel acts on, validated at the boundary with zod: Events API
 * callbacks (messages, mentions, App Home), slash commands and block actions. Only the
 * fields the channel reads are required; Slack adds fields freely, so objects are loose.
 * A payload that does not fit is logged with the reason and dropped, never half-handled.
 */
import { z } from 'zod';
import { slackTsSchema } from '../../../events/catalogue/group.js';

const ts = slackTsSchema;

/** A message as Slack puts it inside `message_changed` and in history. */
export const slackMessageSchema = z.looseObject({
  type: z.literal('message').optional(),
  ts,
  user: z.string().optional(),
  bot_id: z.string().optional(),
  app_id: z.string().optional(),
  subtype: z.string().optional(),
  text: z.string().max(40_000).optional(),
  thread_ts: ts.optional(),
  edited: z.looseObject({ user: z.string().optional(), ts }).optional(),
});

export type SlackMessage = z.infer<typeof slackMessageSchema>;

/** `message` events: a new message, or (by subtype) an edit or a deletion. */
export const messageEventSchema = slackMessageSchema.extend({
  type: z.literal('message'),
  channel: z.string().min(1),
  channel_type: z.enum(['channel', 'group', 'im', 'mpim', 'app_home']).optional(),
  event_ts: ts.optional(),
  team: z.string().optional(),
  /** `message_changed`: the message as it is now, and as it was. */
  message: slackMessageSchema.optional(),
  previous_message: slackMessageSchema.optional(),
  /** `message_deleted`. */
  deleted_ts: ts.optional(),
});

export type MessageEvent = z.infer<typeof messageEventSchema>;

/** `app_mention`: the same message a `message` event carries, sent again for the mention. */
export const appMentionEventSchema = z.looseObject({
  type: z.literal('app_mention'),
  channel: z.string().min(1),
  ts,
  user: z.string().optional(),
  bot_id: z.string().optional(),
  text: z.string().max(40_000).optional(),
  thread_ts: ts.optional(),
  team: z.string().optional(),
});

export type AppMentionEvent = z.infer<typeof appMentionEventSchema>;

export const appHomeOpenedEventSchema = z.looseObject({
  type: z.literal('app_home_opened'),
  user: z.string().min(1),
  tab: z.string().optional(),
});

/** The envelope of every Events API callback. */
export const eventCallbackSchema = z.looseObject({
  team_id: z.string().min(1),
  event_id: z.string().min(1).optional(),
  event: z.looseObject({ type: z.string() }),
});

export const slashCommandSchema = z.looseObject({
  command: z.string().min(1),
  text: z.string().max(4_000).default(''),
  user_id: z.string().min(1),
  channel_id: z.string().min(1),
  team_id: z.string().min(1),
});

export type SlashCommand = z.infer<typeof slashCommandSchema>;

export const blockActionsSchema = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id: z.string().min(1) }),
  team: z.looseObject({ id: z.string().min(1) }).nullable().optional(),
  channel: z.looseObject({ id: z.string().min(1) }).optional(),
  message: z.looseObject({ ts, thread_ts: ts.optional(), text: z.string().optional() }).optional(),
  actions: z
    .array(
      z.looseObject({
        action_id: z.string().min(1),
        value: z.string().max(2_000).optional(),
        block_id: z.string().optional(),
        /** When the click happened (Slack's own timestamp): the same for a replayed payload. */
        action_ts: z.string().min(1).max(40).optional(),
      }),
    )
    .min(1),
});

export type BlockActions = z.infer<typeof blockActionsSchema>;

/** Why a payload did not fit, as one line for the log. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}
