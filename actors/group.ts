/**
 * The group actor: one Slack channel, DM or thread, on the stream `group-<team>.<channel>`
 * (a thread: `group-<team>.<channel>.<thread_ts>`); its id is the part after `group-`.
 *
 * It records every message it is handed, decides which ones ask the agent for a turn, and
 * makes sure each of those is answered exactly once:
 *
 * - `unconfigured` until `configure`; a group does not take messages before it knows its
 *   trigger mode and who may address the assistant.
 * - `configured.idle`: no run. A triggering message records `group.message_received` and
 *   `group.turn_requested` together.
 * - `configured.awaitingRun`: a turn was requested and its run has not started yet.
 * - `configured.running`: the run started.
 *   While a turn is requested or running, triggering messages are recorded and queued
 *   (`pendingMessageIds`), never a second run; `runFinished` records the next
 *   `group.turn_requested` for all of them in the same decision.
 *
 * Which messages trigger: in a DM (`dm`) and in an `all` group every message; otherwise a
 * message that mentions the bot, or a follow-up in a thread group the bot has already
 * taken a turn in. A sender outside a non-empty allow-list is recorded as
 * `group.message_ignored` (reason `sender_not_allowed`, text not kept) and triggers nothing.
 *
 * Edits and deletions are recorded (`group.message_edited`, `group.message_deleted`) for
 * later prompts; neither asks for a turn. A message taken from the thread's history (the
 * part of a thread before the bot was brought in) is recorded for context and never triggers,
 * and so is a message from another bot (two bots must not answer each other forever).
 *
 * Replies: when a run finishes with something to say (its answer, or why it could not give
 * one), the group records `group.reply_requested` in the same decision as
 * `group.run_finished`. The reply is owed state until `group.reply_posted`, so the
 * `postReply` effect is resumed after a crash, and the channel recognises a post it made
 * before the crash by the reply id, so the conversation gets exactly one reply.
 *
 * Task results: a scheduled task's answer comes as `deliverTaskResult` (sent by the
 * workflow in runtime/workflows/task-result.ts) and becomes a reply like a turn's, keyed by
 * the task's run id and answering no message. The group remembers the last
 * {@link RECENT_REPLY_WINDOW} reply ids and refuses a result it was given before, so a
 * result delivered again after a crash is owed, and posted, once.
 *
 * Duplicates: the group remembers the ids of the last {@link RECENT_MESSAGE_WINDOW}
 * messages it recorded (received or ignored) and rejects any of them again. A message
 * older (by Slack timestamp) than every remembered one is rejected too, because it can no
 * longer be told apart from a redelivery; Slack redelivers within minutes, far inside the
 * window, so this only guards against answering twice. The window keeps the context, and
 * with it every snapshot and every fold step, bounded however long the group lives.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import {
  groupEvents,
  MAX_REPLY_CHARS,
  roleNameSchema,
  runIdSchema,
  runOutcomeSchema,
  slackTsSchema,
  slackUserIdSchema,
  triggerModeSchema,
  type groupConfigured,
  type groupCursorAdvanced,
  type groupMessageDeleted,
  type groupMessageEdited,
  type groupMessageIgnored,
  type groupMessageReceived,
  type groupReplyPosted,
  type groupReplyRequested,
  type groupRunFinished,
  type groupRunStarted,
  type groupTurnRequested,
} from '../events/catalogue/group.js';
import { defineActorKind, type CommandMeta, type EffectRequest, type FoldedEvent, type RecordParams, type RejectParams } from './actor-kind.js';

/** How many recorded message ids a group remembers to reject redeliveries. */
export const RECENT_MESSAGE_WINDOW = 1000;

/** How many reply ids a group remembers, so a task's result delivered again is refused. */
export const RECENT_REPLY_WINDOW = 100;

