/**
 * What every host tool is: a name, a description for the model, a zod input schema (the
 * single source of truth: the JSON schema the model sees is derived from it, so the two
 * cannot drift) and a handler. `defineHostTool` hides each tool's input type behind a
 * uniform `invoke(unknown)`, so the gateway's registry holds them side by side.
 *
 * A handler answers (HostToolAnswer); a refusal is an answer with `isError`, worded for
 * the model to act on. It may still throw on the unexpected: the gateway turns that into
 * an error too, so a call never throws at the runner. The gateway adds what became of the
 * call (HostToolOutcome: executed, failed, refused by policy, or waiting for approval).
 */
import { z } from 'zod';
import { describeInputIssues } from '../../../container/runner/workspace-tools/input-errors.js';
import type { ToolCallOutcome } from '../../../events/catalogue/run.js';
import type { EventStore } from '../../../events/port.js';
import type { ActorHost, Logger } from '../../actor-host/actor-host.js';
import type { ReadModelReaders } from './read-model-readers.js';
import type { AgentRole } from '../../agent-roles.js';
import type { Config } from '../../config.js';
import type { ToolTier } from '../../permissions/tiers.js';

/** The run a call belongs to, and whom it acts for. */
export interface ToolCallContext {
  readonly runId: string;
  /** The group the run belongs to, e.g. `T1.C1` (stream `group-T1.C1`): whose memory, tasks and knowledge it uses. */
  readonly groupId: string;
  /** The conversation it answers in, where send_message posts: a thread of `groupId` (`T1.C1.<ts>`), or `groupId`. */
  readonly conversationId: string;
  /** Sub-agent roles that may address people in this conversation. */
  readonly rolesAddressingUsers: readonly string[];
  /** The named identities the run may post under (send_message's `as`). */
  readonly roles: readonly AgentRole[];
  /** Set when a scheduled task fired the run. */
  readonly taskId: string | null;
  /** The person the turn answers, when known (for user-scoped memory). */
  readonly userId: string | null;
  /** The admin group may manage every group's tasks. */
  readonly isAdminGroup: boolean;
  /**
   * The model's tool_use id of this call. It keys what the call records (a fact id, a task
   * id, command ids), so a retried call is stored once. Without it a key is derived from
   * the tool and its input, which dedupes a retry just as well but also merges two
   * identical calls of one run.
   */
  readonly callId?: string;
}

/** What a tool's handler answers: text for the model, and whether it is an error. */
export interface HostToolAnswer {
  readonly content: string;
  readonly isError: boolean;
}

/** The gateway's answer to a call: the handler's, plus what became of it and under which tier. */
export interface HostToolOutcome extends HostToolAnswer {
  /**
   * - `executed`: the tool ran and answered;
   * - `failed`: it did not work (no such tool, an invalid input, the tool's own error answer);
   * - `refused`: the permission policy refused it, and nothing ran;
   * - `approval_requested`: it waits for an approval, and nothing has run yet.
   */
  readonly outcome: ToolCallOutcome;
  /** The tier the call was judged at (the tool's, or the policy's override); null for a name that is no host tool. */
  readonly tier: ToolTier | null;
  /** The approval the call waits for (`approval_requested`), else null. */
  readonly approvalId: string | null;
}

/** A named identity a message is posted under: a sub-agent role such as Researcher. */
export interface PostingIdentity {
  readonly name: string;
  /** A Slack emoji code (`:mag:`) or an image URL. */
  readonly icon: string | null;
}

/** One message an agent (or the runtime for it) posts to a group's conversation. */
export interface OutboundMessage {
  readonly groupId: string;
  readonly runId: string;
  /** Keys the post: the channel recognises a repeat of the same call and posts it once. */
  readonly callId: string;
  readonly text: string;
  /** Posted under this role's name and icon; the main agent's own when absent. */
  readonly identity?: PostingIdentity;
}

/** A post an agent makes in a channel other than its conversation's (post_message). */
export interface ChannelPost {
  /** The group the call came from: the channel (and Slack workspace) that carries it posts it. */
  readonly fromGroupId: string;
  /** The channel to post in: a Slack channel id (`C…`, or `G…` for an older private channel). */
  readonly channel: string;
  readonly text: string;
  /** Names the post (Slack: in its message metadata), unique across runs: a repeat under it is posted once. */
  readonly key: string;
  /** An earlier process may have posted it (an approved action carried out again after a crash): look for it first. */
  readonly mayHavePosted: boolean;
}

/** Where a ChannelPost landed, or why the channel would not take it, worded for the model to act on. */
export type ChannelPostResult = { readonly posted: true; readonly ref: string } | { readonly posted: false; readonly reason: string };

/** Where send_message and post_message deliver: Slack, the console, or the log. */
export interface OutboundChannel {
  post(message: OutboundMessage): Promise<{ ref: string }>;
  postToChannel(post: ChannelPost): Promise<ChannelPostResult>;
}

