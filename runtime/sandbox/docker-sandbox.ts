/**
 * The Docker sandbox: each run in a fresh container of the agent image with no network,
 * no secrets, a read-only root, no capabilities, a non-root user, memory/CPU/pids limits,
 * its workspace read-write (read-only when the spec asks) and shared material read-only.
 *
 * A second start of the same run replaces the earlier container: its channel to the host
 * died with whoever held it (the runner's stdin is attached once), so reusing it could
 * only hang. Starting again is what "at least once" effects do after a crash.
 */
import { createHash, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import {
  AGENT_GID,
  AGENT_UID,
  SHARED_IN_CONTAINER,
  WORKSPACE_IN_CONTAINER,
} from '../../container/image/agent-image-layout.js';
import { OutputTail, teeIntoTail } from './output-tail.js';
import {
  STDERR_TAIL_BYTES,
  WORKSPACE_ENV,
  type Sandbox,
  type SandboxedProcess,
  type SandboxExit,
  type SandboxLog,
  type SandboxSpec,
} from './sandbox.js';
import { SandboxSpecError, validateSandboxSpec } from './sandbox-spec.js';
import { handTreeTo } from './workspace-ownership.js';

export const RUN_LABEL = 'ledgerclaw.run';
export const GROUP_LABEL = 'ledgerclaw.group';
export const MANAGED_LABEL = 'ledgerclaw.managed';
/** Which runtime's containers these are (its runs folder): leftovers are only ever our own. */
export const SCOPE_LABEL = 'ledgerclaw.scope';
/** Which DockerSandbox instance started it: its own live containers are not leftovers. */
export const INSTANCE_LABEL = 'ledgerclaw.sandbox';

/** After the container exits, how long its output may take to drain before we stop waiting. */
const OUTPUT_DRAIN_MS = 5_000;

export interface DockerSandboxOptions {
  readonly docker: Dockerode;
  /** The agent image tag, from ensureAgentImage. */
  readonly image: string;
  /**
   * Containers are leftovers of this runtime only when they carry the same scope: two
   * runtimes (two data directories) on one daemon never remove each other's containers.
   * selectSandbox uses the runs folder's absolute path.
   */
  readonly scope: string;
  readonly log?: SandboxLog;
}

/** Docker's name rules are `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; a run id that needs changing gets a hash so two runs never share a name. */
export function containerNameFor(runId: string): string {
  const sanitised = runId.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 64);
  if (sanitised === runId) return `ledgerclaw-run-${runId}`;
  const hash = createHash('sha256').update(runId).digest('hex').slice(0, 8);
  return `ledgerclaw-run-${sanitised}-${hash}`;
}

function statusCodeOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** Docker reports a signal death as 128 + n, as a shell does; SIGKILL (137) is also what an OOM kill looks like. */
function signalFromExitCode(exitCode: number): string | null {
  if (exitCode <= 128) return null;
  const signalNumber = exitCode - 128;
  const name = Object.entries(constants.signals).find(([, number]) => number === signalNumber)?.[0];
  return name ?? null;
}

async function requireDirectory(path: string, what: string): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch {
    // Reported below, the same as a file in its place.
  }
  if (!isDirectory) throw new SandboxSpecError(`${what} ${path} is not an existing directory`);
}

export class DockerSandbox implements Sandbox {
  readonly kind = 'docker';
  readonly isolation = 'container';
  readonly highRiskToolsAllowed = true;

  private readonly docker: Dockerode;
  private readonly image: string;
  private readonly scope: string;
  private readonly log: SandboxLog | undefined;
  private readonly instanceId = randomUUID();

  constructor(options: DockerSandboxOptions) {
    this.docker = options.docker;
    this.image = options.image;
    this.scope = options.scope;
    this.log = options.log;
  }

