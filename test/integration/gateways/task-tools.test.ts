/**
 * The task tools through the gateway on the real actor host: a task scheduled, listed,
 * paused, resumed and cancelled; a retried schedule_task scheduling one task; a group
 * never managing another group's task, while the admin group manages every group's.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskContext } from '../../../actors/task.js';
import { taskIdFor } from '../../../runtime/gateways/host-tools/schedule-task.js';
import { openGatewayWorld, runContext, type GatewayWorld } from './gateway-world.js';

let world: GatewayWorld;

const sales = runContext({ runId: 'run-sales', groupId: 'T1.CSALES', userId: 'U1' });
const ops = runContext({ runId: 'run-ops', groupId: 'T1.COPS', userId: 'U2' });
const admin = runContext({ runId: 'run-admin', groupId: 'T1.CADMIN', userId: 'U9', isAdminGroup: true });

beforeEach(async () => {
  world = await openGatewayWorld();
});

afterEach(async () => {
  await world.stop();
});

/** Schedules through the gateway and returns the new task's id. */
async function schedule(context: typeof sales, input: Record<string, unknown>, callId: string): Promise<string> {
  const outcome = await world.call('schedule_task', input, context, callId);
  expect(outcome.isError, outcome.content).toBe(false);
  return taskIdFor(context.runId, callId);
}

async function taskContext(taskId: string): Promise<TaskContext> {
  return (await world.actors.load('task', taskId)).snapshot.context as TaskContext;
}

