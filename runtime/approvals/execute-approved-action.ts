/**
 * The executor of `approval.executeAction`: runs a granted action, exactly once.
 *
 * The approval owes the effect from `approval.granted` until `approval.action_executed`,
 * so a crash between the grant and the run runs it after the restart, and once the run is
 * recorded (`recordExecution`, command id `approval-executed:<id>`) it never runs again.
 * Between the run and its record a crash can still repeat it: the gateway runs it under
 * the call key `approval:<id>`, from which the tools derive what they record and an HTTP
 * action its idempotency key, so the repeat is the same call.
 *
 * The action runs as the run that asked for it would have run it: in that run's group and
 * conversation, with the conversation's settings (admin group, roles that address people)
 * and the agent's roles, for the person the run answered.
 */
import { runsWhenGranted, type RunnableApprovalRequest } from '../../actors/approval.js';
import type { EffectContext, EffectExecutorsFor } from '../actor-host/effects.js';
import type { AgentRole } from '../agent-roles.js';
import type { HostToolOutcome, ToolCallContext } from '../gateways/host-tools/host-tool.js';

/** What runs a granted action: `ToolGateway.runApproved`. */
export interface ApprovedActionRunner {
  runApproved(approvalId: string, tool: string, argumentsJson: string, context: ToolCallContext): Promise<HostToolOutcome>;
}

export interface ExecuteApprovedActionDeps {
  /** Read when an action runs: the gateway may be opened after the executors are listed. */
  readonly tools: () => ApprovedActionRunner;
  /** The named identities the agent may post under (config `agent.roles`). */
  readonly roles: readonly AgentRole[];
}

export function executeApprovedActionEffects(deps: ExecuteApprovedActionDeps): EffectExecutorsFor<'approval.executeAction'> {
  return {
    'approval.executeAction': async ({ approvalId }, context) => {
      const approval = await context.load('approval', approvalId);
      const { request, execution } = approval.context;
      // Run already (a repeated effect), or nothing to run: never run twice.
      if (approval.state !== 'granted' || execution !== null || !runsWhenGranted(request)) return;
      const { action } = request;
      const toolContext = await toolCallContext(request, context, deps.roles);
      const outcome = await deps.tools().runApproved(approvalId, action.tool, action.arguments, toolContext);
      const result = await context.send(
        'approval',
        approvalId,
        { type: 'recordExecution', outcome: outcome.isError ? 'failed' : 'executed', content: outcome.content },
        { commandId: `approval-executed:${approvalId}`, actor: 'runtime' },
      );
      if (result.status === 'rejected' && (await context.load('approval', approvalId)).context.execution === null) {
        throw new Error(`approval ${approvalId}: the execution of ${action.tool} could not be recorded: ${result.reason}`);
      }
    },
  };
}

/** The context the asking run gave its tool calls, rebuilt from the approval's origin. */
async function toolCallContext(request: RunnableApprovalRequest, context: EffectContext, roles: readonly AgentRole[]): Promise<ToolCallContext> {
  const { origin } = request;
  // The conversation's settings, as the run read them: a thread takes its channel's.
  const group = (await context.load('group', origin.conversationId)).context;
  const run = (await context.load('run', origin.runId)).context;
  return {
    runId: origin.runId,
    groupId: origin.groupId,
    conversationId: origin.conversationId,
    taskId: run.request?.taskId ?? null,
    userId: origin.userId,
    isAdminGroup: group.settings?.isAdmin ?? false,
    rolesAddressingUsers: group.settings?.rolesAddressingUsers ?? [],
    roles,
  };
}
