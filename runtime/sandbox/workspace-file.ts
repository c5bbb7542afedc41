/**
 * Host-side reads of files in a tree the host does not fully trust: a group's workspace (the
 * agent writes there), the shared directory, the group files under the data directory. The
 * host runs with more rights than the agent, so following an agent's symlink would read, as
 * the host, whatever the link names (`HEARTBEAT.md -> /etc/shadow`), and opening a FIFO or
 * a device could block the host or read forever. Every such read goes through here.
 *
 * A read is confined to its root:
 * - the path is resolved (realpath) and must stay inside the root's realpath: a symlink is
 *   fine while it points inside, refused when it (or a symlinked parent directory) leads out;
 * - anything that is not a regular file (FIFO, device, socket, directory) is refused before
 *   it is opened, and again on the opened handle;
 * - the resolved path is opened with O_NOFOLLOW | O_NONBLOCK (a FIFO swapped in never
 *   blocks), and the opened file is checked to be the one that was vetted: on Linux through
 *   /proc/self/fd (where the kernel says it really is: this closes the race of a parent
 *   directory swapped for a symlink between the check and the open); elsewhere by device and
 *   inode only, which narrows that race but cannot close it;
 * - at most `maxBytes` are read.
 *
 * A refusal is a result (`kind: 'refused'`) with a message that names the path as asked and
 * what is wrong with it, never where a symlink points nor anything of its content.
 */
