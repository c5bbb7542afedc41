/**
 * Approvals, on the stream `approval-<id>`: a human sign-off on one exact action (a tool
 * and the sha256 of its canonical arguments), by N of M named approvers before a deadline.
 * One approval is requested once and decided once: granted, denied or expired.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';

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

export const approvalRequested = defineEvent(
  'approval.requested',
  1,
  z
    .object({
      requester: requesterSchema,
      action: approvalActionSchema,
      approvers: z.array(approverIdSchema).min(1).max(50),
      /** How many approvals grant it (1 <= required <= approvers). */
      required: z.number().int().positive(),
      expiresAt: z.iso.datetime(),
      requestedAt: z.iso.datetime(),
    })
    .strict(),
);

export const approvalVoteCast = defineEvent(
  'approval.vote_cast',
  1,
  z
    .object({
      approver: approverIdSchema,
      decision: voteDecisionSchema,
      /** The action the approver saw, which matched the request's. */
      argumentsHash: argumentsHashSchema,
      castAt: z.iso.datetime(),
    })
    .strict(),
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

export const approvalEvents = [approvalRequested, approvalVoteCast, approvalGranted, approvalDenied, approvalExpired, approvalDecisionReported];
