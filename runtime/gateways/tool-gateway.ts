/**
 * The tool gateway: where an agent's host tools run. The runner in a run's sandbox sends
 * `{ name, input }`; the gateway validates the input against the tool's zod schema, asks
 * the permission policy (runtime/permissions/policy.ts), runs the tool on the host for the
 * run's group (and user), and hands back a result for the model. It never throws: an
 * unknown tool, an invalid input, a refused command or a failed query is an error outcome
 * the model can read and act on.
 *
 * The policy decides before anything runs: a call at or below the group's ceiling runs; a
 * call above it records an approval request and answers that it is pending
 * (approval-request.ts); a call nobody could approve is refused. Each outcome says which
 * it was (`executed`, `failed`, `refused`, `approval_requested`) and the tier it was judged
 * at, for the run's record.
 *
 * What a tool may touch is fixed by the call's context, never by its input: the group's
 * own memory and the answering user's, what the group may see of the knowledge caches,
 * the group's own tasks (every group's for the admin group). See host-tools/.
 */
import { createHash } from 'node:crypto';
import { MAX_TOOL_OUTPUT_CHARS } from '../../container/protocol/messages.js';
import { canonicalJson } from '../../events/canonical-json.js';
import type { EventStore } from '../../events/port.js';
import type { ActorHost, Logger } from '../actor-host/actor-host.js';
import { decidePermission, effectiveTier } from '../permissions/policy.js';
import { permissionsConfigSchema, type PermissionsConfig } from '../permissions/policy-config.js';
import type { ToolTier } from '../permissions/tiers.js';
import { requestApproval } from './approval-request.js';
import type { HostTool, HostToolAnswer, HostToolDefinition, HostToolOutcome, HostToolServices, HostToolSettings, OutboundChannel, ToolCallContext } from './host-tools/host-tool.js';
import { hostTools } from './host-tools/index.js';
import { ReadModelReaders } from './host-tools/read-model-readers.js';

export type { HostToolDefinition, HostToolOutcome, OutboundChannel, ToolCallContext } from './host-tools/host-tool.js';

export interface ToolGatewayDeps {
  readonly actors: Pick<ActorHost, 'send' | 'load'>;
  /** Task streams are found through it, and a run's correlation id read from it. */
  readonly store: EventStore;
  /** The read models (memory index, knowledge caches) live under it. */
  readonly dataDir: string;
  readonly channel: OutboundChannel;
  readonly logger?: Logger;
  /** The named HTTP actions and the web_fetch allowlist; none of either when absent. */
  readonly settings?: HostToolSettings;
  /** Where an HTTP action's header values are read; `process.env` when absent. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Which tiers each group may use without asking, and who approves the rest; the safe defaults when absent. */
  readonly permissions?: PermissionsConfig;
  /** The clock an approval's expiry is counted from. */
  readonly now?: () => Date;
  /** The host tools offered: the registry (host-tools/index.ts) when absent; a test may offer its own. */
  readonly tools?: readonly HostTool[];
}

/** No actions and no hosts: what a gateway without settings may reach outside. */
export const NO_OUTSIDE_REACH: HostToolSettings = {
  actions: { http: [] },
  webFetch: { allowHosts: [], allowPrivateAddresses: false, maxBytes: 2 * 1024 * 1024, timeoutMs: 15_000, maxRedirects: 5 },
};

