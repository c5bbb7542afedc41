/**
 * The one seam between a channel and the group actors. A channel (Slack, the console)
 * says what arrived in neutral terms (nanobot's `InboundMessage`: which channel, which
 * conversation, who, what, when); this module alone turns that into the group actor's
 * commands and the options that key them. So a new channel decides only where a message
 * goes, never how a group is told.
 *
 * Keys: every command is keyed `<channel>:<conversation>:…` by the channel's own message
 * id (Slack's `ts`), so a redelivery, or a second event for the same message, is the same
 * command and is applied once.
 */
import type { GroupCommand } from '../../actors/group.js';
import type { SendOptions } from '../actor-host/effects.js';

/** How a group behaves: the group actor's `configure` fields. */
export interface GroupSettingsInput {
  readonly triggerMode: 'mention' | 'all' | 'dm';
  readonly allowedSenders: readonly string[];
  readonly isAdmin: boolean;
  readonly rolesAddressingUsers?: readonly string[];
}

/** Fields every inbound item carries. */
interface InboundBase {
  /** The channel it came in on (`slack`, `console`): the prefix of its command keys. */
  readonly channel: string;
  /** The group that records it (a channel, DM, thread or local chat). */
  readonly conversationId: string;
  /** The channel's id of the message, a Slack-style timestamp (`1712345678.000100`). */
  readonly messageId: string;
}

/** Someone said something. */
export interface InboundMessage extends InboundBase {
  readonly kind: 'message';
  readonly sender: string;
  /** How the sender is shown, when the channel knows it. */
  readonly senderName?: string;
  /** Another bot or app: recorded, never a trigger. */
  readonly senderIsBot?: boolean;
  readonly content: string;
  readonly mentionsBot: boolean;
  /** The thread's root, for a reply in a thread. */
  readonly threadTs?: string;
  /** Read from the thread's history for context: never a trigger. */
  readonly fromHistory?: boolean;
}

/** A message recorded earlier now says something else. */
export interface InboundEdit extends InboundBase {
  readonly kind: 'edit';
  readonly content: string;
  /** When it was edited (a Slack-style timestamp); one edit is one command. */
  readonly editedTs: string;
}

/** A message recorded earlier was deleted. */
export interface InboundDeletion extends InboundBase {
  readonly kind: 'delete';
}

export type InboundItem = InboundMessage | InboundEdit | InboundDeletion;

/** A command for one group, with the options that key it: `host.send('group', groupId, command, options)`. */
export interface GroupDelivery {
  readonly groupId: string;
  readonly command: GroupCommand;
  readonly options: SendOptions;
}

/** The group command that records `item`, keyed by the channel's message id. */
export function groupDeliveryFor(item: InboundItem): GroupDelivery {
  const prefix = `${item.channel}:${item.conversationId}`;
  switch (item.kind) {
    case 'message':
      return {
        groupId: item.conversationId,
        command: {
          type: 'receiveMessage',
          messageId: item.messageId,
          sender: item.sender,
          ...(item.senderName === undefined ? {} : { senderName: item.senderName }),
          text: item.content,
          mentionsBot: item.mentionsBot,
          ...(item.threadTs === undefined ? {} : { threadTs: item.threadTs }),
          ...(item.senderIsBot === true ? { senderIsBot: true } : {}),
          ...(item.fromHistory === true ? { fromHistory: true } : {}),
        },
        options: { commandId: `${prefix}:${item.messageId}`, actor: `user:${item.sender}` },
      };
    case 'edit':
      return {
        groupId: item.conversationId,
        command: { type: 'editMessage', messageId: item.messageId, text: item.content, editedTs: item.editedTs },
        options: { commandId: `${prefix}:edit:${item.messageId}:${item.editedTs}`, actor: item.channel },
      };
    case 'delete':
      return {
        groupId: item.conversationId,
        command: { type: 'deleteMessage', messageId: item.messageId },
        options: { commandId: `${prefix}:delete:${item.messageId}`, actor: item.channel },
      };
  }
}

/** The command that gives a group these settings, sent on the runtime's account. */
export function configureDelivery(groupId: string, settings: GroupSettingsInput): GroupDelivery {
  return {
    groupId,
    command: {
      type: 'configure',
      triggerMode: settings.triggerMode,
      allowedSenders: [...settings.allowedSenders],
      isAdmin: settings.isAdmin,
      ...(settings.rolesAddressingUsers === undefined ? {} : { rolesAddressingUsers: [...settings.rolesAddressingUsers] }),
    },
    options: { actor: 'runtime' },
  };
}
