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
 * - Agents never vote: a vote whose `meta.actor` is an agent (`agent:...`) is refused, whoever
 *   it names.
 * - Time is `meta.issuedAt`: a vote at or after `expiresAt` is refused, and `expire` (sent
 *   by the timer that `awaitExpiry` arms, runtime/approvals/expiry-timers.ts) is accepted
 *   only then.
 *
 * A refused vote, in `pending` or once decided, is recorded as `approval.vote_refused` with
 * its reason (not a bare reject), so the audit shows every attempt and the voter is told
 * why. It changes nothing else.
 *
 * Once granted, an action that came from a tool call (it carries its canonical `arguments`
 * and the run it came from) runs exactly once: `executeAction` is owed until the executor
 * records `approval.action_executed` (runtime/approvals/execute-approved-action.ts), and
 * then its result is owed to the requesting conversation until `approval.result_delivered`
 * (runtime/workflows/approval-result.ts). A request made by hand runs nothing.
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
  MAX_EXECUTION_CONTENT_CHARS,
  requesterSchema,
  voteDecisionSchema,
  type approvalActionExecuted,
  type approvalDecisionReported,
  type approvalDenied,
  type approvalExpired,
  type approvalGranted,
  type approvalRequested,
  type approvalResultDelivered,
  type approvalVoteCast,
  type approvalVoteRefused,
} from '../events/catalogue/approval.js';
import { defineActorKind, type CommandMeta, type EffectRequest, type FoldedEvent, type RecordParams, type RejectParams } from './actor-kind.js';

const executionOutcomeSchema = z.enum(['executed', 'failed']);

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
  /** Sent by the executeAction executor once the granted action has run (or failed). */
  z
    .object({
      type: z.literal('recordExecution'),
      outcome: executionOutcomeSchema,
      /** The tool's answer; the event keeps its first {@link MAX_EXECUTION_CONTENT_CHARS} characters. */
      content: z.string().max(200_000),
    })
    .strict(),
  /** Sent by the approval-result workflow once the requesting conversation owes the result (or takes none). */
  z.object({ type: z.literal('resultDelivered'), conversationId: z.string().min(1).max(200).nullable() }).strict(),
]);

export type ApprovalCommand = z.infer<typeof approvalCommands>;

type Folded<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;

type ApprovalStoredEvent =
  | Folded<typeof approvalRequested>
  | Folded<typeof approvalVoteCast>
  | Folded<typeof approvalGranted>
  | Folded<typeof approvalDenied>
  | Folded<typeof approvalExpired>
  | Folded<typeof approvalDecisionReported>
  | Folded<typeof approvalVoteRefused>
  | Folded<typeof approvalActionExecuted>
  | Folded<typeof approvalResultDelivered>;

type ApprovalMachineEvent = (ApprovalCommand & { meta: CommandMeta }) | ApprovalStoredEvent;
type Vote = Extract<ApprovalCommand, { type: 'vote' }> & { meta: CommandMeta };

export type ApprovalRequest = Folded<typeof approvalRequested>['data'];

/** A request that came from a tool call: its arguments in full and the run that asked. */
export type RunnableApprovalRequest = ApprovalRequest & {
  readonly action: Extract<ApprovalRequest['action'], { arguments: string }>;
  readonly origin: NonNullable<ApprovalRequest['origin']>;
};

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
  /** How the granted action ran; null until it has (and always, for an action that runs nothing). */
  readonly execution: ApprovalExecution | null;
  /** Whether the action's result was handed to the requesting conversation. */
  readonly resultDelivered: boolean;
}

export interface ApprovalExecution {
  readonly outcome: z.infer<typeof executionOutcomeSchema>;
  readonly content: string;
  readonly executedAt: string;
}

/** The params of `executeAction`: the executor reads the action from the approval itself. */
export interface ExecuteActionParams {
  readonly approvalId: string;
}

