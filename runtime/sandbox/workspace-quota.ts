/**
 * A group's workspace quota (`runs.workspaceMb`), measured from the host. Docker cannot
 * size-limit a bind mount (overlay2 and a plain host directory have no per-mount quota), so
 * the quota is kept in two parts: the container's RLIMIT_FSIZE stops any one file from
 * growing past it (docker-sandbox.ts), and this measures the whole workspace after every
 * tool call, so the run that filled it fails with `workspace_quota` before the host's disk
 * does.
 *
 * The walk never follows a symlink (lstat only: a link to / costs its own few bytes), counts
 * a hard-linked file once, and is bounded: past `maxEntries` entries or `timeBudgetMs` it stops,
 * and a workspace it could not measure counts as over (an agent could otherwise hide bytes
 * behind a million empty files).
 *
 * A run fails only when its workspace is over quota and larger than when the run began: a
 * run that starts over quota (an earlier run's leftovers) may still look around and delete.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface WorkspaceUsage {
  /** Bytes on disk, or the apparent size where larger (a sparse file counts at its length). */
  readonly bytes: number;
  readonly entries: number;
  /** Why the walk stopped early, or null when it saw everything. */
  readonly incomplete: null | 'entries' | 'time';
}

export interface MeasureOptions {
  readonly maxEntries?: number;
  readonly timeBudgetMs?: number;
}

export const DEFAULT_MAX_ENTRIES = 100_000;
const DEFAULT_TIME_BUDGET_MS = 10_000;
/** lstat calls in flight at once. */
const PARALLEL_STATS = 32;

export async function measureWorkspace(dir: string, options: MeasureOptions = {}): Promise<WorkspaceUsage> {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const deadline = Date.now() + (options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS);
  const seen = new Set<string>();
  let bytes = 0;
  let entries = 0;
  const pending = [dir];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    let names: string[];
    try {
      names = await readdir(current);
    } catch (error) {
      // Removed while we walked, or replaced by a file: nothing to count below it.
      if (isGone(error)) continue;
      throw error;
    }
    for (let start = 0; start < names.length; start += PARALLEL_STATS) {
      if (entries + Math.min(PARALLEL_STATS, names.length - start) > maxEntries) return { bytes, entries, incomplete: 'entries' };
      if (Date.now() > deadline) return { bytes, entries, incomplete: 'time' };
      const batch = names.slice(start, start + PARALLEL_STATS).map((name) => join(current, name));
      const stats = await Promise.all(batch.map((path) => lstat(path).catch(nullIfGone)));
      stats.forEach((stat, index) => {
        if (stat === null) return;
        entries += 1;
        if (stat.isDirectory()) pending.push(batch[index]!);
        const inode = `${stat.dev}:${stat.ino}`;
        if (seen.has(inode)) return;
        seen.add(inode);
        bytes += Math.max(stat.size, stat.blocks * 512);
      });
    }
  }
  return { bytes, entries, incomplete: null };
}

function nullIfGone(error: unknown): null {
  if (isGone(error)) return null;
  throw error;
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

const MiB = 1024 * 1024;

/** One run's view of its group's workspace quota: the usage it began with, and the check after each tool call. */
export class WorkspaceQuota {
  private constructor(
    private readonly dir: string,
    private readonly limitBytes: number,
    private readonly baseline: WorkspaceUsage,
    private readonly options: MeasureOptions,
  ) {}

  /** Measures the workspace as the run begins. */
  static async begin(dir: string, limitBytes: number, options: MeasureOptions = {}): Promise<WorkspaceQuota> {
    return new WorkspaceQuota(dir, limitBytes, await measureWorkspace(dir, options), options);
  }

  /** Null while the run keeps within the quota; otherwise why it does not, for `run.failed` (`workspace_quota`). */
  async overQuota(): Promise<string | null> {
    const now = await measureWorkspace(this.dir, this.options);
    const limit = `its quota of ${formatMiB(this.limitBytes)} (runs.workspaceMb)`;
    if (now.incomplete !== null) {
      // Unmeasurable now but not at the start: it grew. Unmeasurable both times: it cannot be told, so it counts.
      const what = now.incomplete === 'entries' ? `more than ${this.options.maxEntries ?? DEFAULT_MAX_ENTRIES} entries` : 'more than can be measured in time';
      return `the workspace holds ${what}, so it cannot be kept within ${limit}`;
    }
    if (now.bytes <= this.limitBytes) return null;
    if (this.baseline.incomplete === null && now.bytes <= this.baseline.bytes) return null;
    return `the workspace holds ${formatMiB(now.bytes)} in ${now.entries} entries, over ${limit}`;
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 2 : 0)} MiB`;
}
