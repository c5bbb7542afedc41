/**
 * One writer a data directory. The writer holds `<dataDir>/writer.lock`, created with
 * O_EXCL so that of two processes creating it at once exactly one succeeds. The file says
 * who holds it; a lock left behind by a process that died (a crash, SIGKILL, power loss)
 * is recognised by its dead pid and taken over.
 *
 * Taking over a stale lock means deleting a file another process may be deleting and
 * re-creating at the same moment. To keep that safe, only the holder of a second,
 * short-lived O_EXCL file (`writer.lock.takeover`) may delete a stale `writer.lock`, and it
 * re-reads the lock under that guard before deleting it.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from './process-liveness.js';

export const LOCK_FILE_NAME = 'writer.lock';
const TAKEOVER_FILE_NAME = 'writer.lock.takeover';

/** A lock file this young with no readable holder is probably being written right now. */
const UNREADABLE_GRACE_MS = 2_000;
/** A takeover guard older than this belongs to a process that died while holding it. */
const TAKEOVER_GUARD_STALE_MS = 10_000;
const RETRY_DELAY_MS = 25;
const MAX_ATTEMPTS = 200;

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly command: string;
}

/** Another live process writes this data directory. */
export class DataDirectoryInUseError extends Error {
  readonly code = 'data_dir_in_use';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const elsewhere = holder.hostname === osHostname() ? '' : ` on host ${holder.hostname}`;
    super(
      `data directory ${dataDir} in use by pid ${holder.pid}${elsewhere} (since ${holder.startedAt}); ` +
        `stop that process first, or use a read-only command (events read, tail, verify)`,
    );
    this.name = 'DataDirectoryInUseError';
  }
}

export interface DataDirLock {
  readonly dataDir: string;
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still ours. Safe to call more than once. */
  release(): void;
}

export interface AcquireOptions {
  /** What is written as `command`, for the operator who finds the lock. */
  readonly command?: string;
}

/** Locks this process already holds: a lock file naming our own pid is otherwise ambiguous. */
const heldByThisProcess = new Set<string>();

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, hostname, startedAt, command } = value as Record<string, unknown>;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
    return {
      pid,
      hostname: typeof hostname === 'string' ? hostname : 'unknown',
      startedAt: typeof startedAt === 'string' ? startedAt : 'unknown',
      command: typeof command === 'string' ? command : 'unknown',
    };
  } catch {
    return undefined;
  }
}

type LockFileState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'live'; readonly holder: LockHolder }
  | { readonly kind: 'stale'; readonly text: string }
  | { readonly kind: 'being_written' };

function inspect(path: string): LockFileState {
  let text: string;
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(path).mtimeMs;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
  const holder = parseHolder(text);
  if (!holder) {
    // Between another process's O_EXCL create and its write the file is empty.
    return ageMs < UNREADABLE_GRACE_MS ? { kind: 'being_written' } : { kind: 'stale', text };
  }
  // A lock on another host cannot be checked from here; it is respected.
  if (holder.hostname !== osHostname()) return { kind: 'live', holder };
  // Our own pid in a lock we do not hold is a previous incarnation (a restarted container
  // reuses pid 1, for example), not us.
  if (holder.pid === process.pid) return heldByThisProcess.has(path) ? { kind: 'live', holder } : { kind: 'stale', text };
  return isProcessAlive(holder.pid) ? { kind: 'live', holder } : { kind: 'stale', text };
}

/** Creates `path` with O_EXCL holding `text`; false when it already exists. */
function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Removes the stale lock whose contents were `staleText`, unless someone replaced it
 * meanwhile. Returns false when the guard is held by another process right now.
 */
function removeStaleLock(dataDir: string, lockPath: string, staleText: string): boolean {
  const guardPath = join(dataDir, TAKEOVER_FILE_NAME);
  if (!createExclusive(guardPath, JSON.stringify({ pid: process.pid, hostname: osHostname() }))) {
    clearAbandonedGuard(guardPath);
    return false;
  }
  try {
    if (readIfPresent(lockPath) === staleText) unlinkIfPresent(lockPath);
  } finally {
    unlinkIfPresent(guardPath);
  }
  return true;
}

function clearAbandonedGuard(guardPath: string): void {
  try {
    const ageMs = Date.now() - statSync(guardPath).mtimeMs;
    const guard = parseHolder(readFileSync(guardPath, 'utf8'));
    const ownerDead = guard !== undefined && guard.hostname === osHostname() && !isProcessAlive(guard.pid);
    if (ownerDead || ageMs > TAKEOVER_GUARD_STALE_MS) unlinkIfPresent(guardPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Takes the writer lock on `dataDir` (which must exist), or throws DataDirectoryInUseError
 * naming the live process that holds it.
 */
export async function acquireDataDirLock(dataDir: string, options: AcquireOptions = {}): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE_NAME);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: osHostname(),
    startedAt: new Date().toISOString(),
    command: options.command ?? process.argv.slice(1).join(' '),
  };
  const text = `${JSON.stringify(holder)}\n`;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    if (createExclusive(path, text)) return holdLock(dataDir, path, holder, text);
    const state = inspect(path);
    if (state.kind === 'live') throw new DataDirectoryInUseError(dataDir, state.holder);
    if (state.kind === 'stale' && removeStaleLock(dataDir, path, state.text)) continue;
    await sleep(RETRY_DELAY_MS);
  }
  throw new Error(`could not take the writer lock ${path}: it kept changing hands`);
}

function holdLock(dataDir: string, path: string, holder: LockHolder, text: string): DataDirLock {
  heldByThisProcess.add(path);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    heldByThisProcess.delete(path);
    try {
      // Someone may have removed our lock by hand and another writer taken it since.
      if (readIfPresent(path) === text) unlinkIfPresent(path);
    } catch {
      // Best effort: a lock we fail to remove is stale once we exit, and is taken over.
    }
  };
  // Best effort for a process that exits without closing; SIGKILL leaves a stale lock.
  process.on('exit', release);
  return { dataDir, path, holder, release };
}
