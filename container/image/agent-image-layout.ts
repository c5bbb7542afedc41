/**
 * Where things are, in the repository and in the agent image. The host side (the image
 * build, both sandboxes) shares these so the runner is found at the same place everywhere.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const IMAGE_REPOSITORY = 'ledgerclaw-agent';

/** The agent's user in the image; the workspace is handed to this uid before each run. */
export const AGENT_UID = 1000;
export const AGENT_GID = 1000;

export const APP_DIR_IN_IMAGE = '/app';
export const WORKSPACE_IN_CONTAINER = '/workspace';
export const SHARED_IN_CONTAINER = '/shared';

/** The compiled runner, relative to the repository root on the host and to /app in the image. */
export const RUNNER_MAIN_RELATIVE = 'dist/container/runner/main.js';
export const RUNNER_MAIN_IN_IMAGE = `${APP_DIR_IN_IMAGE}/${RUNNER_MAIN_RELATIVE}`;

/** The image's entrypoint, pid 1 of every run: see container/agent-init.sh. */
export const AGENT_INIT_RELATIVE = 'container/agent-init.sh';
export const AGENT_INIT_IN_IMAGE = `${APP_DIR_IN_IMAGE}/agent-init.sh`;

/**
 * Node in both images, execute-only (mode 0711): a process that execs a binary its user cannot
 * read is made non-dumpable by the kernel, so no other process of uid 1000 can open the
 * runner's /proc/<pid>/fd (its channel to the host). See container/agent-init.sh.
 */
export const NODE_IN_IMAGE = '/usr/local/bin/node';
export const EXECUTE_ONLY_MODE = 0o711;

/** The packages the runner may import at run time, besides Node's built-ins. */
export const RUNNER_PACKAGES = ['@anthropic-ai/sdk', 'zod'] as const;

/**
 * The repository root: the first folder above this module that holds a package.json. This
 * module runs from dist/container/image/ (built) or container/image/ (vitest, from source),
 * so a fixed number of `..` would be right in only one of them.
 */
export function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