export const groupCommands = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('configure'),
      triggerMode: triggerModeSchema,
      /** Empty: everyone may address the assistant here. */
      allowedSenders: z.array(slackUserIdSchema).max(1000),
      isAdmin: z.boolean(),
      /** Sub-agent roles that may address people here; none unless listed. */
      rolesAddressingUsers: z.array(roleNameSchema).max(50).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('receiveMessage'),
      /** The Slack `ts` of the message. */
      messageId: slackTsSchema,
      sender: slackUserIdSchema,
      /** How the sender is shown (their display name), when the channel knows it. */
      senderName: z.string().min(1).max(200).optional(),
      text: z.string().max(40_000),
      threadTs: slackTsSchema.optional(),
      mentionsBot: z.boolean(),
      /** The run id to use if this message starts a turn at once; derived from the message otherwise. */
      runId: runIdSchema.optional(),
      /** Taken from the thread's history for context (posted before the bot was brought in): never a trigger. */
      fromHistory: z.boolean().optional(),
      /** Posted by another bot or app: recorded, never a trigger, so two bots cannot answer each other forever. */
      senderIsBot: z.boolean().optional(),
    })
    .strict(),
  z.object({ type: z.literal('editMessage'), messageId: slackTsSchema, text: z.string().max(40_000), editedTs: slackTsSchema }).strict(),
  z.object({ type: z.literal('deleteMessage'), messageId: slackTsSchema }).strict(),
  z.object({ type: z.literal('runStarted'), runId: runIdSchema }).strict(),
  z
    .object({
      type: z.literal('runFinished'),
      runId: runIdSchema,
      outcome: runOutcomeSchema,
      /** The runtime asks for the turn once more (a restart interrupted the run); a retried turn is not retried again. */
      retry: z.boolean().optional(),
      /** What to say in the conversation: the run's answer, or why there is none. Nothing is posted without it. */
      reply: z.string().min(1).max(MAX_REPLY_CHARS).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('replyPosted'),
      replyId: runIdSchema,
      refs: z.array(z.string().min(1).max(200)).min(1).max(100),
    })
    .strict(),
  z.object({ type: z.literal('markSeen'), cursor: slackTsSchema }).strict(),
  // ---- a scheduled task's answer, posted through the group's reply path (runtime/workflows/task-result.ts)
  z
    .object({
      type: z.literal('deliverTaskResult'),
      taskId: z.string().min(1).max(200),
      /** The task's run: the reply's id, so the post is found again by it after a crash. */
      runId: runIdSchema,
      text: z.string().min(1).max(MAX_REPLY_CHARS),
    })
    .strict(),
  // ---- an approved action's result, posted through the same reply path (runtime/workflows/approval-result.ts)
  z
    .object({
      type: z.literal('deliverApprovalResult'),
      approvalId: z.string().min(1).max(180).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected an approval id of letters, digits, dots, dashes and underscores'),
      /** The run that asked for the approval. */
      runId: runIdSchema,
      text: z.string().min(1).max(MAX_REPLY_CHARS),
    })
    .strict(),
]);

/** The reply id an approved action's result is posted under: one post per approval. */
export const approvalReplyId = (approvalId: string): string => `approval-${approvalId}`;

export type GroupCommand = z.infer<typeof groupCommands>;

type Folded<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;

type GroupStoredEvent =
  | Folded<typeof groupConfigured>
  | Folded<typeof groupMessageReceived>
  | Folded<typeof groupMessageIgnored>
  | Folded<typeof groupTurnRequested>
  | Folded<typeof groupRunStarted>
  | Folded<typeof groupRunFinished>
  | Folded<typeof groupCursorAdvanced>
  | Folded<typeof groupMessageEdited>
  | Folded<typeof groupMessageDeleted>
  | Folded<typeof groupReplyRequested>
  | Folded<typeof groupReplyPosted>;

type GroupMachineEvent = (GroupCommand & { meta: CommandMeta }) | GroupStoredEvent;
type ReceiveMessage = Extract<GroupCommand, { type: 'receiveMessage' }>;

type TriggerMode = z.infer<typeof triggerModeSchema>;
type MessageTrigger = NonNullable<Folded<typeof groupMessageReceived>['data']['trigger']>;
type TurnTrigger = Folded<typeof groupTurnRequested>['data']['trigger'];

export interface GroupSettings {
  readonly triggerMode: TriggerMode;
  readonly allowedSenders: readonly string[];
  readonly isAdmin: boolean;
  /** Sub-agent roles that may address people here. */
  readonly rolesAddressingUsers: readonly string[];
}

