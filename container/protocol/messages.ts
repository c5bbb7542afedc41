/**
 * The messages between the host and the agent runner in a run's sandbox, version 1. Both
 * ends validate everything they receive against these schemas: the host never trusts the
 * container, and the runner refuses a host it does not understand.
 *
 * One turn: the runner says `ready`; the host sends `start` (the prompt, the host tools,
 * the workspace settings); the runner loops: `model_request` → the host's model gateway
 * answers with the model's stream (`model_event`… `model_end`, or `model_error`); each
 * host tool use is a `tool_call` answered by `tool_result`; each workspace tool it runs
 * itself is reported as `tool_executed`. It ends with `done` (the answer) or `failed`. The
 * host may send `stop` at any time (a budget ran out); the runner then ends at once.
 */
import { z } from 'zod';
import { boundedJson } from './json-depth.js';

export const PROTOCOL_VERSION = 1;

/**
 * The deepest a tool's input may nest. A model's tool_use input deeper than this is
 * refused by the host as a tool error the model reads (nothing runs and nothing that
 * recurses, a schema check or the hash chain, ever sees it).
 */
export const MAX_TOOL_INPUT_DEPTH = 64;

/**
 * The deepest any JSON in a frame may nest. Room for a too-deep tool input to arrive, be
 * refused, and be sent back to the model in the next request (JSON.stringify, which the
 * SDK uses, recurses too, and overflows at about 5,000 levels); a frame deeper than this
 * is a protocol violation, and ends the run. Checked without recursion (json-depth.ts).
 */
export const MAX_FRAME_JSON_DEPTH = 3_000;

/** JSON from the other end: never handed to `z.json()`, whose recursion a deep value overflows. */
const frameJson = boundedJson(MAX_FRAME_JSON_DEPTH);

const callId = z.string().min(1).max(200);
const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'expected a tool name of letters, digits, _ and -');
/** Tool results and recorded outputs are cut to this; the model never needs more at once. */
export const MAX_TOOL_OUTPUT_CHARS = 100_000;

export const toolDefinitionSchema = z
  .object({
    name: toolName,
    description: z.string().min(1).max(4_000),
    input_schema: z.object({ type: z.literal('object') }).catchall(z.unknown()),
  })
  .strict();
export type ToolDefinitionMessage = z.infer<typeof toolDefinitionSchema>;

export const promptSectionMessageSchema = z
  .object({ name: z.string().min(1).max(100), text: z.string().max(400_000), cached: z.boolean() })
  .strict();

export const promptMessageMessageSchema = z
  .object({ role: z.enum(['user', 'assistant']), text: z.string().max(200_000) })
  .strict();

// ---- host → runner --------------------------------------------------------------------------

export const startMessage = z
  .object({
    type: z.literal('start'),
    protocol: z.literal(PROTOCOL_VERSION),
    runId: z.string().min(1).max(200),
    model: z.string().min(1).max(200),
    maxTokens: z.number().int().positive().max(128_000),
    maxIterations: z.number().int().min(1).max(200),
    system: z.array(promptSectionMessageSchema).max(20),
    messages: z.array(promptMessageMessageSchema).min(1).max(2_000),
    hostTools: z.array(toolDefinitionSchema).max(64),
    workspace: z
      .object({
        bashEnabled: z.boolean(),
        /**
         * The workspace tools this conversation may use: those at or below its tier (see
         * runtime/permissions/workspace-tools.ts). The runner offers and runs no other.
         */
        tools: z.array(toolName).max(32),
        bashTimeoutMs: z.number().int().positive().max(3_600_000),
        maxOutputChars: z.number().int().positive().max(MAX_TOOL_OUTPUT_CHARS),
      })
      .strict(),
  })
  .strict();
export type StartMessage = z.infer<typeof startMessage>;

/** One server-sent event of the model's stream, as the Messages API sends it. */
export const modelEventMessage = z
  .object({
    type: z.literal('model_event'),
    callId,
    event: z.object({ type: z.string().min(1).max(100) }).catchall(frameJson),
  })
  .strict();

export const modelEndMessage = z.object({ type: z.literal('model_end'), callId }).strict();

/** The call failed: the runner's client sees this HTTP status and error body. */
export const modelErrorMessage = z
  .object({
    type: z.literal('model_error'),
    callId,
    status: z.number().int().min(400).max(599),
    error: z.object({ type: z.string().min(1).max(100), message: z.string().max(4_000) }).strict(),
  })
  .strict();

export const toolResultMessage = z
  .object({ type: z.literal('tool_result'), callId, content: z.string().max(MAX_TOOL_OUTPUT_CHARS), isError: z.boolean() })
  .strict();

export const stopMessage = z.object({ type: z.literal('stop'), reason: z.string().min(1).max(1_000) }).strict();

export const hostToRunnerMessage = z.discriminatedUnion('type', [
  startMessage,
  modelEventMessage,
  modelEndMessage,
  modelErrorMessage,
  toolResultMessage,
  stopMessage,
]);
export type HostToRunnerMessage = z.infer<typeof hostToRunnerMessage>;

// ---- runner → host --------------------------------------------------------------------------

export const readyMessage = z.object({ type: z.literal('ready'), protocol: z.literal(PROTOCOL_VERSION) }).strict();

/** A Messages API request body, as the runner's SDK built it; the model gateway validates it in full. */
export const modelRequestMessage = z
  .object({ type: z.literal('model_request'), callId, body: z.record(z.string(), frameJson) })
  .strict();

export const toolCallMessage = z.object({ type: z.literal('tool_call'), callId, name: toolName, input: frameJson }).strict();

export const toolExecutedMessage = z
  .object({
    type: z.literal('tool_executed'),
    callId,
    name: toolName,
    input: frameJson,
    output: z.string().max(MAX_TOOL_OUTPUT_CHARS),
    isError: z.boolean(),
    durationMs: z.number().int().nonnegative(),
  })
  .strict();

export const doneMessage = z
  .object({
    type: z.literal('done'),
    answer: z.string().max(200_000),
    iterations: z.number().int().nonnegative(),
    /** `end_turn`: the model finished; `max_iterations`: the loop's cap stopped it; otherwise the API's stop reason. */
    stopReason: z.string().min(1).max(100),
  })
  .strict();

export const failedMessage = z.object({ type: z.literal('failed'), message: z.string().min(1).max(4_000) }).strict();

export const runnerToHostMessage = z.discriminatedUnion('type', [
  readyMessage,
  modelRequestMessage,
  toolCallMessage,
  toolExecutedMessage,
  doneMessage,
  failedMessage,
]);
export type RunnerToHostMessage = z.infer<typeof runnerToHostMessage>;
