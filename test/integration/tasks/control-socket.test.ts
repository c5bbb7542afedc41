/**
 * The control socket on a real data directory: a runtime-like process part (the writer
 * lock, the store, an actor host, the control server, the tasks projection) runs in this
 * test, and the CLI, in-process, finds the directory held and sends its task commands
 * through the socket, where the runtime's actor host decides them. Bad lines get a clear
 * error and the server goes on serving; the socket file is the owner's only, replaced when
 * stale and removed on close.
 */
import { lstatSync, existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventStore } from '../../../events/port.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { tasksProjection } from '../../../projections/tasks.js';
import type { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { openActorRuntime } from '../../../runtime/actor-runtime.js';
import { loadConfig } from '../../../runtime/config.js';
import { ControlRequestError, sendControlCommand } from '../../../runtime/control/client.js';
import { controlSocketPath, startControlServer, type RunningControlServer } from '../../../runtime/control/server.js';
import { openEventStore } from '../../../runtime/open-store.js';
import { runCliCaptured, type CliOutcome } from '../../support/in-process-cli.js';
import { temporaryDir } from '../projections/fixture.js';

let dir: { path: string; remove: () => Promise<void> };

beforeEach(async () => {
  dir = await temporaryDir('control');
});

afterEach(async () => {
  await dir.remove();
});

interface RuntimeLike {
  readonly store: EventStore;
  readonly host: ActorHost;
  readonly control: RunningControlServer;
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/** What `ledgerclaw start` holds that the control socket needs: the lock, the store, the actor host, the tasks read model. */
async function startRuntimeLike(options: { withControl?: boolean } = {}): Promise<RuntimeLike> {
  const { config } = loadConfig({ flags: { data: dir.path }, env: {}, cwd: dir.path });
  const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'ledgerclaw start' });
  const actorRuntime = await openActorRuntime({ store: opened.store, config, readOnly: false });
  const projections = new ProjectionHost({ store: opened.store, projections: [tasksProjection], dataDir: dir.path });
  await projections.start();
  const control =
    options.withControl === false
      ? { path: controlSocketPath(dir.path), close: async () => undefined }
      : await startControlServer({ dataDir: dir.path, actors: actorRuntime.host, kinds: ['task'] });
  return {
    store: opened.store,
    host: actorRuntime.host,
    control,
    caughtUp: async () => projections.waitFor(tasksProjection.name, await opened.store.headPosition()),
    async stop() {
      await control.close();
      await projections.stop();
      await actorRuntime.close();
      await opened.close();
    },
  };
}

const cli = (...args: string[]): Promise<CliOutcome> => runCliCaptured(['tasks', ...args, '--data', dir.path], { cwd: dir.path, env: { LEDGERCLAW_LOG_LEVEL: 'silent' } });

describe('task commands while the runtime runs', () => {
  it("go through the control socket to the runtime's actor host, signed by the cli", async () => {
    const runtime = await startRuntimeLike();
    try {
      const added = await cli('add', '--group', 'T1.C1', '--prompt', 'Check the queue', '--every', '15m');
      expect(added, added.stderr).toMatchObject({ code: 0, stderr: '' });
      const taskId = added.stdout.trim();
      // The runtime's own actor host has the task in memory, as it decided it.
      expect(runtime.host.liveActors().map((actor) => actor.streamId)).toContain(`task-${taskId}`);

      const paused = await cli('pause', taskId, '--reason', 'maintenance');
      expect(paused).toMatchObject({ code: 0, stdout: `task ${taskId} paused; it is now scheduled.paused\n`, stderr: '' });
      expect(runtime.host.liveActors().find((actor) => actor.streamId === `task-${taskId}`)?.state).toBe('scheduled.paused');
      const events = await runtime.store.readStream(`task-${taskId}`);
      expect(events.map((event) => [event.type, event.metadata.actor])).toEqual([
        ['task.scheduled', 'cli'],
        ['task.paused', 'cli'],
      ]);
      expect(events[1]?.data).toMatchObject({ reason: 'maintenance' });

      // The actor still decides: a second pause is its refusal, exit 1.
      expect(await cli('pause', taskId)).toMatchObject({ code: 1, stderr: `ledgerclaw: task ${taskId} was not paused: the task is already paused\n` });
      // The runtime's projection host keeps the read model the CLI lists.
      await runtime.caughtUp();
      expect((await cli('list', '--json')).stdout).toContain(`"taskId":"${taskId}","groupId":"T1.C1"`);
      // The actor's refusal of a value names the flag, as without a runtime.
      const tooFast = await cli('add', '--group', 'T1.C1', '--prompt', 'x', '--every', '500ms');
      expect(tooFast).toMatchObject({ code: 2, stderr: expect.stringContaining('not scheduled: --every: an interval must be at least 1000 ms') });
    } finally {
      await runtime.stop();
    }
  });

  it('says so when the directory is held and nothing answers on the socket', async () => {
    const runtime = await startRuntimeLike({ withControl: false });
    try {
      const outcome = await cli('pause', 't-1');
      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toMatch(/is held by pid \d+ \(ledgerclaw start\), and nothing answers on its control socket .*control\.sock/);
    } finally {
      await runtime.stop();
    }
  });
});

