/**
 * The process sandbox, for machines where no Docker daemon answers: the runner as a child
 * process in its own process group, in the workspace, with an environment built from the
 * spec alone (never the host's). Isolation is weak: it shares the host's filesystem,
 * network and user, and the limits are not enforced. So high-risk tools (bash) are off.
 *
 * Each child leaves a pid file `<runsDir>/<runId>.pid` (pid and start time) while it
 * runs, so a later runtime process can find and end what a crashed one left behind, and
 * never mistakes an unrelated process that reused the pid for one of ours.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { RUNNER_MAIN_RELATIVE, findRepoRoot } from '../../container/image/agent-image-layout.js';
import { isProcessAlive } from '../process-liveness.js';
import { OutputTail, teeIntoTail } from './output-tail.js';
import {
  STDERR_TAIL_BYTES,
  WORKSPACE_ENV,
  type Sandbox,
  type SandboxedProcess,
  type SandboxExit,
  type SandboxLog,
  type SandboxSpec,
} from './sandbox.js';
import { SandboxSpecError, validateSandboxSpec } from './sandbox-spec.js';

export interface ProcessSandboxOptions {
  /** Where the pid files live: the data directory's runs folder. */
  readonly runsDir: string;
  /** The compiled runner; `<repo>/dist/container/runner/main.js` by default. */
  readonly runnerMain?: string;
  readonly log?: SandboxLog;
}

const PID_FILE_SUFFIX = '.pid';
/** After the leader exits, how long its pipes may take to close before we stop waiting. */
const OUTPUT_DRAIN_MS = 2_000;
const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

const pidFileSchema = z.object({
  runId: z.string(),
  groupId: z.string(),
  pid: z.number().int().positive(),
  /** From /proc/<pid>/stat; null where there is no /proc (then liveness alone decides). */
  startTime: z.string().nullable(),
});
type PidFile = z.infer<typeof pidFileSchema>;

interface CapturedChild {
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** After exit, once its stdio pipes have closed too. */
  readonly closed: Promise<void>;
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
  readonly tail: OutputTail;
}

/**
 * Called right after spawn, before any await: a child that ends quickly could exit while
 * its pid file is written, and Node drops a child's unread output when it exits
 * (flushStdio), so its exit is listened for and its output moved into streams of our own
 * at once.
 */
function capture(child: ChildProcessWithoutNullStreams): CapturedChild {
  const stdout = new PassThrough();
  child.stdout.pipe(stdout);
  const tail = new OutputTail(STDERR_TAIL_BYTES);
  const stderr = teeIntoTail(tail);
  child.stderr.pipe(stderr.input);
  return {
    exit: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    closed: new Promise((resolve) => child.once('close', () => resolve())),
    stdout,
    stderr: stderr.output,
    tail,
  };
}

