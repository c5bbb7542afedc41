/**
 * Approve and Deny buttons for an approval actor: a click is the clicking person's vote
 * (`vote` as `user:<id>`, keyed by the approval and the voter, so a double click is one
 * vote). The approval actor's rules decide: only a listed approver's vote counts, for the
 * exact action asked about, before it expires.
 */
import type { ActionsBlock } from '@slack/types';
import { z } from 'zod';
import { argumentsHashSchema } from '../../../events/catalogue/approval.js';
import type { ActorHost } from '../../actor-host/actor-host.js';
import { buttonsBlock, defineInteraction, type InteractionHandler } from './interactions.js';

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

export function approvalButtons(actors: Pick<ActorHost, 'send'>): InteractionHandler<ApprovalButtonValue> {
  return defineInteraction({
    ...approvalInteraction,
    async handle(call) {
      const decision = call.action === 'approve' ? 'approve' : 'deny';
      const result = await actors.send(
        'approval',
        call.value.approvalId,
        { type: 'vote', approver: call.userId, decision, argumentsHash: call.value.argumentsHash },
        { actor: `user:${call.userId}`, commandId: `slack-vote:${call.value.approvalId}:${call.userId}` },
      );
      if (result.status === 'rejected') return { status: 'refused', reason: result.reason };
      const decided = result.events.find((event) => event.type === 'approval.granted' || event.type === 'approval.denied');
      const verdict = decision === 'approve' ? 'approved' : 'denied';
      if (decided?.type === 'approval.granted') return { status: 'done', text: `:white_check_mark: Approved: <@${call.userId}>'s vote decided it.` };
      if (decided?.type === 'approval.denied') return { status: 'done', text: `:no_entry: Denied by <@${call.userId}>.` };
      return { status: 'done', text: `<@${call.userId}> ${verdict}; waiting for more approvals.` };
    },
  });
}
