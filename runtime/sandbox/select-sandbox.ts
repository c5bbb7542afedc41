/**
 * Which sandbox agent runs get: Docker whenever a daemon answers, the process sandbox only
 * when none does. Isolation never degrades quietly: a daemon that answers but cannot build
 * the image is an error, and falling back to processes is logged as a warning.
 */
import { resolve } from 'node:path';
import Dockerode from 'dockerode';
import { ensureAgentImage } from '../../container/image/build-image.js';
import { DockerSandbox } from './docker-sandbox.js';
import { ProcessSandbox } from './process-sandbox.js';
import type { Sandbox, SandboxLog } from './sandbox.js';

export interface SelectSandboxOptions {
  /** The daemon to use; `new Dockerode()` (DOCKER_HOST, or /var/run/docker.sock) by default. */
  readonly docker?: Dockerode;
  /** The data directory's runs folder: the process sandbox's pid files, and the Docker sandbox's scope. */
  readonly runsDir: string;
  readonly log: SandboxLog;
  /** How long the daemon has to answer a ping. */
  readonly pingTimeoutMs?: number;
}

const DEFAULT_PING_TIMEOUT_MS = 3_000;

export async function selectSandbox(options: SelectSandboxOptions): Promise<Sandbox> {
  const docker = options.docker ?? new Dockerode();
  const runsDir = resolve(options.runsDir);
  const unanswered = await pingProblem(docker, options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS);
  if (unanswered !== null) {
    options.log.warn(
      { sandbox: 'process', isolation: 'process-weak', highRiskToolsAllowed: false, reason: unanswered },
      `no Docker daemon answers (${unanswered}): agent runs use the process sandbox, whose isolation is weaker (the host's filesystem, network and user; no limits enforced), and bash and other high-risk tools are off`,
    );
    return new ProcessSandbox({ runsDir, log: options.log });
  }
  const image = await ensureAgentImage(docker, { log: options.log });
  options.log.info({ sandbox: 'docker', image: image.tag, offline: image.offline }, `agent runs use Docker containers of ${image.tag}${image.offline ? ' (offline build)' : ''}`);
  return new DockerSandbox({ docker, image: image.tag, scope: runsDir, log: options.log });
}

/** Null when the daemon answered in time, otherwise why not. */
async function pingProblem(docker: Dockerode, timeoutMs: number): Promise<string | null> {
  // dockerode 5's ping takes an abortSignal; @types/dockerode (written for 4) does not list
  // the argument yet, hence the cast. The signal also ends the request, not only our wait.
  const ping = docker.ping.bind(docker) as unknown as (options: { abortSignal: AbortSignal }) => Promise<unknown>;
  try {
    await ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
