/**
 * The sandbox port: where an agent run's runner process lives. Docker gives it a locked-down
 * container; the process sandbox, for machines without a Docker daemon, a bare child
 * process with a scrubbed environment, weaker isolation, and high-risk tools turned off.
 */

export interface SandboxLimits {
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly pids: number;
  readonly tmpBytes: number;
  /**
   * The largest file any process may write (RLIMIT_FSIZE): one write cannot run away with the
   * disk. A write past it fails with EFBIG. The process sandbox cannot enforce it. Default: none.
   */
  readonly fileBytes?: number;
}

export interface SandboxSpec {
  readonly runId: string;
  readonly groupId: string;
  /** Host dir, mounted read-write at /workspace (read-only with `workspaceReadOnly`). */
  readonly workspaceDir: string;
  /**
   * Mount the workspace read-only: for commands that may look but must not change
   * anything (a task's wake-gate script). A sandbox that cannot enforce it refuses the
   * spec rather than run with a writable workspace. Default false.
   */
  readonly workspaceReadOnly?: boolean;
  /** Host dir, mounted read-only at /shared. */
  readonly sharedDir: string | null;
  /**
   * Non-secret settings only: a name or value that looks like a secret is refused with an
   * error (see sandbox-env.ts). LEDGERCLAW_WORKSPACE is set by the sandbox, not here.
   */
  readonly env: Readonly<Record<string, string>>;
  readonly limits: SandboxLimits;
  /**
   * The whole command line to run instead of the runner (tests): `['node', '-e', …]` or
   * `['sh', '-c', …]`. Default: the image's entrypoint, agent-init.sh starting the runner.
   */
  readonly command?: readonly string[];
}

export interface SandboxExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly oomKilled: boolean;
  /** The last ~4 KB of stderr. */
  readonly stderrTail: string;
}

export interface SandboxedProcess {
  /** Container id, or `pid:<n>`. */
  readonly id: string;
  /** The workspace as the process sees it: /workspace, or the host dir. */
  readonly workspaceRoot: string;
  readonly stdin: NodeJS.WritableStream;
  /** Demultiplexed: stdout and stderr are separate streams. */
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** Settles once, after which the container (or process group) is gone. */
  readonly exited: Promise<SandboxExit>;
  /** Idempotent; resolves once the process has exited and been cleaned up. */
  kill(): Promise<void>;
}

export interface Sandbox {
  readonly kind: 'docker' | 'process';
  readonly isolation: 'container' | 'process-weak';
  /** False for the process sandbox: bash and other high-risk tools must be off there. */
  readonly highRiskToolsAllowed: boolean;
  start(spec: SandboxSpec): Promise<SandboxedProcess>;
  /** Containers/processes left by an earlier runtime process, found by label: the run ids they belong to. */
  findLeftovers(): Promise<Array<{ runId: string; id: string }>>;
  /** Kill + remove, idempotent. */
  removeLeftover(id: string): Promise<void>;
}

/** The env var through which both sandboxes tell the runner where its workspace is. */
export const WORKSPACE_ENV = 'LEDGERCLAW_WORKSPACE';

/** How much of stderr a SandboxExit keeps. */
export const STDERR_TAIL_BYTES = 4096;

/** What the sandboxes log: the runtime's logger shape (fields, then a message); pino fits. */
export interface SandboxLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}
