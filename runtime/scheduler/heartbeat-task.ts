/**
 * The heartbeat: a built-in task per group, off until someone turns it on, that wakes the
 * agent on an interval only when the group's HEARTBEAT.md holds actionable items (its
 * `heartbeat` wake gate; see gates/heartbeat-items.ts for what counts). Turning it on
 * schedules such a task; turning it off cancels it. A group has at most one that is not
 * finished: turning it on again with another interval replaces it.
 */
import type { TaskGate, TaskSchedule } from '../../events/catalogue/task.js';
import { HEARTBEAT_FILE } from './gates/heartbeat-gate.js';

export const DEFAULT_HEARTBEAT_EVERY_MS = 30 * 60_000;

export const HEARTBEAT_PROMPT =
  `Heartbeat: read ${HEARTBEAT_FILE} in your workspace (/workspace/${HEARTBEAT_FILE}) and work through the items in it that are open. ` +
  'Check off or remove what you finished, note what is blocked and why. Your final answer is posted to the group: ' +
  'say only what it needs to know, and answer with nothing at all when there is nothing to tell.';

const HEARTBEAT_GATE: TaskGate = { kind: 'heartbeat' };

/** What a task needs to be this group's heartbeat. */
export interface HeartbeatCandidate {
  readonly taskId: string;
  readonly groupId: string;
  readonly gate: TaskGate | null;
  readonly status: string;
  readonly schedule: TaskSchedule;
}

/** The group's heartbeat tasks that still fire or may again (active, paused or suspended). */
export function liveHeartbeats<T extends HeartbeatCandidate>(tasks: readonly T[], groupId: string): T[] {
  return tasks.filter(
    (task) => task.groupId === groupId && task.gate?.kind === 'heartbeat' && (task.status === 'active' || task.status === 'paused' || task.status === 'suspended'),
  );
}

/** A new heartbeat task's id: one per generation, since a cancelled task's id is never reused. */
export function heartbeatTaskId(groupId: string, scheduledAtMs: number): string {
  return `heartbeat.${groupId}.${scheduledAtMs.toString(36)}`;
}

/** The `schedule` command of a group's heartbeat. Missed heartbeats are skipped: the next one reads the file anyway. */
export function heartbeatScheduleCommand(groupId: string, everyMs: number) {
  return {
    type: 'schedule' as const,
    groupId,
    prompt: HEARTBEAT_PROMPT,
    schedule: { kind: 'interval' as const, everyMs },
    contextMode: 'group' as const,
    catchUp: 'skip' as const,
    gate: HEARTBEAT_GATE,
  };
}
