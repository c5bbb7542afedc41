/**
 * A host tool call the policy says must be approved: the gateway records an approval
 * request for the exact action and answers the model at once. Nothing runs now, and the
 * run does not wait: once granted, the approval's executor runs the action
 * (`ToolGateway.runApproved`) and posts the result in the conversation.
 *
 * The request binds the approvers to what will run: `arguments` is the canonical JSON of
 * the validated input, and `argumentsHash` its sha256, which every vote must name. The
 * model's top-level `reason` is shown to the approvers but kept out of the arguments, so
 * the same action asked for with other words is the same action.
 *
 * A retried call is the same approval: its id derives from the run and the call key, and
 * the request is sent under a command id of that id, so a retry records nothing new and is
 * answered as the first call was, from the approval's state.
 */
import { createHash } from 'node:crypto';
import { MAX_APPROVAL_ARGUMENTS_CHARS } from '../../events/catalogue/approval.js';
import { canonicalJson } from '../../events/canonical-json.js';
import type { PermissionDecision } from '../permissions/policy.js';
import type { HostTool, HostToolOutcome, HostToolServices, ToolCallContext } from './host-tools/host-tool.js';

type AskDecision = Extract<PermissionDecision, { kind: 'ask' }>;

export interface ApprovalAsk {
  readonly tool: HostTool;
  /** The input as the tool's schema parsed it. */
  readonly input: unknown;
  /** The input as the model sent it, for its top-level `reason`. */
  readonly rawInput: unknown;
  readonly decision: AskDecision;
  readonly context: ToolCallContext;
  readonly callKey: string;
  readonly services: HostToolServices;
  readonly now: Date;
}

const MAX_SUMMARY_CHARS = 2_000;
const MAX_REASON_CHARS = 2_000;

/** `ap-` and 24 hex of the run and call: a retried call asks for the same approval. */
export function approvalIdFor(runId: string, callKey: string): string {
  return `ap-${sha256Hex(`${runId}\n${callKey}`).slice(0, 24)}`;
}

/** The canonical JSON the approvers see and a vote's hash covers: the input without the model's `reason`. */
export function approvalArguments(input: unknown): string {
  if (typeof input === 'object' && input !== null && !Array.isArray(input) && 'reason' in input) {
    const { reason: _reason, ...rest } = input as Record<string, unknown>;
    return canonicalJson(rest);
  }
  return canonicalJson(input);
}

/** Records the approval request (once) and answers the model that it is pending. Never throws. */
export async function requestApproval(ask: ApprovalAsk): Promise<HostToolOutcome> {
  const { tool, decision, context, services } = ask;
  const tier = decision.policy.tier;
  const approvalId = approvalIdFor(context.runId, ask.callKey);
  const refusedWith = (content: string): HostToolOutcome => ({ content, isError: true, outcome: 'refused', tier, approvalId: null });

  const args = approvalArguments(ask.input);
  if (args.length > MAX_APPROVAL_ARGUMENTS_CHARS) {
    return refusedWith(
      `${tool.name}: refused: this call needs an approval, and its arguments (${args.length} characters as JSON) are longer than an approval may show its approvers ` +
        `(${MAX_APPROVAL_ARGUMENTS_CHARS}); nothing was requested and nothing ran. Ask for a smaller action.`,
    );
  }
  const requester = `agent:run-${context.runId}`;
  const summary = (tool.summarize(ask.input, services.settings) ?? tool.name).slice(0, MAX_SUMMARY_CHARS) || tool.name;
  try {
    const sent = await services.actors.send(
      'approval',
      approvalId,
      {
        type: 'request',
        requester,
        action: { tool: tool.name, summary, arguments: args, argumentsHash: sha256Hex(args), tier, reason: modelReason(ask.rawInput) },
        approvers: [...decision.approvers],
        required: decision.required,
        expiresAt: new Date(ask.now.getTime() + decision.expiresAfterMs).toISOString(),
        origin: { runId: context.runId, groupId: context.groupId, conversationId: context.conversationId, userId: context.userId },
        policy: { tier, maxTier: decision.policy.maxTier, maxTierFrom: decision.policy.maxTierFrom, rule: decision.policy.rule ?? `permissions.tiers.${tier}` },
      },
      { actor: requester, commandId: `approval-request:${approvalId}` },
    );
    // Accepted, a duplicate of the first request, or refused because it was requested
    // already: in each case the approval's own record says what is pending.
    const { state, context: approval } = await services.actors.load('approval', approvalId);
    const request = approval.request;
    if (request === null) {
      const why = sent.status === 'rejected' ? sent.reason : 'it was not recorded';
      return { content: `${tool.name}: the approval it needs could not be requested: ${why}; nothing ran`, isError: true, outcome: 'failed', tier, approvalId: null };
    }
    if (request.action.argumentsHash !== sha256Hex(args)) {
      return refusedWith(`${tool.name}: approval ${approvalId} was requested for other arguments under this call; nothing ran`);
    }
    return {
      content: pendingAnswer(approvalId, tool.name, state, request),
      isError: false,
      outcome: 'approval_requested',
      tier,
      approvalId,
    };
  } catch (error) {
    services.logger.error({ runId: context.runId, groupId: context.groupId, tool: tool.name, approvalId, err: error }, 'the approval request could not be recorded');
    return {
      content: `${tool.name}: the approval it needs could not be requested (${error instanceof Error ? error.message : String(error)}); nothing ran`,
      isError: true,
      outcome: 'failed',
      tier,
      approvalId: null,
    };
  }
}

interface PendingRequest {
  readonly approvers: readonly string[];
  readonly required: number;
  readonly expiresAt: string;
}

function pendingAnswer(approvalId: string, toolName: string, state: string, request: PendingRequest): string {
  const asked = listed(request.approvers.map((approver) => (approver === 'operator' ? 'the operator' : `<@${approver}>`)));
  const decided = state === 'pending' ? '' : ` (it is ${state} now)`;
  return (
    `Approval ${approvalId} is pending${decided}: ${toolName} needs approval before it runs, and nothing has run. ` +
    `Asked: ${asked}; it needs ${request.required} of ${request.approvers.length} to approve, and expires at ${request.expiresAt}. ` +
    `Once approved it runs, and its result is posted in this conversation. Tell the user it is waiting for approval, then end your turn.`
  );
}

function listed(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The model's top-level `reason`, as it gave it; null without one. */
function modelReason(input: unknown): string | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const reason = (input as Record<string, unknown>).reason;
  return typeof reason === 'string' && reason.trim() !== '' ? reason.slice(0, MAX_REASON_CHARS) : null;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
