/**
 * bash: one shell command in the workspace. High risk (it runs arbitrary code), so offered only
 * where the container contains it. The command sees a clean environment: only PATH, HOME (the
 * workspace) and LANG, never the runner's own variables.
 */
import path from 'node:path';
import { z } from 'zod';
import type { CapturedOutput } from './captured-output.js';
import { runShellCommand, type ShellResult } from './run-shell.js';
import { endStrayProcesses, type SweepResult } from './stray-processes.js';
import { ToolFailure } from './tool-failure.js';
import { defineWorkspaceTool } from './workspace-tool.js';

/** A fixed PATH rather than the runner's, so nothing about the runner leaks into commands. */
export const SHELL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Room kept under the output cap for the exit line and section headings. */
const FRAME_RESERVE_CHARS = 200;

const bashInput = z.strictObject({
  command: z.string().min(1).describe('Shell command, run with /bin/sh -c in the workspace root.'),
  timeout_ms: z.number().int().min(1).max(86_400_000).optional().describe('Timeout in milliseconds; at most the default, which is also the limit.'),
});

export const bashTool = defineWorkspaceTool({
  name: 'bash',
  highRisk: true,
  description: (context) =>
    'Run a shell command (/bin/sh -c) with the workspace root as the working directory and stdin closed. ' +
    `Answers the exit code, stdout and stderr. Times out after ${context.bashTimeoutMs} ms (timeout_ms may ask for less), ` +
    'killing every process the command started; background processes do not outlive the command. ' +
    'The environment holds only PATH, HOME (the workspace) and LANG.',
  inputSchema: bashInput,
  async run(input, context) {
    const timeoutMs = Math.min(input.timeout_ms ?? context.bashTimeoutMs, context.bashTimeoutMs);
    const root = path.resolve(context.root);
    // Before as well as after: what an earlier sweep could not end within its deadline goes now.
    if (context.ownsPidNamespace === true) await endStrayProcesses();
    let result: ShellResult;
    let swept: SweepResult | null = null;
    try {
      result = await runShellCommand({
        command: input.command,
        cwd: root,
        env: { PATH: SHELL_PATH, HOME: root, LANG: 'C.UTF-8' },
        timeoutMs,
        maxCaptureChars: context.maxOutputChars,
      });
    } finally {
      // The process group was killed already; this ends what left it (setsid) and waits for the zombies to be reaped.
      if (context.ownsPidNamespace === true) swept = await endStrayProcesses();
    }
    if (result.kind === 'failed_to_start') throw new ToolFailure(`could not start /bin/sh: ${result.reason}`);

    const status = result.timedOut
      ? `timed out after ${timeoutMs} ms; the command and everything it started were killed`
      : result.exitCode !== null
        ? `exit code ${result.exitCode}`
        : `killed by signal ${result.signal ?? 'unknown'}`;
    const failed = result.timedOut || result.exitCode !== 0;
    const budget = Math.max(0, context.maxOutputChars - FRAME_RESERVE_CHARS);
    const [stdoutBudget, stderrBudget] = shareBudget(budget, result.stdout.totalChars, result.stderr.totalChars);
    const sections = [status, ...sweepNote(swept), section('stdout', result.stdout, stdoutBudget), section('stderr', result.stderr, stderrBudget)];
    return { content: sections.join('\n'), isError: failed };
  },
});

/** Tells the model why a daemon it started is gone, or that some process would not go. */
function sweepNote(swept: SweepResult | null): string[] {
  if (swept === null) return [];
  const notes: string[] = [];
  if (swept.killed > 0) notes.push(`ended ${swept.killed} process(es) the command left running (nothing outlives a command, not even through setsid)`);
  if (swept.remaining > 0) notes.push(`${swept.remaining} process(es) the command left could not be ended yet; the next command ends them first`);
  return notes;
}

function section(heading: string, output: CapturedOutput, budget: number): string {
  if (output.totalChars === 0) return `${heading}: (empty)`;
  return `${heading}:\n${output.render(budget).replace(/\n$/, '')}`;
}

/** Splits `budget` between two outputs: whichever needs less than half keeps all of it, the other gets the rest. */
export function shareBudget(budget: number, first: number, second: number): [number, number] {
  if (first + second <= budget) return [first, second];
  const half = Math.floor(budget / 2);
  if (first <= half) return [first, budget - first];
  if (second <= half) return [budget - second, second];
  return [budget - half, half];
}

