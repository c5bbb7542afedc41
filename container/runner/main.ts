/**
 * The agent runner: the process a run's sandbox starts. It speaks the framed protocol on
 * stdin/stdout (stderr is for its own diagnostics, which the host keeps the tail of),
 * takes one turn, reports how it ended, and exits. It holds no secret: the model is
 * reached through the host (see model-tunnel.ts).
 */
import { accessSync, constants } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { FramedChannel } from '../protocol/channel.js';
import { hostToRunnerMessage, PROTOCOL_VERSION, type HostToRunnerMessage, type RunnerToHostMessage, type StartMessage } from '../protocol/messages.js';
import { runAgentLoop, type ToolOutcome } from './agent-loop.js';
import { ModelTunnel } from './model-tunnel.js';
import { isWorkspaceTool, runWorkspaceTool, workspaceToolDefinitions, type WorkspaceToolContext } from './workspace-tools/index.js';

/** The SDK insists on a key; the host's gateway ignores this one and uses its own. */
const NO_KEY_IN_THE_SANDBOX = 'sandbox-has-no-key';

function workspaceRoot(): string {
  const root = process.env.LEDGERCLAW_WORKSPACE;
  if (!root) throw new Error('LEDGERCLAW_WORKSPACE is not set; the sandbox sets it to the workspace the runner may use');
  return root;
}

/**
 * The image's init (container/agent-init.sh) starts the runner as its only child, in a pid
 * namespace of the run's own, and says so: every other process there was then started by a
 * tool call. Both checks, so that a runner started by hand on a shared host never takes the
 * host's processes for its own.
 */
const ownsPidNamespace = process.env.LEDGERCLAW_OWN_PID_NAMESPACE === '1' && process.ppid === 1;

/**
 * The channel to the host is this process's stdin and stdout, which the agent's processes (the
 * same uid) could open through /proc/<pid>/fd, unless the kernel marked this process
 * non-dumpable: it does when the executable is one its user cannot read. An image that lost
 * that (node readable) would let bash forge frames, so the runner refuses to run in it.
 */
function requireProtectedChannel(): void {
  let readable = true;
  try {
    accessSync(process.execPath, constants.R_OK);
  } catch {
    readable = false;
  }
  if (readable) {
    throw new Error(
      `${process.execPath} is readable by the runner's user, so the runner stays dumpable and the agent's processes could reach its channel through /proc; the agent image installs node execute-only (0711)`,
    );
  }
}

async function main(): Promise<void> {
  if (ownsPidNamespace) requireProtectedChannel();
  // What the agent writes in its workspace (and what its bash writes: children inherit the
  // mask) is uid 1000's alone, as the rest of the data directory is the runtime's.
  process.umask(0o077);
  const channel = new FramedChannel<HostToRunnerMessage, RunnerToHostMessage>(process.stdin, process.stdout, hostToRunnerMessage, 'host');
  const tunnel = new ModelTunnel((message) => channel.send(message));
  const hostCalls = new Map<string, (outcome: ToolOutcome) => void>();
  let stopReason: string | null = null;

  const started = new Promise<StartMessage>((resolve, reject) => {
    channel.on('message', (message) => {
      switch (message.type) {
        case 'start':
          resolve(message);
          return;
        case 'model_event':
        case 'model_end':
        case 'model_error':
          tunnel.receive(message);
          return;
        case 'tool_result':
          hostCalls.get(message.callId)?.({ content: message.content, isError: message.isError });
          hostCalls.delete(message.callId);
          return;
        case 'stop':
          stopReason = message.reason;
          tunnel.failAll(new Error(`the host stopped the run: ${message.reason}`));
          return;
      }
    });
    const lost = (error: Error) => {
      tunnel.failAll(error);
      reject(error);
    };
    channel.on('error', lost);
    channel.on('end', () => lost(new Error('the host closed the channel')));
  });
  // A broken channel after start is reported through the pending calls; keep the process alive until then.
  started.catch(() => undefined);

  channel.send({ type: 'ready', protocol: PROTOCOL_VERSION });
  const start = await started;
  const context: WorkspaceToolContext = {
    root: workspaceRoot(),
    bashEnabled: start.workspace.bashEnabled,
    allowedTools: start.workspace.tools,
    bashTimeoutMs: start.workspace.bashTimeoutMs,
    maxOutputChars: start.workspace.maxOutputChars,
    ownsPidNamespace,
  };
  const client = new Anthropic({ apiKey: NO_KEY_IN_THE_SANDBOX, baseURL: 'http://model-gateway.invalid', fetch: tunnel.fetch, maxRetries: 0, timeout: 30 * 60_000 });

  try {
    const answer = await runAgentLoop(start, {
      client,
      workspaceTools: workspaceToolDefinitions(context),
      isWorkspaceTool,
      stopRequested: () => stopReason,
      async runWorkspaceTool(callId, name, input) {
        const began = performance.now();
        const outcome = await runWorkspaceTool(name, input, context);
        channel.send({
          type: 'tool_executed',
          callId,
          name,
          input: (input ?? null) as never,
          output: outcome.content,
          isError: outcome.isError,
          durationMs: Math.round(performance.now() - began),
        });
        return outcome;
      },
      callHostTool(callId, name, input) {
        return new Promise<ToolOutcome>((resolve) => {
          hostCalls.set(callId, resolve);
          channel.send({ type: 'tool_call', callId, name, input: (input ?? null) as never });
        });
      },
    });
    channel.send({ type: 'done', answer: answer.answer, iterations: answer.iterations, stopReason: answer.stopReason });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`runner: ${error instanceof Error && error.stack ? error.stack : message}\n`);
    channel.send({ type: 'failed', message: message.slice(0, 4_000) || 'the runner failed' });
  }
  // Let stdout drain before exiting, so the last frame is not lost.
  process.stdout.end(() => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`runner: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(70);
});
