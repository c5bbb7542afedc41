/**
 * Approvals, on the stream `approval-<id>`: a human sign-off on one exact action (a tool
 * and the sha256 of its canonical arguments), by N of M named approvers before a deadline.
 * One approval is requested once and decided once: granted, denied or expired.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';
import { toolTierSchema } from './tool-tier.js';

/** A Slack user id (`U024BE7LH`), loose enough for the console channel's stand-in users. */
export const approverIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a user id such as U024BE7LH');

/** Who asked: a user id, or an agent run (`agent:run-42`). */
export const requesterSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'expected a user id or a principal such as agent:run-42');

/** The sha256 (lower-case hex) of the canonical JSON of the tool call's arguments. */
export const argumentsHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 in lower-case hex');

export const approvalActionSchema = z
  .object({
    tool: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[a-z][a-z0-9_.-]*$/, 'expected a tool name such as send_payment'),
    /** What the approvers are shown. */
    summary: z.string().min(1).max(2000),
    argumentsHash: argumentsHashSchema,
  })
  .strict();

export const voteDecisionSchema = z.enum(['approve', 'deny']);

const approvalRequestedV1 = z
  .object({
    requester: requesterSchema,
    action: approvalActionSchema,
    approvers: z.array(approverIdSchema).min(1).max(50),
    /** How many approvals grant it (1 <= required <= approvers). */
    required: z.number().int().positive(),
    expiresAt: z.iso.datetime(),
    requestedAt: z.iso.datetime(),
  })
  .strict();

/** The largest canonical arguments an approval carries: approvers read them in full. */
export const MAX_APPROVAL_ARGUMENTS_CHARS = 32_000;

/**
 * The exact action, in full: what the approvers are shown and, once granted, what runs.
 * `arguments` is the canonical JSON (events/canonical-json.ts) of the tool's input, and
 * `argumentsHash` its sha256, which every vote must name.
 */
export const approvalActionV2Schema = approvalActionSchema
  .extend({
    arguments: z.string().min(2).max(MAX_APPROVAL_ARGUMENTS_CHARS),
    tier: toolTierSchema,
    /** Why the model says it wants this, as it gave it (the `reason` every gated call may carry). */
    reason: z.string().max(2_000).nullable(),
  })
  .strict();

/** Where a tool call that asked came from: the run, and the conversation to answer in. */
export const approvalOriginSchema = z
  .object({
    runId: z.string().min(1).max(200),
    /** The run's group (whose policy applied); `conversationId` is the thread it answers. */
    groupId: z.string().min(1).max(200),
    conversationId: z.string().min(1).max(200),
    /** The person the run answered, when known. */
    userId: z.string().min(1).max(64).nullable(),
  })
  .strict();

/** The policy that made the call ask (runtime/permissions/policy.ts), for the audit. */
export const appliedPolicySchema = z
  .object({
    tier: toolTierSchema,
    maxTier: toolTierSchema,
    /** The config key the ceiling came from (`permissions.groups.C1`, `permissions.defaultMaxTier`). */
    maxTierFrom: z.string().min(1).max(300),
    /** The config key of the approval rule (`permissions.tiers.critical`, `permissions.tools.http_request`). */
    rule: z.string().min(1).max(300),
  })
  .strict();

/**
 * v2 carries the action in full (its canonical arguments, tier and the model's reason), the
 * run and conversation it came from, and the policy that applied, so a granted approval can
 * run exactly what was approved and the audit can say why it asked. A v1 request was made
 * by hand, with a summary only: it has no origin, and nothing runs when it is granted.
 */
export const approvalRequested = defineEvent('approval.requested', 1, approvalRequestedV1).evolve(
  2,
  approvalRequestedV1
    .extend({
      action: z.union([approvalActionV2Schema, approvalActionSchema]),
      origin: approvalOriginSchema.nullable(),
      policy: appliedPolicySchema.nullable(),
    })
    .strict(),
  (v1) => ({ ...v1, origin: null, policy: null }),
);