  async start(unchecked: SandboxSpec): Promise<SandboxedProcess> {
    const spec = validateSandboxSpec(unchecked);
    // A colon would end the path early in a `Binds` entry (host:container:mode).
    for (const dir of [spec.workspaceDir, spec.sharedDir]) {
      if (dir?.includes(':') === true) throw new SandboxSpecError(`sandbox directory ${dir} has a colon in it, which Docker's bind syntax cannot carry`);
    }
    await requireDirectory(spec.workspaceDir, 'workspace');
    if (spec.sharedDir !== null) await requireDirectory(spec.sharedDir, 'shared directory');
    await handTreeTo(spec.workspaceDir, AGENT_UID, AGENT_GID);
    // The shared folder too, read-only in the container: the data directory's files are
    // 0600 and its folders 0700 (no access for others), so the agent reads it as its owner.
    if (spec.sharedDir !== null) await handTreeTo(spec.sharedDir, AGENT_UID, AGENT_GID);

    const name = containerNameFor(spec.runId);
    await this.removeEarlierContainer(name);
    const container = await this.docker.createContainer(this.createOptions(spec, name));
    let socket: NodeJS.ReadWriteStream | undefined;
    try {
      // Attached before start, or the first bytes the process writes would be lost.
      socket = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      await container.start();
      return this.supervise(container, socket);
    } catch (error) {
      // The hijacked connection is a net.Socket, typed by dockerode as a bare ReadWriteStream.
      (socket as { destroy?: () => void } | undefined)?.destroy?.();
      await this.forceRemove(container.id).catch(() => undefined);
      throw error;
    }
  }

  private createOptions(spec: SandboxSpec, name: string): Dockerode.ContainerCreateOptions {
    const binds = [`${spec.workspaceDir}:${WORKSPACE_IN_CONTAINER}:${spec.workspaceReadOnly === true ? 'ro' : 'rw'}`];
    if (spec.sharedDir !== null) binds.push(`${spec.sharedDir}:${SHARED_IN_CONTAINER}:ro`);
    return {
      name,
      Image: this.image,
      User: `${AGENT_UID}:${AGENT_GID}`,
      // The spec's env only, never the host's: validated to hold no secrets.
      Env: [...Object.entries(spec.env).map(([key, value]) => `${key}=${value}`), `${WORKSPACE_ENV}=${WORKSPACE_IN_CONTAINER}`],
      ...(spec.command !== undefined ? { Entrypoint: [...spec.command], Cmd: [] } : {}),
      WorkingDir: WORKSPACE_IN_CONTAINER,
      NetworkDisabled: true,
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Labels: {
        [RUN_LABEL]: spec.runId,
        [GROUP_LABEL]: spec.groupId,
        [MANAGED_LABEL]: 'true',
        [SCOPE_LABEL]: this.scope,
        [INSTANCE_LABEL]: this.instanceId,
      },
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        // Equal: no swap, so going over the limit is an OOM kill rather than a slow crawl.
        Memory: spec.limits.memoryBytes,
        MemorySwap: spec.limits.memoryBytes,
        NanoCpus: Math.round(spec.limits.cpus * 1e9),
        PidsLimit: spec.limits.pids,
        // In bytes (setrlimit's unit, not `ulimit -f`'s blocks); a write past it fails with EFBIG.
        ...(spec.limits.fileBytes !== undefined ? { Ulimits: [{ Name: 'fsize', Soft: spec.limits.fileBytes, Hard: spec.limits.fileBytes }] } : {}),
        // mode spelled out: without it the tmpfs copies the image's /tmp mode, whatever that is.
        Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${spec.limits.tmpBytes},mode=1777` },
        Binds: binds,
        // The output is the conversation with the host: it goes to us through the attach
        // stream, and nowhere on the daemon's disk.
        LogConfig: { Type: 'none', Config: {} },
      },
    };
  }

  /** A container of the same name is an earlier start of this run: see the module comment. */
  private async removeEarlierContainer(name: string): Promise<void> {
    let labels: Record<string, string> | undefined;
    try {
      labels = (await this.docker.getContainer(name).inspect()).Config.Labels ?? undefined;
    } catch (error) {
      if (statusCodeOf(error) === 404) return;
      throw error;
    }
    if (labels?.[MANAGED_LABEL] !== 'true') {
      throw new Error(`a container named ${name} exists and is not ledgerclaw's: refusing to replace it`);
    }
    this.log?.info({ container: name }, `sandbox: replacing the earlier container ${name} of the same run`);
    await this.forceRemove(name);
  }