/** A reply the group owes its conversation, as `group.reply_requested` recorded it. */
export interface PendingReply {
  readonly replyId: string;
  readonly runId: string;
  readonly text: string;
  readonly threadTs: string | null;
  readonly messageIds: readonly string[];
}

/** The params of the `postReply` effect: the reply and where it goes. */
export interface PostReplyParams extends PendingReply {
  readonly groupId: string;
}

/** The params of the `reconcileRun` effect. */
export interface ReconcileRunParams {
  readonly groupId: string;
  readonly runId: string;
}

export interface GroupRun {
  readonly runId: string;
  readonly trigger: TurnTrigger;
  readonly messageIds: readonly string[];
  /** The interrupted run this one retries; null for a first attempt. */
  readonly retryOf: string | null;
}

export interface GroupContext {
  readonly id: string;
  /** The thread's ts for a thread group (`<team>.<channel>.<thread_ts>`); null for a channel or DM. */
  readonly threadTs: string | null;
  readonly settings: GroupSettings | null;
  /** Ids of the last messages recorded (received or ignored), oldest first; at most RECENT_MESSAGE_WINDOW. */
  readonly recentMessageIds: readonly string[];
  /** The newest message recorded, by timestamp. */
  readonly latestMessageId: string | null;
  /** The newest message the agent has seen. */
  readonly seenCursor: string | null;
  /** The bot has taken a turn here: in a thread group, follow-ups trigger without a mention. */
  readonly engaged: boolean;
  /** Triggering messages no requested turn answers yet, oldest first. */
  readonly pendingMessageIds: readonly string[];
  /** The turn requested or running; null when idle. */
  readonly currentRun: GroupRun | null;
  /** Replies recorded and not yet posted, oldest first (normally none, or one being posted). */
  readonly pendingReplies: readonly PendingReply[];
  /** Ids of the last replies recorded, posted or not, oldest first; at most RECENT_REPLY_WINDOW. */
  readonly recentReplyIds: readonly string[];
}

// ---- pure helpers ------------------------------------------------------------------------