/** The params of `deliverResult`: the approval, and the conversation its result goes to. */
export interface DeliverResultParams {
  readonly approvalId: string;
  readonly conversationId: string;
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

/** A tool call's action, with its arguments and the run it came from, runs once granted; a hand-made one does not. */
export function runsWhenGranted(request: ApprovalRequest | null): request is RunnableApprovalRequest {
  return request !== null && 'arguments' in request.action && request.origin !== null;
}

/** The reason a vote is refused, as the event keeps it. */
const refusalReason = (reason: string) => (reason.length <= 500 ? reason : `${reason.slice(0, 499)}…`);

const CUT_MARK = '\n… (cut: the full result is longer)';

/** The result as the event keeps it: whole, or its beginning and a mark saying it was cut. */
function cappedResult(content: string): string {
  return content.length <= MAX_EXECUTION_CONTENT_CHARS ? content : content.slice(0, MAX_EXECUTION_CONTENT_CHARS - CUT_MARK.length) + CUT_MARK;
}

/** The event that records a refused vote, with the reason the voter is told. */
function voteRefused(vote: Vote, reason: string) {
  return {
    type: 'approval.vote_refused',
    data: {
      approver: vote.approver,
      by: vote.meta.actor,
      decision: vote.decision,
      argumentsHash: vote.argumentsHash,
      reason: refusalReason(reason),
      refusedAt: vote.meta.issuedAt,
    },
  } as const;
}

type VoteArgs = { context: ApprovalContext; event: ApprovalMachineEvent };

/** Records the vote as refused, for the reason `why` gives. */
function refuseVote(why: string | ((args: { context: ApprovalContext; event: Vote }) => string)) {
  return {
    type: 'record',
    params: ({ context, event }: VoteArgs) => {
      if (event.type !== 'vote') throw new Error(`refuseVote handles a vote, not ${event.type}`);
      return voteRefused(event, typeof why === 'string' ? why : why({ context, event }));
    },
  } as const;
}

const AGENTS_NEVER_VOTE = 'agents never vote: an approval is a person\'s decision';

/** In a decided state: an agent's vote is refused as such, any other for the decision. */
function refusedOnceDecided(decided: string) {
  return [
    { guard: 'isByAgent', actions: refuseVote(AGENTS_NEVER_VOTE) },
    { actions: refuseVote(decided) },
  ] as const;
}

/** What only a granted approval takes: its action's execution and result. */
function rejectExecutionUnlessGranted(state: string) {
  return {
    recordExecution: { actions: { type: 'reject', params: { reason: `this approval is ${state}; only a granted approval's action runs` } } },
    resultDelivered: { actions: { type: 'reject', params: { reason: `this approval is ${state}; no action ran, so there is no result to deliver` } } },
  } as const;
}

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
    isByAgent: ({ event }) => event.type === 'vote' && event.meta.actor.startsWith('agent:'),
    runsWhenGranted: ({ context }) => runsWhenGranted(context.request),
    isExecuted: ({ context }) => context.execution !== null,
    isResultDelivered: ({ context }) => context.resultDelivered,
    completesApproval: ({ context, event }) => event.type === 'vote' && completesApproval(context, event),
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},

    markReported: assign({ decisionReported: true }),
    storeExecution: assign({
      execution: ({ context, event }) =>
        event.type === 'approval.action_executed' ? { outcome: event.data.outcome, content: event.data.content, executedAt: event.data.executedAt } : context.execution,
    }),
    markResultDelivered: assign({ resultDelivered: true }),
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
    /**
     * Arms the approval's expiry: at `expiresAt` the timer sends `expire`. Owed while
     * pending, so every start arms it again (runtime/approvals/expiry-timers.ts).
     */
    awaitExpiry: (_, _params: { approvalId: string; expiresAt: string }) => {},
    /**
     * Runs the granted action (keyed `approval:<id>`), then sends `recordExecution`; until
     * then it is owed, so a crash before the record runs it after the restart, and a
     * recorded one never runs again (runtime/approvals/execute-approved-action.ts).
     */
    executeAction: (_, _params: ExecuteActionParams) => {},
    /**
     * Hands the action's result to the requesting conversation, keyed by the approval, then
     * sends `resultDelivered`; owed until then (runtime/workflows/approval-result.ts).
     */
    deliverResult: (_, _params: DeliverResultParams) => {},
  },
}).createMachine({
  id: 'approval',
  context: ({ input }) => ({ id: input.id, request: null, votes: [], decisionReported: false, execution: null, resultDelivered: false }),
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
        ...rejectExecutionUnlessGranted('not requested yet'),
        'approval.requested': {
          target: 'pending',
          actions: [
            'storeRequest',
            {
              type: 'notifyApprovers',
              params: ({ context, event }) => ({ approvalId: context.id, approvers: event.data.approvers, summary: event.data.action.summary }),
            },
            { type: 'awaitExpiry', params: ({ context, event }) => ({ approvalId: context.id, expiresAt: event.data.expiresAt }) },
          ],
        },
      },
    },
    pending: {
      on: {
        request: { actions: { type: 'reject', params: { reason: 'this approval is already requested and pending; a request is made once' } } },
        decisionReported: { actions: { type: 'reject', params: { reason: 'this approval is still pending; there is no decision to report yet' } } },
        ...rejectExecutionUnlessGranted('still pending'),
        vote: [
          { guard: 'isByAgent', actions: refuseVote(AGENTS_NEVER_VOTE) },
          { guard: 'isAtOrPastExpiry', actions: refuseVote(({ context }) => `voting closed at ${context.request?.expiresAt}; the approval has expired`) },
          {
            guard: 'isByRequester',
            actions: refuseVote(({ event }) => `${event.approver} requested this approval; a requester can never approve their own request`),
          },
          {
            guard: 'isByNonApprover',
            actions: refuseVote(({ context, event }) => `${event.approver} is not one of the approvers (${context.request?.approvers.join(', ')})`),
          },
          {
            guard: 'isNotSentByApprover',
            actions: refuseVote(
              ({ event }) =>
                `a vote for ${event.approver} must come from ${event.approver === OPERATOR_APPROVER ? 'operator:<os user>' : `user:${event.approver}`}, not from ${event.meta.actor}`,
            ),
          },
          { guard: 'isSecondVote', actions: refuseVote(({ event }) => `${event.approver} has already voted; each approver votes once`) },
          {
            guard: 'isForDifferentAction',
            actions: refuseVote(
              ({ context, event }) =>
                `the vote is for a different action: its arguments hash ${event.argumentsHash} is not the requested ${context.request?.action.argumentsHash}`,
            ),
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
        'approval.granted': [
          {
            guard: 'runsWhenGranted',
            target: 'granted',
            actions: [
              { type: 'reportDecision', params: ({ context }) => outcomeParams(context, 'granted') },
              { type: 'executeAction', params: ({ context }) => ({ approvalId: context.id }) },
            ],
          },
          { target: 'granted', actions: { type: 'reportDecision', params: ({ context }) => outcomeParams(context, 'granted') } },
        ],
        'approval.denied': { target: 'denied', actions: { type: 'reportDecision', params: ({ context }) => outcomeParams(context, 'denied') } },
        'approval.expired': { target: 'expired', actions: { type: 'reportDecision', params: ({ context }) => outcomeParams(context, 'expired') } },
      },
    },
    granted: {
      on: {
        ...reportingOnceDecided,
        request: { actions: { type: 'reject', params: { reason: 'this approval is already granted; a decided approval does not change' } } },
        vote: refusedOnceDecided('this approval is already granted; a decided approval takes no more votes'),
        expire: { actions: { type: 'reject', params: { reason: 'this approval is already granted; a decided approval does not expire' } } },
        recordExecution: [
          { guard: 'isExecuted', actions: { type: 'reject', params: { reason: 'the action has run already; a granted action runs once' } } },
          {
            guard: 'runsWhenGranted',
            actions: {
              type: 'record',
              params: ({ event }) => ({
                type: 'approval.action_executed',
                data: { outcome: event.outcome, content: cappedResult(event.content), executedAt: event.meta.issuedAt },
              }),
            },
          },
          { actions: { type: 'reject', params: { reason: 'this approval was requested by hand, not by a tool call; it has no action to run' } } },
        ],
        resultDelivered: [
          { guard: 'isResultDelivered', actions: { type: 'reject', params: { reason: "the action's result was delivered already; it is delivered once" } } },
          {
            guard: 'isExecuted',
            actions: {
              type: 'record',
              params: ({ event }) => ({ type: 'approval.result_delivered', data: { conversationId: event.conversationId } }),
            },
          },
          { actions: { type: 'reject', params: { reason: 'the action has not run yet; there is no result to deliver' } } },
        ],
        // Recorded only for an action that runs (recordExecution's guard), so the origin is there.
        'approval.action_executed': [
          {
            guard: 'runsWhenGranted',
            actions: [
              'storeExecution',
              { type: 'deliverResult', params: ({ context }) => ({ approvalId: context.id, conversationId: context.request?.origin?.conversationId ?? '' }) },
            ],
          },
          { actions: 'storeExecution' },
        ],
        'approval.result_delivered': { actions: 'markResultDelivered' },
      },
    },
    denied: {
      on: {
        ...reportingOnceDecided,
        request: { actions: { type: 'reject', params: { reason: 'this approval is already denied; a decided approval does not change' } } },
        vote: refusedOnceDecided('this approval is already denied; a decided approval takes no more votes'),
        ...rejectExecutionUnlessGranted('denied'),
        expire: { actions: { type: 'reject', params: { reason: 'this approval is already denied; a decided approval does not expire' } } },
      },
    },
    expired: {
      on: {
        ...reportingOnceDecided,
        request: { actions: { type: 'reject', params: { reason: 'this approval has expired; request a new approval instead' } } },
        vote: refusedOnceDecided('this approval has expired; it takes no more votes'),
        ...rejectExecutionUnlessGranted('expired'),
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
  effects: ['notifyApprovers', 'awaitExpiry', 'reportDecision', 'executeAction', 'deliverResult'],
  input: (id: string) => ({ id }),
  // While pending, the approvers must have been asked: a crash between storing
  // `approval.requested` and sending the messages would leave an approval nobody sees
  // until it quietly expires. notifyApprovers is idempotent per (approvalId, approver),
  // so asking again on every start-up sends nothing twice; and the expiry timer lives in
  // memory, so every start arms it again. Once decided, the report is owed until
  // `approval.decision_reported`: a crash between the decision and the post would
  // otherwise leave the requester waiting. reportDecision is keyed on the approval, so a
  // report posted just before the crash is found, not posted again. Once granted, the
  // action is owed until its execution is recorded (a SIGKILL between the grant and the
  // run runs it after the restart; once recorded, it never runs again), and then its
  // result until the requesting conversation has it.
  pendingEffects: (snapshot) => {
    const { id, request, decisionReported, execution, resultDelivered } = snapshot.context;
    if (request === null) return [];
    if (snapshot.value === 'pending') {
      return [
        { type: 'notifyApprovers', params: { approvalId: id, approvers: request.approvers, summary: request.action.summary } },
        { type: 'awaitExpiry', params: { approvalId: id, expiresAt: request.expiresAt } },
      ];
    }
    const decision = snapshot.value;
    if (decision !== 'granted' && decision !== 'denied' && decision !== 'expired') return [];
    const owed: EffectRequest[] = decisionReported ? [] : [{ type: 'reportDecision', params: outcomeParams(snapshot.context, decision) }];
    if (decision === 'granted' && runsWhenGranted(request)) {
      if (execution === null) owed.push({ type: 'executeAction', params: { approvalId: id } });
      else if (!resultDelivered) owed.push({ type: 'deliverResult', params: { approvalId: id, conversationId: request.origin.conversationId } });
    }
    return owed;
  },
});
