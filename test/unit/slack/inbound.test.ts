/**
 * Where a Slack message goes: the group that records it, as which command, and what is
 * dropped (the bot's own posts, joins, unfurl-only edits).
 */
import { describe, expect, it } from 'vitest';
import { inboundFromAppMention, inboundFromMessageEvent, type GroupSettingsInput, type InboundContext } from '../../../runtime/channels/slack/inbound.js';
import type { MessageEvent } from '../../../runtime/channels/slack/payloads.js';
import { parseSlackGroupId, slackGroupId } from '../../../runtime/channels/slack/slack-ids.js';

const MENTION: GroupSettingsInput = { triggerMode: 'mention', allowedSenders: [], isAdmin: false, rolesAddressingUsers: [] };
const settings: Record<string, GroupSettingsInput> = {
  C0ALL: { ...MENTION, triggerMode: 'all' },
  C0LOCKED: { ...MENTION, allowedSenders: ['U0BOSS'] },
  D0DM: { ...MENTION, triggerMode: 'dm' },
};
const context: InboundContext = { team: 'T1', bot: { userId: 'U0BOT', botId: 'B0BOT' }, settingsFor: (channel) => settings[channel] ?? MENTION };
const TS = '1712345678.000100';
const ROOT = '1712345600.000100';

function message(overrides: Partial<MessageEvent> = {}): MessageEvent {
  return { type: 'message', channel: 'C1', ts: TS, user: 'U1', text: 'hello', channel_type: 'channel', ...overrides };
}

describe('new messages', () => {
  it('records channel talk on the channel group, without asking for a turn', () => {
    expect(inboundFromMessageEvent(message(), context)).toMatchObject({
      kind: 'message',
      groupId: 'T1.C1',
      threadRoot: null,
      message: { kind: 'message', channel: 'slack', conversationId: 'T1.C1', messageId: TS, sender: 'U1', content: 'hello', mentionsBot: false },
    });
  });

  it('opens the thread of a top-level mention, where the answer and the follow-ups live', () => {
    const inbound = inboundFromMessageEvent(message({ text: 'hi <@U0BOT>' }), context);
    expect(inbound).toMatchObject({ kind: 'message', groupId: `T1.C1.${TS}`, message: { conversationId: `T1.C1.${TS}`, mentionsBot: true } });
    expect(inboundFromAppMention({ type: 'app_mention', channel: 'C1', ts: TS, user: 'U1', text: 'hi <@U0BOT|ledgerclaw>' }, context)).toMatchObject({ groupId: `T1.C1.${TS}` });
  });

  it('opens a thread for every top-level message in an all channel, but not for a sender outside the allow-list', () => {
    expect(inboundFromMessageEvent(message({ channel: 'C0ALL' }), context)).toMatchObject({ groupId: `T1.C0ALL.${TS}` });
    expect(inboundFromMessageEvent(message({ channel: 'C0LOCKED', text: '<@U0BOT> hi' }), context)).toMatchObject({ groupId: 'T1.C0LOCKED' });
    expect(inboundFromMessageEvent(message({ channel: 'C0LOCKED', user: 'U0BOSS', text: '<@U0BOT> hi' }), context)).toMatchObject({ groupId: `T1.C0LOCKED.${TS}` });
  });

  it("sends a reply to its thread's group, remembering the root to read what came before", () => {
    expect(inboundFromMessageEvent(message({ thread_ts: ROOT }), context)).toMatchObject({
      kind: 'message',
      groupId: `T1.C1.${ROOT}`,
      threadRoot: ROOT,
      message: { threadTs: ROOT },
    });
  });

  it('says whether a message asks for a turn by itself, so a thread is read from Slack only then', () => {
    expect(inboundFromMessageEvent(message({ thread_ts: ROOT }), context)).toMatchObject({ asksForTurn: false });
    expect(inboundFromMessageEvent(message({ thread_ts: ROOT, text: '<@U0BOT> ?' }), context)).toMatchObject({ asksForTurn: true });
    expect(inboundFromMessageEvent(message({ channel: 'C0LOCKED', thread_ts: ROOT, text: '<@U0BOT> ?' }), context)).toMatchObject({ asksForTurn: false });
    expect(inboundFromMessageEvent(message({ channel: 'D0DM', channel_type: 'im', thread_ts: ROOT }), context)).toMatchObject({ asksForTurn: true });
  });

  it('answers a DM in the DM, and a thread in a DM in its thread', () => {
    expect(inboundFromMessageEvent(message({ channel: 'D0DM', channel_type: 'im' }), context)).toMatchObject({ groupId: 'T1.D0DM', settings: { triggerMode: 'dm' } });
    expect(inboundFromMessageEvent(message({ channel: 'D0DM', channel_type: 'im', thread_ts: ROOT }), context)).toMatchObject({ groupId: `T1.D0DM.${ROOT}` });
  });

  it("drops the bot's own messages, by user or by bot id (a post under a role's name has no user)", () => {
    expect(inboundFromMessageEvent(message({ user: 'U0BOT' }), context)).toEqual({ kind: 'ignore', reason: "the bot's own message" });
    expect(inboundFromMessageEvent(message({ user: undefined, bot_id: 'B0BOT', subtype: 'bot_message' }), context)).toMatchObject({ kind: 'ignore' });
  });

  it("records another bot's message as one that never triggers, even mentioning the bot", () => {
    expect(inboundFromMessageEvent(message({ user: undefined, bot_id: 'B0OTHER', subtype: 'bot_message', text: '<@U0BOT> ping' }), context)).toMatchObject({
      kind: 'message',
      groupId: 'T1.C1',
      message: { sender: 'B0OTHER', senderIsBot: true },
    });
  });

  it('drops joins, topic changes and the like', () => {
    expect(inboundFromMessageEvent(message({ subtype: 'channel_join' }), context)).toEqual({ kind: 'ignore', reason: 'a channel_join event, not a message' });
  });
});

