/**
 * pause_task, resume_task, cancel_task and set_task_delivery: one command to a task the caller may manage
 * (its own group's, or any from the admin group). The task actor decides; a refusal
 * (pausing a paused task, resuming a cancelled one) comes back with the actor's reason.
 */
import { z } from 'zod';
import type { CommandOf } from '../../../actors/actor-kind.js';
import type { taskKind } from '../../../actors/task.js';
import { taskDeliverSchema, taskNoteSchema } from '../../../events/catalogue/task.js';
import { sendAsAgent } from './agent-commands.js';
import { answered, defineHostTool, refused, type HostTool, type HostToolCall, type HostToolAnswer } from './host-tool.js';
import { loadTask, mayManage, taskIdInput } from './tasks.js';

const reasonInput = taskNoteSchema.optional().describe('Why, in a few words; kept with the task.');

export const pauseTaskTool = defineHostTool({
  name: 'pause_task',
  tier: 'write',
  description: 'Pause a scheduled task: it does not run until resumed. A run already under way finishes.',
  inputSchema: z.strictObject({ task_id: taskIdInput, reason: reasonInput }),
  run: (input, call) => controlTask(call, 'pause_task', input.task_id, { type: 'pause', ...(input.reason ? { reason: input.reason } : {}) }, 'paused'),
});

export const resumeTaskTool = defineHostTool({
  name: 'resume_task',
  tier: 'write',
  description: 'Resume a paused task, or one suspended after repeated failed runs.',
  inputSchema: z.strictObject({ task_id: taskIdInput }),
  run: (input, call) => controlTask(call, 'resume_task', input.task_id, { type: 'resume' }, 'resumed'),
});

export const cancelTaskTool = defineHostTool({
  name: 'cancel_task',
  tier: 'write',
  description: 'Cancel a task for good: it never runs again. To stop it for a while, pause it instead.',
  inputSchema: z.strictObject({ task_id: taskIdInput, reason: reasonInput }),
  run: (input, call) => controlTask(call, 'cancel_task', input.task_id, { type: 'cancel', ...(input.reason ? { reason: input.reason } : {}) }, 'cancelled'),
});

export const setTaskDeliveryTool = defineHostTool({
  name: 'set_task_delivery',
  tier: 'write',
  description:
    "Say where a task's final answers go from now on (its run under way included): group posts each in the task's group; " +
    'silent posts nothing (the task speaks up with send_message when it must).',
  inputSchema: z.strictObject({ task_id: taskIdInput, deliver: taskDeliverSchema.describe('group or silent') }),
  run: (input, call) => controlTask(call, 'set_task_delivery', input.task_id, { type: 'setDeliver', deliver: input.deliver }, `set to deliver ${input.deliver}`),
});

export const taskControlTools: readonly HostTool[] = [pauseTaskTool, resumeTaskTool, cancelTaskTool, setTaskDeliveryTool];

async function controlTask(call: HostToolCall, tool: string, taskId: string, command: CommandOf<typeof taskKind>, done: string): Promise<HostToolAnswer> {
  const task = await loadTask(call, taskId);
  // Another group's task is reported as not this group's, without saying whose it is.
  if (!task) return refused(`${tool}: no task ${taskId}; list_tasks shows the tasks`);
  if (!mayManage(call.context, task)) return refused(`${tool}: task ${taskId} is not one of this group's tasks; only its own group or the admin group can manage it`);
  const result = await sendAsAgent(call, 'task', taskId, command);
  if (result.status === 'rejected') return refused(`${tool}: task ${taskId} was not ${done}: ${result.reason}`);
  return answered(`task ${taskId} ${done}${result.duplicate ? ' (by this call, earlier)' : ''}; it is now ${result.state}`);
}
