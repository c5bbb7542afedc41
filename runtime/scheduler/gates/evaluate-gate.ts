/**
 * `evaluateGate`: the one entry the scheduler calls right before it sends a gated task its
 * `fire` command, with the verdict as `gate: { wake, detail }`.
 *
 * It never throws. A gate that cannot be evaluated (a read model that failed, a sandbox that
 * did not start, an unreadable HEARTBEAT.md, a malformed input) wakes the agent, with the
 * failure as the detail and a warning in the log: a broken gate must be noticed, and a task
 * that silently stopped running would not be.
 */
import { z } from 'zod';
import { taskGateSchema, taskGroupIdSchema, type TaskGate } from '../../../events/catalogue/task.js';
import { verdict, type GateDeps, type GateTask, type GateVerdict } from './gate.js';
import { evaluateHeartbeatGate } from './heartbeat-gate.js';
import { evaluateNewMessagesGate } from './new-messages-gate.js';
import { evaluateScriptGate } from './script-gate.js';

const gateTaskSchema = z
  .object({
    taskId: z.string().min(1).max(256),
    groupId: taskGroupIdSchema,
    lastDecidedAt: z.iso.datetime().nullable(),
  })
  .strict();

/** The adapter of each kind; a new kind in the catalogue fails to compile here until it has one. */
function evaluateByKind(gate: TaskGate, task: GateTask, deps: GateDeps): Promise<GateVerdict> {
  switch (gate.kind) {
    case 'script':
      return evaluateScriptGate(gate, task, deps);
    case 'new_messages':
      return evaluateNewMessagesGate(gate, task, deps);
    case 'heartbeat':
      return evaluateHeartbeatGate(gate, task, deps);
  }
}

function messageOf(error: unknown): string {
  if (error instanceof z.ZodError) return error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ');
  return error instanceof Error ? error.message : String(error);
}

export async function evaluateGate(gate: TaskGate, task: GateTask, deps: GateDeps): Promise<GateVerdict> {
  let kind = 'unknown';
  try {
    const checkedGate = taskGateSchema.parse(gate);
    kind = checkedGate.kind;
    const checkedTask = gateTaskSchema.parse(task);
    return await evaluateByKind(checkedGate, checkedTask, deps);
  } catch (error) {
    const problem = messageOf(error);
    deps.logger.warn({ taskId: task.taskId, groupId: task.groupId, gate: kind, err: error }, `wake gate of task ${task.taskId} failed open: ${problem}`);
    return verdict(true, `the ${kind} gate could not be evaluated (${problem}), so the agent is woken (fail open)`);
  }
}
