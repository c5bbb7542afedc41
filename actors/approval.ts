/**
 * The approval actor, on the stream `approval-<id>`: a human sign-off on one exact action.
 *
 * `unrequested` → `request` → `pending` → `granted` | `denied` | `expired` (final: a
 * decided approval never changes). Once decided, the requester is owed a report of it
 * until `approval.decision_reported`, so a restart tells them.
 *
 * Rules:
 * - N of M: the request names M approvers and needs N approvals (1 <= N <= M). The N-th
 *   approval records `approval.granted` with the vote that made it.
 * - Any single deny denies. High-stakes actions need every voice that matters, so one
 *   listed approver saying no outweighs the others saying yes; the requester can ask
 *   again with a new approval.
 * - A vote is for the exact action: its arguments hash must equal the request's, so an
 *   approval of "pay 100" is never spent on "pay 10,000".
 * - The requester never votes on their own request; a vote comes only from a listed
 *   approver, once, and only from that approver themself (`meta.actor` = `user:<approver>`),
 *   so an agent cannot cast a vote in a user's name.
 * - Time is `meta.issuedAt`: a vote at or after `expiresAt` is rejected, and `expire` (sent
 *   by the clock) is accepted only then.
 */
import { createHash } from 'node:crypto';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import {
  approvalActionSchema,
  approvalActionV2Schema,
  approvalEvents,
  approvalOriginSchema,
  appliedPolicySchema,
  approverIdSchema,
  argumentsHashSchema,
  requesterSchema,
  voteDecisionSchema,
  type approvalDecisionReported,
  type approvalDenied,
  type approvalExpired,
  type approvalGranted,
  type approvalRequested,
  type approvalVoteCast,
} from '../events/catalogue/approval.js';
import { defineActorKind, type CommandMeta, type FoldedEvent, type RecordParams, type RejectParams } from './actor-kind.js';

export const approvalCommands = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('request'),
      requester: requesterSchema,
      /** A tool call's action in full (what runs once granted), or a hand-made request's summary. */
      action: z.union([approvalActionV2Schema, approvalActionSchema]),
      approvers: z.array(approverIdSchema).min(1).max(50),
      required: z.number().int().positive(),
      expiresAt: z.iso.datetime(),
      /** The run that asked, for a tool call's action (absent for one made by hand). */
      origin: approvalOriginSchema.nullable().optional(),
      /** The policy that made the call ask. */
      policy: appliedPolicySchema.nullable().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('vote'),
      /** A listed approver: a user id, or `operator` (sent as `operator:<os user>`). */
      approver: approverIdSchema,
      decision: voteDecisionSchema,
      argumentsHash: argumentsHashSchema,
      /** Why, in the voter's words; the requester is told a deny's reason. */
      reason: z.string().min(1).max(500).optional(),
    })
    .strict(),
  /** Sent by the clock once `expiresAt` has passed. */
  z.object({ type: z.literal('expire') }).strict(),
  /** Sent by the reportDecision executor once the requester has been told. */
  z.object({ type: z.literal('decisionReported'), refs: z.array(z.string().min(1).max(200)).min(1).max(100) }).strict(),
]);

export type ApprovalCommand = z.infer<typeof approvalCommands>;

type Folded<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;

type ApprovalStoredEvent =
  | Folded<typeof approvalRequested>
  | Folded<typeof approvalVoteCast>
  | Folded<typeof approvalGranted>
  | Folded<typeof approvalDenied>
  | Folded<typeof approvalExpired>
  | Folded<typeof approvalDecisionReported>;

type ApprovalMachineEvent = (ApprovalCommand & { meta: CommandMeta }) | ApprovalStoredEvent;
type Vote = Extract<ApprovalCommand, { type: 'vote' }> & { meta: CommandMeta };

export type ApprovalRequest = Folded<typeof approvalRequested>['data'];

export interface ApprovalVote {
  readonly approver: string;
  /** Who cast it: `user:<id>` or `operator:<os user>`. */
  readonly by: string;
  readonly reason: string | null;
  readonly decision: z.infer<typeof voteDecisionSchema>;
  readonly castAt: string;
}

export interface ApprovalContext {
  readonly id: string;
  /** Null until requested. */
  readonly request: ApprovalRequest | null;
  /** In the order they were cast. */
  readonly votes: readonly ApprovalVote[];
  /** Whether the requester has been told how it ended (false until it is decided and told). */
  readonly decisionReported: boolean;
}

