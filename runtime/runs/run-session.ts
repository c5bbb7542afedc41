/**
 * Drives one run's sandboxed runner over the framed channel, from `ready` to its ending:
 * answers model requests through the model gateway (after the budget check) and host tool
 * calls through the tool gateway, records every call as it happens, and watches the
 * limits. It decides exactly one outcome, and returns it whatever fails (it never throws):
 *
 * - `completed` when the runner says `done`;
 * - `failed` when the runner reports a failure (`model_error` if the model API refused
 *   it, `crash` otherwise), breaks the protocol (`crash`), sends a frame no model
 *   response asked for or more model calls than the turn may make (`protocol_violation`),
 *   sends or is sent a frame over the size limit (`oversized_frame`), is killed for
 *   memory (`oom`), exits non-zero or exits without an answer (`exit_code` / `crash`), a
 *   model request is refused by policy (`model_error`), a budget runs out
 *   (`budget_exceeded`), a call could not be recorded (`recording_failed`, which
 *   replaces whatever was decided: the run's record has a hole), or a tool call leaves
 *   the group's workspace over its quota (`workspace_quota`);
 * - `timed_out` when the hard limit passes, or nothing happens for the idle limit;
 * - `interrupted` when the runtime shuts down during the run (`shutdown`).
 *
 * The runner is not trusted: its frames are judged against what the model asked for
 * (tool-use-ledger.ts). Whatever the outcome, the sandbox is killed before `driveRun` returns.
 */
import { FramedChannel } from '../../container/protocol/channel.js';
import { OversizedFrameError } from '../../container/protocol/framing.js';
import {
  runnerToHostMessage,
  type HostToRunnerMessage,
  type RunnerToHostMessage,
  type StartMessage,
} from '../../container/protocol/messages.js';
import type { RunFailureReason } from '../../events/catalogue/run.js';
import type { Logger } from '../actor-host/actor-host.js';
import type { ToolCallOutcome } from '../../events/catalogue/run.js';
import { WORKSPACE_TOOL_TIERS, type ToolTier } from '../permissions/tiers.js';
import type { ModelCallPolicy, ModelCallRecord, ModelGateway } from '../gateways/model-gateway.js';
import type { SandboxedProcess } from '../sandbox/sandbox.js';
import { tooDeepInput, tooDeepMessage, ToolUseLedger } from './tool-use-ledger.js';

export type RunSessionOutcome =
  | { readonly status: 'completed'; readonly answer: string; readonly iterations: number; readonly stopReason: string }
  | { readonly status: 'failed'; readonly reason: RunFailureReason; readonly detail: string }
  | { readonly status: 'timed_out'; readonly limit: 'hard' | 'idle'; readonly limitMs: number }
  | { readonly status: 'interrupted'; readonly reason: 'runtime_shutdown' };

export interface ToolCallRecord {
  /** The model's tool_use id. */
  readonly callId: string;
  /** Unique in the run (see ToolUse.key): what keys the record, so no call passes for another. */
  readonly key: string;
  readonly tool: string;
  readonly where: 'host' | 'workspace';
  readonly input: unknown;
  readonly output: string;
  readonly isError: boolean;
  readonly durationMs: number;
  /** The tier the call was judged at; null when none was (a name that is no tool, an input refused before the gateway saw it). */
  readonly tier: ToolTier | null;
  readonly outcome: ToolCallOutcome;
  readonly approvalId: string | null;
}

/** A host tool call's answer, and what became of it (the tool gateway's HostToolOutcome). */
export interface HostToolCallResult {
  readonly content: string;
  readonly isError: boolean;
  readonly outcome: ToolCallOutcome;
  readonly tier: ToolTier | null;
  readonly approvalId: string | null;
}

/** What the session shows while it works (the chat prints it). */
export type RunProgress =
  | { readonly kind: 'thinking'; readonly callId: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'tool'; readonly tool: string; readonly where: 'host' | 'workspace' }
  /** A host tool's result went back to the runner, `hostMs` after its call arrived. */
  | { readonly kind: 'tool_answered'; readonly tool: string; readonly hostMs: number };

