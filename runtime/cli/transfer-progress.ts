/**
 * The progress bar of `events export`, `import` and `migrate` (cli-progress), on stderr so
 * that stdout stays the data (an export to `-`) or the result. A person watching gets the
 * bar; when stderr is not a terminal (a log, CI, a pipe) nothing is drawn at all.
 */
import cliProgress from 'cli-progress';
import type { OutputStream } from './io.js';

export interface TransferProgress {
  /** Starts (or restarts) the bar for a new phase: `copying`, `verifying`. */
  phase(label: string, total: number): void;
  update(value: number): void;
  stop(): void;
}

const QUIET: TransferProgress = { phase: () => undefined, update: () => undefined, stop: () => undefined };

export function transferProgress(stderr: OutputStream): TransferProgress {
  if (stderr.isTTY !== true) return QUIET;
  const bar = new cliProgress.SingleBar(
    {
      // cli-progress writes to the stream and asks it isTTY and columns (lib/terminal.js); a
      // stderr that says it is a TTY is the process's own tty.WriteStream (io.ts, processIo).
      stream: stderr as NodeJS.WritableStream,
      format: '{label} |{bar}| {percentage}% | {eta_formatted}s left',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    phase(label, total) {
      if (running) bar.stop();
      bar.start(Math.max(total, 0), 0, { label });
      running = true;
    },
    update(value) {
      if (running) bar.update(value);
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
