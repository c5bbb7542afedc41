/**
 * The control socket's wire format: newline-delimited JSON, one request a line, one
 * response a line, matched by `id`. Versioned (`v`), and checked with zod on both ends.
 *
 * A request asks the running runtime's actor host to send one command to one actor; the
 * response is the host's SendResult (bigints as decimal strings), or an error saying why
 * no command was sent. A refusal by the actor is a result (`status: 'rejected'`), not an
 * error: the actor decided.
 */
import { z } from 'zod';
import { slackUserIdSchema } from '../../events/catalogue/group.js';

export const CONTROL_PROTOCOL_VERSION = 1;

/** A line longer than this is not a request: the connection is answered and closed. */
export const MAX_CONTROL_LINE_BYTES = 1024 * 1024;

/**
 * The operator's OS user name, for commands signed `operator:<name>` (an approval vote from
 * the terminal): printable ASCII without spaces or colons, as the approval actor expects.
 */
export const operatorNameSchema = z
  .string()
  .regex(/^[\x21-\x39\x3b-\x7e]{1,64}$/, 'expected an OS user name of 1 to 64 printable characters, no spaces or colons');

const requestId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._:-]+$/, 'expected letters, digits and . _ : -');

export const controlRequestSchema = z
  .object({
    v: z.literal(CONTROL_PROTOCOL_VERSION),
    id: requestId,
    kind: z.string().min(1).max(100),
    actorId: z.string().max(256),
    command: z.looseObject({ type: z.string().min(1).max(100) }),
    /**
     * The person the operator acts for: the command is signed `user:<id>` instead of `cli`
     * (`memory confirm --as U123`: only a user can confirm a fact). Absent: signed `cli`.
     */
    onBehalfOf: slackUserIdSchema.optional(),
    /**
     * The operator at the terminal, by OS user name: the command is signed `operator:<name>`
     * (`approvals vote`: counts only where a policy lists the approver `operator`).
     */
    operator: operatorNameSchema.optional(),
  })
  .strict()
  .refine((request) => request.onBehalfOf === undefined || request.operator === undefined, 'a request is signed for a user (onBehalfOf) or as the operator, not both');
export type ControlRequest = z.infer<typeof controlRequestSchema>;

/** Decimal digits, optionally negative: a bigint on the wire. */
const bigintText = z.string().regex(/^-?[0-9]+$/);

/** A stored event as the caller needs it: where it went and what it says. */
export const wireEventSchema = z.object({
  id: z.string(),
  streamId: z.string(),
  type: z.string(),
  revision: bigintText,
  position: bigintText,
  data: z.unknown(),
  occurredAt: z.string(),
  actor: z.string(),
});
export type WireEvent = z.infer<typeof wireEventSchema>;

export const wireSendResultSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('accepted'),
    events: z.array(wireEventSchema),
    revision: bigintText,
    state: z.string(),
    duplicate: z.boolean(),
  }),
  z.object({ status: z.literal('rejected'), reason: z.string(), state: z.string() }),
]);
export type WireSendResult = z.infer<typeof wireSendResultSchema>;

/**
 * Why no command was sent: the line was not JSON or not a request (`malformed`), a version
 * this runtime does not speak, a kind the socket does not take, a command the kind's
 * schema refuses, or the host failed.
 */
export const controlErrorCodeSchema = z.enum(['malformed', 'unsupported_version', 'forbidden_kind', 'invalid_command', 'failed']);
export type ControlErrorCode = z.infer<typeof controlErrorCodeSchema>;

export const controlResponseSchema = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(CONTROL_PROTOCOL_VERSION), id: requestId, ok: z.literal(true), result: wireSendResultSchema }),
  z.object({
    v: z.literal(CONTROL_PROTOCOL_VERSION),
    /** Null when the line was too broken to find its id. */
    id: requestId.nullable(),
    ok: z.literal(false),
    error: z.object({ code: controlErrorCodeSchema, message: z.string() }),
  }),
]);
export type ControlResponse = z.infer<typeof controlResponseSchema>;
