/**
 * The wake-gate port: the check the scheduler runs for a gated task right before it fires,
 * so that a task with nothing to do costs no run and no model token. One adapter per gate
 * kind (`script`, `new_messages`, `heartbeat`); `evaluateGate` (evaluate-gate.ts) picks it.
 *
 * A verdict is advice to the task actor: `wake: false` is recorded as `task.fire_skipped`
 * (reason `gate`) and `wake: true` as `task.fired`; either way `detail` is stored with the
 * decision, so it is one line that says why.
 */
import type { TaskGate } from '../../../events/catalogue/task.js';
import type { Sandbox, SandboxLimits } from '../../sandbox/sandbox.js';
import type { GroupActivityReader } from './group-activity-reader.js';

/** The task a gate is evaluated for. */
export interface GateTask {
  readonly taskId: string;
  /** The task's group: whose workspace a script sees and whose HEARTBEAT.md is read. */
  readonly groupId: string;
  /**
   * The last due time the task decided (fired or skipped), or when it was scheduled if it
   * never has: `new_messages` wakes for a message after it. Null: any message wakes.
   */
  readonly lastDecidedAt: string | null;
}

export interface GateVerdict {
  readonly wake: boolean;
  /** One line, at most GATE_DETAIL_MAX_CHARS, saying why (what `task.fired`/`fire_skipped` store). */
  readonly detail: string;
}

/** What a gate logs: the runtime's logger shape (fields, then a message); pino fits. */
export interface GateLog {
  warn(fields: object, message: string): void;
}

/** What the gates need from the runtime; see runtime/scheduler/README.md for how it is built. */
export interface GateDeps {
  /** `new_messages`: when each group last received a message, caught up with the store. */
  readonly groupActivity: GroupActivityReader;
  /** The data directory: group workspaces live under `groups/<group>/workspace`. */
  readonly dataDir: string;
  /** `script`: where the command runs (it must be the Docker sandbox; see script-gate.ts). */
  readonly sandbox: Sandbox;
  /** `script`: the limits of a gate's container; the runs' limits (`runs.*`) by default. */
  readonly limits: SandboxLimits;
  readonly logger: GateLog;
}

export type GateOf<K extends TaskGate['kind']> = Extract<TaskGate, { kind: K }>;

/** An adapter: decides one kind of gate. It may throw; evaluateGate turns that into a wake. */
export type GateAdapter<K extends TaskGate['kind']> = (gate: GateOf<K>, task: GateTask, deps: GateDeps) => Promise<GateVerdict>;

/** gateDetailSchema's bound (events/catalogue/task.ts). */
export const GATE_DETAIL_MAX_CHARS = 2_000;

/**
 * Text made fit for a verdict's detail: whitespace (newlines included) collapsed to single
 * spaces, and cut with an ellipsis when longer than the bound. Never empty.
 */
export function oneLine(text: string, maxChars = GATE_DETAIL_MAX_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(no detail)';
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars - 1)}…`;
}

export function verdict(wake: boolean, detail: string): GateVerdict {
  return { wake, detail: oneLine(detail) };
}
