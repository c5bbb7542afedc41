/**
 * Everything the agent image is made from, and the content hash that names it: the same
 * inputs always give the same tag, so an image that exists for a tag is the right one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { AGENT_INIT_RELATIVE, IMAGE_REPOSITORY, RUNNER_PACKAGES } from './agent-image-layout.js';
import { nodeModulesClosure, type ResolvedPackage } from './node-modules-closure.js';

export interface HashedFile {
  /** Relative to dist/container, with forward slashes. */
  readonly relativePath: string;
  readonly sha256: string;
}

export interface AgentImageInputs {
  readonly repoRoot: string;
  readonly distContainerDir: string;
  /** Every compiled file under dist/container: all of them count towards the hash. */
  readonly compiledFiles: readonly HashedFile[];
  /** The ones copied into /app; the image builder itself (image/) runs on the host only. */
  readonly filesForImage: readonly HashedFile[];
  readonly packages: readonly ResolvedPackage[];
  readonly nodeVersion: string;
  readonly dockerfile: string;
  readonly offlineDockerfile: string;
  /** The entrypoint script (container/agent-init.sh), /app/agent-init.sh in the image. */
  readonly initScript: string;
  /** /app/package.json: marks the compiled runner as ES modules, as the repository's does. */
  readonly appPackageJson: string;
  readonly hash: string;
}

const COMPILED_EXTENSION = '.js';
const HOST_ONLY_FOLDER = 'image/';

export const APP_PACKAGE_JSON = `${JSON.stringify({ name: 'ledgerclaw-agent', private: true, type: 'module' }, null, 2)}\n`;

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (error) {
    // No dist/container yet (nothing built under container/): an image with no runner in it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function hashCompiledFiles(distContainerDir: string): Promise<HashedFile[]> {
  const paths = (await listFiles(distContainerDir)).filter((path) => path.endsWith(COMPILED_EXTENSION));
  const files = await Promise.all(
    paths.map(async (path) => ({
      relativePath: relative(distContainerDir, path).split(sep).join('/'),
      sha256: createHash('sha256').update(await readFile(path)).digest('hex'),
    })),
  );
  return files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
}

export async function collectAgentImageInputs(repoRoot: string): Promise<AgentImageInputs> {
  const distContainerDir = join(repoRoot, 'dist', 'container');
  const [compiledFiles, packages, dockerfile, offlineDockerfile, initScript] = await Promise.all([
    hashCompiledFiles(distContainerDir),
    nodeModulesClosure(repoRoot, RUNNER_PACKAGES),
    readFile(join(repoRoot, 'container', 'Dockerfile'), 'utf8'),
    readFile(join(repoRoot, 'container', 'Dockerfile.offline'), 'utf8'),
    readFile(join(repoRoot, AGENT_INIT_RELATIVE), 'utf8'),
  ]);
  const nodeVersion = process.version;
  // Canonical and versioned: bump `format` when the layout of the image changes without
  // any of these inputs changing.
  const canonical = JSON.stringify({
    format: 1,
    nodeVersion,
    dockerfile,
    offlineDockerfile,
    initScript,
    appPackageJson: APP_PACKAGE_JSON,
    compiledFiles: compiledFiles.map((file) => [file.relativePath, file.sha256]),
    packages: packages.map((pkg) => [pkg.relativeDir, `${pkg.name}@${pkg.version}`]),
  });
  return {
    repoRoot,
    distContainerDir,
    compiledFiles,
    filesForImage: compiledFiles.filter((file) => !file.relativePath.startsWith(HOST_ONLY_FOLDER)),
    packages,
    nodeVersion,
    dockerfile,
    offlineDockerfile,
    initScript,
    appPackageJson: APP_PACKAGE_JSON,
    hash: createHash('sha256').update(canonical).digest('hex'),
  };
}

export function imageTagFor(inputs: Pick<AgentImageInputs, 'hash'>): string {
  return `${IMAGE_REPOSITORY}:${inputs.hash.slice(0, 12)}`;
}

export const LATEST_TAG = `${IMAGE_REPOSITORY}:latest`;
