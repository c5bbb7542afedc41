/**
 * Path confinement: the second wall after the container. Every path a tool touches goes
 * through `resolveWorkspacePath`, which refuses anything that lies outside the workspace either
 * lexically (`..`, an absolute path elsewhere) or once symlinks are followed (a link to /etc, a
 * linked parent directory, a chain of links, a dangling link whose target is outside). Tools
 * then operate on the returned real path, so what was checked is what is used.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ToolFailure } from './tool-failure.js';

/** Like the kernel's own limit on links followed in one lookup (ELOOP). */
const MAX_SYMLINKS_FOLLOWED = 40;

export interface WorkspacePath {
  /** The path as the model should see it: relative to the workspace root, `/`-separated, `.` for the root. */
  readonly display: string;
  /** The absolute path with every symlink resolved (for writes, all but the final component). */
  readonly real: string;
  /** realpath of the workspace root, for tools that report paths found while walking `real`. */
  readonly realRoot: string;
}

export type PathPurpose = 'read' | 'write';

/**
 * Resolves `requested` (relative to `root`, or absolute inside it) for `purpose`. For a write the
 * final component is not followed: a symlink there is refused, so a write can never land
 * wherever a link points.
 */
export async function resolveWorkspacePath(root: string, requested: string, purpose: PathPurpose): Promise<WorkspacePath> {
  if (requested.includes('\0')) throw new ToolFailure(`path ${JSON.stringify(requested)} contains a NUL byte`);
  const lexicalRoot = path.resolve(root);
  const lexical = path.resolve(lexicalRoot, requested);
  if (!isInside(lexicalRoot, lexical)) throw outside(requested);
  const display = toDisplay(path.relative(lexicalRoot, lexical));

  const realRoot = await realpath(lexicalRoot);
  // Followed to the end even for a write, so a dangling link to somewhere outside is named as such.
  const followed = await realpathAllowingMissing(lexical, requested);
  if (!isInside(realRoot, followed)) throw outside(requested);
  if (purpose === 'read') return { display, real: followed, realRoot };

  if (lexical === lexicalRoot) throw new ToolFailure(`path ${JSON.stringify(requested)} is the workspace root directory`);
  const realParent = await realpathAllowingMissing(path.dirname(lexical), requested);
  const real = path.join(realParent, path.basename(lexical));
  if (!isInside(realRoot, real)) throw outside(requested);
  if (await isSymlink(real)) {
    throw new ToolFailure(`path ${JSON.stringify(requested)} is a symbolic link; refusing to write through it (write to its target instead)`);
  }
  return { display, real, realRoot };
}

/** Whether `candidate` is `base` or lies below it; both absolute and normalised. */
export function isInside(base: string, candidate: string): boolean {
  const relative = path.relative(base, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/** A path below the workspace as the model should see it. */
export function toDisplay(relativePath: string): string {
  return relativePath === '' ? '.' : relativePath.split(path.sep).join('/');
}

function outside(requested: string): ToolFailure {
  return new ToolFailure(`path ${JSON.stringify(requested)} resolves outside the workspace; only paths inside it are allowed`);
}

/**
 * fs.realpath, except that a path which does not exist yet resolves through its nearest existing
 * ancestor, and a dangling symlink resolves to where it points, so that a path about to be
 * created is judged by where it would really land.
 */
async function realpathAllowingMissing(absolute: string, requested: string): Promise<string> {
  try {
    return await realpath(absolute);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  return walkComponents(absolute, requested);
}

/**
 * Resolves one component at a time, as the kernel would, following symlinks (relative targets
 * against the real directory holding the link) and carrying on lexically once a component is
 * missing: anything below a missing component would be created there, never elsewhere.
 */
async function walkComponents(absolute: string, requested: string): Promise<string> {
  let current = path.parse(absolute).root;
  const pending = splitComponents(absolute);
  let linksFollowed = 0;
  let missing = false;
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (name === '..') {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, name);
    if (missing) {
      current = next;
      continue;
    }
    let isLink: boolean;
    try {
      isLink = (await lstat(next)).isSymbolicLink();
    } catch (error) {
      if (!isMissing(error)) throw error;
      missing = true;
      current = next;
      continue;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    linksFollowed += 1;
    if (linksFollowed > MAX_SYMLINKS_FOLLOWED) {
      throw new ToolFailure(`path ${JSON.stringify(requested)} goes through too many symbolic links (a loop?)`);
    }
    const target = await readlink(next);
    if (path.isAbsolute(target)) current = path.parse(target).root;
    pending.unshift(...splitComponents(target));
  }
  return current;
}

function splitComponents(somePath: string): string[] {
  return somePath
    .slice(path.parse(somePath).root.length)
    .split(path.sep)
    .filter((component) => component !== '' && component !== '.');
}

async function isSymlink(absolute: string): Promise<boolean> {
  try {
    return (await lstat(absolute)).isSymbolicLink();
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
