/**
 * One agent turn, on stream `run-<id>`: queued for a group, granted a slot by the
 * supervisor (starting), its container started (running), and then exactly one ending:
 * completed, failed, timed out or interrupted. While it runs, the prompt it was given, each
 * model call and each tool call are recorded on the same stream, so `ledgerclaw runs show`
 * and an audit can see exactly what the agent saw and did.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';
import { instructionsHashSchema } from './instructions.js';
import { toolTierSchema, type ToolTier } from './tool-tier.js';

/** A run, group or task id: it can sit in a stream name, a container label and a log line. */
export const runIdentifierSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII with no spaces');

const timestamp = z.iso.datetime();

/** What made the turn happen. */
/**
 * What started the turn: a mention, a DM, a follow-up in a thread the bot takes part in,
 * any message in a group that answers everything ('channel'), messages that waited for
 * the previous run ('queued'), a scheduled task, or the local chat.
 */
export const runTriggerSchema = z.enum(['mention', 'dm', 'thread', 'channel', 'queued', 'task', 'chat']);
export type RunTrigger = z.infer<typeof runTriggerSchema>;

/** `group`: the run sees the group's conversation and memory; `isolated`: a fresh session. */
export const runContextModeSchema = z.enum(['group', 'isolated']);

/**
 * What the turn answers, as a reference the runner resolves (for example
 * `slack:T1:C1:1712345678.000100` or `task-42@2026-01-05T09:00:00.000Z`), never the text itself.
 */
export const turnRefSchema = z.string().min(1).max(500);

const runFailureReasonV1Schema = z.enum(['start_failed', 'exit_code', 'oom', 'crash', 'budget_exceeded', 'model_error']);

/**
 * Why a run failed. Since run.failed v2, also:
 * - `protocol_violation`: the runner sent a frame no model response asked for (a tool
 *   call or a tool report for a tool_use id the model never returned, under another name,
 *   or answered already), more model calls than the turn may make, or JSON nested deeper
 *   than a frame may carry; the detail records the attempt;
 * - `oversized_frame`: a frame either way was over the protocol's size limit;
 * - `recording_failed`: what the run did could not all be stored (a full disk, a store
 *   refusing writes): the ending, stored once the store took it, says what is missing;
 * - `workspace_quota`: the group's workspace grew past `runs.workspaceMb` (or its entry
 *   bound) during the run.
 */
export const runFailureReasonSchema = z.enum([...runFailureReasonV1Schema.options, 'protocol_violation', 'oversized_frame', 'recording_failed', 'workspace_quota']);
export type RunFailureReason = z.infer<typeof runFailureReasonSchema>;

/** `hard`: the run's total time ran out; `idle`: nothing happened for too long. */
export const runTimeoutLimitSchema = z.enum(['hard', 'idle']);

export const runInterruptionReasonSchema = z.enum(['runtime_restarted', 'runtime_shutdown', 'container_lost']);

export const tokenTotalsSchema = z
  .object({
    input: z.number().int().nonnegative(),
    output: z.number().int().nonnegative(),
    cacheRead: z.number().int().nonnegative(),
    cacheWrite: z.number().int().nonnegative(),
  })
  .strict();
export type TokenTotals = z.infer<typeof tokenTotalsSchema>;

/** What went wrong, in words (an exit code and the last lines of stderr, a model error). */
export const runDetailSchema = z.string().min(1).max(4_000);

const runQueuedV1 = z
  .object({
    groupId: runIdentifierSchema,
    /** The task this run is for, when a task fired it. */
    taskId: runIdentifierSchema.nullable(),
    trigger: runTriggerSchema,
    turnRef: turnRefSchema,
    contextMode: runContextModeSchema,
    queuedAt: timestamp,
  })
  .strict();

/**
 * v2 adds `conversationId`: the group whose conversation the run answers and reports to (a
 * Slack thread), while `groupId` is the group that owns the run: its memory, workspace,
 * tasks, budget and slot (the thread's channel). Every v1 run answered its own group.
 */
