/**
 * A group: one Slack channel, DM or thread the assistant takes part in, on the stream
 * `group-<team>.<channel>` (a thread: `group-<team>.<channel>.<thread_ts>`). Its events say
 * how the group is configured, every message it saw (or ignored, and why), when it asked
 * for an agent turn, how that run went, and how far the agent has read.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';

/**
 * A Slack message timestamp (`1712345678.000100`): the message's id within its channel.
 * Timestamps of one channel order its messages, which is how the seen-cursor and the
 * duplicate window compare them.
 */
export const slackTsSchema = z.string().regex(/^\d{1,12}\.\d{1,9}$/, "expected a Slack message timestamp such as '1712345678.000100'");

/** A Slack user id (`U024BE7LH`); loose enough for the console channel's stand-in users. */
export const slackUserIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a user id such as U024BE7LH');

/** A run id, usable in the stream name `run-<id>` and as a container label. */
export const runIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, dots, dashes and underscores');

/** When a message asks the agent for a turn: `mention` (needs @bot), `all` (every message), `dm` (a direct message: every message). */
export const triggerModeSchema = z.enum(['mention', 'all', 'dm']);

/**
 * Why a message asked for a turn: the bot was mentioned, the group takes every message or
 * is a DM, or it follows up in a thread the bot already answered in.
 */
export const messageTriggerSchema = z.enum(['mention', 'all', 'dm', 'thread_follow_up']);

/** What a turn answers: fresh triggering messages, or the ones that queued up during the previous run. */
export const turnTriggerSchema = z.enum(['mention', 'all', 'dm', 'thread_follow_up', 'queued']);

export const runOutcomeSchema = z.enum(['completed', 'failed', 'cancelled', 'timed_out', 'interrupted']);

/** A named identity sub-agents post under (`Researcher`, `Coder`, `Reviewer`). */
export const roleNameSchema = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z][A-Za-z0-9 _-]*$/, 'expected a role name such as Researcher');

const configuredV1 = z
  .object({
    triggerMode: triggerModeSchema,
    /** Who may trigger the agent here; empty means everyone. Sorted, without repeats. */
    allowedSenders: z.array(slackUserIdSchema).max(1000),
    /** The admin group may run the runtime's administrative commands. */
    isAdmin: z.boolean(),
  })
  .strict();

/**
 * v2 adds `rolesAddressingUsers`: the sub-agent roles that may address people here (mention
 * them, or the channel). Only the main agent may otherwise; every v1 group allowed none.
 */
export const groupConfigured = defineEvent('group.configured', 1, configuredV1).evolve(
  2,
  configuredV1.extend({ rolesAddressingUsers: z.array(roleNameSchema).max(50) }).strict(),
  (v1) => ({ ...v1, rolesAddressingUsers: [] }),
);

const messageReceivedV1 = z
  .object({
    messageId: slackTsSchema,
    sender: slackUserIdSchema,
    /** Empty for a message that carries only files. */
    text: z.string().max(40_000),
    /** The thread the message was posted in; null for a top-level message. */
    threadTs: slackTsSchema.nullable(),
    mentionsBot: z.boolean(),
    /** Why the message asks for a turn, decided with the settings of the moment; null when it asks for none. */
    trigger: messageTriggerSchema.nullable(),
  })
  .strict();

/**
 * v2 adds `senderName`: how the sender was shown when the message came (their Slack display
 * name), so prompts say who spoke; null when it was not known, as for every v1 message.
 */
export const groupMessageReceived = defineEvent('group.message_received', 1, messageReceivedV1).evolve(
  2,
  messageReceivedV1.extend({ senderName: z.string().min(1).max(200).nullable() }).strict(),
  (v1) => ({ ...v1, senderName: null }),
);

export const groupMessageIgnored = defineEvent(
  'group.message_ignored',
  1,
  z
    .object({
      messageId: slackTsSchema,
      sender: slackUserIdSchema,
      /** Its text is deliberately not kept: the sender was not allowed to address the assistant. */
      reason: z.enum(['sender_not_allowed']),
    })
    .strict(),
);

const turnRequestedV1 = z
  .object({
    runId: runIdSchema,
    trigger: turnTriggerSchema,
    /** The messages this turn answers, oldest first. */
    messageIds: z.array(slackTsSchema).min(1),
  })
  .strict();

/**
 * v2 adds `retryOf`: the run a restart interrupted, when this turn asks for it once more
 * (null otherwise, as every v1 turn was).
 */
export const groupTurnRequested = defineEvent('group.turn_requested', 1, turnRequestedV1).evolve(
  2,
  turnRequestedV1.extend({ retryOf: runIdSchema.nullable() }).strict(),
  (v1) => ({ ...v1, retryOf: null }),
);

export const groupRunStarted = defineEvent('group.run_started', 1, z.object({ runId: runIdSchema }).strict());

export const groupRunFinished = defineEvent(
  'group.run_finished',
  1,
  z.object({ runId: runIdSchema, outcome: runOutcomeSchema }).strict(),
);

export const groupCursorAdvanced = defineEvent(
  'group.cursor_advanced',
  1,
  /** The newest message the agent has seen; it only moves forward. */
  z.object({ cursor: slackTsSchema }).strict(),
);

/** A person edited a message the group recorded; later prompts show the new text. */
export const groupMessageEdited = defineEvent(
  'group.message_edited',
  1,
  z
    .object({
      messageId: slackTsSchema,
      text: z.string().max(40_000),
      /** Slack's timestamp of the edit: two edits of one message are two events. */
      editedTs: slackTsSchema,
    })
    .strict(),
);

/** A message was deleted in Slack; later prompts leave it out. */
export const groupMessageDeleted = defineEvent('group.message_deleted', 1, z.object({ messageId: slackTsSchema }).strict());

/** Slack's limit on one message's text; longer replies are split into parts by the channel. */
export const MAX_REPLY_CHARS = 40_000;

/**
 * The group owes the conversation a reply: a run's answer, or a note that it could not
 * give one. Until `group.reply_posted`, the reply is owed state, so a restart posts it.
 */
export const groupReplyRequested = defineEvent(
  'group.reply_requested',
  1,
  z
    .object({
      /** Keys the post in the channel, so a post repeated after a crash is recognised. */
      replyId: runIdSchema,
      runId: runIdSchema,
      text: z.string().min(1).max(MAX_REPLY_CHARS),
      /** The thread to answer in; null for a top-level reply (a DM, the local chat). */
      threadTs: slackTsSchema.nullable(),
      /** The messages the reply answers (their "working on it" marks come off). */
      messageIds: z.array(slackTsSchema).max(1000),
    })
    .strict(),
);

export const groupReplyPosted = defineEvent(
  'group.reply_posted',
  1,
  z
    .object({
      replyId: runIdSchema,
      /** Where each part landed (Slack message timestamps, or a console reference). */
      refs: z.array(z.string().min(1).max(200)).min(1).max(100),
    })
    .strict(),
);

export const groupEvents = [
  groupConfigured,
  groupMessageReceived,
  groupMessageIgnored,
  groupTurnRequested,
  groupRunStarted,
  groupRunFinished,
  groupCursorAdvanced,
  groupMessageEdited,
  groupMessageDeleted,
  groupReplyRequested,
  groupReplyPosted,
];
