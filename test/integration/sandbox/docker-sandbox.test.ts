/**
 * The Docker sandbox against the real daemon and the real agent image: what a run can and
 * cannot reach from inside its container.
 */
import { lstat, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DockerSandbox, MANAGED_LABEL, RUN_LABEL, SCOPE_LABEL, containerNameFor } from '../../../runtime/sandbox/docker-sandbox.js';
import type { SandboxedProcess } from '../../../runtime/sandbox/sandbox.js';
import { SandboxSpecError } from '../../../runtime/sandbox/sandbox-spec.js';
import {
  agentImage,
  docker,
  finish,
  sandboxDirs,
  testSpec,
  waitForStdout,
  type SandboxDirs,
} from '../../support/agent-image.js';

const IMAGE_BUILD_TIMEOUT_MS = 600_000;

let tag: string;
let dirs: SandboxDirs;
/** Every sandbox in this file shares one scope, so afterAll can sweep what a failed test left. */
const scope = `test-docker-sandbox-${process.pid}`;
let sandbox: DockerSandbox;
const started: SandboxedProcess[] = [];

beforeAll(async () => {
  tag = (await agentImage()).tag;
  sandbox = new DockerSandbox({ docker, image: tag, scope });
}, IMAGE_BUILD_TIMEOUT_MS);

async function startTracked(...args: Parameters<DockerSandbox['start']>): Promise<SandboxedProcess> {
  const running = await sandbox.start(...args);
  started.push(running);
  return running;
}

async function containerExists(id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((running) => running.kill()));
  if (dirs !== undefined) await rm(dirs.root, { recursive: true, force: true });
});

afterAll(async () => {
  const left = await docker.listContainers({ all: true, filters: { label: [`${SCOPE_LABEL}=${scope}`] } });
  await Promise.all(left.map((container) => docker.getContainer(container.Id).remove({ force: true })));
});

