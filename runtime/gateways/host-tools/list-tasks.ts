/**
 * list_tasks: the caller's group's tasks (the admin group: every group's, each with its
 * group), from the tasks read model: one indexed query, however many tasks there are.
 *
 * The read model follows the store within milliseconds. A call first waits, briefly, until
 * it has applied everything stored before the call, so a task the agent has just
 * scheduled or paused is listed as it now is. Until the runtime has built the read model
 * once (the first start of a version that has it), the task streams are read instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { readCheckpoint } from '../../../projections/read-model-files.js';
import { listTasks, type ListTasksOptions } from '../../../projections/tasks-queries.js';
import { TASKS_PROJECTION, type TaskStatus } from '../../../projections/tasks.js';
import { answered, defineHostTool, type HostToolCall } from './host-tool.js';
import { describeTask, isFinished, loadTask, mayManage, taskFromSummary, type ScheduledTask } from './tasks.js';

const TASK_STREAM_PREFIX = 'task-';
const STREAM_PAGE = 500;
const UNFINISHED: readonly TaskStatus[] = ['active', 'paused', 'suspended'];
/** How long a call waits for the read model to apply what was stored before it. */
const CATCH_UP_WAIT_MS = 2_000;
const CATCH_UP_POLL_MS = 10;

const listTasksInput = z.strictObject({
  include_finished: z.boolean().default(false).describe('Also completed and cancelled tasks. Default false.'),
});

export const listTasksTool = defineHostTool({
  name: 'list_tasks',
  tier: 'read',
  description: (context) =>
    (context.isAdminGroup ? "List every group's scheduled tasks (you are the admin group)" : "List this conversation's scheduled tasks") +
    ': id · state (scheduled.active, scheduled.paused, scheduled.suspended, completed, cancelled) · schedule · where its answer goes · prompt.',
  inputSchema: listTasksInput,
  async run(input, call) {
    const { context } = call;
    const query: ListTasksOptions = {
      // A group sees its own tasks; the admin group sees every group's.
      ...(context.isAdminGroup ? {} : { groupId: context.groupId }),
      ...(input.include_finished ? {} : { statuses: UNFINISHED }),
    };
    const listed = (await fromReadModel(call, query)) ?? (await fromStreams(call));
    const tasks = listed.filter((task) => mayManage(context, task) && (input.include_finished || !isFinished(task)));
    if (tasks.length === 0) return answered(input.include_finished ? 'no tasks' : 'no active tasks (include_finished shows completed and cancelled ones)');
    return answered(tasks.map((task) => describeTask(task, context.isAdminGroup)).join('\n'));
  },
});

/** The tasks from the read model once it has caught up with the call; undefined while it has never been built. */
async function fromReadModel(call: HostToolCall, query: ListTasksOptions): Promise<ScheduledTask[] | undefined> {
  const head = await call.services.store.headPosition();
  const deadline = Date.now() + CATCH_UP_WAIT_MS;
  for (;;) {
    const read = await call.services.readModels.withReadModel(TASKS_PROJECTION, async (db) => {
      const behind = ((await readCheckpoint(db)) ?? 0n) < head;
      if (behind && Date.now() < deadline) return 'behind' as const;
      if (behind) call.services.logger.warn({ runId: call.context.runId, head: String(head) }, 'list_tasks: the tasks read model is behind the store; listing what it has');
      return (await listTasks(db, query)).map(taskFromSummary);
    });
    if (read !== 'behind') return read;
    // Outside the lease: a rebuild swapped in meanwhile is the one to read next.
    await sleep(CATCH_UP_POLL_MS);
  }
}

/** Every scheduled task, from its stream: only until the read model exists. */
async function fromStreams(call: HostToolCall): Promise<ScheduledTask[]> {
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
