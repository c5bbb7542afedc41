/**
 * Everything a command touches outside itself: its output streams, environment, working
 * directory and the shutdown signal. Commands receive it instead of reaching for
 * `process`, so tests can run them in-process with captured output.
 */
import type { ShutdownSignal } from '../start-stop-record.js';

export type { ShutdownSignal };

export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ShutdownWatch {
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly received: Promise<ShutdownSignal>;
  /** Stops listening (and stops keeping the process alive); call it when the command ends. */
  stop(): void;
}

export interface CliIo {
  /** What the user types, for interactive commands (`chat`); absent where nobody types. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /**
   * Starts listening for SIGINT and SIGTERM, and keeps the process alive until one comes
   * or `stop()` is called. Call it before starting long work, so a signal that arrives
   * during startup is not lost.
   */
  watchShutdown(): ShutdownWatch;
}

const SHUTDOWN_SIGNALS: readonly ShutdownSignal[] = ['SIGINT', 'SIGTERM'];

/** Signal listeners do not keep Node's event loop alive; a timer does. */
const KEEP_ALIVE_MS = 2 ** 30;

function watchProcessShutdown(stderr: OutputStream): ShutdownWatch {
  let resolveReceived: (signal: ShutdownSignal) => void = () => undefined;
  const received = new Promise<ShutdownSignal>((resolve) => {
    resolveReceived = resolve;
  });
  const keepAlive = setInterval(() => undefined, KEEP_ALIVE_MS);
  let stopped = false;

  // A second signal means the orderly shutdown is stuck or too slow for the operator.
  const forceExit = (signal: ShutdownSignal) => {
    stderr.write(`ledgerclaw: ${signal} received again, exiting without finishing shutdown\n`);
    process.exit(130);
  };
  const onSignal = (signal: ShutdownSignal) => {
    for (const other of SHUTDOWN_SIGNALS) process.removeListener(other, onSignal);
    for (const other of SHUTDOWN_SIGNALS) process.on(other, forceExit);
    resolveReceived(signal);
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);

  return {
    received,
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(keepAlive);
      for (const signal of SHUTDOWN_SIGNALS) {
        process.removeListener(signal, onSignal);
        process.removeListener(signal, forceExit);
      }
    },
  };
}

export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    watchShutdown: () => watchProcessShutdown(process.stderr),
  };
}