const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export class ToolGateway {
  private readonly tools: ReadonlyMap<string, HostTool>;
  private readonly services: HostToolServices;
  private readonly readModels: ReadModelReaders;
  private readonly permissions: PermissionsConfig;
  private readonly now: () => Date;

  constructor(deps: ToolGatewayDeps) {
    this.tools = new Map((deps.tools ?? hostTools).map((tool) => [tool.name, tool]));
    this.permissions = deps.permissions ?? permissionsConfigSchema.parse({});
    this.now = deps.now ?? (() => new Date());
    this.readModels = new ReadModelReaders(deps.dataDir);
    this.services = {
      actors: deps.actors,
      store: deps.store,
      channel: deps.channel,
      readModels: this.readModels,
      logger: deps.logger ?? silentLogger,
      settings: deps.settings ?? NO_OUTSIDE_REACH,
      env: deps.env ?? process.env,
    };
  }

  /** The host tools' definitions for the model, input schemas derived from their zod schemas. */
  definitions(context: ToolCallContext): HostToolDefinition[] {
    return [...this.tools.values()].map((tool) => tool.definition(context, this.services.settings));
  }

  /** The tier a host tool declares, or undefined for a name that is not one. */
  tierOf(name: string): ToolTier | undefined {
    return this.tools.get(name)?.tier;
  }

  /**
   * One call from a run: validated, judged by the policy for the run's group (a thread's
   * calls by its channel group's) and user, then run, refused, or left for approval.
   * Never throws.
   */
  async call(name: string, input: unknown, context: ToolCallContext): Promise<HostToolOutcome> {
    const tool = this.tools.get(name);
    if (!tool) return this.notAHostTool(name);
    const decision = decidePermission({ tool: name, declaredTier: tool.tier, groupId: context.groupId, userId: context.userId }, this.permissions);
    const tier = decision.policy.tier;
    const parsed = tool.parse(input);
    if (!parsed.ok) return { content: parsed.error, isError: true, outcome: 'failed', tier, approvalId: null };
    const callKey = context.callId ?? callKeyOf(name, input);
    switch (decision.kind) {
      case 'allow':
        // The model's input, as before the policy: the tool parses it itself.
        return this.invoke(tool, input, context, callKey, tier);
      case 'refuse':
        return { content: decision.reason, isError: true, outcome: 'refused', tier, approvalId: null };
      case 'ask':
        return requestApproval({ tool, input: parsed.input, rawInput: input, decision, context, callKey, services: this.services, now: this.now() });
    }
  }

  /**
   * Runs an action an approval granted: the tool with the exact arguments the approvers
   * saw (the approval's canonical JSON), for the run and conversation that asked. Nothing
   * asks again, since the policy has been answered. `callKey` is `approval:<id>`, so what
   * the call records, and an HTTP action's idempotency key, derive from the approval: a
   * resumed execution is the same call. Never throws.
   */
  async runApproved(approvalId: string, name: string, argumentsJson: string, context: ToolCallContext): Promise<HostToolOutcome> {
    const tool = this.tools.get(name);
    if (!tool) return this.notAHostTool(name);
    const tier = effectiveTier(name, tool.tier, this.permissions);
    let input: unknown;
    try {
      input = JSON.parse(argumentsJson);
    } catch (error) {
      return { content: `${name}: the approved arguments are not JSON: ${(error as Error).message}`, isError: true, outcome: 'failed', tier, approvalId };
    }
    const outcome = await this.invoke(tool, input, context, `approval:${approvalId}`, tier);
    return { ...outcome, approvalId };
  }

  private async invoke(tool: HostTool, input: unknown, context: ToolCallContext, callKey: string, tier: ToolTier): Promise<HostToolOutcome> {
    let answer: HostToolAnswer;
    try {
      answer = await tool.invoke(input, { context, callKey, services: this.services });
    } catch (error) {
      this.services.logger.error({ runId: context.runId, groupId: context.groupId, tool: tool.name, err: error }, 'host tool failed');
      answer = { content: `${tool.name}: failed on the host: ${error instanceof Error ? error.message : String(error)}`, isError: true };
    }
    return { content: capped(answer.content), isError: answer.isError, outcome: answer.isError ? 'failed' : 'executed', tier, approvalId: null };
  }

  private notAHostTool(name: string): HostToolOutcome {
    return { content: `${name}: not a host tool (host tools: ${[...this.tools.keys()].join(', ')})`, isError: true, outcome: 'failed', tier: null, approvalId: null };
  }

  /** Closes the read-model connections the tools opened. */
  close(): Promise<void> {
    return this.readModels.close();
  }
}

/** Without a tool_use id, a call is known by what it asks: the same input is the same call. */
function callKeyOf(name: string, input: unknown): string {
  let text: string;
  try {
    text = canonicalJson(input);
  } catch {
    // Not JSON (a runner never sends that); such a call fails validation anyway.
    text = String(input);
  }
  return `input-${createHash('sha256').update(`${name}\n${text}`).digest('hex').slice(0, 32)}`;
}

function capped(content: string): string {
  if (content.length <= MAX_TOOL_OUTPUT_CHARS) return content;
  const note = '\n[cut: the result was longer than a tool result may be]';
  return content.slice(0, MAX_TOOL_OUTPUT_CHARS - note.length) + note;
}
