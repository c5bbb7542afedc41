/**
 * The fake EventStoreDB in a process of its own, for the bench: in the bench's own process
 * the fake's gRPC server would share one event loop with the client it serves, and the
 * figures would mix both. It is the built test/fakes/eventstoredb/main.ts: `--port 0` prints
 * `listening <url>` once it accepts connections, SIGTERM stops it, and with
 * `--exit-on-stdin-close` it also stops when the bench dies without closing it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface FakeEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

/** The built fake's entry point, next to this module's place in dist/test/. */
export function builtFakeMain(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'fakes', 'eventstoredb', 'main.js');
}

export async function startFakeProcess(): Promise<FakeEndpoint> {
  const main = builtFakeMain();
  if (!existsSync(main)) throw new Error(`the fake EventStoreDB is not built at ${main}: run the bench with npm run bench, which builds first`);
  // stdin stays open while the bench lives: its end tells the fake to stop.
  const child = spawn(process.execPath, [main, '--port', '0', '--exit-on-stdin-close'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      lines.close();
      child.kill('SIGKILL');
      reject(new Error(`the fake EventStoreDB process ${why}${stderr.trim() === '' ? '' : `; its stderr: ${stderr.trim()}`}`));
    };
    const timer = setTimeout(() => fail(`did not print "listening <url>" within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    lines.on('line', (line) => {
      const match = /^listening (esdb:\/\/\S+)$/.exec(line.trim());
      if (!match || settled) return;
      settled = true;
      clearTimeout(timer);
      lines.close();
      resolve(match[1]!);
    });
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${String(code)}`}) before it listened`));
    child.once('error', (error) => fail(`could not start: ${error.message}`));
  });
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      })();
      return closing;
    },
  };
}
