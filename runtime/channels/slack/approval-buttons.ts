/**
 * Approve and Deny buttons for an approval actor: a click is the clicking person's vote
 * (`vote` as `user:<id>`). The approval actor's rules decide: only a listed approver's vote
 * counts, once, for the exact action asked about, before it expires; any other vote is
 * recorded as refused (`approval.vote_refused`) and the person who clicked is told why.
 *
 * A click is keyed by the approval, the voter and Slack's `action_ts`, so a replayed payload
 * (the same click delivered again, or sent again by someone who captured it) is the same
 * command: stored once, and ignored when it comes again. A second click by the same person
 * is a new command, refused as a second vote.
 */
import { createHash } from 'node:crypto';
import type { ActionsBlock } from '@slack/types';
import { z } from 'zod';
import { argumentsHashSchema } from '../../../events/catalogue/approval.js';
import type { ActorHost } from '../../actor-host/actor-host.js';
import { buttonsBlock, defineInteraction, type InteractionCall, type InteractionHandler } from './interactions.js';

const approvalButtonValue = z.strictObject({ approvalId: z.string().min(1).max(200), argumentsHash: argumentsHashSchema });
export type ApprovalButtonValue = z.infer<typeof approvalButtonValue>;

/** What a button needs to be drawn; the click's handling is {@link approvalButtons}. */
const approvalInteraction = { name: 'approval', actions: ['approve', 'deny'], value: approvalButtonValue } as const;

/** The Approve and Deny buttons for one approval's exact action, as sent to each approver. */
export function approvalButtonsBlock(value: ApprovalButtonValue): ActionsBlock {
  return buttonsBlock(approvalInteraction, value, [
    { action: 'approve', text: 'Approve', style: 'primary' },
    { action: 'deny', text: 'Deny', style: 'danger' },
  ]);
}

/** The most a command id may hold (it is also the events' correlation id). */
const MAX_COMMAND_ID = 200;

/**
 * One click, one command: the approval, the voter and the click's `action_ts`. Without an
 * `action_ts` (Slack always sends one), the voter's clicks on the approval are one command.
 */
export function voteCommandId(call: Pick<InteractionCall<ApprovalButtonValue>, 'value' | 'userId' | 'actionTs'>): string {
  const id = ['slack-vote', call.value.approvalId, call.userId, ...(call.actionTs === null ? [] : [call.actionTs])].join(':');
  return id.length <= MAX_COMMAND_ID ? id : `slack-vote:${createHash('sha256').update(id).digest('hex')}`;
}

export function approvalButtons(actors: Pick<ActorHost, 'send'>): InteractionHandler<ApprovalButtonValue> {
  return defineInteraction({
    ...approvalInteraction,
    async handle(call) {
      const decision = call.action === 'approve' ? 'approve' : 'deny';
      const result = await actors.send(
        'approval',
        call.value.approvalId,
        { type: 'vote', approver: call.userId, decision, argumentsHash: call.value.argumentsHash },
        { actor: `user:${call.userId}`, commandId: voteCommandId(call) },
      );
      if (result.status === 'rejected') return { status: 'refused', reason: result.reason };
      // A replay of a click already handled: its vote (or its refusal) is recorded once, and answered once.
      if (result.duplicate) return { status: 'ignored' };
      const refused = result.events.find((event) => event.type === 'approval.vote_refused');
      if (refused) return { status: 'refused', reason: (refused.data as { reason: string }).reason };
      const decided = result.events.find((event) => event.type === 'approval.granted' || event.type === 'approval.denied');
      const verdict = decision === 'approve' ? 'approved' : 'denied';
      if (decided?.type === 'approval.granted') return { status: 'done', text: `:white_check_mark: Approved: <@${call.userId}>'s vote decided it.` };
      if (decided?.type === 'approval.denied') return { status: 'done', text: `:no_entry: Denied by <@${call.userId}>.` };
      return { status: 'done', text: `<@${call.userId}> ${verdict}; waiting for more approvals.` };
    },
  });
}