/** Orders two Slack timestamps: negative when `a` is older. */
export function compareSlackTs(a: string, b: string): number {
  const [aSeconds = '', aFraction = ''] = a.split('.');
  const [bSeconds = '', bFraction = ''] = b.split('.');
  const left = aSeconds.padStart(12, '0') + aFraction.padEnd(9, '0');
  const right = bSeconds.padStart(12, '0') + bFraction.padEnd(9, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}

/** `<groupId>-<messageId>` (its stream is `run-<groupId>-<messageId>`), with anything a run id may not hold replaced by `_`. */
export function runIdForMessage(groupId: string, messageId: string): string {
  return `${groupId}-${messageId}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
}

/** The run that retries `runId`: its id with `.retry`, cut to a run id's length. */
export function retryRunIdFor(runId: string): string {
  return `${runId.slice(0, 200 - '.retry'.length)}.retry`;
}

/** `<team>.<channel>.<thread_ts>` → the thread ts (which itself holds a dot); null for a channel id. */
function threadTsOf(groupId: string): string | null {
  const parts = groupId.split('.');
  return parts.length > 2 ? parts.slice(2).join('.') : null;
}

/**
 * The group a thread belongs to (`T1.C1.1712345000.000100` → `T1.C1`); a channel, DM or
 * local group is its own. A thread is its own conversation, but it shares its channel's
 * memory, workspace, tasks, budget and WORK_CONTEXT.md: the business a channel discusses
 * does not start over in every thread.
 */
export function homeGroupId(groupId: string): string {
  const parts = groupId.split('.');
  return parts.length > 2 ? parts.slice(0, 2).join('.') : groupId;
}

function senderAllowed(settings: GroupSettings, sender: string): boolean {
  return settings.allowedSenders.length === 0 || settings.allowedSenders.includes(sender);
}

/** Why this message asks for a turn under the group's settings, or null (recorded only). */
function triggerOf(context: GroupContext, message: ReceiveMessage): MessageTrigger | null {
  const settings = context.settings;
  if (!settings || message.fromHistory === true || message.senderIsBot === true || !senderAllowed(settings, message.sender)) return null;
  if (settings.triggerMode === 'dm') return 'dm';
  if (message.mentionsBot) return 'mention';
  if (settings.triggerMode === 'all') return 'all';
  if (context.threadTs !== null && context.engaged) return 'thread_follow_up';
  return null;
}

function oldestRemembered(context: GroupContext): string | null {
  let oldest: string | null = null;
  for (const id of context.recentMessageIds) if (oldest === null || compareSlackTs(id, oldest) < 0) oldest = id;
  return oldest;
}

function normalizedSenders(senders: readonly string[]): string[] {
  return [...new Set(senders)].sort();
}

interface SettingsInput {
  readonly triggerMode: TriggerMode;
  readonly allowedSenders: readonly string[];
  readonly isAdmin: boolean;
  readonly rolesAddressingUsers?: readonly string[] | undefined;
}

/** Settings as recorded: senders and roles sorted, without repeats. */
function settingsOf(input: SettingsInput): GroupSettings {
  return {
    triggerMode: input.triggerMode,
    allowedSenders: normalizedSenders(input.allowedSenders),
    isAdmin: input.isAdmin,
    rolesAddressingUsers: normalizedSenders(input.rolesAddressingUsers ?? []),
  };
}

function sameSettings(a: GroupSettings, b: SettingsInput): boolean {
  return JSON.stringify(settingsOf(a)) === JSON.stringify(settingsOf(b));
}

function remember(context: GroupContext, messageId: string): Pick<GroupContext, 'recentMessageIds' | 'latestMessageId'> {
  const recent = [...context.recentMessageIds, messageId];
  return {
    recentMessageIds: recent.length > RECENT_MESSAGE_WINDOW ? recent.slice(recent.length - RECENT_MESSAGE_WINDOW) : recent,
    latestMessageId:
      context.latestMessageId === null || compareSlackTs(messageId, context.latestMessageId) > 0 ? messageId : context.latestMessageId,
  };
}

function receivedData(context: GroupContext, message: ReceiveMessage) {
  return {
    messageId: message.messageId,
    sender: message.sender,
    text: message.text,
    threadTs: message.threadTs ?? null,
    mentionsBot: message.mentionsBot,
    trigger: triggerOf(context, message),
    senderName: message.senderName ?? null,
  };
}

// ---- the machine -------------------------------------------------------------------------

const groupSetup = setup({
  types: {} as { context: GroupContext; events: GroupMachineEvent; input: { id: string } },
  guards: {
    isRecordedMessage: ({ context, event }) => event.type === 'receiveMessage' && context.recentMessageIds.includes(event.messageId),
    isOlderThanDuplicateWindow: ({ context, event }) => {
      if (event.type !== 'receiveMessage' || context.recentMessageIds.length < RECENT_MESSAGE_WINDOW) return false;
      const oldest = oldestRemembered(context);
      return oldest !== null && compareSlackTs(event.messageId, oldest) < 0;
    },
    isFromAnotherThread: ({ context, event }) =>
      event.type === 'receiveMessage' && context.threadTs !== null && event.threadTs !== undefined && event.threadTs !== context.threadTs,
    isFromSenderNotAllowed: ({ context, event }) =>
      event.type === 'receiveMessage' && context.settings !== null && !senderAllowed(context.settings, event.sender),
    asksForTurnWhileIdle: ({ context, event }) =>
      event.type === 'receiveMessage' && context.currentRun === null && triggerOf(context, event) !== null,
    changesNoSetting: ({ context, event }) => event.type === 'configure' && context.settings !== null && sameSettings(context.settings, event),
    isCurrentRun: ({ context, event }) =>
      (event.type === 'runStarted' || event.type === 'runFinished') && context.currentRun?.runId === event.runId,
    isCurrentRunToRetry: ({ context, event }) =>
      event.type === 'runFinished' &&
      event.retry === true &&
      event.outcome === 'interrupted' &&
      context.currentRun?.runId === event.runId &&
      context.currentRun.retryOf === null,
    isPendingReply: ({ context, event }) =>
      event.type === 'replyPosted' && context.pendingReplies.some((reply) => reply.replyId === event.replyId),
    isMessageTheGroupHasNotRecorded: ({ context, event }) =>
      event.type === 'markSeen' && (context.latestMessageId === null || compareSlackTs(event.cursor, context.latestMessageId) > 0),
    wouldNotAdvanceCursor: ({ context, event }) =>
      event.type === 'markSeen' && context.seenCursor !== null && compareSlackTs(event.cursor, context.seenCursor) <= 0,
    messageAsksForTurn: ({ event }) => event.type === 'group.message_received' && event.data.trigger !== null,
    isTaskResultRequestedBefore: ({ context, event }) => event.type === 'deliverTaskResult' && context.recentReplyIds.includes(event.runId),
    isApprovalResultRequestedBefore: ({ context, event }) =>
      event.type === 'deliverApprovalResult' && context.recentReplyIds.includes(approvalReplyId(event.approvalId)),
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},

    applySettings: assign({
      settings: ({ context, event }) =>
        event.type === 'group.configured'
          ? {
              triggerMode: event.data.triggerMode,
              allowedSenders: event.data.allowedSenders,
              isAdmin: event.data.isAdmin,
              rolesAddressingUsers: event.data.rolesAddressingUsers,
            }
          : context.settings,
    }),
    rememberMessage: assign(({ context, event }) =>
      event.type === 'group.message_received' || event.type === 'group.message_ignored' ? remember(context, event.data.messageId) : {},
    ),
    queueMessageForTurn: assign({
      pendingMessageIds: ({ context, event }) =>
        event.type === 'group.message_received' ? [...context.pendingMessageIds, event.data.messageId] : context.pendingMessageIds,
    }),
    startTurn: assign(({ context, event }) => {
      if (event.type !== 'group.turn_requested') return {};
      const answered = new Set(event.data.messageIds);
      return {
        currentRun: { runId: event.data.runId, trigger: event.data.trigger, messageIds: event.data.messageIds, retryOf: event.data.retryOf },
        pendingMessageIds: context.pendingMessageIds.filter((id) => !answered.has(id)),
        engaged: true,
      };
    }),
    clearRun: assign({ currentRun: null }),
    oweReply: assign({
      pendingReplies: ({ context, event }) =>
        event.type === 'group.reply_requested' ? [...context.pendingReplies, event.data] : context.pendingReplies,
      recentReplyIds: ({ context, event }) =>
        event.type === 'group.reply_requested' ? [...context.recentReplyIds, event.data.replyId].slice(-RECENT_REPLY_WINDOW) : context.recentReplyIds,
    }),
    settleReply: assign({
      pendingReplies: ({ context, event }) =>
        event.type === 'group.reply_posted' ? context.pendingReplies.filter((reply) => reply.replyId !== event.data.replyId) : context.pendingReplies,
    }),
    advanceCursor: assign({
      seenCursor: ({ context, event }) => (event.type === 'group.cursor_advanced' ? event.data.cursor : context.seenCursor),
    }),

    /**
     * Asks the supervisor for an agent run answering these messages. The executor sends
     * the supervisor a dispatch keyed by `runId`, so asking twice starts one run.
     */
    requestRun: (_, _params: { runId: string; groupId: string; trigger: TurnTrigger; messageIds: readonly string[] }) => {},
    /**
     * Shows the sender the message was taken up (the Slack "working on it" reaction). The
     * executor adds the reaction to `messageId`; adding a reaction that is there is a no-op.
     */
    acknowledgeMessage: (_, _params: { groupId: string; messageId: string }) => {},
    /**
     * Posts an owed reply to the conversation and reports `replyPosted`. The channel keys
     * the post by `replyId` and looks for it before posting, so a repeat posts nothing new.
     */
    postReply: (_, _params: PostReplyParams) => {},
    /**
     * After a restart: the run this group waits for may have ended without its report
     * arriving (a crash between the two). The executor reads the run and, if it ended,
     * reports it here, as the run's own report would have.
     */
    reconcileRun: (_, _params: ReconcileRunParams) => {},
  },
});

const groupDecisions = groupSetup.extend({
  actions: {
    /**
     * `group.run_finished`; the reply, when there is one; and, when messages queued up
     * during the run, the next turn answering all of them.
     */
    recordRunFinished: groupSetup.enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'runFinished' || context.currentRun === null) return;
      enqueue({ type: 'record', params: { type: 'group.run_finished', data: { runId: event.runId, outcome: event.outcome } } });
      if (event.reply !== undefined) {
        enqueue({
          type: 'record',
          params: {
            type: 'group.reply_requested',
            data: { replyId: event.runId, runId: event.runId, text: event.reply, threadTs: context.threadTs, messageIds: context.currentRun.messageIds },
          },
        });
      }
      const [firstQueued] = context.pendingMessageIds;
      if (firstQueued === undefined) return;
      enqueue({
        type: 'record',
        params: {
          type: 'group.turn_requested',
          data: { runId: runIdForMessage(context.id, firstQueued), trigger: 'queued', messageIds: context.pendingMessageIds, retryOf: null },
        },
      });
    }),
  },
});

export const groupMachine = groupDecisions.createMachine({
  id: 'group',
  context: ({ input }) => ({
    id: input.id,
    threadTs: threadTsOf(input.id),
    settings: null,
    recentMessageIds: [],
    latestMessageId: null,
    seenCursor: null,
    engaged: false,
    pendingMessageIds: [],
    currentRun: null,
    pendingReplies: [],
    recentReplyIds: [],
  }),
  initial: 'unconfigured',
  states: {
    unconfigured: {
      on: {
        configure: {
          actions: {
            type: 'record',
            params: ({ event }) => ({
              type: 'group.configured',
              data: settingsOf(event),
            }),
          },
        },
        receiveMessage: {
          actions: {
            type: 'reject',
            params: { reason: 'the group is not configured yet; configure it before it takes messages' },
          },
        },
        runStarted: { actions: { type: 'reject', params: { reason: 'the group is not configured yet; it has requested no run' } } },
        runFinished: { actions: { type: 'reject', params: { reason: 'the group is not configured yet; it has requested no run' } } },
        markSeen: { actions: { type: 'reject', params: { reason: 'the group is not configured yet; it has recorded no message' } } },
        deliverTaskResult: {
          actions: { type: 'reject', params: { reason: 'the group is not configured yet; a task result is posted only in a group the assistant takes part in' } },
        },
        deliverApprovalResult: {
          actions: { type: 'reject', params: { reason: "the group is not configured yet; an approved action's result is posted only in a group the assistant takes part in" } },
        },
        'group.configured': { target: 'configured', actions: 'applySettings' },
      },
    },
    configured: {
      initial: 'idle',
      on: {
        configure: [
          {
            guard: 'changesNoSetting',
            actions: { type: 'reject', params: { reason: 'the group is already configured with exactly these settings' } },
          },
          {
            actions: {
              type: 'record',
              params: ({ event }) => ({
                type: 'group.configured',
                data: settingsOf(event),
              }),
            },
          },
        ],
        receiveMessage: [
          {
            guard: 'isRecordedMessage',
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `message ${event.messageId} is already recorded in this group; a message is answered once` }),
            },
          },
          {
            guard: 'isOlderThanDuplicateWindow',
            actions: {
              type: 'reject',
              params: ({ event }) => ({
                reason: `message ${event.messageId} is older than the last ${RECENT_MESSAGE_WINDOW} messages this group remembers; it cannot be told apart from a redelivery`,
              }),
            },
          },
          {
            guard: 'isFromAnotherThread',
            actions: {
              type: 'reject',
              params: ({ context, event }) => ({
                reason: `message ${event.messageId} belongs to thread ${event.threadTs}, not to this group's thread ${context.threadTs}`,
              }),
            },
          },
          {
            guard: 'isFromSenderNotAllowed',
            actions: {
              type: 'record',
              params: ({ event }) => ({
                type: 'group.message_ignored',
                data: { messageId: event.messageId, sender: event.sender, reason: 'sender_not_allowed' },
              }),
            },
          },
          {
            guard: 'asksForTurnWhileIdle',
            actions: [
              { type: 'record', params: ({ context, event }) => ({ type: 'group.message_received', data: receivedData(context, event) }) },
              {
                type: 'record',
                params: ({ context, event }) => ({
                  type: 'group.turn_requested',
                  data: {
                    runId: event.runId ?? runIdForMessage(context.id, event.messageId),
                    // The guard asksForTurnWhileIdle has checked the trigger is not null.
                    trigger: triggerOf(context, event) ?? 'mention',
                    messageIds: [event.messageId],
                    retryOf: null,
                  },
                }),
              },
            ],
          },
          {
            // Not a trigger, or a trigger while a turn is requested or running: the fold queues it.
            actions: { type: 'record', params: ({ context, event }) => ({ type: 'group.message_received', data: receivedData(context, event) }) },
          },
        ],
        // idle rejects runFinished itself; awaitingRun and running finish their run here.
        runFinished: [
          {
            // Asked once more, with the messages queued meanwhile: they get one answer.
            guard: 'isCurrentRunToRetry',
            actions: [
              { type: 'record', params: ({ event }) => ({ type: 'group.run_finished', data: { runId: event.runId, outcome: event.outcome } }) },
              {
                type: 'record',
                params: ({ context, event }) => ({
                  type: 'group.turn_requested',
                  data: {
                    runId: retryRunIdFor(event.runId),
                    trigger: context.currentRun?.trigger ?? 'queued',
                    messageIds: [...(context.currentRun?.messageIds ?? []), ...context.pendingMessageIds],
                    retryOf: event.runId,
                  },
                }),
              },
            ],
          },
          { guard: 'isCurrentRun', actions: 'recordRunFinished' },
          {
            actions: {
              type: 'reject',
              params: ({ context, event }) => ({ reason: `the group's current run is ${context.currentRun?.runId}, not ${event.runId}` }),
            },
          },
        ],
        editMessage: {
          actions: {
            type: 'record',
            params: ({ event }) => ({ type: 'group.message_edited', data: { messageId: event.messageId, text: event.text, editedTs: event.editedTs } }),
          },
        },
        deleteMessage: {
          actions: { type: 'record', params: ({ event }) => ({ type: 'group.message_deleted', data: { messageId: event.messageId } }) },
        },
        replyPosted: [
          {
            guard: 'isPendingReply',
            actions: { type: 'record', params: ({ event }) => ({ type: 'group.reply_posted', data: { replyId: event.replyId, refs: event.refs } }) },
          },
          {
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `the group owes no reply ${event.replyId}: it was posted already, or never asked for` }),
            },
          },
        ],
        markSeen: [
          {
            guard: 'isMessageTheGroupHasNotRecorded',
            actions: {
              type: 'reject',
              params: ({ context, event }) => ({
                reason:
                  context.latestMessageId === null
                    ? `the group has recorded no message yet; the agent cannot have seen ${event.cursor}`
                    : `the group's newest message is ${context.latestMessageId}; the agent cannot have seen ${event.cursor}`,
              }),
            },
          },
          {
            guard: 'wouldNotAdvanceCursor',
            actions: {
              type: 'reject',
              params: ({ context, event }) => ({
                reason: `the seen cursor is at ${context.seenCursor} already; it never moves back to ${event.cursor}`,
              }),
            },
          },
          { actions: { type: 'record', params: ({ event }) => ({ type: 'group.cursor_advanced', data: { cursor: event.cursor } }) } },
        ],
        // A task's answer is a reply like a turn's: owed until posted, posted once, found again by its id.
        deliverTaskResult: [
          {
            guard: 'isTaskResultRequestedBefore',
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `the result of run ${event.runId} was delivered already; a task's result is posted once` }),
            },
          },
          {
            actions: {
              type: 'record',
              params: ({ context, event }) => ({
                type: 'group.reply_requested',
                data: { replyId: event.runId, runId: event.runId, text: event.text, threadTs: context.threadTs, messageIds: [] },
              }),
            },
          },
        ],
        // An approved action's result too, keyed by the approval: it comes once the action ran, after its run ended.
        deliverApprovalResult: [
          {
            guard: 'isApprovalResultRequestedBefore',
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `the result of approval ${event.approvalId} was delivered already; it is posted once` }),
            },
          },
          {
            actions: {
              type: 'record',
              params: ({ context, event }) => ({
                type: 'group.reply_requested',
                data: { replyId: approvalReplyId(event.approvalId), runId: event.runId, text: event.text, threadTs: context.threadTs, messageIds: [] },
              }),
            },
          },
        ],
        'group.configured': { actions: 'applySettings' },
        'group.message_received': [
          {
            guard: 'messageAsksForTurn',
            actions: [
              'rememberMessage',
              'queueMessageForTurn',
              { type: 'acknowledgeMessage', params: ({ context, event }) => ({ groupId: context.id, messageId: event.data.messageId }) },
            ],
          },
          { actions: 'rememberMessage' },
        ],
        'group.message_ignored': { actions: 'rememberMessage' },
        'group.turn_requested': {
          target: '.awaitingRun',
          actions: [
            'startTurn',
            {
              type: 'requestRun',
              params: ({ context, event }) => ({
                runId: event.data.runId,
                groupId: context.id,
                trigger: event.data.trigger,
                messageIds: event.data.messageIds,
              }),
            },
          ],
        },
        'group.run_finished': { target: '.idle', actions: 'clearRun' },
        'group.reply_requested': {
          actions: ['oweReply', { type: 'postReply', params: ({ context, event }) => ({ groupId: context.id, ...event.data }) }],
        },
        'group.reply_posted': { actions: 'settleReply' },
        // Prompts read edits and deletions from the stream; the actor's decisions do not depend on them.
        'group.message_edited': {},
        'group.message_deleted': {},
        'group.cursor_advanced': { actions: 'advanceCursor' },
      },
      states: {
        idle: {
          on: {
            runStarted: {
              actions: {
                type: 'reject',
                params: ({ event }) => ({ reason: `the group is idle; it requested no run, so run ${event.runId} cannot start for it` }),
              },
            },
            runFinished: {
              actions: {
                type: 'reject',
                params: ({ event }) => ({ reason: `the group is idle; no run is in progress, so run ${event.runId} cannot finish` }),
              },
            },
          },
        },
        awaitingRun: {
          on: {
            runStarted: [
              { guard: 'isCurrentRun', actions: { type: 'record', params: ({ event }) => ({ type: 'group.run_started', data: { runId: event.runId } }) } },
              {
                actions: {
                  type: 'reject',
                  params: ({ context, event }) => ({ reason: `the group is waiting for run ${context.currentRun?.runId}, not ${event.runId}` }),
                },
              },
            ],
            'group.run_started': { target: 'running' },
          },
        },
        running: {
          on: {
            runStarted: {
              actions: {
                type: 'reject',
                params: ({ context, event }) => ({
                  reason:
                    context.currentRun?.runId === event.runId
                      ? `run ${event.runId} has already started`
                      : `run ${context.currentRun?.runId} is running in this group, not ${event.runId}`,
                }),
              },
            },
          },
        },
      },
    },
  },
});