const approvalVoteCastV1 = z
  .object({
    approver: approverIdSchema,
    decision: voteDecisionSchema,
    /** The action the approver saw, which matched the request's. */
    argumentsHash: argumentsHashSchema,
    castAt: z.iso.datetime(),
  })
  .strict();

/**
 * v2 adds who cast it (`by`: `user:<id>`, or `operator:<os user>` for the approver
 * `operator`, whose vote comes from the terminal) and the reason they gave. Every v1 vote
 * was a Slack user's own, without a reason.
 */
export const approvalVoteCast = defineEvent('approval.vote_cast', 1, approvalVoteCastV1).evolve(
  2,
  approvalVoteCastV1.extend({ by: requesterSchema, reason: z.string().max(500).nullable() }).strict(),
  (v1) => ({ ...v1, by: `user:${v1.approver}`, reason: null }),
);

export const approvalGranted = defineEvent(
  'approval.granted',
  1,
  z
    .object({
      /** The approvers whose approvals granted it, in the order they voted. */
      approvedBy: z.array(approverIdSchema).min(1),
      grantedAt: z.iso.datetime(),
    })
    .strict(),
);

export const approvalDenied = defineEvent(
  'approval.denied',
  1,
  z.object({ deniedBy: approverIdSchema, deniedAt: z.iso.datetime() }).strict(),
);

export const approvalExpired = defineEvent('approval.expired', 1, z.object({ expiredAt: z.iso.datetime() }).strict());

/**
 * The requester was told how the approval ended. Until then the report is owed, so a
 * restart tells them (once: the post is keyed by the approval).
 */
export const approvalDecisionReported = defineEvent(
  'approval.decision_reported',
  1,
  z
    .object({
      /** Where the report landed (Slack message timestamps, or a console or log reference). */
      refs: z.array(z.string().min(1).max(200)).min(1).max(100),
    })
    .strict(),
);

/**
 * A vote that was cast and refused (after expiry, by someone not listed, for another hash, a
 * second vote, in an approver's name by someone else, by an agent, or after the decision).
 * Recorded rather than only rejected, so the audit shows every attempt, and the voter is
 * told `reason`. It changes nothing about the approval.
 */
export const approvalVoteRefused = defineEvent(
  'approval.vote_refused',
  1,
  z
    .object({
      /** The approver the vote was cast as (whoever sent it). */
      approver: approverIdSchema,
      /** Who sent it (`user:<id>`, `operator:<os user>`, `agent:<run>`...). */
      by: z.string().min(1).max(200),
      decision: voteDecisionSchema,
      argumentsHash: argumentsHashSchema,
      reason: z.string().min(1).max(500),
      refusedAt: z.iso.datetime(),
    })
    .strict(),
);

/** The longest result of an executed action an event keeps; the rest is cut, and says so. */
export const MAX_EXECUTION_CONTENT_CHARS = 4_000;

/**
 * The granted action ran (once: keyed by the approval, see runtime/approvals/), and what it
 * gave: the tool's answer, or why it failed.
 */
export const approvalActionExecuted = defineEvent(
  'approval.action_executed',
  1,
  z
    .object({
      outcome: z.enum(['executed', 'failed']),
      content: z.string().max(MAX_EXECUTION_CONTENT_CHARS),
      executedAt: z.iso.datetime(),
    })
    .strict(),
);

/** The action's result was handed to the requesting conversation (its group's reply path). */
export const approvalResultDelivered = defineEvent(
  'approval.result_delivered',
  1,
  z
    .object({
      /** The group (conversation) that owes the post; null when it takes none (not configured). */
      conversationId: z.string().min(1).max(200).nullable(),
    })
    .strict(),
);

export const approvalEvents = [
  approvalRequested,
  approvalVoteCast,
  approvalGranted,
  approvalDenied,
  approvalExpired,
  approvalDecisionReported,
  approvalVoteRefused,
  approvalActionExecuted,
  approvalResultDelivered,
];