describe('schedule, list, pause, resume, cancel', () => {
  it('takes a task through its life and shows each state in list_tasks', async () => {
    const scheduled = await world.call(
      'schedule_task',
      { prompt: 'Summarise the open deals for the Monday meeting.', schedule: { kind: 'cron', expression: '0 9 * * 1', timezone: 'Europe/Paris' } },
      sales,
      'toolu_s1',
    );
    const taskId = taskIdFor(sales.runId, 'toolu_s1');
    expect(taskId).toMatch(/^t-[0-9a-f]{12}$/);
    expect(scheduled).toMatchObject({ content: `scheduled: task ${taskId}, cron "0 9 * * 1" (Europe/Paris), context group, deliver group`, isError: false });
    expect((await taskContext(taskId)).definition).toMatchObject({ groupId: 'T1.CSALES', contextMode: 'group', schedule: { kind: 'cron', timezone: 'Europe/Paris' } });

    const list = async (input: Record<string, unknown> = {}) => (await world.call('list_tasks', input, sales)).content;
    expect(await list()).toBe(`${taskId} · scheduled.active · cron "0 9 * * 1" (Europe/Paris) · deliver group · "Summarise the open deals for the Monday meeting."`);

    expect(await world.call('pause_task', { task_id: taskId, reason: 'holidays' }, sales)).toMatchObject({
      content: `task ${taskId} paused; it is now scheduled.paused`,
      isError: false,
    });
    expect(await list()).toContain('scheduled.paused');
    const pausedAgain = await world.call('pause_task', { task_id: taskId }, sales);
    expect(pausedAgain).toMatchObject({ content: `pause_task: task ${taskId} was not paused: the task is already paused`, isError: true });

    expect((await world.call('resume_task', { task_id: taskId }, sales)).content).toBe(`task ${taskId} resumed; it is now scheduled.active`);
    expect((await world.call('cancel_task', { task_id: taskId, reason: 'deal closed' }, sales)).content).toBe(`task ${taskId} cancelled; it is now cancelled`);

    expect(await list()).toBe('no active tasks (include_finished shows completed and cancelled ones)');
    expect(await list({ include_finished: true })).toContain(`${taskId} · cancelled`);
    const resumeCancelled = await world.call('resume_task', { task_id: taskId }, sales);
    expect(resumeCancelled.isError).toBe(true);
    expect(resumeCancelled.content).toContain('a cancelled task cannot be resumed');

    const events = await world.store.readStream(`task-${taskId}`);
    expect(events.map((event) => event.type)).toEqual(['task.scheduled', 'task.paused', 'task.resumed', 'task.cancelled']);
    expect(new Set(events.map((event) => event.metadata.actor))).toEqual(new Set(['agent:run-run-sales']));
  });

  it('reads a cron schedule without a timezone in UTC, and takes intervals and one-off times', async () => {
    const cron = await schedule(sales, { prompt: 'Daily digest', schedule: { kind: 'cron', expression: '0 7 * * *' } }, 'toolu_c');
    const every = await schedule(sales, { prompt: 'Check the queue', schedule: { kind: 'interval', everyMs: 3_600_000 }, context_mode: 'isolated' }, 'toolu_i');
    const once = await schedule(sales, { prompt: 'Remind about the offsite', schedule: { kind: 'once', at: '2099-03-01T08:00:00Z' } }, 'toolu_o');
    expect((await taskContext(cron)).definition?.schedule).toEqual({ kind: 'cron', expression: '0 7 * * *', timezone: 'UTC' });
    expect((await taskContext(every)).definition?.contextMode).toBe('isolated');
    const listed = (await world.call('list_tasks', {}, sales)).content.split('\n').sort();
    expect(listed).toEqual(
      [
        `${cron} · scheduled.active · cron "0 7 * * *" (UTC) · deliver group · "Daily digest"`,
        `${every} · scheduled.active · every 1 h · deliver group · "Check the queue"`,
        `${once} · scheduled.active · once at 2099-03-01T08:00:00Z · deliver group · "Remind about the offsite"`,
      ].sort(),
    );
  });

  it('refuses a schedule the catalogue refuses, naming the field', async () => {
    const outcome = await world.call('schedule_task', { prompt: 'x', schedule: { kind: 'cron', expression: 'every monday' } }, sales);
    expect(outcome).toMatchObject({ content: 'schedule_task: schedule.expression: expected a cron expression of five or six fields', isError: true });
    expect(await world.store.listStreams({ prefix: 'task-' })).toEqual([]);
  });

  it('schedules a silent task, stored and listed as silent, and refuses a delivery it does not know naming the field', async () => {
    const taskId = await schedule(sales, { prompt: 'Watch the error budget; speak up only if it burns', schedule: { kind: 'interval', everyMs: 3_600_000 }, deliver: 'silent' }, 'toolu_silent');
    expect((await taskContext(taskId)).definition).toMatchObject({ deliver: 'silent' });
    expect((await world.call('list_tasks', {}, sales)).content).toBe(`${taskId} · scheduled.active · every 1 h · deliver silent · "Watch the error budget; speak up only if it burns"`);
    const refusedDelivery = await world.call('schedule_task', { prompt: 'p', schedule: { kind: 'interval', everyMs: 3_600_000 }, deliver: 'dm' }, sales, 'toolu_dm');
    expect(refusedDelivery.isError).toBe(true);
    expect(refusedDelivery.content).toMatch(/deliver/);
    expect((await world.store.listStreams({ prefix: 'task-' })).map((stream) => stream.streamId)).toEqual([`task-${taskId}`]);

    expect(await world.call('set_task_delivery', { task_id: taskId, deliver: 'group' }, sales)).toMatchObject({
      content: `task ${taskId} set to deliver group; it is now scheduled.active`,
      isError: false,
    });
    expect((await world.call('list_tasks', {}, sales)).content).toContain('· deliver group ·');
    expect(await world.call('set_task_delivery', { task_id: taskId, deliver: 'group' }, sales)).toMatchObject({
      content: `set_task_delivery: task ${taskId} was not set to deliver group: the task's answers already go to its group`,
      isError: true,
    });
    const fromOps = await world.call('set_task_delivery', { task_id: taskId, deliver: 'silent' }, ops);
    expect(fromOps.isError).toBe(true);
    expect(fromOps.content).toContain("is not one of this group's tasks");
  });

  it('schedules one task for a retried call', async () => {
    const input = { prompt: 'Weekly report', schedule: { kind: 'interval', everyMs: 604_800_000 } };
    const first = await world.call('schedule_task', input, sales, 'toolu_retry');
    const again = await world.call('schedule_task', input, sales, 'toolu_retry');
    const taskId = taskIdFor(sales.runId, 'toolu_retry');
    expect(first.content).toMatch(/^scheduled: /);
    expect(again).toMatchObject({ content: `already scheduled by this call: task ${taskId}, every 7 d, context group, deliver group`, isError: false });
    expect((await world.store.listStreams({ prefix: 'task-' })).map((stream) => stream.streamId)).toEqual([`task-${taskId}`]);
  });

  it('says so when the task does not exist', async () => {
    expect(await world.call('pause_task', { task_id: 't-nothere' }, sales)).toMatchObject({ content: 'pause_task: no task t-nothere; list_tasks shows the tasks', isError: true });
  });
});

