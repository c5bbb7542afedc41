/**
 * The console channel (`ledgerclaw chat`) prints notices: an approver's request and a
 * decision as lines, once per notice however often the effect runs in the session.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChatSession } from '../../../runtime/channels/console/chat-session.js';

function session() {
  let printed = '';
  const chat = new ChatSession({ groupId: 'local.chat', sender: 'me', input: new PassThrough(), output: { write: (text: string) => void (printed += text) } });
  return { channel: chat.channel, printed: () => printed };
}

describe('the console channel', () => {
  it("prints an approver's request as a line naming the approver, and a repeat of it not at all", async () => {
    const { channel, printed } = session();
    const notice = { to: { kind: 'person', userId: 'U0ALICE' }, key: 'approval-request:ap-1:U0ALICE', text: '**Approval needed** (ap-1)', vote: { approvalId: 'ap-1', argumentsHash: 'a'.repeat(64) } } as const;
    expect(channel.reachesPerson('U0ALICE')).toBe(true);
    expect(await channel.postNotice(notice)).toEqual({ refs: ['console:approval-request:ap-1:U0ALICE'] });
    await channel.postNotice(notice, { mayHavePosted: true });
    expect(printed()).toBe('\nfor U0ALICE: **Approval needed** (ap-1)\n');
  });

  it("prints a group's notice without naming anyone", async () => {
    const { channel, printed } = session();
    await channel.postNotice({ to: { kind: 'group', groupId: 'local.chat' }, key: 'approval-decision:ap-1', text: '**Approved** (ap-1) by U0ALICE' });
    expect(printed()).toBe('\n**Approved** (ap-1) by U0ALICE\n');
  });
});
