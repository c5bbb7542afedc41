/**
 * Ending every process the bash calls left behind, where the runner owns its pid namespace
 * (the Docker sandbox, see container/agent-init.sh). Killing the call's process group is not
 * enough: `setsid cmd &` (or any double fork into a new session) leaves the group. Nothing
 * leaves the pid namespace, though, and tool calls run one at a time, so between calls every
 * process there other than the runner and its ancestors (the image's init) is a leftover.
 *
 * Killed processes become zombies until pid 1 reaps them, and a zombie still holds its slot of
 * the pids limit: the sweep waits (bounded) until they are gone too, so the next call can fork
 * even after a fork bomb.
 */
import { readdir, readFile } from 'node:fs/promises';

export interface SweepOptions {
  /** Where the pid namespace's processes are listed; /proc. */
  readonly procDir?: string;
  /** The sweep gives up after this long, reporting what is left. */
  readonly deadlineMs?: number;
  /** Sends SIGKILL; process.kill. */
  readonly kill?: (pid: number) => void;
}

export interface SweepResult {
  /** Processes sent SIGKILL. */
  readonly killed: number;
  /** Processes (zombies included) still there when the deadline passed; 0 when the sweep finished. */
  readonly remaining: number;
}

const DEFAULT_DEADLINE_MS = 5_000;
const FIRST_PAUSE_MS = 5;
const LONGEST_PAUSE_MS = 100;

export async function endStrayProcesses(options: SweepOptions = {}): Promise<SweepResult> {
  const procDir = options.procDir ?? '/proc';
  const kill = options.kill ?? ((pid: number) => process.kill(pid, 'SIGKILL'));
  const deadline = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const keep = await selfAndAncestors(procDir);
  const killed = new Set<number>();
  for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, LONGEST_PAUSE_MS)) {
    const strays = await listStrays(procDir, keep);
    if (strays.length === 0) return { killed: killed.size, remaining: 0 };
    // Again every round: a fork bomb forks between one round's listing and its kills.
    for (const stray of strays) {
      if (stray.state === 'Z') continue; // dead already; pid 1 reaps it
      try {
        kill(stray.pid);
        killed.add(stray.pid);
      } catch {
        // ESRCH: gone meanwhile.
      }
    }
    if (Date.now() >= deadline) return { killed: killed.size, remaining: strays.length };
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

interface ProcessEntry {
  readonly pid: number;
  /** The state letter of /proc/<pid>/stat: R, S, D, Z…; '?' when it could not be read. */
  readonly state: string;
}

async function listStrays(procDir: string, keep: ReadonlySet<number>): Promise<ProcessEntry[]> {
  const strays: ProcessEntry[] = [];
  for (const name of await readdir(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (keep.has(pid)) continue;
    const stat = await readStat(procDir, pid);
    if (stat === 'gone') continue;
    strays.push({ pid, state: stat?.state ?? '?' });
  }
  return strays;
}

/** The runner and the chain of its parents up to pid 1: never swept. */
async function selfAndAncestors(procDir: string): Promise<Set<number>> {
  const keep = new Set<number>([process.pid]);
  for (let pid = process.ppid; pid > 0 && !keep.has(pid); ) {
    keep.add(pid);
    const stat = await readStat(procDir, pid);
    if (stat === 'gone' || stat === null) break;
    pid = stat.ppid;
  }
  return keep;
}

/** `pid (comm) state ppid …`; comm may hold spaces and parentheses, so fields count from the last `)`. */
async function readStat(procDir: string, pid: number): Promise<{ state: string; ppid: number } | null | 'gone'> {
  let text: string;
  try {
    text = await readFile(`${procDir}/${pid}/stat`, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', ppid: Number(fields[1]) };
}