export const groupKind = defineActorKind({
  kind: 'group',
  machine: groupMachine,
  commands: groupCommands,
  events: groupEvents,
  effects: ['requestRun', 'acknowledgeMessage', 'postReply', 'reconcileRun'],
  input: (id: string) => ({ id }),
  // A turn requested whose run has not started may have lost its requestRun to a crash;
  // the supervisor dispatches by run id, so asking again is safe. (A lost "working on it"
  // reaction is cosmetic and is not resumed.)
  //
  // A group waiting for a run, or running one, may have missed the run's report (a crash
  // between the run ending and the group hearing of it): reconcileRun reads the run. And
  // every reply recorded but not posted is posted.
  pendingEffects: (snapshot) => {
    const { context } = snapshot;
    const run = context.currentRun;
    const effects: EffectRequest[] = [];
    if (snapshot.matches({ configured: 'awaitingRun' }) && run) {
      effects.push({ type: 'requestRun', params: { runId: run.runId, groupId: context.id, trigger: run.trigger, messageIds: run.messageIds } });
    }
    if (run) effects.push({ type: 'reconcileRun', params: { groupId: context.id, runId: run.runId } satisfies ReconcileRunParams });
    for (const reply of context.pendingReplies) effects.push({ type: 'postReply', params: { groupId: context.id, ...reply } satisfies PostReplyParams });
    return effects;
  },
});