describe('edits and deletions', () => {
  it('sends an edit where the message may be: its thread if it opened one, else the channel', () => {
    const edited = message({ subtype: 'message_changed', ts: '1712345700.000100', message: { ts: TS, user: 'U1', text: 'hello again', edited: { user: 'U1', ts: '1712345700.000100' } }, previous_message: { ts: TS, user: 'U1', text: 'hello' } });
    expect(inboundFromMessageEvent(edited, context)).toEqual({
      kind: 'edit',
      groupIds: [`T1.C1.${TS}`, 'T1.C1'],
      change: { kind: 'edit', channel: 'slack', messageId: TS, content: 'hello again', editedTs: '1712345700.000100' },
    });
  });

  it('ignores an edit that left the text alone (an unfurl), and edits of its own posts', () => {
    const unfurl = message({ subtype: 'message_changed', message: { ts: TS, user: 'U1', text: 'see https://x.y' }, previous_message: { ts: TS, user: 'U1', text: 'see https://x.y' } });
    expect(inboundFromMessageEvent(unfurl, context)).toMatchObject({ kind: 'ignore' });
    const own = message({ subtype: 'message_changed', message: { ts: TS, user: 'U0BOT', text: 'b' }, previous_message: { ts: TS, user: 'U0BOT', text: 'a' } });
    expect(inboundFromMessageEvent(own, context)).toMatchObject({ kind: 'ignore' });
  });

  it('sends a deletion of a reply to its thread', () => {
    const deleted = message({ subtype: 'message_deleted', deleted_ts: TS, previous_message: { ts: TS, user: 'U1', text: 'oops', thread_ts: ROOT } });
    expect(inboundFromMessageEvent(deleted, context)).toEqual({ kind: 'delete', groupIds: [`T1.C1.${ROOT}`], change: { kind: 'delete', channel: 'slack', messageId: TS } });
  });
});

describe('group ids', () => {
  it('round-trips channels, DMs and threads, and refuses what is not a Slack group', () => {
    for (const conversation of [
      { team: 'T1', channel: 'C1', threadTs: null },
      { team: 'T1', channel: 'D0DM', threadTs: null },
      { team: 'E0GRID', channel: 'G0PRIV', threadTs: TS },
    ]) {
      expect(parseSlackGroupId(slackGroupId(conversation))).toEqual(conversation);
    }
    expect(parseSlackGroupId('local.chat')).toBeNull();
    expect(parseSlackGroupId('T1.C1.not-a-ts')).toBeNull();
  });
});