  private supervise(container: Dockerode.Container, socket: NodeJS.ReadWriteStream): SandboxedProcess {
    const stdout = new PassThrough();
    const tail = new OutputTail(STDERR_TAIL_BYTES);
    const stderr = teeIntoTail(tail);
    this.docker.modem.demuxStream(socket, stdout, stderr.input);
    const outputEnded = new Promise<void>((resolve) => {
      const end = () => {
        stdout.end();
        stderr.input.end();
        resolve();
      };
      socket.once('end', end);
      socket.once('close', end);
      socket.once('error', end);
    });

    // Ending stdin half-closes the attach connection, which closes the container's stdin
    // (StdinOnce) while its output keeps coming.
    const stdin = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        socket.write(chunk, (error?: Error | null) => callback(error ?? null));
      },
      final(callback) {
        socket.end();
        callback();
      },
    });
    stdin.on('error', () => {
      // Writing after the container exited: the exit is reported through `exited`.
    });

    const exited = this.awaitExit(container, outputEnded, tail);
    let killing: Promise<void> | null = null;
    return {
      id: container.id,
      workspaceRoot: WORKSPACE_IN_CONTAINER,
      stdin,
      stdout,
      stderr: stderr.output,
      exited,
      kill: () => {
        killing ??= (async () => {
          try {
            await container.kill();
          } catch (error) {
            // 404: already removed; 409: not running any more. Either way it is ending.
            if (statusCodeOf(error) !== 404 && statusCodeOf(error) !== 409) throw error;
          }
          await exited;
        })();
        return killing;
      },
    };
  }

  private async awaitExit(container: Dockerode.Container, outputEnded: Promise<void>, tail: OutputTail): Promise<SandboxExit> {
    try {
      await container.wait();
    } catch (error) {
      if (statusCodeOf(error) !== 404) this.log?.warn({ container: container.id }, `sandbox: waiting for container ${container.id} failed: ${(error as Error).message}`);
    }
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([outputEnded, new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, OUTPUT_DRAIN_MS)))]);
    clearTimeout(drainTimer);

    let exitCode: number | null = null;
    let oomKilled = false;
    try {
      const state = (await container.inspect()).State;
      exitCode = state.ExitCode;
      oomKilled = state.OOMKilled;
    } catch (error) {
      this.log?.warn({ container: container.id }, `sandbox: cannot inspect container ${container.id} after its exit: ${(error as Error).message}`);
    }
    try {
      await container.remove({ force: true });
    } catch (error) {
      // 404: gone already; 409: a removal is already in progress.
      if (statusCodeOf(error) !== 404 && statusCodeOf(error) !== 409) {
        this.log?.warn({ container: container.id }, `sandbox: cannot remove container ${container.id}: ${(error as Error).message}`);
      }
    }
    return { exitCode, signal: exitCode === null ? null : signalFromExitCode(exitCode), oomKilled, stderrTail: tail.text() };
  }

  async findLeftovers(): Promise<Array<{ runId: string; id: string }>> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${MANAGED_LABEL}=true`, `${SCOPE_LABEL}=${this.scope}`] },
    });
    return containers
      .filter((container) => container.Labels[INSTANCE_LABEL] !== this.instanceId)
      .map((container) => ({ runId: container.Labels[RUN_LABEL] ?? '', id: container.Id }));
  }

  async removeLeftover(id: string): Promise<void> {
    let labels: Record<string, string> | undefined;
    try {
      labels = (await this.docker.getContainer(id).inspect()).Config.Labels ?? undefined;
    } catch (error) {
      if (statusCodeOf(error) === 404) return;
      throw error;
    }
    if (labels?.[MANAGED_LABEL] !== 'true' || labels[SCOPE_LABEL] !== this.scope) {
      throw new Error(`container ${id} is not one of this runtime's sandboxes: refusing to remove it`);
    }
    await this.forceRemove(id);
  }

  /** Kills (if running) and removes; gone already, or going, is fine. */
  private async forceRemove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (error) {
      if (statusCodeOf(error) !== 404 && statusCodeOf(error) !== 409) throw error;
    }
  }
}