/** Sends raw lines on one connection and collects one answer a line. */
async function exchange(path: string, lines: readonly string[]): Promise<Record<string, unknown>[]> {
  const socket: Socket = createConnection(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const answers: Record<string, unknown>[] = [];
  let buffered = '';
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        answers.push(JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>);
        buffered = buffered.slice(newline + 1);
      }
      if (answers.length >= lines.length) resolve();
    });
  });
  // One line at a time, so the answers come in order.
  for (const line of lines) {
    const before = answers.length;
    socket.write(`${line}\n`);
    while (answers.length === before) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await done;
  socket.destroy();
  return answers;
}

describe('the control server', () => {
  it('answers each bad line with an error saying why, and goes on serving the same and new connections', async () => {
    const runtime = await startRuntimeLike();
    try {
      const path = runtime.control.path;
      const request = (fields: Record<string, unknown>) => JSON.stringify({ v: 1, id: 'r1', kind: 'task', actorId: 't-1', command: { type: 'resume' }, ...fields });
      const answers = await exchange(path, [
        'this is not json',
        JSON.stringify({ v: 1, id: 'r2', kind: 'task' }),
        request({ v: 2, id: 'r3' }),
        request({ id: 'r4', kind: 'supervisor' }),
        request({ id: 'r5', command: { type: 'explode' } }),
        request({ id: 'r6' }),
      ]);
      expect(answers[0]).toMatchObject({ v: 1, id: null, ok: false, error: { code: 'malformed', message: expect.stringMatching(/^the request is not JSON/) } });
      expect(answers[1]).toMatchObject({ id: 'r2', ok: false, error: { code: 'malformed', message: expect.stringMatching(/^not a control request: .*actorId/) } });
      expect(answers[2]).toMatchObject({ id: 'r3', ok: false, error: { code: 'unsupported_version', message: 'protocol version 2 is not spoken here; this runtime speaks v1' } });
      expect(answers[3]).toMatchObject({ id: 'r4', ok: false, error: { code: 'forbidden_kind', message: "actor kind 'supervisor' is not reachable through the control socket (it takes: task)" } });
      expect(answers[4]).toMatchObject({ id: 'r5', ok: false, error: { code: 'invalid_command', message: expect.stringContaining("invalid task command 'explode'") } });
      // After all that, a good request on the same connection is decided by the actor.
      expect(answers[5]).toEqual({ v: 1, id: 'r6', ok: true, result: { status: 'rejected', reason: 'the task is not scheduled; there is nothing to resume', state: 'unscheduled' } });

      // And through the client, on a new connection.
      const scheduled = await sendControlCommand(path, {
        kind: 'task',
        actorId: 't-2',
        command: { type: 'schedule', groupId: 'T1.C1', prompt: 'p', schedule: { kind: 'interval', everyMs: 60_000 }, contextMode: 'group' },
      });
      expect(scheduled).toMatchObject({ status: 'accepted', state: 'scheduled.active', duplicate: false, events: [{ type: 'task.scheduled', streamId: 'task-t-2', actor: 'cli' }] });
      await expect(sendControlCommand(path, { kind: 'run', actorId: 'r', command: { type: 'queue' } })).rejects.toThrow(ControlRequestError);
    } finally {
      await runtime.stop();
    }
  });

  it("is the owner's only (mode 0600), replaces a stale socket file, and is removed on close", async () => {
    const path = controlSocketPath(dir.path);
    // A socket file left by a runtime that died: a process bound it and was killed.
    spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(lstatSync(path).isSocket()).toBe(true);

    const runtime = await startRuntimeLike();
    try {
      expect(lstatSync(path).mode & 0o777).toBe(0o600);
      expect((await sendControlCommand(path, { kind: 'task', actorId: 't-4', command: { type: 'pause' } })).status).toBe('rejected');
    } finally {
      await runtime.stop();
    }
    expect(existsSync(path)).toBe(false);
  });

  it('refuses to replace a file that is not a socket', async () => {
    writeFileSync(controlSocketPath(dir.path), 'precious');
    const host = { sendUnchecked: async () => ({ status: 'rejected' as const, reason: 'x', state: 'x' }) };
    await expect(startControlServer({ dataDir: dir.path, actors: host, kinds: ['task'] })).rejects.toThrow(/exists and is not a socket/);
  });
});
