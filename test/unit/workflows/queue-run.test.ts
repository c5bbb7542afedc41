import { describe, it } from 'vitest';
import type { EffectParams } from '../../../runtime/actor-host/effects.js';
import { queueGroupRun } from '../../../runtime/workflows/queue-group-run.js';
import { queueTaskRun } from '../../../runtime/workflows/queue-task-run.js';
import { workflowSpec } from '../../support/workflow-spec.js';
import { GROUP, RUN, run, TASK } from './fixtures.js';

const turn: EffectParams<'group.requestRun'> = { runId: RUN, groupId: GROUP, trigger: 'mention', messageIds: ['M1', 'M2'] };
const queueTurn = {
  kind: 'run',
  id: RUN,
  command: { type: 'queue', groupId: GROUP, conversationId: GROUP, trigger: 'mention', turnRef: `group-${GROUP}@M1,M2`, contextMode: 'group' },
} as const;

describe('workflow group.requestRun: a requested turn queues its run', () => {
  it('queues the run for the group, answering the messages of the turn', () => {
    workflowSpec(queueGroupRun).when(turn).thenSends([queueTurn]);
  });

  it("queues a thread's run in its channel, answering the thread", () => {
    const thread = `${GROUP}.1712345678.000100`;
    workflowSpec(queueGroupRun)
      .when({ ...turn, groupId: thread, trigger: 'thread_follow_up' })
      .thenSends([
        {
          kind: 'run',
          id: RUN,
          command: { type: 'queue', groupId: GROUP, conversationId: thread, trigger: 'thread', turnRef: `group-${thread}@M1,M2`, contextMode: 'group' },
        },
      ]);
  });

  it('refuses a turn trigger an older version stored that has no run trigger, rather than queueing a wrong one', () => {
    // Stored events are read as written; the type says what this version writes.
    const stored = { ...turn, trigger: 'reaction' } as unknown as EffectParams<'group.requestRun'>;
    workflowSpec(queueGroupRun).when(stored).thenThrows("group turn trigger 'reaction' has no run trigger");
  });

  it('counts a refused queue as done when the run is already past new (a repeated effect)', () => {
    workflowSpec(queueGroupRun).refused(queueTurn, run.queued()).when(turn).isAlreadyDone();
    workflowSpec(queueGroupRun).refused(queueTurn, run.failed()).when(turn).isAlreadyDone();
  });

  it('counts a refused queue of a run still new as refused', () => {
    workflowSpec(queueGroupRun).refused(queueTurn, run.new()).when(turn).isRefused();
  });
});

describe('workflow task.requestTaskRun: a fired task queues its run', () => {
  const fired: EffectParams<'task.requestTaskRun'> = { runId: RUN, groupId: GROUP, taskId: TASK, dueAt: '2026-01-05T10:00:00.000Z', turnRef: `task-${TASK}@2026-01-05T10:00:00.000Z`, contextMode: 'isolated' };
  const queueTask = {
    kind: 'run',
    id: RUN,
    command: { type: 'queue', groupId: GROUP, taskId: TASK, trigger: 'task', turnRef: fired.turnRef, contextMode: 'isolated' },
  } as const;

  it('queues the run for the task, in the context mode the task asks for', () => {
    workflowSpec(queueTaskRun).when(fired).thenSends([queueTask]);
  });

  it('counts a refused queue as done only when the run is past new', () => {
    workflowSpec(queueTaskRun).refused(queueTask, run.queued(TASK)).when(fired).isAlreadyDone();
    workflowSpec(queueTaskRun).refused(queueTask, run.new()).when(fired).isRefused();
  });
});