describe('the Docker sandbox', () => {
  it('gives the run no network: only lo, and neither a host port on 127.0.0.1 nor an outside address answers', async () => {
    dirs = await sandboxDirs();
    let hostConnections = 0;
    const server: Server = createServer((socket) => {
      hostConnections += 1;
      socket.end('hello from the host\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      const script = `
        const net = require('node:net');
        const fs = require('node:fs');
        const attempt = (host, port) => new Promise((resolve) => {
          const socket = net.connect({ host, port });
          socket.setTimeout(3000, () => { socket.destroy(); resolve('timeout'); });
          socket.on('connect', () => { socket.destroy(); resolve('connected'); });
          socket.on('error', (error) => resolve(error.code));
        });
        (async () => {
          const result = {
            interfaces: fs.readdirSync('/sys/class/net'),
            hostPort: await attempt('127.0.0.1', ${address.port}),
            outside: await attempt('1.1.1.1', 443),
          };
          console.log(JSON.stringify(result));
        })();`;
      const { exit, stdout } = await finish(await startTracked(testSpec(dirs, { command: ['node', '-e', script] })));
      expect(exit.exitCode).toBe(0);
      const result = JSON.parse(stdout) as { interfaces: string[]; hostPort: string; outside: string };
      expect(result.interfaces).toEqual(['lo']);
      expect(result.hostPort).not.toBe('connected');
      expect(result.outside).not.toBe('connected');
      expect(hostConnections).toBe(0);
    } finally {
      server.close();
    }
  });

  it("keeps the host's environment out: a secret in the runtime's env is not in the container's", async () => {
    dirs = await sandboxDirs();
    const secret = 'sk-ant-api03-test-only-not-a-real-key-0123456789';
    const before = process.env.ANTHROPIC_API_KEY;
    process.env.ANTHROPIC_API_KEY = secret;
    try {
      const spec = testSpec(dirs, {
        env: { LEDGERCLAW_MODE: 'test' },
        command: ['node', '-e', 'console.log(JSON.stringify(process.env))'],
      });
      const { exit, stdout } = await finish(await startTracked(spec));
      expect(exit.exitCode).toBe(0);
      const env = JSON.parse(stdout) as Record<string, string>;
      expect(env.ANTHROPIC_API_KEY).toBeUndefined();
      expect(stdout).not.toContain(secret);
      expect(env.LEDGERCLAW_MODE).toBe('test');
      expect(env.LEDGERCLAW_WORKSPACE).toBe('/workspace');
    } finally {
      if (before === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = before;
    }
  });

  it('refuses a secret-looking env entry before creating any container', async () => {
    dirs = await sandboxDirs();
    const byName = testSpec(dirs, { env: { ANTHROPIC_API_KEY: 'whatever' } });
    await expect(sandbox.start(byName)).rejects.toThrow(SandboxSpecError);
    await expect(sandbox.start(byName)).rejects.toThrow(/ANTHROPIC_API_KEY refused/);
    const byValue = testSpec(dirs, { env: { HELPER: 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz' } });
    await expect(sandbox.start(byValue)).rejects.toThrow(/HELPER refused: its value looks like an API key/);
    for (const spec of [byName, byValue]) {
      const created = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${spec.runId}`] } });
      expect(created).toEqual([]);
    }
  });

  it('mounts the root filesystem and /shared read-only and /workspace writable, and what the run writes appears on the host', async () => {
    dirs = await sandboxDirs();
    const script = [
      // Redirections, not touch: a missing tool must not pass for a refused write.
      '(echo x > /in-root) 2>/dev/null; echo "root=$?"',
      '(echo x > /app/in-app) 2>/dev/null; echo "app=$?"',
      '(echo changed > /shared/readme.txt) 2>/dev/null; echo "shared=$?"',
      'echo from the run > /workspace/out.txt; echo "workspace=$?"',
      'echo scratch > /tmp/scratch; echo "tmp=$?"',
      // Mount options too: uid 1000 could not write to root-owned / or /shared anyway, so
      // the failed writes alone would not show the mounts are read-only.
      'cat /proc/self/mounts',
    ].join('; ');
    const { exit, stdout } = await finish(await startTracked(testSpec(dirs, { command: ['sh', '-c', script] })));
    expect(exit.exitCode).toBe(0);
    // 2: the shell's "cannot create" (127 would be a missing command, which proves nothing).
    expect(stdout).toContain('root=2');
    expect(stdout).toContain('app=2');
    expect(stdout).toContain('shared=2');
    expect(stdout).toContain('workspace=0');
    expect(stdout).toContain('tmp=0');
    const mountOptions = (mountPoint: string) =>
      stdout.split('\n').map((line) => line.split(' ')).find((fields) => fields[1] === mountPoint)?.[3]?.split(',') ?? [];
    expect(mountOptions('/')).toContain('ro');
    expect(mountOptions('/shared')).toContain('ro');
    expect(mountOptions('/workspace')).toContain('rw');
    expect(mountOptions('/tmp')).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev']));
    expect(await readFile(join(dirs.workspaceDir, 'out.txt'), 'utf8')).toBe('from the run\n');
    expect(await readFile(join(dirs.sharedDir, 'readme.txt'), 'utf8')).toBe('shared material\n');
  });

  it('hands the workspace tree to uid 1000 and nothing outside it, not even through a symlink', async () => {
    dirs = await sandboxDirs();
    await mkdir(join(dirs.workspaceDir, 'notes'));
    await writeFile(join(dirs.workspaceDir, 'notes', 'todo.md'), 'written by the host\n');
    const outside = join(dirs.root, 'outside.txt');
    await writeFile(outside, 'not the agent\'s\n');
    await symlink(outside, join(dirs.workspaceDir, 'link-out'));
    const hostUid = process.getuid?.() ?? 0;

    const script = 'echo appended >> /workspace/notes/todo.md && echo ok';
    const { exit, stdout } = await finish(await startTracked(testSpec(dirs, { command: ['sh', '-c', script] })));
    expect(exit.exitCode).toBe(0);
    expect(stdout).toContain('ok');
    expect(await readFile(join(dirs.workspaceDir, 'notes', 'todo.md'), 'utf8')).toBe('written by the host\nappended\n');
    expect((await stat(join(dirs.workspaceDir, 'notes'))).uid).toBe(1000);
    expect((await stat(outside)).uid).toBe(hostUid);
    expect((await lstat(join(dirs.workspaceDir, 'link-out'))).uid).toBe(1000);
    expect((await stat(dirs.root)).uid).toBe(hostUid);
  });

  it('runs as uid 1000 with no capabilities and no way to gain privileges', async () => {
    dirs = await sandboxDirs();
    const { exit, stdout } = await finish(
      await startTracked(testSpec(dirs, { command: ['node', '-e', "process.stdout.write(require('fs').readFileSync('/proc/self/status', 'utf8'))"] })),
    );
    expect(exit.exitCode).toBe(0);
    const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(stdout)?.[1]?.trim().split(/\s+/);
    expect(field('Uid')).toEqual(['1000', '1000', '1000', '1000']);
    expect(field('Gid')).toEqual(['1000', '1000', '1000', '1000']);
    expect(field('CapEff')).toEqual(['0000000000000000']);
    expect(field('CapPrm')).toEqual(['0000000000000000']);
    // The bounding set is what CapDrop empties; a non-root user's effective set is empty anyway.
    expect(field('CapBnd')).toEqual(['0000000000000000']);
    expect(field('NoNewPrivs')).toEqual(['1']);
  });

  it('ends a run that allocates past its memory limit with oomKilled', async () => {
    dirs = await sandboxDirs();
    // Buffers live outside V8's heap and are filled, so every page counts against the cgroup.
    const script = 'const kept = []; for (;;) kept.push(Buffer.alloc(16 * 1024 * 1024, 1));';
    const spec = testSpec(dirs, {
      command: ['node', '-e', script],
      limits: { memoryBytes: 128 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 1024 * 1024 },
    });
    const { exit } = await finish(await startTracked(spec));
    expect(exit.oomKilled).toBe(true);
    expect(exit.exitCode).toBe(137);
    expect(exit.signal).toBe('SIGKILL');
  });

  it('reports a crash with its non-zero exit code and the tail of stderr, then removes the container', async () => {
    dirs = await sandboxDirs();
    const script = "process.stderr.write('early noise '.repeat(1000)); throw new Error('the runner broke')";
    const running = await startTracked(testSpec(dirs, { command: ['node', '-e', script] }));
    const { exit, stderr } = await finish(running);
    expect(exit.exitCode).toBe(1);
    expect(exit.signal).toBeNull();
    expect(exit.oomKilled).toBe(false);
    expect(exit.stderrTail).toContain('Error: the runner broke');
    expect(Buffer.byteLength(exit.stderrTail)).toBeLessThanOrEqual(4096);
    expect(stderr.length).toBeGreaterThan(12_000);
    expect(await containerExists(running.id)).toBe(false);
  });

  it('carries bytes both ways over stdin and stdout, with stderr kept apart', async () => {
    dirs = await sandboxDirs();
    const script = "process.stderr.write('to stderr'); process.stdin.pipe(process.stdout);";
    const running = await startTracked(testSpec(dirs, { command: ['node', '-e', script] }));
    const lines = Array.from({ length: 5_000 }, (_, index) => `line ${index}: ${'x'.repeat(index % 50)}\n`);
    const done = finish(running);
    running.stdin.write(lines.slice(0, 10).join(''));
    running.stdin.end(lines.slice(10).join(''));
    const { exit, stdout, stderr } = await done;
    expect(exit.exitCode).toBe(0);
    expect(stdout).toBe(lines.join(''));
    expect(stderr).toBe('to stderr');
    expect(exit.stderrTail).toBe('to stderr');
  });

  it('echoes binary input byte for byte', async () => {
    dirs = await sandboxDirs();
    const running = await startTracked(testSpec(dirs, { command: ['node', '-e', 'process.stdin.pipe(process.stdout)'] }));
    const sent = Buffer.from(Array.from({ length: 200_000 }, (_, index) => (index * 7) % 256));
    const chunks: Buffer[] = [];
    running.stdout.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    const ended = new Promise((resolve) => running.stdout.on('end', resolve));
    running.stdin.end(sent);
    await ended;
    expect((await running.exited).exitCode).toBe(0);
    expect(Buffer.concat(chunks).equals(sent)).toBe(true);
  });

  it('kill() ends the run and removes its container, and a second kill() is harmless', async () => {
    dirs = await sandboxDirs();
    const running = await startTracked(testSpec(dirs, { command: ['sh', '-c', 'echo up; exec sleep 1000'] }));
    await waitForStdout(running, /up/);
    await running.kill();
    await running.kill();
    const exit = await running.exited;
    expect(exit.exitCode).toBe(137);
    expect(exit.signal).toBe('SIGKILL');
    expect(await containerExists(running.id)).toBe(false);
  });

  it('a second start of the same run replaces the earlier container', async () => {
    dirs = await sandboxDirs();
    const spec = testSpec(dirs, { command: ['sh', '-c', 'echo up; exec sleep 1000'] });
    const first = await startTracked(spec);
    await waitForStdout(first, /up/);
    const second = await startTracked(spec);
    await waitForStdout(second, /up/);
    expect(second.id).not.toBe(first.id);
    expect(await containerExists(first.id)).toBe(false);
    expect((await first.exited).exitCode).not.toBe(0);
  });

  it('finds a container a previous runtime process left running, by label, and removes it', async () => {
    dirs = await sandboxDirs();
    const previousProcess = new DockerSandbox({ docker, image: tag, scope });
    const spec = testSpec(dirs, { command: ['sh', '-c', 'echo up; exec sleep 1000'] });
    const forgotten = await previousProcess.start(spec);
    await waitForStdout(forgotten, /up/);
    // The handle is dropped here, as it is when the runtime that held it crashes.
    const ownRun = await startTracked(testSpec(dirs, { command: ['sh', '-c', 'exec sleep 1000'] }));

    const leftovers = await sandbox.findLeftovers();
    expect(leftovers).toContainEqual({ runId: spec.runId, id: forgotten.id });
    expect(leftovers.map((leftover) => leftover.id)).not.toContain(ownRun.id);
    const otherRuntime = new DockerSandbox({ docker, image: tag, scope: `${scope}-elsewhere` });
    expect(await otherRuntime.findLeftovers()).toEqual([]);
    await expect(otherRuntime.removeLeftover(forgotten.id)).rejects.toThrow(/not one of this runtime's sandboxes/);

    await sandbox.removeLeftover(forgotten.id);
    expect(await containerExists(forgotten.id)).toBe(false);
    await sandbox.removeLeftover(forgotten.id);
    expect((await sandbox.findLeftovers()).map((leftover) => leftover.id)).not.toContain(forgotten.id);
  });

  it('removes the container again when the process cannot start, and says why', async () => {
    dirs = await sandboxDirs();
    const spec = testSpec(dirs, { command: ['/no/such/program'] });
    await expect(sandbox.start(spec)).rejects.toThrow(/no such file or directory|not found/i);
    const left = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${spec.runId}`] } });
    expect(left).toEqual([]);
  });

  it('gives run ids Docker names cannot hold a container name of their own', () => {
    expect(containerNameFor('7f3c-1')).toBe('ledgerclaw-run-7f3c-1');
    const slash = containerNameFor('group/7f3c');
    const colon = containerNameFor('group:7f3c');
    expect(slash).toMatch(/^ledgerclaw-run-group-7f3c-[0-9a-f]{8}$/);
    expect(colon).toMatch(/^ledgerclaw-run-group-7f3c-[0-9a-f]{8}$/);
    expect(slash).not.toBe(colon);
  });

  it('labels its containers as ledgerclaw runs of their run and group', async () => {
    dirs = await sandboxDirs();
    const spec = testSpec(dirs, { command: ['sh', '-c', 'echo up; exec sleep 1000'] });
    const running = await startTracked(spec);
    await waitForStdout(running, /up/);
    const info = await docker.getContainer(running.id).inspect();
    expect(info.Config.Labels).toMatchObject({ [RUN_LABEL]: spec.runId, 'ledgerclaw.group': 'acme.general', [MANAGED_LABEL]: 'true' });
    expect(info.Name).toBe(`/ledgerclaw-run-${spec.runId}`);
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: spec.limits.memoryBytes,
      MemorySwap: spec.limits.memoryBytes,
      NanoCpus: 1e9,
      PidsLimit: spec.limits.pids,
    });
    expect(info.Config.User).toBe('1000:1000');
  });
});
