/**
 * The fake EventStoreDB in a process of its own, for the bench: in the bench's own process
 * the fake's gRPC server would share one event loop with the client it serves, and the
 * figures would mix both. The child imports the built fake (dist/test/fakes/eventstoredb/),
 * starts it on a free port of 127.0.0.1, prints `listening <url>`, and closes it on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface FakeEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

/** The built fake, next to this module's place in dist/test/. */
export function builtFakeModule(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'fakes', 'eventstoredb', 'fake-eventstoredb.js');
}

/** The child's whole program: the fake's own API, nothing of its own. */
function childProgram(moduleUrl: string): string {
  return [
    `const { startFakeEventStoreDb } = await import(${JSON.stringify(moduleUrl)});`,
    `const fake = await startFakeEventStoreDb({ host: '127.0.0.1', port: 0 });`,
    `process.on('SIGTERM', () => { fake.close().then(() => process.exit(0), () => process.exit(1)); });`,
    'process.stdout.write(`listening ${fake.url}\\n`);',
  ].join('\n');
}

export async function startFakeProcess(): Promise<FakeEndpoint> {
  const module = builtFakeModule();
  if (!existsSync(module)) throw new Error(`the fake EventStoreDB is not built at ${module}: run the bench with npm run bench, which builds first`);
  const child = spawn(process.execPath, ['--input-type=module', '--eval', childProgram(pathToFileURL(module).href)], { stdio: ['ignore', 'pipe', 'pipe'] });
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
