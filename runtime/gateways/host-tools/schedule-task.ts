/**
 * schedule_task: a new task actor for the caller's group (or, from the admin group, for
 * any known group), with a prompt and a schedule. Recording the task is all this does;
 * the scheduler's clock fires it.
 *
 * The schedule is the catalogue's own schema (events/catalogue/task.ts), with one
 * kindness to the model: a cron schedule without a timezone is read in UTC. The task id
 * is derived from the run and the call, so a retried call schedules one task. Each run's
 * final answer is posted to the group unless the task is scheduled `silent`.
 */
import { z } from 'zod';
import { taskContextModeSchema, taskDeliverSchema, taskGroupIdSchema, taskPromptSchema, taskScheduleSchema } from '../../../events/catalogue/task.js';
import { eventIdFor } from '../../../events/ids.js';
import { sendAsAgent } from './agent-commands.js';
import { answered, defineHostTool, refused, type HostToolCall } from './host-tool.js';
import { describeDeliver, describeSchedule } from './tasks.js';

const [cronSchedule, intervalSchedule, onceSchedule] = taskScheduleSchema.options;

const scheduleInput = z
  .discriminatedUnion('kind', [
    cronSchedule.extend({ timezone: cronSchedule.shape.timezone.default('UTC').describe('IANA zone the expression is read in, such as Europe/Paris. Default UTC.') }),
    intervalSchedule,
    onceSchedule,
  ])
  .describe(
    "When the task runs: {kind:'cron', expression:'0 9 * * 1-5', timezone?}, {kind:'interval', everyMs} or {kind:'once', at:'2026-01-05T09:00:00Z'} (UTC).",
  );

const scheduleTaskInput = z.strictObject({
  prompt: taskPromptSchema.describe('What the task asks the assistant to do each time it runs, written so it stands alone.'),
  schedule: scheduleInput,
  context_mode: taskContextModeSchema
    .default('group')
    .describe("group (default): the run sees the conversation and the group's memory; isolated: it starts fresh."),
  group_id: taskGroupIdSchema.optional().describe('Admin group only: the group the task is for. Default: this group.'),
  deliver: taskDeliverSchema
    .default('group')
    .describe(
      "group (default): each run's final answer is posted in the task's group, once; do not also post it with send_message. " +
        'silent: nothing is posted unless the run calls send_message (for a task that speaks up only when something needs saying). ' +
        'An empty answer or a failed run posts nothing either way.',
    ),
});

export const scheduleTaskTool = defineHostTool({
  name: 'schedule_task',
  tier: 'write',
  description: (context) =>
    'Schedule work to run later on its own: once, at an interval, or on a cron schedule. Returns the task id; list_tasks shows the tasks, and pause_task, resume_task, cancel_task and set_task_delivery manage them. ' +
    (context.isAdminGroup ? 'As the admin group you may schedule for another group with group_id.' : 'The task belongs to this conversation.'),
  inputSchema: scheduleTaskInput,
  async run(input, call) {
    const { context } = call;
    const groupId = input.group_id ?? context.groupId;
    if (groupId !== context.groupId) {
      if (!context.isAdminGroup) {
        return refused(`schedule_task: group_id: only the admin group schedules tasks for other groups; leave group_id out to schedule for this one`);
      }
      if (!(await isKnownGroup(call, groupId))) return refused(`schedule_task: group_id: no group ${groupId} is known`);
    }
    const taskId = taskIdFor(context.runId, call.callKey);
    const result = await sendAsAgent(call, 'task', taskId, {
      type: 'schedule',
      groupId,
      prompt: input.prompt,
      schedule: input.schedule,
      contextMode: input.context_mode,
      deliver: input.deliver,
    });
    if (result.status === 'rejected') return refused(`schedule_task: not scheduled: ${result.reason}`);
    const forGroup = groupId === context.groupId ? '' : ` for group ${groupId}`;
    return answered(
      `${result.duplicate ? 'already scheduled by this call' : 'scheduled'}: task ${taskId}${forGroup}, ${describeSchedule(input.schedule)}, context ${input.context_mode}, ${describeDeliver(input.deliver)}`,
    );
  },
});

/** `t-` and 12 hex digits: a pure function of the run and the call. */
export function taskIdFor(runId: string, callKey: string): string {
  return `t-${eventIdFor('schedule_task', runId, callKey).replaceAll('-', '').slice(0, 12)}`;
}

/** A group the runtime has heard of: its stream has events. */
async function isKnownGroup(call: HostToolCall, groupId: string): Promise<boolean> {
  return (await call.services.actors.load('group', groupId)).revision !== null;
}
