/**
 * The approval buttons' handler: a click is keyed by its action_ts (a replay is the same
 * command, and is ignored when the host says it was applied before), and a vote the actor
 * records as refused is answered with the refusal's reason.
 */
import { describe, expect, it } from 'vitest';
import type { SendResult } from '../../../runtime/actor-host/actor-host.js';
import { approvalButtons, voteCommandId } from '../../../runtime/channels/slack/approval-buttons.js';
import type { InteractionCall } from '../../../runtime/channels/slack/interactions.js';

const HASH = 'a'.repeat(64);
const value = { approvalId: 'ap-1', argumentsHash: HASH };
const call = (actionTs: string | null): InteractionCall<typeof value> => ({ action: 'approve', value, userId: 'U0ALICE', teamId: 'T1', channel: 'D1', messageTs: '1.1', actionTs });

function accepted(events: { type: string; data: unknown }[], duplicate = false): SendResult {
  // The handler reads only the events' type and data; the rest of a stored event does not matter here.
  return { status: 'accepted', events: events as never, revision: 1n, state: 'pending', duplicate };
}

describe('approval button clicks', () => {
  it("are keyed by the approval, the voter and the click's action_ts, within the 200 characters a command id may hold", () => {
    expect(voteCommandId(call('1712345678.123456'))).toBe('slack-vote:ap-1:U0ALICE:1712345678.123456');
    expect(voteCommandId(call('1712345678.123456'))).not.toBe(voteCommandId(call('1712345679.000001')));
    expect(voteCommandId(call(null))).toBe('slack-vote:ap-1:U0ALICE');
    const long = voteCommandId({ ...call('1712345678.123456'), value: { ...value, approvalId: 'a'.repeat(200) } });
    expect(long).toMatch(/^slack-vote:[0-9a-f]{64}$/);
  });

  it('send the vote as the person who clicked, under that key', async () => {
    const sent: unknown[] = [];
    const handler = approvalButtons({ send: async (...args) => (sent.push(args), accepted([{ type: 'approval.vote_cast', data: {} }])) });
    expect(await handler.handle(call('1712345678.123456'))).toEqual({ status: 'done', text: '<@U0ALICE> approved; waiting for more approvals.' });
    expect(sent).toEqual([
      ['approval', 'ap-1', { type: 'vote', approver: 'U0ALICE', decision: 'approve', argumentsHash: HASH }, { actor: 'user:U0ALICE', commandId: 'slack-vote:ap-1:U0ALICE:1712345678.123456' }],
    ]);
  });

  it('ignore a replay (the host applied that command before), answering nothing', async () => {
    const handler = approvalButtons({ send: async () => accepted([{ type: 'approval.vote_cast', data: {} }], true) });
    expect(await handler.handle(call('1712345678.123456'))).toEqual({ status: 'ignored' });
  });

  it("answer a vote recorded as refused with the refusal's reason", async () => {
    const handler = approvalButtons({ send: async () => accepted([{ type: 'approval.vote_refused', data: { reason: 'U0ALICE has already voted; each approver votes once' } }]) });
    expect(await handler.handle(call('1712345678.123456'))).toEqual({ status: 'refused', reason: 'U0ALICE has already voted; each approver votes once' });
  });
});
