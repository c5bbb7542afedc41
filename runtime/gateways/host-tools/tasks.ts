/**
 * What the task tools share: how a task is looked up (one task from its actor, which
 * decides; the list from the tasks read model), who may manage it, and how it is described
 * to the model. A task belongs to the group it was scheduled for; that group manages it,
 * and so does the admin group, which manages every group's tasks.
 */
import { z } from 'zod';
import type { TaskDefinition } from '../../../actors/task.js';
import type { TaskDeliver, TaskSchedule } from '../../../events/catalogue/task.js';
import type { TaskSummary } from '../../../projections/tasks-queries.js';
import type { TaskStatus } from '../../../projections/tasks.js';
import type { HostToolCall, ToolCallContext } from './host-tool.js';

export const taskIdInput = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'expected a task id such as t-1a2b3c4d5e6f')
  .describe('The task id, as schedule_task or list_tasks gave it.');

/** A task that has been scheduled: its id, state (the actor's state name) and what the tools show of it. */
export interface ScheduledTask {
  readonly id: string;
  readonly state: string;
  readonly definition: Pick<TaskDefinition, 'groupId' | 'prompt' | 'schedule' | 'contextMode' | 'deliver'>;
}

/** The task, from its actor, or undefined when no task of that id was ever scheduled. */
export async function loadTask(call: HostToolCall, taskId: string): Promise<ScheduledTask | undefined> {
  const view = await call.services.actors.load('task', taskId);
  const { definition } = view.context;
  return definition === null ? undefined : { id: taskId, state: view.state, definition };
}

/** The task actor's state name for each status of the tasks read model. */
const STATE_OF_STATUS: Record<TaskStatus, string> = {
  active: 'scheduled.active',
  paused: 'scheduled.paused',
  suspended: 'scheduled.suspended',
  completed: 'completed',
  cancelled: 'cancelled',
};

/** A task of the tasks read model, named as its actor would name its state. */
export function taskFromSummary(summary: TaskSummary): ScheduledTask {
  return {
    id: summary.taskId,
    state: STATE_OF_STATUS[summary.status],
    definition: { groupId: summary.groupId, prompt: summary.prompt, schedule: summary.schedule, contextMode: summary.contextMode, deliver: summary.deliver },
  };
}

export function mayManage(context: ToolCallContext, task: ScheduledTask): boolean {
  return context.isAdminGroup || task.definition.groupId === context.groupId;
}

/** Completed and cancelled tasks never fire again. */
export function isFinished(task: ScheduledTask): boolean {
  return task.state === 'completed' || task.state === 'cancelled';
}

export function describeSchedule(schedule: TaskSchedule): string {
  switch (schedule.kind) {
    case 'cron':
      return `cron "${schedule.expression}" (${schedule.timezone})`;
    case 'interval':
      return `every ${describeDuration(schedule.everyMs)}`;
    case 'once':
      return `once at ${schedule.at}`;
  }
}

function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1_000, 's'],
  ];
  for (const [size, unit] of units) if (ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

/** The task's prompt on one line, cut to `max` characters. */
export function promptExcerpt(prompt: string, max = 80): string {
  const line = prompt.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Where a task's answer goes, as the tools' `deliver` names it. */
export function describeDeliver(deliver: TaskDeliver): string {
  return `deliver ${deliver}`;
}

/** `t-1a2b · scheduled.active · every 1 h · deliver group · "Check the queue"`, with its group for the admin group. */
export function describeTask(task: ScheduledTask, withGroup: boolean): string {
  const parts = [task.id, task.state, describeSchedule(task.definition.schedule), describeDeliver(task.definition.deliver)];
  if (withGroup) parts.push(`group ${task.definition.groupId}`);
  parts.push(JSON.stringify(promptExcerpt(task.definition.prompt)));
  return parts.join(' · ');
}