import { constants, type Dirent, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** The tree a read is confined to. */
export interface WorkspaceRoot {
  readonly dir: string;
  /** How messages name it: `the workspace of group T1.C1`, `the shared directory`. */
  readonly label: string;
}

export type RefusalReason = 'leaves_root' | 'wrong_type' | 'symlink_loop' | 'changed_while_opening';

export interface WorkspaceRefusal {
  readonly kind: 'refused';
  readonly reason: RefusalReason;
  /** One sentence, e.g. `HEARTBEAT.md is a FIFO, not a regular file`. */
  readonly message: string;
}

export type WorkspaceFileRead =
  | { readonly kind: 'read'; readonly text: string; readonly truncated: boolean }
  /** No such file (or no root, or a symlink to nothing): what a caller treats as "not there". */
  | { readonly kind: 'missing' }
  | WorkspaceRefusal;

export type WorkspaceDirectoryList = { readonly kind: 'listed'; readonly names: string[] } | { readonly kind: 'missing' } | WorkspaceRefusal;

/** For callers that cannot go on without the file: the refusal as an error. */
export class WorkspaceFileRefusedError extends Error {
  constructor(readonly refusal: WorkspaceRefusal) {
    super(refusal.message);
    this.name = 'WorkspaceFileRefusedError';
  }
}

// Windows has no O_NOFOLLOW / O_NONBLOCK / O_NOCTTY / O_DIRECTORY: there the realpath check stands alone.
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const NON_BLOCKING = constants.O_NONBLOCK ?? 0;
const NO_CONTROLLING_TTY = constants.O_NOCTTY ?? 0;
const DIRECTORY_ONLY = constants.O_DIRECTORY ?? 0;

/** A regular file's text: the first `maxBytes` bytes as UTF-8 (a character cut at the bound is dropped). */
export async function readWorkspaceFile(root: WorkspaceRoot, relativePath: string, options: { readonly maxBytes: number }): Promise<WorkspaceFileRead> {
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${options.maxBytes}`);
  const opened = await openConfinedSettled(root, relativePath, 'file');
  if (opened.kind !== 'opened') return opened;
  try {
    const { bytes, truncated } = await readAtMost(opened.handle, options.maxBytes);
    return { kind: 'read', text: new StringDecoder('utf8').write(bytes), truncated };
  } finally {
    await opened.handle.close();
  }
}

/** The names of the real directories (not symlinks) directly inside a directory of the root, sorted. */
export async function listWorkspaceSubdirectories(root: WorkspaceRoot, relativePath: string): Promise<WorkspaceDirectoryList> {
  const opened = await openConfinedSettled(root, relativePath, 'directory');
  if (opened.kind !== 'opened') return opened;
  try {
    // Listed through the open handle where /proc has it: the directory vetted, whatever was renamed since.
    const entries: Dirent[] = await readdir(opened.procPath ?? opened.realPath, { withFileTypes: true });
    return { kind: 'listed', names: entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort() };
  } finally {
    await opened.handle.close();
  }
}

/** The text of a read, or an error for a refusal; null when the file is missing. */
export function textOrThrow(read: WorkspaceFileRead): string | null {
  if (read.kind === 'refused') throw new WorkspaceFileRefusedError(read);
  return read.kind === 'missing' ? null : read.text;
}

type Opened =
  | { readonly kind: 'opened'; readonly handle: FileHandle; readonly realPath: string; readonly procPath: string | null }
  | { readonly kind: 'missing' }
  | WorkspaceRefusal;

type Expected = 'file' | 'directory';

/** How many times a path that changed while it was opened is resolved and opened again. */
const OPEN_ATTEMPTS = 3;

/**
 * openConfined, again when the path changed under it: a file replaced by an atomic rename
 * (a projection rewriting WORK_CONTEXT.md) between the check and the open is a new file,
 * not an attack, and the next attempt opens it. A swap that persists is refused as before.
 */
async function openConfinedSettled(root: WorkspaceRoot, relativePath: string, expected: Expected): Promise<Opened> {
  for (let attempt = 1; ; attempt += 1) {
    const opened = await openConfined(root, relativePath, expected);
    if (opened.kind !== 'refused' || opened.reason !== 'changed_while_opening' || attempt >= OPEN_ATTEMPTS) return opened;
  }
}

async function openConfined(root: WorkspaceRoot, relativePath: string, expected: Expected): Promise<Opened> {
  checkRelativePath(relativePath);
  const refuse = (reason: RefusalReason, what: string): WorkspaceRefusal => ({ kind: 'refused', reason, message: `${relativePath} ${what}` });

  const rootReal = await realpathOrMissing(root.dir);
  if (rootReal === 'missing') return { kind: 'missing' };
  if (rootReal === 'loop') return refuse('symlink_loop', `is in ${root.label}, whose path is a symlink loop`);
  const asked = join(rootReal, relativePath);
  const real = await realpathOrMissing(asked);
  if (real === 'missing') return { kind: 'missing' };
  if (real === 'loop') return refuse('symlink_loop', 'is a symlink loop');
  if (!isInside(rootReal, real)) {
    const itself = (await lstat(asked).catch(() => null))?.isSymbolicLink() ?? false;
    return refuse('leaves_root', itself ? `is a symlink that leaves ${root.label}` : `is reached through a symlinked directory that leaves ${root.label}`);
  }

  // Before opening: a FIFO or a device is never opened at all (opening one can have effects).
  const vetted = await lstat(real).catch(missingOr);
  if (vetted === 'missing') return { kind: 'missing' };
  const wrongType = typeProblem(vetted, expected);
  if (wrongType !== null) return refuse('wrong_type', wrongType);

  const flags = constants.O_RDONLY | NO_FOLLOW | NON_BLOCKING | NO_CONTROLLING_TTY | (expected === 'directory' ? DIRECTORY_ONLY : 0);
  let handle: FileHandle;
  try {
    handle = await open(real, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    // O_NOFOLLOW met a symlink that was not there when the path was resolved.
    if (code === 'ELOOP') return refuse('changed_while_opening', 'changed while it was being opened (a symlink was swapped in), so it was not read');
    throw error;
  }
  try {
    const held = await handle.stat();
    const heldType = typeProblem(held, expected);
    if (heldType !== null) return closing(handle, refuse('wrong_type', heldType));
    const procPath = `/proc/self/fd/${handle.fd}`;
    const where = await readlink(procPath).catch(() => null);
    const sameFile = held.dev === vetted.dev && held.ino === vetted.ino;
    if (!sameFile || (where !== null && !isInside(rootReal, where))) {
      return closing(handle, refuse('changed_while_opening', `changed while it was being opened (a path component was swapped for a symlink), so it was not read`));
    }
    return { kind: 'opened', handle, realPath: real, procPath: where === null ? null : procPath };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function closing(handle: FileHandle, refusal: WorkspaceRefusal): Promise<WorkspaceRefusal> {
  await handle.close();
  return refusal;
}

/** Paths are the code's own (`HEARTBEAT.md`, `skills/<name>/SKILL.md`): a bad one is a bug, not input. */
function checkRelativePath(relativePath: string): void {
  const bad =
    relativePath === '' || relativePath.includes('\0') || isAbsolute(relativePath) || relativePath.split(/[\\/]/).some((part) => part === '..');
  if (bad) throw new Error(`a workspace path must be relative and stay below its root, got ${JSON.stringify(relativePath)}`);
}

function isInside(rootReal: string, path: string): boolean {
  const rel = relative(rootReal, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The realpath, or why there is none (a realpath is absolute, so never one of those two words). */
async function realpathOrMissing(path: string): Promise<string | 'missing' | 'loop'> {
  try {
    return await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'loop';
    return missingOr(error);
  }
}

function missingOr(error: unknown): 'missing' {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
  throw error;
}

/** Why a file is not what the read expects, or null when it is. */
function typeProblem(stats: Stats, expected: Expected): string | null {
  if (expected === 'file' ? stats.isFile() : stats.isDirectory()) return null;
  return `is ${describeType(stats)}, not ${expected === 'file' ? 'a regular file' : 'a directory'}`;
}

function describeType(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isSymbolicLink()) return 'a symlink';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a regular file';
  return 'a file of unknown type';
}

/** Up to maxBytes from the start; one byte more is asked for to know whether there was more. */
async function readAtMost(handle: FileHandle, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const buffer = Buffer.alloc(maxBytes + 1);
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return { bytes: buffer.subarray(0, Math.min(filled, maxBytes)), truncated: filled > maxBytes };
}
