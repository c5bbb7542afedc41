/**
 * list_tasks: the caller's group's tasks (the admin group: every group's, each with its
 * group), found through the store's `task-` streams and loaded from their actors.
 *
 * Every task stream is read on each call: fine for the tasks a company schedules by hand;
 * a tasks read model should replace the scan once there are thousands.
 */
import { z } from 'zod';
import { answered, defineHostTool, type HostToolCall } from './host-tool.js';
import { describeTask, isFinished, loadTask, mayManage, type ScheduledTask } from './tasks.js';

const TASK_STREAM_PREFIX = 'task-';
const STREAM_PAGE = 500;

const listTasksInput = z.strictObject({
  include_finished: z.boolean().default(false).describe('Also completed and cancelled tasks. Default false.'),
});

export const listTasksTool = defineHostTool({
  name: 'list_tasks',
  description: (context) =>
    (context.isAdminGroup ? "List every group's scheduled tasks (you are the admin group)" : "List this conversation's scheduled tasks") +
    ': id · state (scheduled.active, scheduled.paused, scheduled.suspended, completed, cancelled) · schedule · prompt.',
  inputSchema: listTasksInput,
  async run(input, call) {
    const { context } = call;
    const tasks = (await allTasks(call)).filter((task) => mayManage(context, task) && (input.include_finished || !isFinished(task)));
    if (tasks.length === 0) return answered(input.include_finished ? 'no tasks' : 'no active tasks (include_finished shows completed and cancelled ones)');
    return answered(tasks.map((task) => describeTask(task, context.isAdminGroup)).join('\n'));
  },
});

async function allTasks(call: HostToolCall): Promise<ScheduledTask[]> {
  const tasks: ScheduledTask[] = [];
  for (let after: string | undefined; ; ) {
    const streams = await call.services.store.listStreams({ prefix: TASK_STREAM_PREFIX, limit: STREAM_PAGE, ...(after !== undefined ? { after } : {}) });
    for (const stream of streams) {
      const task = await loadTask(call, stream.streamId.slice(TASK_STREAM_PREFIX.length));
      if (task) tasks.push(task);
    }
    if (streams.length < STREAM_PAGE) return tasks;
    after = streams[streams.length - 1]!.streamId;
  }
}
