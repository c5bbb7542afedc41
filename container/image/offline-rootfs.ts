/**
 * The root filesystem of the offline agent image, assembled from the host when no base
 * image can be pulled: the host's node binary, a shell and everyday tools for the agent's
 * bash tool, the shared libraries `ldd` says they load, the dynamic loader, and just
 * enough of /etc for the `agent` user to exist.
 */
import { execFile } from 'node:child_process';
import { access, chmod, constants, copyFile, mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_GID, AGENT_UID, NODE_IN_IMAGE, SHARED_IN_CONTAINER, WORKSPACE_IN_CONTAINER } from './agent-image-layout.js';

const execFileAsync = promisify(execFile);

/** Where node goes in the image; the Dockerfiles' PATH finds it there. Packed execute-only (build-image.ts). */
export const NODE_IN_ROOTFS = NODE_IN_IMAGE;

/** Without a shell the image cannot run `sh -c`; without bash the agent's bash tool has nothing to run. */
const REQUIRED_TOOLS = ['sh', 'bash'] as const;
/** What an agent reaches for first; one missing on the host is left out with a warning. */
const EVERYDAY_TOOLS = [
  'ls', 'cat', 'grep', 'sed', 'head', 'tail', 'wc', 'find', 'sort', 'uniq', 'cut', 'tr', 'xargs', 'diff',
  'mkdir', 'rm', 'cp', 'mv', 'touch', 'chmod', 'tee', 'env', 'sleep', 'echo', 'date', 'id', 'basename', 'dirname', 'setsid',
] as const;
/** Searched after the host's PATH, so a bare environment still finds the usual tools. */
const FALLBACK_BIN_DIRS = ['/usr/local/bin', '/usr/bin', '/bin'];

export interface OfflineRootfsLog {
  warn(fields: object, message: string): void;
}

export interface OfflineRootfsContents {
  /** Paths inside the image. */
  readonly binaries: readonly string[];
  readonly libraries: readonly string[];
  readonly missingTools: readonly string[];
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnHost(tool: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== ''), ...FALLBACK_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, tool);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * The libraries a binary loads, as the absolute paths the loader will look for (what `ldd`
 * prints, not where those symlinks lead: the loader opens the printed path). A static
 * binary has none.
 */
export async function sharedLibrariesOf(binary: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('ldd', [binary]));
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error('ldd is not installed on this host: the offline agent image needs it');
    if (`${failure.stdout ?? ''}${failure.stderr ?? ''}`.includes('not a dynamic executable')) return [];
    throw error;
  }
  const libraries: string[] = [];
  for (const line of stdout.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.includes('=> not found')) throw new Error(`${binary} needs a library the host does not have: ${trimmed}`);
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or the loader: `/lib64/ld-linux-x86-64.so.2 (0x…)`.
    // linux-vdso.so.1 has no path: the kernel maps it into every process.
    const path = /=>\s+(\/\S+)/.exec(trimmed)?.[1] ?? /^(\/\S+)/.exec(trimmed)?.[1];
    if (path !== undefined) libraries.push(path);
  }
  return libraries;
}

/** Copies the file a host path leads to (following symlinks) to the same path in the rootfs. */
async function copyInto(rootfs: string, hostPath: string, imagePath: string, mode: number): Promise<void> {
  const target = join(rootfs, imagePath);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(await realpath(hostPath), target);
  await chmod(target, mode);
}

const PASSWD = `root:x:0:0:root:/root:/bin/sh\nagent:x:${AGENT_UID}:${AGENT_GID}:ledgerclaw agent:${WORKSPACE_IN_CONTAINER}:/bin/bash\n`;
const GROUP = `root:x:0:\nagent:x:${AGENT_GID}:\n`;

export async function prepareOfflineRootfs(rootfs: string, log: OfflineRootfsLog): Promise<OfflineRootfsContents> {
  const binaries = new Map<string, string>([[NODE_IN_ROOTFS, process.execPath]]);
  const missingTools: string[] = [];
  for (const tool of [...REQUIRED_TOOLS, ...EVERYDAY_TOOLS]) {
    const hostPath = await findOnHost(tool);
    if (hostPath === null) {
      if ((REQUIRED_TOOLS as readonly string[]).includes(tool)) {
        throw new Error(`the offline agent image needs \`${tool}\` from the host, and the host has none on PATH`);
      }
      missingTools.push(tool);
      continue;
    }
    binaries.set(`/usr/bin/${tool}`, hostPath);
  }
  if (missingTools.length > 0) log.warn({ missingTools }, `offline agent image: not on this host, left out: ${missingTools.join(', ')}`);

  const libraries = new Set<string>();
  for (const hostPath of binaries.values()) {
    for (const library of await sharedLibrariesOf(hostPath)) libraries.add(library);
  }

  for (const [imagePath, hostPath] of binaries) await copyInto(rootfs, hostPath, imagePath, 0o755);
  for (const library of libraries) await copyInto(rootfs, library, library, 0o755);
  // /bin/sh and /bin/bash are where scripts' #! lines look: /bin is /usr/bin, as on merged-/usr hosts.
  await symlink('usr/bin', join(rootfs, 'bin'));

  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await writeFile(join(rootfs, 'etc', 'passwd'), PASSWD, { mode: 0o644 });
  await writeFile(join(rootfs, 'etc', 'group'), GROUP, { mode: 0o644 });
  // Mount points: /tmp gets a tmpfs, /workspace and /shared the run's bind mounts.
  for (const dir of ['tmp', WORKSPACE_IN_CONTAINER.slice(1), SHARED_IN_CONTAINER.slice(1)]) {
    await mkdir(join(rootfs, dir), { recursive: true });
  }
  await chmod(join(rootfs, 'tmp'), 0o1777);
  return { binaries: [...binaries.keys()], libraries: [...libraries], missingTools };
}