describe("another group's tasks", () => {
  it("lets no group see, pause, resume or cancel another group's task", async () => {
    const taskId = await schedule(sales, { prompt: 'Sales digest', schedule: { kind: 'interval', everyMs: 86_400_000 } }, 'toolu_x');
    expect((await world.call('list_tasks', {}, ops)).content).toBe('no active tasks (include_finished shows completed and cancelled ones)');
    for (const tool of ['pause_task', 'resume_task', 'cancel_task']) {
      const outcome = await world.call(tool, { task_id: taskId }, ops);
      expect(outcome).toMatchObject({ content: `${tool}: task ${taskId} is not one of this group's tasks; only its own group or the admin group can manage it`, isError: true });
    }
    expect(await world.store.readStream(`task-${taskId}`)).toHaveLength(1);
  });

  it("lets the admin group list every group's tasks with their group, and pause and cancel them", async () => {
    const salesTask = await schedule(sales, { prompt: 'Sales digest', schedule: { kind: 'interval', everyMs: 86_400_000 } }, 'toolu_s');
    const opsTask = await schedule(ops, { prompt: 'Ops digest', schedule: { kind: 'interval', everyMs: 86_400_000 } }, 'toolu_o');
    const listed = (await world.call('list_tasks', {}, admin)).content.split('\n').sort();
    expect(listed).toEqual(
      [`${salesTask} · scheduled.active · every 1 d · deliver group · group T1.CSALES · "Sales digest"`, `${opsTask} · scheduled.active · every 1 d · deliver group · group T1.COPS · "Ops digest"`].sort(),
    );
    expect((await world.call('pause_task', { task_id: salesTask }, admin)).content).toBe(`task ${salesTask} paused; it is now scheduled.paused`);
    expect((await world.call('cancel_task', { task_id: opsTask }, admin)).content).toBe(`task ${opsTask} cancelled; it is now cancelled`);
    expect((await world.actors.load('task', salesTask)).state).toBe('scheduled.paused');
    expect((await world.call('list_tasks', {}, sales)).content).toContain('scheduled.paused');
  });

  it('refuses a group_id from a group that is not the admin group, and lets it name its own', async () => {
    const foreign = await world.call('schedule_task', { prompt: 'x', schedule: { kind: 'interval', everyMs: 60_000 }, group_id: 'T1.COPS' }, sales);
    expect(foreign.isError).toBe(true);
    expect(foreign.content).toMatch(/^schedule_task: group_id: only the admin group schedules tasks for other groups/);
    const own = await world.call('schedule_task', { prompt: 'x', schedule: { kind: 'interval', everyMs: 60_000 }, group_id: 'T1.CSALES' }, sales, 'toolu_own');
    expect(own.isError).toBe(false);
    expect((await taskContext(taskIdFor(sales.runId, 'toolu_own'))).definition?.groupId).toBe('T1.CSALES');
  });

  it('lets the admin group schedule for a known group, and not for one never heard of', async () => {
    await world.actors.send('group', 'T1.COPS', { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
    const forOps = await world.call('schedule_task', { prompt: 'Ops audit', schedule: { kind: 'interval', everyMs: 60_000 }, group_id: 'T1.COPS' }, admin, 'toolu_a');
    const taskId = taskIdFor(admin.runId, 'toolu_a');
    expect(forOps.content).toBe(`scheduled: task ${taskId} for group T1.COPS, every 1 min, context group, deliver group`);
    expect((await world.call('list_tasks', {}, ops)).content).toContain(taskId);
    const unknown = await world.call('schedule_task', { prompt: 'x', schedule: { kind: 'interval', everyMs: 60_000 }, group_id: 'T9.CNOWHERE' }, admin);
    expect(unknown).toMatchObject({ content: 'schedule_task: group_id: no group T9.CNOWHERE is known', isError: true });
  });
});
