/** Actors folded from events, as the workflow specs read them. */
import { groupKind } from '../../../actors/group.js';
import { runKind } from '../../../actors/run.js';
import { SUPERVISOR_ID, supervisorKind } from '../../../actors/supervisor.js';
import { taskKind } from '../../../actors/task.js';
import { spec, type ActorSpec, type GivenEvent } from '../../support/actor-spec.js';

export const T0 = '2026-01-05T09:00:00.000Z';
export const RUN = 'r-7';
export const GROUP = 'T1.C1';
export const TASK = '42';

const runQueued = (taskId: string | null = null): GivenEvent => ({
  type: 'run.queued',
  data: { groupId: GROUP, conversationId: GROUP, taskId, trigger: taskId ? 'task' : 'mention', turnRef: 'slack:T1:C1:1', contextMode: 'group', queuedAt: T0 },
});
const slotGranted: GivenEvent = { type: 'run.slot_granted', data: { grantedAt: T0 } };
const started: GivenEvent = { type: 'run.started', data: { containerId: 'c0ffee', startedAt: T0 } };
const failed: GivenEvent = { type: 'run.failed', data: { reason: 'oom', detail: 'killed at 512 MiB', failedAt: T0 } };
const completed = (summary: string): GivenEvent => ({
  type: 'run.completed',
  data: { summary, tokens: { input: 10, output: 5, cacheRead: 0, cacheWrite: 0 }, completedAt: T0 },
});

export const run = {
  new: (): ActorSpec => spec(runKind, RUN),
  queued: (taskId: string | null = null): ActorSpec => spec(runKind, RUN).given(runQueued(taskId)),
  starting: (): ActorSpec => spec(runKind, RUN).given(runQueued(), slotGranted),
  running: (): ActorSpec => spec(runKind, RUN).given(runQueued(), slotGranted, started),
  failed: (taskId: string | null = null): ActorSpec => spec(runKind, RUN).given(runQueued(taskId), slotGranted, started, failed),
  completed: (taskId: string | null, summary: string): ActorSpec => spec(runKind, RUN).given(runQueued(taskId), slotGranted, started, completed(summary)),
};

const configured: GivenEvent = { type: 'supervisor.configured', data: { maxConcurrentRuns: 1, maxRunsPerGroup: 1 } };
const supervisorQueued = (runId: string): GivenEvent => ({ type: 'supervisor.run_queued', data: { runId, groupId: GROUP, queuedAt: T0 } });
const dispatched = (runId: string): GivenEvent => ({ type: 'supervisor.run_dispatched', data: { runId, groupId: GROUP, dispatchedAt: T0 } });
const released = (runId: string): GivenEvent => ({ type: 'supervisor.run_released', data: { runId, groupId: GROUP, releasedAt: T0 } });

export const supervisor = {
  without: (): ActorSpec => spec(supervisorKind, SUPERVISOR_ID).given(configured),
  /** The run waits behind another that holds the only slot. */
  queuing: (runId: string): ActorSpec => spec(supervisorKind, SUPERVISOR_ID).given(configured, supervisorQueued('r-other'), dispatched('r-other'), supervisorQueued(runId)),
  active: (runId: string): ActorSpec => spec(supervisorKind, SUPERVISOR_ID).given(configured, supervisorQueued(runId), dispatched(runId)),
  released: (runId: string): ActorSpec => spec(supervisorKind, SUPERVISOR_ID).given(configured, supervisorQueued(runId), dispatched(runId), released(runId)),
};

const groupConfigured: GivenEvent = { type: 'group.configured', data: { triggerMode: 'mention', allowedSenders: [], isAdmin: false, rolesAddressingUsers: [] } };
const received: GivenEvent = {
  type: 'group.message_received',
  data: { messageId: '1712345678.000100', sender: 'U1', text: 'hello', threadTs: null, mentionsBot: true, trigger: 'mention', senderName: null },
};
const turnRequested = (runId: string, retryOf: string | null): GivenEvent => ({ type: 'group.turn_requested', data: { runId, trigger: 'mention', messageIds: ['1712345678.000100'], retryOf } });

export const group = {
  unconfigured: (): ActorSpec => spec(groupKind, GROUP),
  idle: (): ActorSpec => spec(groupKind, GROUP).given(groupConfigured),
  /** Owes (or, with `posted`, has posted) the reply `replyId`, which answers no message: a task's result. */
  withTaskResult: (replyId: string, posted: boolean): ActorSpec =>
    spec(groupKind, GROUP).given(
      groupConfigured,
      { type: 'group.reply_requested', data: { replyId, runId: replyId, text: 'the result', threadTs: null, messageIds: [] } },
      ...(posted ? [{ type: 'group.reply_posted', data: { replyId, refs: ['1712345999.000100'] } }] : []),
    ),
  /** Waiting for `runId`, a first try or (with `retryOf`) a retry. */
  awaiting: (runId: string, retryOf: string | null = null): ActorSpec =>
    spec(groupKind, GROUP).given(groupConfigured, received, turnRequested(runId, retryOf), { type: 'group.run_started', data: { runId } }),
};

const scheduled: GivenEvent = {
  type: 'task.scheduled',
  data: {
    groupId: GROUP,
    prompt: 'Post the sales summary',
    schedule: { kind: 'cron', expression: '0 * * * *', timezone: 'Europe/Paris' },
    contextMode: 'group',
    maxConsecutiveFailures: 3,
    scheduledAt: T0,
    catchUp: 'fire_once',
    gate: null,
    deliver: 'group',
  },
};
const fired: GivenEvent = { type: 'task.fired', data: { dueAt: '2026-01-05T10:00:00.000Z', runId: RUN, firedAt: T0, missed: null, gateDetail: null } };

export const task = {
  awaiting: (deliver: 'group' | 'silent' = 'group'): ActorSpec =>
    spec(taskKind, TASK).given({ ...scheduled, data: { ...(scheduled.data as object), deliver } }, fired),
  finished: (): ActorSpec =>
    spec(taskKind, TASK).given(scheduled, fired, {
      type: 'task.run_finished',
      data: { runId: RUN, dueAt: '2026-01-05T10:00:00.000Z', outcome: 'failed', detail: 'oom', finishedAt: T0 },
    }),
};