// ---- pure helpers ------------------------------------------------------------------------

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** ISO instants compared as instants, not as text (`…00Z` and `…00.000Z` are the same time). */
const isAtOrAfter = (instant: string, deadline: string) => Date.parse(instant) >= Date.parse(deadline);

const approvalsOf = (context: ApprovalContext) => context.votes.filter((vote) => vote.decision === 'approve').map((vote) => vote.approver);

function completesApproval(context: ApprovalContext, vote: Vote): boolean {
  return vote.decision === 'approve' && context.request !== null && approvalsOf(context).length + 1 >= context.request.required;
}

function voteCast(vote: Vote) {
  return { approver: vote.approver, decision: vote.decision, argumentsHash: vote.argumentsHash, castAt: vote.meta.issuedAt, by: vote.meta.actor, reason: vote.reason ?? null };
}

/** The principal a vote must come from: the approver themself, or the terminal for `operator`. */
function isFromApprover(approver: string, actor: string): boolean {
  return approver === OPERATOR_APPROVER ? /^operator:[^:\s]{1,64}$/.test(actor) : actor === `user:${approver}`;
}

/** The approver a policy lists to let `ledgerclaw approvals vote` count, from the operator's terminal. */
export const OPERATOR_APPROVER = 'operator';

function outcomeParams(context: ApprovalContext, decision: 'granted' | 'denied' | 'expired') {
  return { approvalId: context.id, requester: context.request?.requester ?? '', decision };
}

// ---- the machine -------------------------------------------------------------------------

/** In every decided state: the report of the decision is recorded once. */
const reportingOnceDecided = {
  decisionReported: [
    { guard: 'isReported', actions: { type: 'reject', params: { reason: 'the decision has been reported already; it is reported once' } } },
    { actions: { type: 'record', params: ({ event }: { event: ApprovalMachineEvent }) => ({ type: 'approval.decision_reported', data: { refs: event.type === 'decisionReported' ? event.refs : [] } }) } },
  ],
  'approval.decision_reported': { actions: 'markReported' },
} as const;

