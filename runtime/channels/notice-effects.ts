/**
 * The executors of the effects that tell people something: `approval.notifyApprovers`,
 * `approval.reportDecision` and `memory.notifyConflict`. Each reads what it says from the
 * actor's current state and posts a {@link Notice} through the conversation channel.
 *
 * Exactly once: each notice is keyed by what it is about (the approval and the approver,
 * the approval's decision, the conflict), and posted with `mayHavePosted`, so the channel
 * looks for an earlier post under that key (Slack: message metadata, as replies) before it
 * posts. These notices are rare, so the look costs little, and it holds however the effect
 * comes to run again: resumed after a restart, or repeated for the same causing event.
 */
import { createHash } from 'node:crypto';
import type { MemoryFact } from '../../actors/memory.js';
import type { EffectContext, EffectExecutorsFor } from '../actor-host/effects.js';
import type { ConversationChannel } from './conversation-channel.js';
import type { NoticeRecipient } from './notice.js';
import { approvalRequestText, conflictNoticeText, decisionReportText } from './notice-text.js';

const LOOK_FIRST = { mayHavePosted: true } as const;

export type NoticeEffect = 'approval.notifyApprovers' | 'approval.reportDecision' | 'memory.notifyConflict';

export function noticeEffects(channel: () => ConversationChannel): EffectExecutorsFor<NoticeEffect> {
  return {
    'approval.notifyApprovers': async (params, context) => {
      const { approvalId } = params;
      const approval = await context.load('approval', approvalId);
      const { request, votes } = approval.context;
      // Decided since (a resumed effect): nobody is asked to vote on it any more.
      if (approval.state !== 'pending' || request === null) return;
      const failures: unknown[] = [];
      for (const approver of request.approvers) {
        // The requester cannot vote on their own request; who has voted is not asked again.
        if (approver === request.requester || votes.some((vote) => vote.approver === approver)) continue;
        try {
          await channel().postNotice(
            {
              to: { kind: 'person', userId: approver },
              key: `approval-request:${approvalId}:${approver}`,
              text: approvalRequestText(approvalId, request),
              vote: { approvalId, argumentsHash: request.action.argumentsHash },
            },
            LOOK_FIRST,
          );
        } catch (error) {
          // One approver Slack cannot reach does not keep the others from being asked.
          failures.push(error);
        }
      }
      if (failures.length > 0) throw new AggregateError(failures, `${failures.length} of the approvers of ${approvalId} could not be asked`);
    },

    'approval.reportDecision': async (params, context) => {
      const { approvalId, decision } = params;
      const { request, votes, decisionReported } = (await context.load('approval', approvalId)).context;
      if (decisionReported) return;
      if (request === null) throw new Error(`approval ${approvalId} reports a decision but holds no request`);
      const { refs } = await channel().postNotice(
        {
          to: await requesterRecipient(request.requester, context),
          key: `approval-decision:${approvalId}`,
          text: decisionReportText(approvalId, request, decision, votes),
        },
        LOOK_FIRST,
      );
      // Settles the owed report; a repeat is refused by the actor and changes nothing.
      await context.send('approval', approvalId, { type: 'decisionReported', refs }, { commandId: `${approvalId}:decision-reported` });
    },

    'memory.notifyConflict': async (params, context) => {
      const { scope, key, factIds } = params;
      const memory = (await context.load('memory', scope)).context;
      const told = memory.notified.find((notice) => notice.key === key)?.factIds ?? [];
      if (factIds.every((id) => told.includes(id))) return;
      const facts = factIds.map((id) => memory.facts.find((fact) => fact.id === id)).filter((fact): fact is MemoryFact => fact !== undefined);
      const noticeKey = conflictNoticeKey(scope, key, factIds);
      const { refs } = await channel().postNotice(
        {
          to: scopeOwner(scope),
          key: noticeKey,
          text: conflictNoticeText(scope, key, facts),
          // The facts as the notice shows them, so a click is bound to this very conflict.
          conflict: { scope, key, facts: facts.map((fact) => ({ id: fact.id, statement: fact.statement })) },
        },
        LOOK_FIRST,
      );
      // Settles the owed notice; a repeat, or a conflict resolved meanwhile, is refused and changes nothing.
      await context.send('memory', scope, { type: 'conflictNotified', key, factIds: [...factIds], refs }, { commandId: `${noticeKey}:notified` });
    },
  };
}

/** One conflict, one notice: the key hashes what names it (fact ids are up to 128 characters each). */
export function conflictNoticeKey(scope: string, key: string, factIds: readonly string[]): string {
  const digest = createHash('sha256').update(JSON.stringify([scope, key, [...factIds].sort()])).digest('hex');
  return `memory-conflict:${digest.slice(0, 32)}`;
}

/** `group.<group id>` is told in the group's conversation; `user.<user id>`, that person directly. */
export function scopeOwner(scope: string): NoticeRecipient {
  if (scope.startsWith('group.')) return { kind: 'group', groupId: scope.slice('group.'.length) };
  if (scope.startsWith('user.')) return { kind: 'person', userId: scope.slice('user.'.length) };
  throw new Error(`memory scope '${scope}' is neither group.<id> nor user.<id>; nobody to tell about its conflict`);
}

/**
 * Where the requester hears the decision: an agent run (`agent:<run id>` or
 * `agent:run-<run id>`) in the conversation it answers (its thread); a person, directly.
 */
async function requesterRecipient(requester: string, context: EffectContext): Promise<NoticeRecipient> {
  if (!requester.startsWith('agent:')) return { kind: 'person', userId: requester };
  const principal = requester.slice('agent:'.length);
  const runIds = principal.startsWith('run-') ? [principal, principal.slice('run-'.length)] : [principal];
  for (const runId of runIds) {
    const run = (await context.load('run', runId)).context;
    if (run.request !== null) return { kind: 'group', groupId: run.request.conversationId };
  }
  throw new Error(`the requester ${requester} names no run that was queued; nobody to tell the decision`);
}
