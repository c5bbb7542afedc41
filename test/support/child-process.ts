/**
 * A child process under test: its output collected as it arrives, waits on what it
 * prints (never on time alone), and cleanup that kills whatever is still running.
 */
import { spawn, type SpawnOptions } from 'node:child_process';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  readonly pid: number;
  /** The child's stdin, when it was started with `stdio: ['pipe', …]`. */
  readonly stdin: NodeJS.WritableStream | null;
  stdout(): string;
  stderr(): string;
  /** Resolves when `pattern` appears in stdout (or stderr), with the text so far. */
  waitForOutput(pattern: RegExp | string, options?: { stream?: 'stdout' | 'stderr'; timeoutMs?: number }): Promise<string>;
  readonly exited: Promise<Exit>;
  kill(signal: NodeJS.Signals): void;
}

const running = new Set<RunningProcess>();

const DEFAULT_TIMEOUT_MS = 20_000;

export function startProcess(command: string, args: readonly string[], options: SpawnOptions = {}): RunningProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    notify();
  });
  let hasExited = false;
  // 'close' rather than 'exit': all output has been read by then.
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      hasExited = true;
      notify();
      resolve({ code, signal });
    });
  });

  const handle: RunningProcess = {
    pid: child.pid,
    stdin: child.stdin,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal) => {
      if (!hasExited) child.kill(signal);
    },
    waitForOutput: (pattern, { stream = 'stdout', timeoutMs = DEFAULT_TIMEOUT_MS } = {}) =>
      new Promise((resolve, reject) => {
        const text = () => (stream === 'stdout' ? stdout : stderr);
        const matches = () => (typeof pattern === 'string' ? text().includes(pattern) : pattern.test(text()));
        const check = () => {
          if (matches()) {
            done();
            resolve(text());
          } else if (hasExited) {
            done();
            reject(new Error(`process exited before printing ${String(pattern)}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Runs to completion and returns the exit and all output. */
export async function runProcess(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<Exit & { stdout: string; stderr: string }> {
  const child = startProcess(command, args, options);
  const exit = await child.exited;
  return { ...exit, stdout: child.stdout(), stderr: child.stderr() };
}

/** For afterEach: SIGKILL every process a test started and left running, and reap them. */
export async function killLeftoverProcesses(): Promise<void> {
  const leftovers = [...running];
  for (const child of leftovers) child.kill('SIGKILL');
  await Promise.all(leftovers.map((child) => child.exited));
}
