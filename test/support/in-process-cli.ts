/**
 * Runs the CLI program in this process with captured output, as `ledgerclaw <args>`
 * would run, for tests that need no child process.
 */
import type { CliIo } from '../../runtime/cli/io.js';
import { runCli, type RunOptions } from '../../runtime/cli/run.js';

export interface CliOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCliCaptured(
  args: readonly string[],
  options: { readonly cwd: string; readonly env?: Record<string, string> } & RunOptions,
): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    cwd: options.cwd,
    // No signal ever comes: commands that wait for one are not run in-process.
    watchShutdown: () => ({ received: new Promise(() => undefined), stop: () => undefined }),
  };
  const code = await runCli(args, io, {
    ...(options.actors ? { actors: options.actors } : {}),
    ...(options.readModels ? { readModels: options.readModels } : {}),
  });
  return { code, stdout, stderr };
}
