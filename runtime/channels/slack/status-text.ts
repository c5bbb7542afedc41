/**
 * What `/ledgerclaw status` says: the runtime (version, uptime, sandbox, runs going and
 * waiting against their limits, the scheduler) and the conversation it is typed in.
 */
import type { GroupContext } from '../../../actors/group.js';
import type { SupervisorContext } from '../../../actors/supervisor.js';

export interface StatusFacts {
  readonly version: string;
  readonly startedAt: number;
  readonly now: number;
  readonly sandbox: string;
  readonly scheduler: string;
  readonly supervisor: SupervisorContext;
  readonly group: GroupContext;
}

function uptime(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} days`;
}

function groupLine(group: GroupContext): string {
  if (group.settings === null) return 'The assistant has not been asked anything in this channel yet.';
  const run = group.currentRun;
  const state = run === null ? 'idle' : `answering (run \`${run.runId}\`)`;
  const waiting = group.pendingMessageIds.length > 0 ? `, ${group.pendingMessageIds.length} message(s) queued for the next turn` : '';
  const mode = { mention: 'answers when mentioned', all: 'answers every message', dm: 'answers every message' }[group.settings.triggerMode];
  return `This channel: ${state}${waiting}; ${mode}${group.settings.isAdmin ? '; the admin channel' : ''}.`;
}

export function statusText(facts: StatusFacts): string {
  const { supervisor } = facts;
  return [
    `*ledgerclaw ${facts.version}*, up ${uptime(facts.now - facts.startedAt)}`,
    `Runs: ${supervisor.active.length} going, ${supervisor.queue.length} waiting (at most ${supervisor.maxConcurrentRuns} at once, ${supervisor.maxRunsPerGroup} per group); ${facts.sandbox}`,
    `Scheduler: ${facts.scheduler}`,
    groupLine(facts.group),
  ].join('\n');
}