export const approvalMachine = setup({
  types: {} as { context: ApprovalContext; events: ApprovalMachineEvent; input: { id: string } },
  guards: {
    // request
    listsAnApproverTwice: ({ event }) => event.type === 'request' && new Set(event.approvers).size !== event.approvers.length,
    requiresMoreThanListed: ({ event }) => event.type === 'request' && event.required > event.approvers.length,
    requiresMoreThanOthersCanGive: ({ event }) =>
      event.type === 'request' && event.required > event.approvers.filter((approver) => approver !== event.requester).length,
    expiresBeforeRequested: ({ event }) => event.type === 'request' && isAtOrAfter(event.meta.issuedAt, event.expiresAt),
    argumentsDoNotMatchHash: ({ event }) =>
      event.type === 'request' && 'arguments' in event.action && sha256Hex(event.action.arguments) !== event.action.argumentsHash,

    // vote and expire
    isAtOrPastExpiry: ({ context, event }) =>
      (event.type === 'vote' || event.type === 'expire') && context.request !== null && isAtOrAfter(event.meta.issuedAt, context.request.expiresAt),
    isByRequester: ({ context, event }) => event.type === 'vote' && event.approver === context.request?.requester,
    isByNonApprover: ({ context, event }) => event.type === 'vote' && !context.request?.approvers.includes(event.approver),
    isNotSentByApprover: ({ event }) => event.type === 'vote' && !isFromApprover(event.approver, event.meta.actor),
    isSecondVote: ({ context, event }) => event.type === 'vote' && context.votes.some((vote) => vote.approver === event.approver),
    isForDifferentAction: ({ context, event }) => event.type === 'vote' && event.argumentsHash !== context.request?.action.argumentsHash,
    isDeny: ({ event }) => event.type === 'vote' && event.decision === 'deny',
    isReported: ({ context }) => context.decisionReported,
    completesApproval: ({ context, event }) => event.type === 'vote' && completesApproval(context, event),
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},

    markReported: assign({ decisionReported: true }),
    storeRequest: assign({ request: ({ context, event }) => (event.type === 'approval.requested' ? event.data : context.request) }),
    addVote: assign({
      votes: ({ context, event }) =>
        event.type === 'approval.vote_cast'
          ? [...context.votes, { approver: event.data.approver, by: event.data.by, reason: event.data.reason, decision: event.data.decision, castAt: event.data.castAt }]
          : context.votes,
    }),

    /**
     * Asks each approver (a Slack DM with approve/deny buttons carrying the arguments
     * hash) to vote on the action. The executor keys each message on (approvalId, approver)
     * and sends nothing it has sent before.
     */
    notifyApprovers: (_, _params: { approvalId: string; approvers: readonly string[]; summary: string }) => {},
    /**
     * Tells the requester (the waiting run, or the user) how the approval ended. The
     * executor keys the report on approvalId (reporting twice tells them once), then sends
     * `decisionReported`; until then the report is owed (see pendingEffects).
     */
    reportDecision: (_, _params: { approvalId: string; requester: string; decision: 'granted' | 'denied' | 'expired' }) => {},
  },
}).createMachine({
  id: 'approval',
  context: ({ input }) => ({ id: input.id, request: null, votes: [], decisionReported: false }),
  initial: 'unrequested',
  states: {
    unrequested: {
      on: {
        request: [
          {
            guard: 'listsAnApproverTwice',
            actions: { type: 'reject', params: { reason: 'the approvers list someone twice; each approver has one vote' } },
          },
          {
            guard: 'requiresMoreThanListed',
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `it needs ${event.required} approvals but lists only ${event.approvers.length} approvers` }),
            },
          },
          {
            guard: 'requiresMoreThanOthersCanGive',
            actions: {
              type: 'reject',
              params: ({ event }) => ({
                reason: `${event.requester} cannot approve their own request, and the other ${event.approvers.length - 1} approvers cannot give the ${event.required} approvals it needs`,
              }),
            },
          },
          {
            guard: 'argumentsDoNotMatchHash',
            actions: {
              type: 'reject',
              params: { reason: "the action's argumentsHash is not the sha256 of its arguments; votes would be for something other than what runs" },
            },
          },
          {
            guard: 'expiresBeforeRequested',
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `it would expire at ${event.expiresAt}, which is not after now (${event.meta.issuedAt})` }),
            },
          },
          {
            actions: {
              type: 'record',
              params: ({ event }) => ({
                type: 'approval.requested',
                data: {
                  requester: event.requester,
                  action: event.action,
                  approvers: event.approvers,
                  required: event.required,
                  expiresAt: event.expiresAt,
                  requestedAt: event.meta.issuedAt,
                  origin: event.origin ?? null,
                  policy: event.policy ?? null,
                },
              }),
            },
          },
        ],
        vote: { actions: { type: 'reject', params: { reason: 'no approval has been requested yet; there is nothing to vote on' } } },
        expire: { actions: { type: 'reject', params: { reason: 'no approval has been requested yet; there is nothing to expire' } } },
        decisionReported: { actions: { type: 'reject', params: { reason: 'no approval has been requested yet; there is no decision to report' } } },
        'approval.requested': {
          target: 'pending',
          actions: [
            'storeRequest',
            {
              type: 'notifyApprovers',
              params: ({ context, event }) => ({ approvalId: context.id, approvers: event.data.approvers, summary: event.data.action.summary }),
            },
          ],
        },
      },
    },
    pending: {
      on: {
        request: { actions: { type: 'reject', params: { reason: 'this approval is already requested and pending; a request is made once' } } },
        decisionReported: { actions: { type: 'reject', params: { reason: 'this approval is still pending; there is no decision to report yet' } } },
        vote: [
          {
            guard: 'isAtOrPastExpiry',
            actions: {
              type: 'reject',
              params: ({ context }) => ({ reason: `voting closed at ${context.request?.expiresAt}; the approval has expired` }),
            },
          },
          {
            guard: 'isByRequester',
            actions: {
              type: 'reject',
              params: ({ event }) => ({ reason: `${event.approver} requested this approval; a requester can never approve their own request` }),
            },
          },
          {
            guard: 'isByNonApprover',
            actions: {
              type: 'reject',
              params: ({ context, event }) => ({
                reason: `${event.approver} is not one of the approvers (${context.request?.approvers.join(', ')})`,
              }),
            },
          },
          {
            guard: 'isNotSentByApprover',
            actions: {
              type: 'reject',
              params: ({ event }) => ({
                reason: `a vote for ${event.approver} must come from ${event.approver === OPERATOR_APPROVER ? 'operator:<os user>' : `user:${event.approver}`}, not from ${event.meta.actor}`,
              }),
            },
          },
          {
            guard: 'isSecondVote',
            actions: { type: 'reject', params: ({ event }) => ({ reason: `${event.approver} has already voted; each approver votes once` }) },
          },
          {
            guard: 'isForDifferentAction',
            actions: {
              type: 'reject',
              params: ({ context, event }) => ({
                reason: `the vote is for a different action: its arguments hash ${event.argumentsHash} is not the requested ${context.request?.action.argumentsHash}`,
              }),
            },
          },
          {
            guard: 'isDeny',
            actions: [
              { type: 'record', params: ({ event }) => ({ type: 'approval.vote_cast', data: voteCast(event) }) },
              { type: 'record', params: ({ event }) => ({ type: 'approval.denied', data: { deniedBy: event.approver, deniedAt: event.meta.issuedAt } }) },
            ],
          },
          {
            guard: 'completesApproval',
            actions: [
              { type: 'record', params: ({ event }) => ({ type: 'approval.vote_cast', data: voteCast(event) }) },
              {
                type: 'record',
                params: ({ context, event }) => ({
                  type: 'approval.granted',
                  data: { approvedBy: [...approvalsOf(context), event.approver], grantedAt: event.meta.issuedAt },
                }),
              },
            ],
          },
          { actions: { type: 'record', params: ({ event }) => ({ type: 'approval.vote_cast', data: voteCast(event) }) } },
        ],
        expire: [
          { guard: 'isAtOrPastExpiry', actions: { type: 'record', params: ({ event }) => ({ type: 'approval.expired', data: { expiredAt: event.meta.issuedAt } }) } },
          {
            actions: {
              type: 'reject',
              params: ({ context, event }) => ({ reason: `the approval expires at ${context.request?.expiresAt}; it is only ${event.meta.issuedAt}` }),
            },
          },
        ],
        'approval.vote_cast': { actions: 'addVote' },
        'approval.granted': { target: 'granted', actions: { type: 'reportDecision', params: ({ context }) => outcomeParams(context, 'granted') } },
        'approval.denied': { target: 'denied', actions: { type: 'reportDecision', params: ({ context }) => outcomeParams(context, 'denied') } },
        'approval.expired': { target: 'expired', actions: { type: 'reportDecision', params: ({ context }) => outcomeParams(context, 'expired') } },
      },
    },
    granted: {
      on: {
        ...reportingOnceDecided,
        request: { actions: { type: 'reject', params: { reason: 'this approval is already granted; a decided approval does not change' } } },
        vote: { actions: { type: 'reject', params: { reason: 'this approval is already granted; a decided approval takes no more votes' } } },
        expire: { actions: { type: 'reject', params: { reason: 'this approval is already granted; a decided approval does not expire' } } },
      },
    },
    denied: {
      on: {
        ...reportingOnceDecided,
        request: { actions: { type: 'reject', params: { reason: 'this approval is already denied; a decided approval does not change' } } },
        vote: { actions: { type: 'reject', params: { reason: 'this approval is already denied; a decided approval takes no more votes' } } },
        expire: { actions: { type: 'reject', params: { reason: 'this approval is already denied; a decided approval does not expire' } } },
      },
    },
    expired: {
      on: {
        ...reportingOnceDecided,
        request: { actions: { type: 'reject', params: { reason: 'this approval has expired; request a new approval instead' } } },
        vote: { actions: { type: 'reject', params: { reason: 'this approval has expired; it takes no more votes' } } },
        expire: { actions: { type: 'reject', params: { reason: 'this approval has already expired' } } },
      },
    },
  },
});

export const approvalKind = defineActorKind({
  kind: 'approval',
  machine: approvalMachine,
  commands: approvalCommands,
  events: approvalEvents,
  effects: ['notifyApprovers', 'reportDecision'],
  input: (id: string) => ({ id }),
  // While pending, the approvers must have been asked: a crash between storing
  // `approval.requested` and sending the messages would leave an approval nobody sees
  // until it quietly expires. notifyApprovers is idempotent per (approvalId, approver),
  // so asking again on every start-up sends nothing twice. Once decided, the report is
  // owed until `approval.decision_reported`: a crash between the decision and the post
  // would otherwise leave the requester waiting. reportDecision is keyed on the approval,
  // so a report posted just before the crash is found, not posted again.
  pendingEffects: (snapshot) => {
    const { id, request, decisionReported } = snapshot.context;
    if (request === null) return [];
    if (snapshot.value === 'pending') return [{ type: 'notifyApprovers', params: { approvalId: id, approvers: request.approvers, summary: request.action.summary } }];
    const decision = snapshot.value;
    return !decisionReported && (decision === 'granted' || decision === 'denied' || decision === 'expired')
      ? [{ type: 'reportDecision', params: outcomeParams(snapshot.context, decision) }]
      : [];
  },
});
