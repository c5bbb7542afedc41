/**
 * The one inbound seam: a neutral message, edit or deletion in, the exact group command
 * and the options that key it out. Channels (Slack, the console) go through it and never
 * build a group command themselves.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupCommands } from '../../../actors/group.js';
import { configureDelivery, groupDeliveryFor, type InboundMessage } from '../../../runtime/channels/inbound.js';
import { REPO_ROOT } from '../../support/built-dist.js';

const TS = '1712345678.000100';
const ROOT = '1712345600.000100';
const said: InboundMessage = { kind: 'message', channel: 'slack', conversationId: 'T1.C1', messageId: TS, sender: 'U1', content: 'hello', mentionsBot: false };

describe('the inbound seam', () => {
  it('records a message as receiveMessage keyed by channel, conversation and message id, sent as its sender', () => {
    expect(groupDeliveryFor(said)).toEqual({
      groupId: 'T1.C1',
      command: { type: 'receiveMessage', messageId: TS, sender: 'U1', text: 'hello', mentionsBot: false },
      options: { commandId: `slack:T1.C1:${TS}`, actor: 'user:U1' },
    });
  });

  it('keeps a reply in its thread, with the sender name, another bot, and history marks, and nothing it was not given', () => {
    const delivery = groupDeliveryFor({ ...said, conversationId: `T1.C1.${ROOT}`, threadTs: ROOT, senderName: 'Ada', senderIsBot: true, fromHistory: true });
    expect(delivery.command).toEqual({ type: 'receiveMessage', messageId: TS, sender: 'U1', senderName: 'Ada', text: 'hello', mentionsBot: false, threadTs: ROOT, senderIsBot: true, fromHistory: true });
    expect(delivery.options.commandId).toBe(`slack:T1.C1.${ROOT}:${TS}`);
    expect(groupDeliveryFor({ ...said, senderIsBot: false, fromHistory: false }).command).not.toHaveProperty('senderIsBot');
  });

  it('keys one edit per edit time, and a deletion once, both sent on the channel account', () => {
    expect(groupDeliveryFor({ kind: 'edit', channel: 'slack', conversationId: 'T1.C1', messageId: TS, content: 'hello again', editedTs: ROOT })).toEqual({
      groupId: 'T1.C1',
      command: { type: 'editMessage', messageId: TS, text: 'hello again', editedTs: ROOT },
      options: { commandId: `slack:T1.C1:edit:${TS}:${ROOT}`, actor: 'slack' },
    });
    expect(groupDeliveryFor({ kind: 'delete', channel: 'slack', conversationId: 'T1.C1', messageId: TS })).toEqual({
      groupId: 'T1.C1',
      command: { type: 'deleteMessage', messageId: TS },
      options: { commandId: `slack:T1.C1:delete:${TS}`, actor: 'slack' },
    });
  });

  it('configures a group on the runtime account, naming roles only when the channel gives them', () => {
    expect(configureDelivery('local.chat', { triggerMode: 'dm', allowedSenders: [], isAdmin: false })).toEqual({
      groupId: 'local.chat',
      command: { type: 'configure', triggerMode: 'dm', allowedSenders: [], isAdmin: false },
      options: { actor: 'runtime' },
    });
    expect(configureDelivery('T1.C1', { triggerMode: 'mention', allowedSenders: ['U0BOSS'], isAdmin: true, rolesAddressingUsers: ['Coder'] }).command).toEqual({
      type: 'configure',
      triggerMode: 'mention',
      allowedSenders: ['U0BOSS'],
      isAdmin: true,
      rolesAddressingUsers: ['Coder'],
    });
  });

  it('builds only commands the group actor accepts', () => {
    const deliveries = [
      groupDeliveryFor({ ...said, threadTs: ROOT, senderName: 'Ada', fromHistory: true }),
      groupDeliveryFor({ kind: 'edit', channel: 'console', conversationId: 'local.chat', messageId: TS, content: '', editedTs: ROOT }),
      groupDeliveryFor({ kind: 'delete', channel: 'console', conversationId: 'local.chat', messageId: TS }),
      configureDelivery('T1.C1', { triggerMode: 'all', allowedSenders: [], isAdmin: false, rolesAddressingUsers: [] }),
    ];
    for (const { command } of deliveries) expect(groupCommands.safeParse(command).success).toBe(true);
  });

  it('is the only channel module that builds group commands', () => {
    const channelFolder = join(REPO_ROOT, 'runtime', 'channels');
    const files = readdirSync(channelFolder, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const building = files
      .map((file) => join(channelFolder, file))
      .filter((path) => /groupCommands|type: '(receiveMessage|editMessage|deleteMessage|configure)'/.test(readFileSync(path, 'utf8')))
      .map((path) => relative(REPO_ROOT, path).split(sep).join('/'));
    expect(building).toEqual(['runtime/channels/inbound.ts']);
  });
});
