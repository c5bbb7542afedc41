/**
 * The Stately inspector bridge: the actor host's inspection feed reaches a WebSocket client
 * of a real inspector server, in-process; and `ledgerclaw start --inspect` in a real process
 * prints where to look and serves the inspector's port.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MemoryBackend } from '../../events/adapters/memory.js';
import { createEventStore } from '../../events/event-store.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import type { CliIo } from '../../runtime/cli/io.js';
import { runCli } from '../../runtime/cli/run.js';
import { startInspector, type RunningInspector } from '../../runtime/inspector.js';
import { liveActorsFileSchema, liveActorsPath } from '../../runtime/live-actors-file.js';
import { builtFile } from '../support/built-dist.js';
import { killLeftoverProcesses, startProcess } from '../support/child-process.js';
import { counterCatalogue, counterKind, type CounterKind } from '../support/counter-kind.js';
import { cliEnv } from '../support/cli-env.js';

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

interface InspectorMessage {
  readonly type: string;
  readonly sessionId: string;
  readonly name?: string;
  readonly definition?: string;
  readonly event?: { readonly type: string; readonly [field: string]: unknown };
  readonly snapshot?: { readonly value?: unknown; readonly context?: Record<string, unknown> };
}

/** A browser's side of the inspector server: collects what it relays. */
class Viewer {
  readonly messages: InspectorMessage[] = [];
  private readonly socket: WebSocket;
  private readonly waiters = new Set<() => void>();
  readonly opened: Promise<void>;

  constructor(port: number) {
    this.socket = new WebSocket(`ws://localhost:${port}`);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as InspectorMessage);
      for (const waiter of this.waiters) waiter();
    });
  }

  /** Resolves with the first message matching, received before or after the call. */
  waitFor(matches: (message: InspectorMessage) => boolean, what: string, timeoutMs = 10_000): Promise<InspectorMessage> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.messages.find(matches);
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; received ${JSON.stringify(this.messages.map((m) => [m.type, m.sessionId, m.event?.type]))}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}


