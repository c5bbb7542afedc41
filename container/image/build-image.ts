/**
 * Makes sure the agent image for the current inputs exists, building it when it does not.
 * The tag is a content hash of the inputs (see agent-image-inputs.ts), so "the tag exists"
 * means "the image is up to date" and costs one inspect. The normal build starts from
 * node:20-slim; when that cannot be pulled (no registry access) the offline build makes the
 * same image from the host's own node and tools.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { IMAGE_REPOSITORY, RUNNER_MAIN_RELATIVE, findRepoRoot } from './agent-image-layout.js';
import { collectAgentImageInputs, imageTagFor, type AgentImageInputs } from './agent-image-inputs.js';
import { assembleAppDir } from './build-context.js';
import { NODE_IN_ROOTFS, prepareOfflineRootfs } from './offline-rootfs.js';
import { packDirectory } from './tar-context.js';

/** The runtime's logger shape (fields, then a message); pino fits. */
export interface ImageBuildLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface EnsureAgentImageOptions {
  readonly log: ImageBuildLog;
  /** Build even when the tag exists (replacing it). */
  readonly force?: boolean;
  /** Skip the normal build and its pull: build from the host's node and tools. */
  readonly offline?: boolean;
  /** The repository whose dist/container, node_modules and container/Dockerfile* are used; found from this module by default. */
  readonly repoRoot?: string;
}

export interface AgentImage {
  readonly tag: string;
  /** False when the tag already existed. */
  readonly built: boolean;
  /** Whether the image came from the offline build (read from its label when it already existed). */
  readonly offline: boolean;
}

/** On every agent image: which build made it, and the full hash its tag abbreviates. */
export const BUILD_KIND_LABEL = 'ledgerclaw.agent-image.build';
export const INPUTS_HASH_LABEL = 'ledgerclaw.agent-image.inputs';

interface DockerProgressEvent {
  readonly stream?: string;
  readonly status?: string;
  readonly error?: string;
  readonly errorDetail?: { readonly message?: string };
}

// One build per tag at a time within this process: concurrent callers share it.
const buildsInFlight = new Map<string, Promise<AgentImage>>();

export async function ensureAgentImage(docker: Dockerode, options: EnsureAgentImageOptions): Promise<AgentImage> {
  const inputs = await collectAgentImageInputs(options.repoRoot ?? findRepoRoot());
  const tag = imageTagFor(inputs);
  if (options.force !== true) {
    const labels = await imageLabels(docker, tag);
    if (labels !== null) {
      // `latest` names the image this checkout uses, also when another checkout on the same daemon built a different one since.
      await docker.getImage(tag).tag({ repo: IMAGE_REPOSITORY, tag: 'latest' });
      return { tag, built: false, offline: labels[BUILD_KIND_LABEL] === 'offline' };
    }
  }
  const inFlight = buildsInFlight.get(tag);
  if (inFlight !== undefined) return inFlight;
  const build = buildAgentImage(docker, inputs, tag, options).finally(() => buildsInFlight.delete(tag));
  buildsInFlight.set(tag, build);
  return build;
}

/** The image's labels, or null when no image has this tag. */
async function imageLabels(docker: Dockerode, tag: string): Promise<Record<string, string> | null> {
  try {
    const info = await docker.getImage(tag).inspect();
    return info.Config.Labels ?? {};
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return null;
    throw error;
  }
}