/** The Anthropic tool definition shape, as the runner offers it to the model. */
export interface HostToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly input_schema: { type: 'object'; [keyword: string]: unknown };
}

/** What handlers may use on the host. */
export interface HostToolServices {
  readonly actors: Pick<ActorHost, 'send' | 'load'>;
  readonly store: EventStore;
  readonly channel: OutboundChannel;
  readonly readModels: ReadModelReaders;
  readonly logger: Logger;
  /** What the tools that act outside may reach: the named HTTP actions, the web_fetch allowlist. */
  readonly settings: HostToolSettings;
  /** Where secrets come from (an HTTP action's header values): the process's environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The config sections the acting tools read. */
export interface HostToolSettings {
  readonly actions: Config['actions'];
  readonly webFetch: Config['webFetch'];
}

/** One call as a handler sees it. */
export interface HostToolCall {
  readonly context: ToolCallContext;
  /** The call's idempotency key: the tool_use id, or a digest of the input (see ToolCallContext.callId). */
  readonly callKey: string;
  readonly services: HostToolServices;
}

export interface HostToolSpec<Schema extends z.ZodObject> {
  readonly name: string;
  /** How far a call reaches (runtime/permissions/tiers.ts); the policy may raise or lower it per tool. */
  readonly tier: ToolTier;
  /**
   * A function when the wording depends on the caller (the admin group manages every group's
   * tasks) or on the settings (http_request lists the configured actions).
   */
  readonly description: string | ((context: ToolCallContext, settings: HostToolSettings) => string);
  readonly inputSchema: Schema;
  /**
   * One line for the approvers, when a call must be approved ("POST to crm_export: 2,130
   * customers"). They are shown the full arguments too; without it the summary is the
   * tool's name and arguments.
   */
  summarize?(input: z.output<Schema>, settings: HostToolSettings): string;
  run(input: z.output<Schema>, call: HostToolCall): Promise<HostToolAnswer>;
}

export interface HostTool {
  readonly name: string;
  readonly tier: ToolTier;
  definition(context: ToolCallContext, settings: HostToolSettings): HostToolDefinition;
  /** The approvers' one line for a valid input (see HostToolSpec.summarize), or null when the input is not valid. */
  summarize(input: unknown, settings: HostToolSettings): string | null;
  /**
   * The input as the tool's schema reads it (defaults filled in), or the model-readable
   * error naming what is wrong. An approval shows and binds this parsed input, and runs it
   * by parsing it again, so a schema must read its own output back unchanged: defaults
   * yes, transforms no. A gated tool that takes the model's `reason` declares it optional:
   * it is kept out of the approved arguments.
   */
  parse(input: unknown): { readonly ok: true; readonly input: unknown } | { readonly ok: false; readonly error: string };
  /** Validates `input` (an invalid field is an error answer naming it), then runs. May throw. */
  invoke(input: unknown, call: HostToolCall): Promise<HostToolAnswer>;
}

export function defineHostTool<Schema extends z.ZodObject>(spec: HostToolSpec<Schema>): HostTool {
  const inputSchema = deriveInputSchema(spec.name, spec.inputSchema);
  return {
    name: spec.name,
    tier: spec.tier,
    definition: (context, settings) => ({
      name: spec.name,
      description: typeof spec.description === 'string' ? spec.description : spec.description(context, settings),
      input_schema: inputSchema,
    }),
    summarize: (input, settings) => {
      const parsed = spec.inputSchema.safeParse(input);
      if (!parsed.success) return null;
      return spec.summarize ? spec.summarize(parsed.data, settings) : `${spec.name} ${JSON.stringify(parsed.data)}`;
    },
    parse: (input) => {
      const parsed = spec.inputSchema.safeParse(input);
      return parsed.success ? { ok: true, input: parsed.data } : { ok: false, error: describeInputIssues(spec.name, parsed.error.issues) };
    },
    invoke: async (input, call) => {
      const parsed = spec.inputSchema.safeParse(input);
      if (!parsed.success) return refused(describeInputIssues(spec.name, parsed.error.issues));
      return spec.run(parsed.data, call);
    },
  };
}

export const answered = (content: string): HostToolAnswer => ({ content, isError: false });
export const refused = (content: string): HostToolAnswer => ({ content, isError: true });

/**
 * The JSON schema of what the model may send (`io: 'input'`, so fields with defaults are
 * optional), without the `$schema` marker the API has no use for. Checked once, when the
 * tool is defined: a schema that is not a plain object schema is a programming error.
 */
function deriveInputSchema(toolName: string, schema: z.ZodObject): HostToolDefinition['input_schema'] {
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema, { io: 'input' });
  if (jsonSchema.type !== 'object' || typeof jsonSchema.properties !== 'object' || jsonSchema.properties === null) {
    throw new Error(`${toolName}: input schema is not a JSON object schema`);
  }
  return { ...jsonSchema, type: 'object' };
}
