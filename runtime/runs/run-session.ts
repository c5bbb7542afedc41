/**
 * Drives one run's sandboxed runner over the framed channel, from `ready` to its ending:
 * answers model requests through the model gateway (after the budget check) and host tool
 * calls through the tool gateway, records every call as it happens, and watches the
 * limits. It decides exactly one outcome:
 *
 * - `completed` when the runner says `done`;
 * - `failed` when the runner reports a failure (`model_error` if the model API refused
 *   it, `crash` otherwise), breaks the protocol (`crash`), is killed for memory (`oom`),
 *   exits non-zero or exits without an answer (`exit_code` / `crash`), a model request is
 *   refused by policy (`model_error`), a budget runs out (`budget_exceeded`), or a tool
 *   call leaves the group's workspace over its quota (`workspace_quota`);
 * - `timed_out` when the hard limit passes, or nothing happens for the idle limit.
 *
 * Whatever the outcome, the sandbox is killed before `driveRun` returns.
 */
import { FramedChannel } from '../../container/protocol/channel.js';
import {
  runnerToHostMessage,
  type HostToRunnerMessage,
  type RunnerToHostMessage,
  type StartMessage,
} from '../../container/protocol/messages.js';
import type { RunFailureReason } from '../../events/catalogue/run.js';
import type { ModelCallPolicy, ModelCallRecord, ModelGateway } from '../gateways/model-gateway.js';
import type { SandboxedProcess } from '../sandbox/sandbox.js';

export type RunSessionOutcome =
  | { readonly status: 'completed'; readonly answer: string; readonly iterations: number; readonly stopReason: string }
  | { readonly status: 'failed'; readonly reason: RunFailureReason; readonly detail: string }
  | { readonly status: 'timed_out'; readonly limit: 'hard' | 'idle'; readonly limitMs: number };

export interface ToolCallRecord {
  readonly callId: string;
  readonly tool: string;
  readonly where: 'host' | 'workspace';
  readonly input: unknown;
  readonly output: string;
  readonly isError: boolean;
  readonly durationMs: number;
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
  readonly callHostTool: (callId: string, name: string, input: unknown) => Promise<{ content: string; isError: boolean }>;
  /** Null while the run may spend; otherwise why it may not (checked before every model call). */
  readonly budgetExceeded: () => Promise<string | null>;
  /** Null while the workspace is within its quota; otherwise why not (checked after every tool call, before the next model call). */
  readonly workspaceOverQuota?: () => Promise<string | null>;
  readonly recordModelCall: (record: ModelCallRecord) => Promise<void>;
  readonly recordToolCall: (record: ToolCallRecord) => Promise<void>;
  readonly limits: { readonly hardTimeoutMs: number; readonly idleTimeoutMs: number };
  readonly onProgress?: (progress: RunProgress) => void;
}

/** How long a runner that said `done` gets to exit before it is killed. */
const EXIT_GRACE_MS = 5_000;

export async function driveRun(deps: RunSessionDeps): Promise<RunSessionOutcome> {
  const { sandbox } = deps;
  const channel = new FramedChannel<RunnerToHostMessage, HostToRunnerMessage>(sandbox.stdout, sandbox.stdin, runnerToHostMessage, 'runner');
  let outcome: RunSessionOutcome | null = null;
  /** The last model call failed at the API: a runner failure after it is the model's. */
  let lastModelError: string | null = null;
  /** Records are appended in the order the calls happened, and all before the ending. */
  let recording: Promise<void> = Promise.resolve();
  let recordingFailure: Error | null = null;
  const record = (write: () => Promise<void>) => {
    recording = recording.then(write).catch((error: Error) => {
      recordingFailure ??= error;
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

  const fail = (reason: RunFailureReason, detail: string) => decide({ status: 'failed', reason, detail: detail.slice(0, 4_000) || reason });

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
    const overBudget = await deps.budgetExceeded();
    if (overBudget !== null) {
      channel.send({ type: 'stop', reason: overBudget.slice(0, 1_000) });
      fail('budget_exceeded', overBudget);
      return;
    }
    deps.onProgress?.({ kind: 'thinking', callId });
    const result = await deps.model.call(callId, body, deps.policy, (event) => {
      touch();
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') deps.onProgress?.({ kind: 'text', text: event.delta.text });
      channel.send({ type: 'model_event', callId, event: event as never });
    });
    touch();
    if (result.status === 'answered') {
      lastModelError = null;
      record(() => deps.recordModelCall(result.record));
      channel.send({ type: 'model_end', callId });
      return;
    }
    if (result.status === 'api_error') {
      lastModelError = `the model API answered ${result.httpStatus} ${result.error.type} after ${result.attempts} attempt(s): ${result.error.message}`;
      channel.send({ type: 'model_error', callId, status: result.httpStatus, error: result.error });
      return;
    }
    channel.send({ type: 'stop', reason: result.reason.slice(0, 1_000) });
    fail('model_error', result.reason);
  }

  async function answerToolCall(callId: string, name: string, input: unknown): Promise<void> {
    deps.onProgress?.({ kind: 'tool', tool: name, where: 'host' });
    const began = performance.now();
    const result = await deps.callHostTool(callId, name, input);
    touch();
    record(() =>
      deps.recordToolCall({ callId, tool: name, where: 'host', input, output: result.content, isError: result.isError, durationMs: Math.round(performance.now() - began) }),
    );
    channel.send({ type: 'tool_result', callId, content: result.content, isError: result.isError });
    checkQuota();
    deps.onProgress?.({ kind: 'tool_answered', tool: name, hostMs: performance.now() - began });
  }

  const handlerFailed = (what: string) => (error: unknown) => fail('crash', `the host failed while ${what}: ${error instanceof Error ? error.message : String(error)}`);

  channel.on('message', (message) => {
    touch();
    switch (message.type) {
      case 'ready':
        channel.send(deps.start);
        return;
      case 'model_request':
        answerModelRequest(message.callId, message.body).catch(handlerFailed('answering a model request'));
        return;
      case 'tool_call':
        answerToolCall(message.callId, message.name, message.input).catch(handlerFailed(`running host tool ${message.name}`));
        return;
      case 'tool_executed':
        deps.onProgress?.({ kind: 'tool', tool: message.name, where: 'workspace' });
        record(() =>
          deps.recordToolCall({
            callId: message.callId,
            tool: message.name,
            where: 'workspace',
            input: message.input,
            output: message.output,
            isError: message.isError,
            durationMs: message.durationMs,
          }),
        );
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
  channel.on('error', (error) => fail('crash', `the runner broke the protocol: ${error.message}`));

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
  if (outcome!.status === 'completed') await Promise.race([sandbox.exited, new Promise((resolve) => setTimeout(resolve, EXIT_GRACE_MS))]);
  await sandbox.kill();
  await recording;
  if (recordingFailure !== null) throw recordingFailure;
  return outcome!;
}