export const runQueued = defineEvent('run.queued', 1, runQueuedV1).evolve(
  2,
  runQueuedV1.extend({ conversationId: runIdentifierSchema }).strict(),
  (v1) => ({ ...v1, conversationId: v1.groupId }),
);

/** The supervisor granted the run a slot: it is `starting` until its container runs. */
export const runSlotGranted = defineEvent('run.slot_granted', 1, z.object({ grantedAt: timestamp }).strict());

export const runStarted = defineEvent(
  'run.started',
  1,
  z.object({ containerId: z.string().min(1).max(200), startedAt: timestamp }).strict(),
);

export const runCompleted = defineEvent(
  'run.completed',
  1,
  z
    .object({
      summary: z.string().max(20_000),
      tokens: tokenTotalsSchema,
      completedAt: timestamp,
    })
    .strict(),
);

/** v2 widens `reason` (see runFailureReasonSchema); every v1 failure reads as it was. */
export const runFailed = defineEvent(
  'run.failed',
  1,
  z.object({ reason: runFailureReasonV1Schema, detail: runDetailSchema, failedAt: timestamp }).strict(),
).evolve(2, z.object({ reason: runFailureReasonSchema, detail: runDetailSchema, failedAt: timestamp }).strict(), (v1) => v1);

export const runTimedOut = defineEvent(
  'run.timed_out',
  1,
  z
    .object({
      limit: runTimeoutLimitSchema,
      /** The limit that was passed, in milliseconds. */
      limitMs: z.number().int().positive(),
      timedOutAt: timestamp,
    })
    .strict(),
);

export const runInterrupted = defineEvent(
  'run.interrupted',
  1,
  z
    .object({
      reason: runInterruptionReasonSchema,
      detail: runDetailSchema.nullable(),
      interruptedAt: timestamp,
    })
    .strict(),
);

/** Text recorded from a run (a tool's output, a prompt section) is cut to this many characters. */
export const RECORDED_TEXT_LIMIT = 20_000;

/** The assembled prompt of the run, recorded before its container starts. */
export const promptSectionSchema = z
  .object({
    /** `identity`, `skills`, `work_context`, `memory`: what the section holds. */
    name: z.string().min(1).max(100),
    text: z.string().max(400_000),
    /** Marked for prompt caching: the stable part of the prompt, sent first. */
    cached: z.boolean(),
  })
  .strict();

export const promptMessageSchema = z
  .object({ role: z.enum(['user', 'assistant']), text: z.string().max(100_000) })
  .strict();

/** What the run's prompt was (also the fields of the run actor's `noteContext` command). */
export const promptFields = {
  model: z.string().min(1).max(200),
  system: z.array(promptSectionSchema).max(20),
  /** The window of the conversation sent, oldest first; the last is what the turn answers. */
  messages: z.array(promptMessageSchema).min(1).max(2_000),
  /** Estimated tokens of the whole prompt, and the budget the conversation window was cut to. */
  tokenEstimate: z.number().int().nonnegative(),
  windowBudgetTokens: z.number().int().positive(),
};

/** The standing instructions a run was given, by the hash `instructions.changed` recorded them with; null: none. */
export const promptInstructionsSchema = z.object({ company: instructionsHashSchema.nullable(), group: instructionsHashSchema.nullable() }).strict();

const runContextBuiltV1 = z.object({ ...promptFields, builtAt: timestamp }).strict();

/**
 * v2 adds `instructions`: the hashes of the company's and the group's instructions in the
 * prompt, so a replay can name the exact text a run saw. Runs before v2 had none.
 */
export const runContextBuilt = defineEvent('run.context_built', 1, runContextBuiltV1).evolve(
  2,
  runContextBuiltV1.extend({ instructions: promptInstructionsSchema }).strict(),
  (v1) => ({ ...v1, instructions: { company: null, group: null } }),
);

/** A content block of the model's answer, as recorded. */
export const modelOutputBlockSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string().max(RECORDED_TEXT_LIMIT) }).strict(),
  z.object({ type: z.literal('tool_use'), id: z.string().min(1).max(200), name: z.string().min(1).max(200), input: z.json() }).strict(),
]);