export interface RunSessionDeps {
  readonly sandbox: SandboxedProcess;
  readonly start: StartMessage;
  readonly model: Pick<ModelGateway, 'call'>;
  readonly policy: ModelCallPolicy;
  /** Runs a host tool; `callKey` is the use's key in the run (the tool_use id, or `<id>#<n>` for a reused one). */
  readonly callHostTool: (callKey: string, name: string, input: unknown) => Promise<HostToolCallResult>;
  /** A workspace tool's tier under the policy (null for a name that is none), recorded with each of its calls; the declared tier when absent. */
  readonly workspaceToolTier?: (name: string) => ToolTier | null;
  /** Null while the run may spend; otherwise why it may not (checked before every model call). */
  readonly budgetExceeded: () => Promise<string | null>;
  /** Null while the workspace is within its quota; otherwise why not (checked after every tool call, before the next model call). */
  readonly workspaceOverQuota?: () => Promise<string | null>;
  /** `key` is unique in the run (the runner's call ids are its own, and may repeat). */
  readonly recordModelCall: (record: ModelCallRecord, key: string) => Promise<void>;
  readonly recordToolCall: (record: ToolCallRecord) => Promise<void>;
  readonly limits: { readonly hardTimeoutMs: number; readonly idleTimeoutMs: number };
  /** Aborted when the runtime shuts down: the run ends `interrupted` at once. */
  readonly shutdown?: AbortSignal;
  readonly onProgress?: (progress: RunProgress) => void;
  readonly logger?: Pick<Logger, 'warn'>;
}

/** How long a runner that said `done` gets to exit before it is killed. */
const EXIT_GRACE_MS = 5_000;