async function buildAgentImage(
  docker: Dockerode,
  inputs: AgentImageInputs,
  tag: string,
  options: EnsureAgentImageOptions,
): Promise<AgentImage> {
  const { log } = options;
  if (!inputs.filesForImage.some((file) => `dist/container/${file.relativePath}` === RUNNER_MAIN_RELATIVE)) {
    log.warn({ tag }, `agent image ${tag}: ${RUNNER_MAIN_RELATIVE} is not built yet; the image's entrypoint will fail until it is (a command override still runs)`);
  }
  const choice = await chooseBuild(docker, inputs, options);
  log.info(
    { tag, build: choice.offline ? 'offline' : 'normal', reason: choice.reason },
    `agent image ${tag}: ${choice.offline ? 'offline' : 'normal'} build, because ${choice.reason}`,
  );

  const startedAt = Date.now();
  const contextDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-agent-image-'));
  try {
    await assembleAppDir(join(contextDir, 'app'), inputs);
    if (choice.offline) {
      const rootfs = await prepareOfflineRootfs(join(contextDir, 'rootfs'), log);
      log.info({ tag }, `agent image ${tag}: offline root filesystem with ${rootfs.binaries.length} programs and ${rootfs.libraries.length} libraries from this host`);
    }
    await writeFile(join(contextDir, 'Dockerfile'), choice.offline ? inputs.offlineDockerfile : inputs.dockerfile);
    // Our own tar rather than dockerode's { context, src } (tar-fs): see tar-context.ts. The
    // offline build's node is packed execute-only; the normal build's Dockerfile chmods it.
    const stream = await docker.buildImage(
      packDirectory(contextDir, choice.offline ? { executeOnly: [`rootfs${NODE_IN_ROOTFS}`] } : {}),
      {
        t: tag,
        labels: { [BUILD_KIND_LABEL]: choice.offline ? 'offline' : 'normal', [INPUTS_HASH_LABEL]: inputs.hash },
        rm: true,
        forcerm: true,
        // Nothing in either Dockerfile fetches anything, and dockerd may run without a
        // bridge network (--bridge=none, as .ci/run starts it).
        networkmode: 'none',
      },
    );
    const events = await followProgress(docker, stream, (event) => {
      const line = event.stream?.trim();
      if (line?.startsWith('Step ') === true) log.info({ tag }, `agent image ${tag}: ${line}`);
    });
    const failure = events.find((event) => event.error !== undefined);
    if (failure !== undefined) {
      throw new Error(`building agent image ${tag} failed: ${failure.errorDetail?.message ?? failure.error}`);
    }
    await docker.getImage(tag).tag({ repo: IMAGE_REPOSITORY, tag: 'latest' });
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
  const seconds = (Date.now() - startedAt) / 1000;
  log.info({ tag, seconds }, `agent image ${tag}: built in ${seconds.toFixed(1)} s (also tagged ${IMAGE_REPOSITORY}:latest)`);
  return { tag, built: true, offline: choice.offline };
}

/** The normal build when its base image is here or can be pulled; the offline build otherwise. */
async function chooseBuild(
  docker: Dockerode,
  inputs: AgentImageInputs,
  options: EnsureAgentImageOptions,
): Promise<{ offline: boolean; reason: string }> {
  if (options.offline === true) return { offline: true, reason: 'the offline build was asked for' };
  const base = baseImageOf(inputs.dockerfile);
  if ((await imageLabels(docker, base)) !== null) return { offline: false, reason: `the base image ${base} is present` };
  try {
    const stream: NodeJS.ReadableStream = await docker.pull(base);
    const events = await followProgress(docker, stream, () => {});
    const failure = events.find((event) => event.error !== undefined);
    if (failure !== undefined) throw new Error(failure.errorDetail?.message ?? failure.error);
    return { offline: false, reason: `the base image ${base} was pulled` };
  } catch (error) {
    return { offline: true, reason: `the base image ${base} cannot be pulled (${(error as Error).message.trim()})` };
  }
}

/** The image the Dockerfile starts from: its first FROM line. */
export function baseImageOf(dockerfile: string): string {
  const base = /^\s*FROM\s+(\S+)/im.exec(dockerfile)?.[1];
  if (base === undefined) throw new Error('container/Dockerfile has no FROM line');
  return base;
}

function followProgress(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
  onEvent: (event: DockerProgressEvent) => void,
): Promise<DockerProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: DockerProgressEvent[]) => (error ? reject(error) : resolve(events)),
      onEvent,
    );
  });
}
