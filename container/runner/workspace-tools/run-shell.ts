/**
 * Running one shell command for the bash tool: `/bin/sh -c`, stdin closed, a clean environment,
 * in its own process group so that everything it started can be killed together, on timeout
 * and also when the shell exits (a background job must not outlive the call).
 */
import { spawn } from 'node:child_process';
import { CapturedOutput } from './captured-output.js';

/** How long a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2_000;
/**
 * After the group was killed, how much longer to wait for the output pipes to close. A process
 * that left the group (setsid) can hold them open forever; then the call ends without it.
 */
const PIPE_DRAIN_MS = 1_000;

export interface ShellCommand {
  readonly command: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Per stream. */
  readonly maxCaptureChars: number;
}

export type ShellResult =
  | {
      readonly kind: 'finished';
      readonly exitCode: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly timedOut: boolean;
      readonly stdout: CapturedOutput;
      readonly stderr: CapturedOutput;
    }
  | { readonly kind: 'failed_to_start'; readonly reason: string };

export function runShellCommand(request: ShellCommand): Promise<ShellResult> {
  return new Promise<ShellResult>((resolve) => {
    const stdout = new CapturedOutput(request.maxCaptureChars);
    const stderr = new CapturedOutput(request.maxCaptureChars);
    const child = spawn('/bin/sh', ['-c', request.command], {
      cwd: request.cwd,
      env: { ...request.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const signalGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        // A negative pid addresses the whole process group the detached shell leads.
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    let killing = false;
    const killGroup = () => {
      if (killing) return;
      killing = true;
      signalGroup('SIGTERM');
      // Left armed even after the call has ended: a group that ignores SIGTERM must still die.
      setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, KILL_GRACE_MS + PIPE_DRAIN_MS);
    };
    const finish = () => {
      if (settled || exit === undefined) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      stdout.end();
      stderr.end();
      resolve({ kind: 'finished', exitCode: exit.code, signal: exit.signal, timedOut, stdout, stderr });
    };

    child.stdout.on('data', (chunk: Buffer) => stdout.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.write(chunk));
    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      resolve({ kind: 'failed_to_start', reason: error.message });
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      killGroup();
    });
    // 'close' comes once the shell has exited and every holder of its output pipes is gone.
    child.on('close', finish);
    timeoutTimer = setTimeout(() => {
      if (exit !== undefined) return;
      timedOut = true;
      killGroup();
    }, request.timeoutMs);
  });
}