/** A run id as a file name: anything but `[A-Za-z0-9_.-]` is percent-encoded, so distinct ids stay distinct. */
function pidFileName(runId: string): string {
  return `${runId.replace(/[^A-Za-z0-9_.-]/g, (char) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`)}${PID_FILE_SUFFIX}`;
}

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), which a reused pid does not share. */
async function processStartTime(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[22 - 3] ?? null;
  } catch {
    return null;
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export class ProcessSandbox implements Sandbox {
  readonly kind = 'process';
  readonly isolation = 'process-weak';
  readonly highRiskToolsAllowed = false;

  private readonly runsDir: string;
  private readonly runnerMain: string;
  private readonly log: SandboxLog | undefined;
  /** Pids this instance started and that still run: not leftovers. */
  private readonly ownPids = new Set<number>();

  constructor(options: ProcessSandboxOptions) {
    this.runsDir = options.runsDir;
    this.runnerMain = options.runnerMain ?? join(findRepoRoot(), RUNNER_MAIN_RELATIVE);
    this.log = options.log;
  }

  async start(unchecked: SandboxSpec): Promise<SandboxedProcess> {
    const spec = validateSandboxSpec(unchecked);
    if (spec.workspaceReadOnly === true) {
      // It runs as the runtime's own user on the host's filesystem: nothing could stop a write.
      throw new SandboxSpecError('the process sandbox cannot mount a workspace read-only (it shares the host filesystem and user); use the Docker sandbox');
    }
    if (!(await stat(spec.workspaceDir).catch(() => null))?.isDirectory()) {
      throw new SandboxSpecError(`workspace ${spec.workspaceDir} is not an existing directory`);
    }
    if (spec.command === undefined && !existsSync(this.runnerMain)) {
      throw new Error(`the runner ${this.runnerMain} is not built: run npm run build`);
    }
    await mkdir(this.runsDir, { recursive: true });
    await this.endEarlierProcess(spec.runId);

    // `node` means this node, as `node` in the image means the image's.
    const [program, ...args] = spec.command ?? [process.execPath, this.runnerMain];
    const child = spawn(program === 'node' || program === undefined ? process.execPath : program, args, {
      cwd: spec.workspaceDir,
      // Built from nothing: the host's environment holds the secrets this must not see.
      env: {
        ...spec.env,
        PATH: process.env.PATH ?? FALLBACK_PATH,
        HOME: spec.workspaceDir,
        [WORKSPACE_ENV]: spec.workspaceDir,
      },
      // Its own process group, so kill() ends whatever it started too.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const captured = capture(child);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${program ?? 'the runner'}`);
    this.ownPids.add(pid);
    try {
      const pidFile: PidFile = { runId: spec.runId, groupId: spec.groupId, pid, startTime: await processStartTime(pid) };
      await writeFile(join(this.runsDir, pidFileName(spec.runId)), `${JSON.stringify(pidFile)}\n`);
    } catch (error) {
      // Unrecorded, it could never be found again after a crash: better not to run at all.
      killGroup(pid);
      throw error;
    }
    // Only now: `exited` removes the pid file, which must not happen before it is written.
    return this.supervise(child, captured, pid, spec.runId, spec.workspaceDir);
  }

  private supervise(
    child: ChildProcessWithoutNullStreams,
    captured: CapturedChild,
    pid: number,
    runId: string,
    workspaceDir: string,
  ): SandboxedProcess {
    const { tail } = captured;
    child.stdin.on('error', () => {
      // Writing after the child exited: the exit is reported through `exited`.
    });

    const exited = (async (): Promise<SandboxExit> => {
      const { code, signal } = await captured.exit;
      // As when a container's first process ends: whatever it started ends with it.
      killGroup(pid);
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([captured.closed, new Promise<void>((done) => (drainTimer = setTimeout(done, OUTPUT_DRAIN_MS)))]);
      clearTimeout(drainTimer);
      this.ownPids.delete(pid);
      await rm(join(this.runsDir, pidFileName(runId)), { force: true });
      return { exitCode: code, signal, oomKilled: false, stderrTail: tail.text() };
    })();

    let killing: Promise<void> | null = null;
    return {
      id: `pid:${pid}`,
      workspaceRoot: workspaceDir,
      stdin: child.stdin,
      stdout: captured.stdout,
      stderr: captured.stderr,
      exited,
      kill: () => {
        killing ??= (async () => {
          killGroup(pid);
          await exited;
        })();
        return killing;
      },
    };
  }

  /** An earlier start of the same run, by a crashed runtime: its channel is gone, so it goes too. */
  private async endEarlierProcess(runId: string): Promise<void> {
    const earlier = await this.readPidFile(join(this.runsDir, pidFileName(runId)));
    if (earlier === null) return;
    if (!this.ownPids.has(earlier.pid) && (await this.isOurs(earlier))) {
      this.log?.info({ pid: earlier.pid, runId }, `sandbox: ending the earlier process ${earlier.pid} of run ${runId}`);
      await this.endGroup(earlier.pid);
    }
    await rm(join(this.runsDir, pidFileName(runId)), { force: true });
  }

  private async readPidFile(path: string): Promise<PidFile | null> {
    try {
      const parsed = pidFileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
      if (parsed.success) return parsed.data;
      this.log?.warn({ path }, `sandbox: ignoring the malformed pid file ${path}`);
      return null;
    } catch {
      return null;
    }
  }

  private async isOurs(file: PidFile): Promise<boolean> {
    if (!isProcessAlive(file.pid)) return false;
    return file.startTime === null || (await processStartTime(file.pid)) === file.startTime;
  }

  private async endGroup(pid: number): Promise<void> {
    killGroup(pid);
    // A killed process that is not our child is reaped by someone else: wait until it is.
    for (let waited = 0; isProcessAlive(pid) && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async pidFiles(): Promise<Array<{ path: string; file: PidFile }>> {
    let names: string[];
    try {
      names = await readdir(this.runsDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const files: Array<{ path: string; file: PidFile }> = [];
    for (const name of names.filter((candidate) => candidate.endsWith(PID_FILE_SUFFIX))) {
      const path = join(this.runsDir, name);
      const file = await this.readPidFile(path);
      if (file !== null) files.push({ path, file });
    }
    return files;
  }

  async findLeftovers(): Promise<Array<{ runId: string; id: string }>> {
    const leftovers: Array<{ runId: string; id: string }> = [];
    for (const { path, file } of await this.pidFiles()) {
      if (this.ownPids.has(file.pid)) continue;
      if (await this.isOurs(file)) {
        leftovers.push({ runId: file.runId, id: `pid:${file.pid}` });
      } else {
        // Its process is gone (or the pid now belongs to another): the file means nothing.
        await rm(path, { force: true });
      }
    }
    return leftovers;
  }

  async removeLeftover(id: string): Promise<void> {
    const pid = Number(/^pid:(\d+)$/.exec(id)?.[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`${id} is not a process sandbox id (pid:<n>)`);
    for (const { path, file } of await this.pidFiles()) {
      if (file.pid !== pid) continue;
      // Only a process our pid file vouches for: never a pid that was reused by another.
      if (await this.isOurs(file)) await this.endGroup(pid);
      await rm(path, { force: true });
    }
  }
}
