/**
 * The data directory holds every conversation, every group's memory and users' private
 * facts: it is the runtime's user's alone. The CLI runs with a umask of 077 (main.ts), so
 * what it creates is 0700 (directories) and 0600 (files) whatever the shell's umask; the
 * directory itself is created 0700, and an existing one that others can enter is tightened
 * by the writer that opens it.
 *
 * The one part another uid uses is a group's workspace (and the shared folder), which the
 * Docker sandbox hands to the agent's uid 1000 (runtime/sandbox/workspace-ownership.ts).
 * Its parents stay 0700 and root's: a bind mount reaches the workspace inside the
 * container without passing through them, and on the host nobody else gets in.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';

/** The mask every command that opens a data directory runs with: no bits for group or other. */
export const PRIVATE_UMASK = 0o077;

/** The data directory's own mode. */
export const DATA_DIR_MODE = 0o700;

/** What was done about an existing directory's mode; `undefined` when it was already private. */
export type DataDirPermissionChange =
  | { readonly kind: 'tightened'; readonly from: number }
  | { readonly kind: 'too_open'; readonly mode: number; readonly reason: string };

/** `0o755` as `0755`, for messages. */
export function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * Creates `dir` (and missing parents) 0700, or tightens an existing `dir` that group or
 * other may read or enter. A directory this process may not chmod (another user's) is left
 * as it is and reported as too open.
 */
export async function ensurePrivateDataDir(dir: string): Promise<DataDirPermissionChange | undefined> {
  await mkdir(dir, { recursive: true, mode: DATA_DIR_MODE });
  const mode = (await stat(dir)).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  try {
    await chmod(dir, mode & ~0o077);
    return { kind: 'tightened', from: mode };
  } catch (error) {
    return { kind: 'too_open', mode, reason: error instanceof Error ? error.message : String(error) };
  }
}