/** One model call (also the fields of the run actor's `noteModelCall` command). */
export const modelCallFields = {
  /** The runner's id for the call, unique within the run. */
  callId: z.string().min(1).max(100),
  model: z.string().min(1).max(200),
  tokens: tokenTotalsSchema,
  /** In US dollars; null when the model has no known price. */
  costUsd: z.number().nonnegative().nullable(),
  /** From the request reaching the gateway to the last byte of the answer, retries included. */
  latencyMs: z.number().int().nonnegative(),
  /** HTTP attempts: more than 1 when a 429 or 529 was retried. */
  attempts: z.number().int().min(1),
  stopReason: z.string().max(100).nullable(),
  output: z.array(modelOutputBlockSchema).max(200),
};

export const runModelCalled = defineEvent('run.model_called', 1, z.object({ ...modelCallFields, calledAt: timestamp }).strict());

const toolCallFieldsV1 = {
  /** The model's tool_use id. */
  callId: z.string().min(1).max(200),
  tool: z.string().min(1).max(200),
  /** `host`: through the tool gateway; `workspace`: inside the run's sandbox. */
  where: z.enum(['host', 'workspace']),
  /** The call's input as the model sent it (a large one is cut: see the runtime's recorder). */
  input: z.json(),
  output: z.string().max(RECORDED_TEXT_LIMIT),
  isError: z.boolean(),
  durationMs: z.number().int().nonnegative(),
};

/** What became of a tool call (see runtime/gateways/host-tools/host-tool.ts, ToolCallOutcomeKind). */
export const toolCallOutcomeSchema = z.enum(['executed', 'failed', 'refused', 'approval_requested']);
export type ToolCallOutcome = z.infer<typeof toolCallOutcomeSchema>;

/** One tool call and its result (also the fields of the run actor's `noteToolCall` command). */
export const toolCallFields = {
  ...toolCallFieldsV1,
  /** The tier it was judged at; null for a name that is no tool (the model made it up). */
  tier: toolTierSchema.nullable(),
  /** Executed, failed (its own error, an invalid input, no such tool), refused by the policy, or waiting for approval. */
  outcome: toolCallOutcomeSchema,
  /** The approval a call above the group's tier waits for. */
  approvalId: z.string().min(1).max(200).nullable(),
};

/**
 * The tools there were while run.tool_called was at version 1, with the tiers they were
 * given when tiers came: what a v1 call upcasts to. Frozen, so an old call reads the same
 * however tiers change later; a name not here was no tool, and its tier is null.
 */
const TOOL_TIERS_AT_V1: Readonly<Record<string, ToolTier>> = {
  send_message: 'write',
  memory_search: 'read',
  memory_write: 'write',
  search_knowledge: 'read',
  schedule_task: 'write',
  list_tasks: 'read',
  pause_task: 'write',
  resume_task: 'write',
  cancel_task: 'write',
  set_task_delivery: 'write',
  read_file: 'read',
  list_files: 'read',
  grep: 'read',
  write_file: 'write',
  edit_file: 'write',
  bash: 'write',
};

/** The tier a v1 call upcasts to: its tool's then, or null for a name that was no tool. */
export function toolTierAtV1(tool: string): ToolTier | null {
  return Object.hasOwn(TOOL_TIERS_AT_V1, tool) ? TOOL_TIERS_AT_V1[tool]! : null;
}

/**
 * v2 records the tier each call was judged at and what became of it, so the audit can say
 * what ran, what was refused and what waits for approval. Every v1 call ran with no policy:
 * it was executed, or failed when it answered an error.
 */
export const runToolCalled = defineEvent('run.tool_called', 1, z.object({ ...toolCallFieldsV1, calledAt: timestamp }).strict()).evolve(
  2,
  z.object({ ...toolCallFields, calledAt: timestamp }).strict(),
  (v1) => ({ ...v1, tier: toolTierAtV1(v1.tool), outcome: v1.isError ? ('failed' as const) : ('executed' as const), approvalId: null }),
);

export const runEvents = [
  runQueued,
  runSlotGranted,
  runStarted,
  runContextBuilt,
  runModelCalled,
  runToolCalled,
  runCompleted,
  runFailed,
  runTimedOut,
  runInterrupted,
];