export async function driveRun(deps: RunSessionDeps): Promise<RunSessionOutcome> {
  const { sandbox } = deps;
  const channel = new FramedChannel<RunnerToHostMessage, HostToRunnerMessage>(sandbox.stdout, sandbox.stdin, runnerToHostMessage, 'runner');
  const toolUses = new ToolUseLedger(new Set(deps.start.hostTools.map((tool) => tool.name)), new Set(deps.start.workspace.tools));
  let outcome: RunSessionOutcome | null = null;
  /** The last model call failed at the API: a runner failure after it is the model's. */
  let lastModelError: string | null = null;
  let modelRequests = 0;
  /** Records are appended in the order the calls happened, and all before the ending. */
  let recording: Promise<void> = Promise.resolve();
  const recordingFailures: string[] = [];
  const record = (what: string, write: () => Promise<void>) => {
    recording = recording.then(write).catch((error: unknown) => {
      recordingFailures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    });
  };

  let settle!: () => void;
  const ended = new Promise<void>((resolve) => (settle = resolve));
  const decide = (decided: RunSessionOutcome) => {
    if (outcome !== null) return;
    outcome = decided;
    settle();
  };

  const hardTimer = setTimeout(() => decide({ status: 'timed_out', limit: 'hard', limitMs: deps.limits.hardTimeoutMs }), deps.limits.hardTimeoutMs);
  let idleTimer = setTimeout(() => undefined, 0);
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => decide({ status: 'timed_out', limit: 'idle', limitMs: deps.limits.idleTimeoutMs }), deps.limits.idleTimeoutMs);
  };
  touch();
  const onShutdown = () => decide({ status: 'interrupted', reason: 'runtime_shutdown' });
  if (deps.shutdown?.aborted) onShutdown();
  deps.shutdown?.addEventListener('abort', onShutdown, { once: true });

  const fail = (reason: RunFailureReason, detail: string) => decide({ status: 'failed', reason, detail: detail.slice(0, 4_000) || reason });

  /** Sends to the runner while the run goes on; a frame too large to send ends it, saying so. */
  const send = (message: HostToRunnerMessage) => {
    if (outcome !== null && message.type !== 'stop') return;
    try {
      channel.send(message);
    } catch (error) {
      if (error instanceof OversizedFrameError) fail('oversized_frame', `the host could not send a ${message.type} frame to the runner: ${error.message}`);
      else fail('crash', `the host could not send a ${message.type} frame to the runner: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  /** The runner broke the protocol in a way only a forged or replayed frame does: nothing of it runs. */
  const violate = (detail: string) => {
    send({ type: 'stop', reason: 'protocol violation' });
    fail('protocol_violation', detail);
  };

  /** Quota checks run one at a time, in call order; a model request waits for the last one. */
  let quotaChecked: Promise<void> = Promise.resolve();
  const checkQuota = () => {
    const overQuota = deps.workspaceOverQuota;
    if (overQuota === undefined) return;
    quotaChecked = quotaChecked
      .then(async () => {
        const problem = await overQuota();
        if (problem !== null) fail('workspace_quota', problem);
      })
      .catch(handlerFailed('measuring the workspace'));
  };

  async function answerModelRequest(callId: string, body: unknown): Promise<void> {
    await quotaChecked;
    if (outcome !== null) return;
    modelRequests += 1;
    if (modelRequests > deps.start.maxIterations) {
      violate(`the runner sent model request ${modelRequests} (call ${JSON.stringify(callId)}); a turn may make ${deps.start.maxIterations}`);
      return;
    }
    const overBudget = await deps.budgetExceeded();
    if (overBudget !== null) {
      send({ type: 'stop', reason: overBudget.slice(0, 1_000) });
      fail('budget_exceeded', overBudget);
      return;
    }
    deps.onProgress?.({ kind: 'thinking', callId });
    const key = `m${modelRequests}`;
    const result = await deps.model.call(callId, body, deps.policy, (event) => {
      touch();
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') deps.onProgress?.({ kind: 'text', text: event.delta.text });
      send({ type: 'model_event', callId, event: event as never });
    });
    touch();
    if (result.status === 'answered') {
      lastModelError = null;
      // Before model_end: the runner may answer a tool use as soon as it has the message.
      const answered = { ...result.record, output: toolUses.noteModelOutput(result.record.output) };
      record(`model call ${callId}`, () => deps.recordModelCall(answered, key));
      send({ type: 'model_end', callId });
      return;
    }
    if (result.status === 'api_error') {
      lastModelError = `the model API answered ${result.httpStatus} ${result.error.type} after ${result.attempts} attempt(s): ${result.error.message}`;
      send({ type: 'model_error', callId, status: result.httpStatus, error: result.error });
      return;
    }
    send({ type: 'stop', reason: result.reason.slice(0, 1_000) });
    fail('model_error', result.reason);
  }

  async function answerToolCall(callId: string, name: string, input: unknown): Promise<void> {
    const claim = toolUses.claim('host', callId, name, input);
    if (!claim.ok) return violate(claim.violation);
    const { use } = claim;
    deps.onProgress?.({ kind: 'tool', tool: name, where: 'host' });
    const began = performance.now();
    const result: HostToolCallResult = use.tooDeep
      ? { content: tooDeepMessage(name), isError: true, outcome: 'failed', tier: null, approvalId: null }
      : await deps.callHostTool(use.key, name, use.input);
    touch();
    const recorded = use.tooDeep ? tooDeepInput() : use.input;
    record(`host tool call ${callId}`, () =>
      deps.recordToolCall({
        callId,
        key: use.key,
        tool: name,
        where: 'host',
        input: recorded,
        output: result.content,
        isError: result.isError,
        durationMs: Math.round(performance.now() - began),
        tier: result.tier,
        outcome: result.outcome,
        approvalId: result.approvalId,
      }),
    );
    send({ type: 'tool_result', callId, content: result.content, isError: result.isError });
    checkQuota();
    deps.onProgress?.({ kind: 'tool_answered', tool: name, hostMs: performance.now() - began });
  }

  function noteToolExecuted(message: Extract<RunnerToHostMessage, { type: 'tool_executed' }>): void {
    const claim = toolUses.claim('workspace', message.callId, message.name, message.input, message.isError);
    if (!claim.ok) return violate(claim.violation);
    const { use } = claim;
    deps.onProgress?.({ kind: 'tool', tool: message.name, where: 'workspace' });
    // The model's input, not the runner's word for it (they are equal, or this was a violation).
    const input = use.tooDeep ? tooDeepInput() : use.input;
    record(`workspace tool call ${message.callId}`, () =>
      deps.recordToolCall({
        callId: message.callId,
        key: use.key,
        tool: message.name,
        where: 'workspace',
        input,
        output: message.output,
        isError: message.isError,
        durationMs: message.durationMs,
        tier: deps.workspaceToolTier ? deps.workspaceToolTier(message.name) : (WORKSPACE_TOOL_TIERS[message.name] ?? null),
        // The ledger let a tool the conversation may not use through only as an error: the runner's refusal.
        outcome: !deps.start.workspace.tools.includes(message.name) ? 'refused' : message.isError ? 'failed' : 'executed',
        approvalId: null,
      }),
    );
  }

  const handlerFailed = (what: string) => (error: unknown) => fail('crash', `the host failed while ${what}: ${error instanceof Error ? error.message : String(error)}`);

  channel.on('message', (message) => {
    if (outcome !== null) return;
    touch();
    switch (message.type) {
      case 'ready':
        send(deps.start);
        return;
      case 'model_request':
        answerModelRequest(message.callId, message.body).catch(handlerFailed('answering a model request'));
        return;
      case 'tool_call':
        answerToolCall(message.callId, message.name, message.input).catch(handlerFailed(`running host tool ${message.name}`));
        return;
      case 'tool_executed':
        noteToolExecuted(message);
        checkQuota();
        return;
      case 'done':
        decide({ status: 'completed', answer: message.answer, iterations: message.iterations, stopReason: message.stopReason });
        return;
      case 'failed':
        fail(lastModelError === null ? 'crash' : 'model_error', lastModelError === null ? `the runner failed: ${message.message}` : lastModelError);
        return;
    }
  });
  channel.on('error', (error) => {
    if (error instanceof OversizedFrameError) fail('oversized_frame', `the runner sent a frame over the size limit: ${error.message}`);
    else fail('crash', `the runner broke the protocol: ${error.message}`);
  });

  // An exit before any outcome decides it; give the channel a moment to deliver the last frames first.
  sandbox.exited
    .then(async (exit) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (exit.oomKilled) fail('oom', `the run's sandbox ran out of memory and was killed${exit.stderrTail ? `; stderr: ${exit.stderrTail.slice(-1_000)}` : ''}`);
      else if (exit.exitCode !== 0) fail('exit_code', `the runner exited with ${exit.exitCode === null ? `signal ${exit.signal ?? 'unknown'}` : `code ${exit.exitCode}`}${exit.stderrTail ? `; stderr: ${exit.stderrTail.slice(-1_500)}` : ''}`);
      else fail('crash', 'the runner exited without an answer');
    })
    .catch(handlerFailed('waiting for the sandbox'));

  await ended;
  clearTimeout(hardTimer);
  clearTimeout(idleTimer);
  deps.shutdown?.removeEventListener('abort', onShutdown);
  const decided: RunSessionOutcome = outcome!;
  try {
    if (decided.status === 'completed') await Promise.race([sandbox.exited, new Promise((resolve) => setTimeout(resolve, EXIT_GRACE_MS))]);
    await sandbox.kill();
  } catch (error) {
    // The outcome stands: a sandbox that would not go is logged, and the next start removes it as a leftover.
    deps.logger?.warn({ sandbox: sandbox.id, err: error }, 'the run sandbox could not be killed');
  }
  await recording;
  if (recordingFailures.length === 0 || decided.status === 'interrupted') return decided;
  return {
    status: 'failed',
    reason: 'recording_failed',
    detail: `the run ${describeOutcome(decided)}, but not all of it was recorded: ${recordingFailures.join('; ')}`.slice(0, 4_000),
  };
}

function describeOutcome(outcome: RunSessionOutcome): string {
  switch (outcome.status) {
    case 'completed':
      return 'completed';
    case 'failed':
      return `failed (${outcome.reason}: ${outcome.detail.slice(0, 500)})`;
    case 'timed_out':
      return `timed out (${outcome.limit})`;
    case 'interrupted':
      return `was interrupted (${outcome.reason})`;
  }
}