describe('bridgeInspection to a real inspector server', () => {
  let inspector: RunningInspector | undefined;
  let viewer: Viewer | undefined;
  let host: ActorHost<CounterKind> | undefined;

  afterEach(async () => {
    await viewer?.close();
    await host?.stop();
    inspector?.stop();
  });

  it('relays the actor, its commands, its stored events and its new state', async () => {
    const port = await freePort();
    inspector = await startInspector({ port });
    host = new ActorHost({ requireAllEffects: false, store: createEventStore(new MemoryBackend(), counterCatalogue), kinds: [counterKind] });
    inspector.attach(host.inspection, { kinds: [counterKind] });
    expect(inspector.url).toBe(`http://localhost:${port}`);
    viewer = new Viewer(port);
    await viewer.opened;

    await host.send('counter', 'a', { type: 'increment', by: 2 });

    const isCounterA = (message: InspectorMessage) => message.sessionId === 'counter-a';
    const actor = await viewer.waitFor((m) => isCounterA(m) && m.type === '@xstate.actor', 'actor registration');
    expect(actor.snapshot).toMatchObject({ value: 'open', context: { id: 'a', count: 0, limit: 10 } });
    // The machine definition goes along, so the UI can draw it.
    expect(actor.name).toBe('counter');
    expect(JSON.parse(actor.definition ?? '{}')).toMatchObject({ id: 'counter', initial: 'open' });

    const command = await viewer.waitFor((m) => isCounterA(m) && m.type === '@xstate.event' && m.event?.type === 'increment', 'command');
    expect(command.event).toMatchObject({ type: 'increment', by: 2, meta: { actor: 'runtime' } });
    const stored = await viewer.waitFor(
      (m) => isCounterA(m) && m.type === '@xstate.event' && m.event?.type === 'counter.incremented',
      'stored event',
    );
    expect(stored.event).toMatchObject({ data: { by: 2 }, revision: 0 });
    const snapshot = await viewer.waitFor((m) => isCounterA(m) && m.type === '@xstate.snapshot', 'snapshot update');
    expect(snapshot.snapshot).toMatchObject({ value: 'open', context: { count: 2 } });

    await host.send('counter', 'a', { type: 'close', reason: 'done' });
    const closed = await viewer.waitFor((m) => isCounterA(m) && m.type === '@xstate.snapshot' && m.snapshot?.value === 'closed', 'closed state');
    expect(closed.snapshot?.context).toMatchObject({ count: 2 });
  });

  it('refuses a port in use with a message naming it', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startInspector({ port })).rejects.toThrow(`inspector port ${port} is in use; choose another with --inspect-port <port>`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe('ledgerclaw start --inspect', () => {
  let cliPath: string;
  let workDir: string;

  beforeAll(() => {
    cliPath = builtFile('runtime/cli/main.js');
  });

  beforeEach(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-inspect-'));
  });

  afterEach(async () => {
    await killLeftoverProcesses();
    await rm(workDir, { recursive: true, force: true });
  });

  function env(): NodeJS.ProcessEnv {
    return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn' });
  }

  it('prints the URL to open, serves the page and accepts a WebSocket, and stops cleanly', async () => {
    const port = await freePort();
    const dataDir = join(workDir, 'data');
    const runtime = startProcess(process.execPath, [cliPath, 'start', '--inspect', '--inspect-port', String(port), '--data', dataDir], {
      cwd: workDir,
      env: env(),
    });
    const banner = await runtime.waitForOutput('Stop with Ctrl-C');
    expect(banner).toContain(`inspector         http://localhost:${port}`);
    expect(banner).toContain(`open http://localhost:${port} in a browser`);
    expect(banner).toContain('https://stately.ai/inspect');
    // The registered kinds, and the effects their states owe (none in a new data directory).
    expect(banner).toMatch(/actors {12}7 kinds \(group, task, memory, approval, run, supervisor, instructions\); 0 pending effects resumed/);

    const page = await fetch(`http://localhost:${port}`);
    expect(await page.text()).toContain('src="https://stately.ai/inspect"');
    const viewer = new Viewer(port);
    await viewer.opened;
    await viewer.close();

    // The runtime reports its live actors meanwhile.
    const live = liveActorsFileSchema.parse(JSON.parse(await readFile(liveActorsPath(dataDir), 'utf8')));
    expect(live.pid).toBe(runtime.pid);

    runtime.kill('SIGTERM');
    expect(await runtime.exited).toEqual({ code: 0, signal: null });
    await expect(stat(liveActorsPath(dataDir))).rejects.toThrow(/ENOENT/);
  });

  it('exits 1 naming the port when it is in use, before writing anything', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dataDir = join(workDir, 'data');
      const runtime = startProcess(process.execPath, [cliPath, 'start', '--inspect-port', String(port), '--data', dataDir], {
        cwd: workDir,
        env: env(),
      });
      const exit = await runtime.exited;
      expect(exit.code).toBe(1);
      expect(runtime.stderr()).toContain(`ledgerclaw: inspector port ${port} is in use; choose another with --inspect-port <port>`);
      await expect(stat(join(dataDir, 'events.db'))).rejects.toThrow(/ENOENT/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});

describe('start --inspect-port usage errors', () => {
  it.each([['0'], ['65536'], ['http']])('--inspect-port %s exits 2 naming the option', async (value) => {
    let stderr = '';
    const io: CliIo = {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      cwd: tmpdir(),
      watchShutdown: () => ({ received: new Promise(() => undefined), stop: () => undefined }),
    };
    expect(await runCli(['start', '--inspect', '--inspect-port', value], io)).toBe(2);
    expect(stderr).toContain(`option '--inspect-port <port>' argument '${value}' is invalid. expected a TCP port number from 1 to 65535`);
  });
});
