/**
 * The real Docker daemon and the agent image, for the sandbox tests: the image is made
 * (or found) once per test process, and one build at a time across the test processes
 * vitest runs side by side, so parallel files do not each build the same image.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { ensureAgentImage, type AgentImage } from '../../container/image/build-image.js';
import { isProcessAlive } from '../../runtime/process-liveness.js';
import type { SandboxedProcess, SandboxExit, SandboxLog, SandboxSpec } from '../../runtime/sandbox/sandbox.js';

/** The daemon the tests use: DOCKER_HOST, or /var/run/docker.sock (.ci/run starts one). */
export const docker = new Dockerode();

const BUILD_LOCK = join(tmpdir(), 'ledgerclaw-test-agent-image.lock');

let image: Promise<AgentImage> | null = null;

/** The agent image for the current build; builds it the first time (offline here: no registry). */
export function agentImage(): Promise<AgentImage> {
  image ??= (async () => {
    try {
      await docker.ping();
    } catch (error) {
      throw new Error(`the sandbox tests need a Docker daemon and none answers (${(error as Error).message}); .ci/run starts one`);
    }
    return withBuildLock(() => ensureAgentImage(docker, { log: collectingLog().log }));
  })();
  return image;
}

/** A lock directory holding the holder's pid, so a lock left by a killed test run is taken over. */
async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(BUILD_LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(join(BUILD_LOCK, 'pid'), 'utf8').catch(() => ''));
      if (holder > 0 && !isProcessAlive(holder)) await rm(BUILD_LOCK, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    await writeFile(join(BUILD_LOCK, 'pid'), String(process.pid));
    return await work();
  } finally {
    await rm(BUILD_LOCK, { recursive: true, force: true });
  }
}

/** A SandboxLog that keeps its messages, for tests that check what was said. */
export function collectingLog(): { readonly log: SandboxLog; readonly infos: string[]; readonly warnings: string[] } {
  const infos: string[] = [];
  const warnings: string[] = [];
  return {
    log: { info: (_fields, message) => infos.push(message), warn: (_fields, message) => warnings.push(message) },
    infos,
    warnings,
  };
}

export interface SandboxDirs {
  readonly root: string;
  readonly workspaceDir: string;
  readonly sharedDir: string;
  readonly runsDir: string;
}

/** A fresh root with workspace/, shared/ (holding readme.txt) and runs/; remove it with `rm(root)`. */
export async function sandboxDirs(): Promise<SandboxDirs> {
  const root = await mkdtemp(join(tmpdir(), 'ledgerclaw-sandbox-test-'));
  const dirs = { root, workspaceDir: join(root, 'workspace'), sharedDir: join(root, 'shared'), runsDir: join(root, 'runs') };
  await mkdir(dirs.workspaceDir);
  await mkdir(dirs.sharedDir);
  await writeFile(join(dirs.sharedDir, 'readme.txt'), 'shared material\n');
  return dirs;
}

let runCounter = 0;

/** A spec with small limits and a unique run id; `overrides` replace any part. */
export function testSpec(dirs: SandboxDirs, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  runCounter += 1;
  return {
    runId: `test-${process.pid}-${Date.now()}-${runCounter}`,
    groupId: 'acme.general',
    workspaceDir: dirs.workspaceDir,
    sharedDir: dirs.sharedDir,
    env: {},
    limits: { memoryBytes: 256 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 16 * 1024 * 1024 },
    ...overrides,
  };
}

export interface Finished {
  readonly exit: SandboxExit;
  readonly stdout: string;
  readonly stderr: string;
}

/** Reads both streams to their end and waits for the exit. */
export async function finish(sandboxed: SandboxedProcess): Promise<Finished> {
  const read = (stream: NodeJS.ReadableStream) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      stream.on('error', reject);
    });
  const [stdout, stderr, exit] = await Promise.all([read(sandboxed.stdout), read(sandboxed.stderr), sandboxed.exited]);
  return { exit, stdout, stderr };
}

/** Resolves with stdout so far once it matches `pattern`. */
export function waitForStdout(sandboxed: SandboxedProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(pattern)}; stdout so far: ${text}`)), timeoutMs);
    sandboxed.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
}
