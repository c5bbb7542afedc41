/**
 * The `script` gate: `sh -c <command>` in a fresh container of the agent image, as the
 * group's runs get (no network, no secrets, a read-only root, no capabilities, the runs'
 * limits), with the group's workspace mounted read-only: the script may look at anything the
 * agent keeps, and change nothing. It has `gate.timeoutMs` to print its verdict
 * (script-verdict.ts); past that it is killed.
 *
 * Only the Docker sandbox runs it. The process sandbox would run the command as the
 * runtime's own user, on the host's network and filesystem, which is exactly what bash is
 * kept from there; so with it the gate fails open (the task is woken, the detail says why).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { groupWorkspaceDir, sharedDir } from '../../runs/run-executor.js';
import type { SandboxedProcess } from '../../sandbox/sandbox.js';
import { verdict, type GateAdapter } from './gate.js';
import { scriptGateVerdict, type ScriptEnding } from './script-verdict.js';

/** The verdict is on the last line; a chatty script's earlier output is dropped past this. */
const STDOUT_TAIL_BYTES = 64 * 1024;
/** After the process is gone, how long its stdout may take to end before we read what we have. */
const STDOUT_DRAIN_MS = 2_000;

/**
 * The sandbox's run id of one evaluation (it names the container `ledgerclaw-run-gate-…`):
 * random, so evaluations of the same task never replace each other's container.
 */
export function gateRunId(taskId: string): string {
  const readable = taskId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 120);
  return `gate-${readable}-${randomBytes(4).toString('hex')}`;
}

/** Keeps the last `limit` bytes of a stream; resolves `ended` when it ends (or errs). */
function tailOf(stream: NodeJS.ReadableStream, limit: number): { text: () => string; ended: Promise<void> } {
  let chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer | string) => {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    chunks.push(buffer);
    size += buffer.length;
    if (size > 2 * limit) {
      const joined = Buffer.concat(chunks).subarray(-limit);
      chunks = [joined];
      size = joined.length;
    }
  });
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  return { text: () => Buffer.concat(chunks).subarray(-limit).toString('utf8'), ended };
}

async function runToEnding(script: SandboxedProcess, timeoutMs: number): Promise<ScriptEnding> {
  // Nothing to say to the script: a `read` gets end-of-file instead of waiting for the timeout.
  script.stdin.end();
  const stdout = tailOf(script.stdout, STDOUT_TAIL_BYTES);
  script.stderr.resume(); // the exit carries its tail; unread, a full pipe could stall the script
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void script.kill().catch(() => undefined);
  }, timeoutMs);
  let exit;
  try {
    exit = await script.exited;
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) return { kind: 'timed_out', timeoutMs, stderrTail: exit.stderrTail };
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([stdout.ended, new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, STDOUT_DRAIN_MS)))]);
  clearTimeout(drainTimer);
  return { kind: 'exited', exitCode: exit.exitCode, signal: exit.signal, oomKilled: exit.oomKilled, stdout: stdout.text(), stderrTail: exit.stderrTail };
}

export const evaluateScriptGate: GateAdapter<'script'> = async (gate, task, deps) => {
  const { sandbox, dataDir, logger } = deps;
  if (sandbox.isolation !== 'container') {
    const problem = `script gates run only in a container sandbox, and this runtime uses the ${sandbox.kind} sandbox (${sandbox.isolation} isolation: the host's network, files and user)`;
    logger.warn({ taskId: task.taskId, groupId: task.groupId, gate: 'script' }, `wake gate of task ${task.taskId} failed open: ${problem}`);
    return verdict(true, `${problem}, so the agent is woken (fail open)`);
  }
  const workspaceDir = groupWorkspaceDir(dataDir, task.groupId);
  await mkdir(workspaceDir, { recursive: true });
  await mkdir(sharedDir(dataDir), { recursive: true });
  const script = await sandbox.start({
    runId: gateRunId(task.taskId),
    groupId: task.groupId,
    workspaceDir,
    workspaceReadOnly: true,
    sharedDir: sharedDir(dataDir),
    // Nothing from the host: the sandbox refuses secret-looking entries anyway.
    env: {},
    limits: deps.limits,
    command: ['sh', '-c', gate.command],
  });
  const { verdict: decided, problem } = scriptGateVerdict(await runToEnding(script, gate.timeoutMs));
  if (problem !== null) {
    logger.warn({ taskId: task.taskId, groupId: task.groupId, gate: 'script', sandbox: script.id }, `wake gate of task ${task.taskId} failed open: the gate script ${problem}`);
  }
  return decided;
};
