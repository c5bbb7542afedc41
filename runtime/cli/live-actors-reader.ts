/**
 * Which actors the running runtime holds in memory, read from the file it keeps
 * (runtime/live-actors-file.ts). No file, or one left by a process that has died, means no
 * runtime is running and no actor is live.
 */
import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { liveActorsFileSchema, liveActorsPath } from '../live-actors-file.js';
import { isProcessAlive } from '../process-liveness.js';

export type LiveActors =
  | {
      readonly status: 'running';
      readonly pid: number;
      readonly hostname: string;
      readonly updatedAt: string;
      readonly streamIds: ReadonlySet<string>;
    }
  /** No file: no runtime ran, or it stopped cleanly. */
  | { readonly status: 'not_running' }
  /** A file left by a runtime that did not stop cleanly. */
  | { readonly status: 'stale'; readonly pid: number }
  /** A file that is not what the runtime writes (edited by hand, another version). */
  | { readonly status: 'unreadable'; readonly path: string; readonly detail: string };

export async function readLiveActors(dataDir: string): Promise<LiveActors> {
  const path = liveActorsPath(dataDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'not_running' };
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { status: 'unreadable', path, detail: error instanceof Error ? error.message : String(error) };
  }
  const parsed = liveActorsFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { status: 'unreadable', path, detail: issue ? `${issue.path.join('.') || '(file)'}: ${issue.message}` : 'invalid' };
  }
  const file = parsed.data;
  // A pid on another host cannot be checked from here; like the writer lock, it is trusted.
  if (file.hostname === osHostname() && !isProcessAlive(file.pid)) return { status: 'stale', pid: file.pid };
  return {
    status: 'running',
    pid: file.pid,
    hostname: file.hostname,
    updatedAt: file.updatedAt,
    streamIds: new Set(file.actors.map((actor) => actor.streamId)),
  };
}
