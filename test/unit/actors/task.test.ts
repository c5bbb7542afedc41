import { describe, expect, it } from 'vitest';
import { taskKind, taskRunId, type TaskContext } from '../../../actors/task.js';
import { spec, type GivenEvent, type WhenCommand } from '../../support/actor-spec.js';

const T0 = '2026-01-05T09:00:00.000Z';
const DUE_1 = '2026-01-05T10:00:00.000Z';
const DUE_2 = '2026-01-05T11:00:00.000Z';
const DUE_3 = '2026-01-05T12:00:00.000Z';
const RUN_1 = 'task-42-20260105T100000000Z';
const RUN_2 = 'task-42-20260105T110000000Z';
const RUN_3 = 'task-42-20260105T120000000Z';
const ALL_COMMANDS = ['schedule', 'pause', 'resume', 'fire', 'finishRun', 'cancel'] as const;

const task = () => spec(taskKind, '42');

const scheduleCommand = {
  type: 'schedule',
  groupId: 'T1.C1',
  prompt: 'Post the sales summary for yesterday',
  schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' },
  contextMode: 'group',
} as const;

const scheduled = (overrides: Record<string, unknown> = {}): GivenEvent => ({
  type: 'task.scheduled',
  data: {
    groupId: 'T1.C1',
    prompt: 'Post the sales summary for yesterday',
    schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' },
    contextMode: 'group',
    maxConsecutiveFailures: 3,
    scheduledAt: T0,
    ...overrides,
  },
});
const scheduledOnce = scheduled({ schedule: { kind: 'once', at: DUE_1 } });
const fired = (dueAt: string, runId: string): GivenEvent => ({ type: 'task.fired', data: { dueAt, runId, firedAt: T0 } });
const finished = (runId: string, dueAt: string, outcome: 'succeeded' | 'failed'): GivenEvent => ({
  type: 'task.run_finished',
  data: { runId, dueAt, outcome, detail: outcome === 'failed' ? 'exit_code: 1' : null, finishedAt: T0 },
});
const paused: GivenEvent = { type: 'task.paused', data: { reason: null, pausedAt: T0 } };
const resumed: GivenEvent = { type: 'task.resumed', data: { resumedAt: T0 } };
const cancelled: GivenEvent = { type: 'task.cancelled', data: { reason: null, cancelledAt: T0 } };
const completed = (lastRunId: string): GivenEvent => ({ type: 'task.completed', data: { lastRunId, completedAt: T0 } });
const suspended = (lastRunId: string): GivenEvent => ({ type: 'task.suspended', data: { consecutiveFailures: 3, lastRunId, suspendedAt: T0 } });

/** Three failed runs in a row: the task is suspended. */
const threeFailures: GivenEvent[] = [
  fired(DUE_1, RUN_1),
  finished(RUN_1, DUE_1, 'failed'),
  fired(DUE_2, RUN_2),
  finished(RUN_2, DUE_2, 'failed'),
  fired(DUE_3, RUN_3),
  finished(RUN_3, DUE_3, 'failed'),
  suspended(RUN_3),
];

const commandOf = (type: (typeof ALL_COMMANDS)[number]): WhenCommand => {
  switch (type) {
    case 'schedule':
      return scheduleCommand;
    case 'fire':
      return { type, dueAt: DUE_3 };
    case 'finishRun':
      return { type, runId: RUN_1, outcome: 'succeeded' };
    default:
      return { type };
  }
};

const requestTaskRun = (runId: string, dueAt: string) => ({
  type: 'requestTaskRun',
  params: { runId, taskId: '42', groupId: 'T1.C1', dueAt, contextMode: 'group', turnRef: `task-42@${dueAt}` },
});

describe('task: scheduling', () => {
  it('an unscheduled task records task.scheduled with the default of 3 consecutive failures', () => {
    const after = task()
      .when(scheduleCommand)
      .thenRecorded([
        {
          type: 'task.scheduled',
          data: {
            groupId: 'T1.C1',
            prompt: 'Post the sales summary for yesterday',
            schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' },
            contextMode: 'group',
            maxConsecutiveFailures: 3,
            scheduledAt: T0,
          },
        },
      ]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toEqual<TaskContext>({
      id: '42',
      definition: {
        groupId: 'T1.C1',
        prompt: 'Post the sales summary for yesterday',
        schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' },
        contextMode: 'group',
        maxConsecutiveFailures: 3,
      },
      consecutiveFailures: 0,
      lastFiredDueAt: null,
      runInFlight: null,
    });
    expect(after.effects).toEqual([]);
  });

  it('keeps an explicit failure limit, an interval schedule and an isolated context', () => {
    task()
      .when({ ...scheduleCommand, schedule: { kind: 'interval', everyMs: 3_600_000 }, contextMode: 'isolated', maxConsecutiveFailures: 5 })
      .thenRecorded([
        {
          type: 'task.scheduled',
          data: {
            groupId: 'T1.C1',
            prompt: 'Post the sales summary for yesterday',
            schedule: { kind: 'interval', everyMs: 3_600_000 },
            contextMode: 'isolated',
            maxConsecutiveFailures: 5,
            scheduledAt: T0,
          },
        },
      ]);
  });

  it('accepts a once schedule', () => {
    const after = task()
      .when({ ...scheduleCommand, schedule: { kind: 'once', at: DUE_1 } })
      .thenRecorded([{ type: 'task.scheduled', data: { ...scheduledOnce.data as object } }]);
    expect(after.state).toBe('scheduled.active');
  });

  it.each([
    ['a cron expression of three fields', { kind: 'cron', expression: '0 9 *', timezone: 'UTC' }],
    ['a time zone with spaces', { kind: 'cron', expression: '0 9 * * *', timezone: 'Paris time' }],
    ['a zero interval', { kind: 'interval', everyMs: 0 }],
    ['a fractional interval', { kind: 'interval', everyMs: 1.5 }],
    ['a once time that is not ISO 8601', { kind: 'once', at: 'tomorrow at nine' }],
    ['an unknown kind', { kind: 'weekly', day: 'monday' }],
    ['an extra field', { kind: 'interval', everyMs: 1000, jitter: 5 }],
  ])('refuses a schedule with %s at the boundary', (_, schedule) => {
    expect(() => task().when({ ...scheduleCommand, schedule })).toThrow(/invalid/);
  });

  it('refuses a failure limit below one and an unknown context mode at the boundary', () => {
    expect(() => task().when({ ...scheduleCommand, maxConsecutiveFailures: 0 })).toThrow(/invalid/);
    expect(() => task().when({ ...scheduleCommand, contextMode: 'shared' })).toThrow(/invalid/);
  });

  it('a task is scheduled only once', () => {
    task().given(scheduled()).when(scheduleCommand).thenRejected(/already scheduled/);
  });

  it.each(['pause', 'resume', 'fire', 'finishRun', 'cancel'] as const)('an unscheduled task rejects %s', (type) => {
    task().when(commandOf(type)).thenRejected(/not scheduled/);
  });
});

describe('task: firing', () => {
  it('an active task fires for a due time and asks for a run named from the task and the due time', () => {
    const after = task()
      .given(scheduled())
      .when({ type: 'fire', dueAt: DUE_1 }, { issuedAt: '2026-01-05T10:00:00.250Z' })
      .thenRecorded([{ type: 'task.fired', data: { dueAt: DUE_1, runId: RUN_1, firedAt: '2026-01-05T10:00:00.250Z' } }]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toMatchObject({ lastFiredDueAt: DUE_1, runInFlight: { runId: RUN_1, dueAt: DUE_1 } });
    expect(after.effects).toEqual([requestTaskRun(RUN_1, DUE_1)]);
  });

  it('the run id is a pure function of the task id and the instant, whatever the precision', () => {
    expect(taskRunId('42', '2026-01-05T10:00:00Z')).toBe(RUN_1);
    expect(taskRunId('42', '2026-01-05T10:00:00.000Z')).toBe(RUN_1);
    expect(taskRunId('43', '2026-01-05T10:00:00Z')).not.toBe(RUN_1);
  });

  it('a task never fires twice for the same due time', () => {
    task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'))
      .when({ type: 'fire', dueAt: DUE_1 })
      .thenRejected(/already fired for 2026-01-05T10:00:00.000Z.*never fires twice/);
  });

  it('the same instant written with another precision is the same due time', () => {
    task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'))
      .when({ type: 'fire', dueAt: '2026-01-05T10:00:00Z' })
      .thenRejected(/never fires twice/);
  });

  it('a task does not fire for a due time before the last one', () => {
    task()
      .given(scheduled(), fired(DUE_2, RUN_2), finished(RUN_2, DUE_2, 'succeeded'))
      .when({ type: 'fire', dueAt: DUE_1 })
      .thenRejected(/is not after it/);
  });

  it('a task fires for a later due time once the previous run finished', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'))
      .when({ type: 'fire', dueAt: DUE_2 })
      .thenRecorded([{ type: 'task.fired', data: { dueAt: DUE_2, runId: RUN_2, firedAt: T0 } }]);
    expect(after.effects).toEqual([requestTaskRun(RUN_1, DUE_1), requestTaskRun(RUN_2, DUE_2)]);
  });

  it('a task does not fire while its run is in flight', () => {
    task()
      .given(scheduled(), fired(DUE_1, RUN_1))
      .when({ type: 'fire', dueAt: DUE_2 })
      .thenRejected(`run ${RUN_1} (due ${DUE_1}) has not finished`);
  });

  it('a paused task cannot fire', () => {
    task().given(scheduled(), paused).when({ type: 'fire', dueAt: DUE_1 }).thenRejected(/paused; a paused task does not fire/);
  });

  it('a suspended task cannot fire', () => {
    task().given(scheduled(), ...threeFailures).when({ type: 'fire', dueAt: '2026-01-05T13:00:00.000Z' }).thenRejected(/suspended after 3 consecutive/);
  });
});

describe('task: runs finishing', () => {
  it('records a successful run and clears the failure count', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'failed'), fired(DUE_2, RUN_2))
      .when({ type: 'finishRun', runId: RUN_2, outcome: 'succeeded' })
      .thenRecorded([{ type: 'task.run_finished', data: { runId: RUN_2, dueAt: DUE_2, outcome: 'succeeded', detail: null, finishedAt: T0 } }]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toMatchObject({ consecutiveFailures: 0, runInFlight: null, lastFiredDueAt: DUE_2 });
  });

  it('counts consecutive failed runs', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1))
      .when({ type: 'finishRun', runId: RUN_1, outcome: 'failed', detail: 'oom' })
      .thenRecorded([{ type: 'task.run_finished', data: { runId: RUN_1, dueAt: DUE_1, outcome: 'failed', detail: 'oom', finishedAt: T0 } }]);
    expect(after.context).toMatchObject({ consecutiveFailures: 1, runInFlight: null });
    expect(after.state).toBe('scheduled.active');
  });

  it('a failure after a success starts the count again', () => {
    const after = task().given(
      scheduled(),
      fired(DUE_1, RUN_1),
      finished(RUN_1, DUE_1, 'failed'),
      fired(DUE_2, RUN_2),
      finished(RUN_2, DUE_2, 'succeeded'),
      fired(DUE_3, RUN_3),
      finished(RUN_3, DUE_3, 'failed'),
    );
    expect(after.context).toMatchObject({ consecutiveFailures: 1 });
  });

  it('the third failure in a row suspends the task and tells the group admins', () => {
    const before = task().given(
      scheduled(),
      fired(DUE_1, RUN_1),
      finished(RUN_1, DUE_1, 'failed'),
      fired(DUE_2, RUN_2),
      finished(RUN_2, DUE_2, 'failed'),
      fired(DUE_3, RUN_3),
    );
    const after = before
      .when({ type: 'finishRun', runId: RUN_3, outcome: 'failed', detail: 'model_error' })
      .thenRecorded([
        { type: 'task.run_finished', data: { runId: RUN_3, dueAt: DUE_3, outcome: 'failed', detail: 'model_error', finishedAt: T0 } },
        { type: 'task.suspended', data: { consecutiveFailures: 3, lastRunId: RUN_3, suspendedAt: T0 } },
      ]);
    expect(after.state).toBe('scheduled.suspended');
    expect(after.context).toMatchObject({ consecutiveFailures: 3, runInFlight: null });
    expect(after.effects.at(-1)).toEqual({
      type: 'notifyAdmins',
      params: { groupId: 'T1.C1', taskId: '42', reason: 'suspended_after_failures', consecutiveFailures: 3, lastRunId: RUN_3 },
    });
  });

  it('a limit of one suspends on the first failure', () => {
    task()
      .given(scheduled({ maxConsecutiveFailures: 1 }), fired(DUE_1, RUN_1))
      .when({ type: 'finishRun', runId: RUN_1, outcome: 'failed' })
      .thenRecorded([
        { type: 'task.run_finished', data: { runId: RUN_1, dueAt: DUE_1, outcome: 'failed', detail: null, finishedAt: T0 } },
        { type: 'task.suspended', data: { consecutiveFailures: 1, lastRunId: RUN_1, suspendedAt: T0 } },
      ]);
  });

  it('a success never suspends, however many failures came before', () => {
    task()
      .given(scheduled({ maxConsecutiveFailures: 2 }), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'failed'), fired(DUE_2, RUN_2))
      .when({ type: 'finishRun', runId: RUN_2, outcome: 'succeeded' })
      .thenRecorded([{ type: 'task.run_finished', data: { runId: RUN_2, dueAt: DUE_2, outcome: 'succeeded', detail: null, finishedAt: T0 } }]);
  });

  it('rejects the outcome of a run that is not in flight', () => {
    task()
      .given(scheduled(), fired(DUE_1, RUN_1))
      .when({ type: 'finishRun', runId: RUN_2, outcome: 'succeeded' })
      .thenRejected(`run ${RUN_2} is not the task's run in flight (${RUN_1})`);
  });

  it('rejects a second outcome for a run that already finished', () => {
    task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'))
      .when({ type: 'finishRun', runId: RUN_1, outcome: 'failed' })
      .thenRejected(/has no run in flight; run task-42-20260105T100000000Z cannot finish/);
  });

  it('a run fired before a pause still finishes and counts while the task is paused', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1), paused)
      .when({ type: 'finishRun', runId: RUN_1, outcome: 'failed' })
      .thenRecorded([{ type: 'task.run_finished', data: { runId: RUN_1, dueAt: DUE_1, outcome: 'failed', detail: null, finishedAt: T0 } }]);
    expect(after.state).toBe('scheduled.paused');
    expect(after.context).toMatchObject({ consecutiveFailures: 1, runInFlight: null });
  });

  it('reaching the failure limit while paused suspends the task', () => {
    const after = task()
      .given(scheduled({ maxConsecutiveFailures: 1 }), fired(DUE_1, RUN_1), paused)
      .when({ type: 'finishRun', runId: RUN_1, outcome: 'failed' })
      .thenRecorded([
        { type: 'task.run_finished', data: { runId: RUN_1, dueAt: DUE_1, outcome: 'failed', detail: null, finishedAt: T0 } },
        { type: 'task.suspended', data: { consecutiveFailures: 1, lastRunId: RUN_1, suspendedAt: T0 } },
      ]);
    expect(after.state).toBe('scheduled.suspended');
  });
});

describe('task: once tasks complete', () => {
  it('a once task completes after its run succeeds', () => {
    const after = task()
      .given(scheduledOnce, fired(DUE_1, RUN_1))
      .when({ type: 'finishRun', runId: RUN_1, outcome: 'succeeded' })
      .thenRecorded([
        { type: 'task.run_finished', data: { runId: RUN_1, dueAt: DUE_1, outcome: 'succeeded', detail: null, finishedAt: T0 } },
        { type: 'task.completed', data: { lastRunId: RUN_1, completedAt: T0 } },
      ]);
    expect(after.state).toBe('completed');
    expect(after.context).toMatchObject({ runInFlight: null });
  });

  it('a once task completes after its run fails too, even with a limit of one', () => {
    const after = task()
      .given(scheduled({ schedule: { kind: 'once', at: DUE_1 }, maxConsecutiveFailures: 1 }), fired(DUE_1, RUN_1))
      .when({ type: 'finishRun', runId: RUN_1, outcome: 'failed', detail: 'crash' })
      .thenRecorded([
        { type: 'task.run_finished', data: { runId: RUN_1, dueAt: DUE_1, outcome: 'failed', detail: 'crash', finishedAt: T0 } },
        { type: 'task.completed', data: { lastRunId: RUN_1, completedAt: T0 } },
      ]);
    expect(after.state).toBe('completed');
    expect(after.effects.map((effect) => effect.type)).toEqual(['requestTaskRun']);
  });

  it('a once task that is waiting for its run is not complete yet', () => {
    expect(task().given(scheduledOnce, fired(DUE_1, RUN_1)).state).toBe('scheduled.active');
  });

  it.each(ALL_COMMANDS)('a completed task rejects %s', (type) => {
    task()
      .given(scheduledOnce, fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), completed(RUN_1))
      .when(commandOf(type))
      .thenRejected(/the task is completed/);
  });

  it('a completed task never completes or fires again', () => {
    const done = task().given(scheduledOnce, fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), completed(RUN_1));
    done.when({ type: 'fire', dueAt: '2027-01-01T00:00:00.000Z' }).thenRejected(/never fires again/);
    done.when({ type: 'finishRun', runId: RUN_1, outcome: 'succeeded' }).thenRejected(/completed; it has no run in flight/);
  });
});

describe('task: pause, resume, suspend, cancel', () => {
  it('an active task is paused with a reason', () => {
    const after = task()
      .given(scheduled())
      .when({ type: 'pause', reason: 'quarter close' })
      .thenRecorded([{ type: 'task.paused', data: { reason: 'quarter close', pausedAt: T0 } }]);
    expect(after.state).toBe('scheduled.paused');
  });

  it('a pause without a reason records a null reason', () => {
    task().given(scheduled()).when({ type: 'pause' }).thenRecorded([{ type: 'task.paused', data: { reason: null, pausedAt: T0 } }]);
  });

  it('a paused task cannot be paused again', () => {
    task().given(scheduled(), paused).when({ type: 'pause' }).thenRejected(/already paused/);
  });

  it('an active task cannot be resumed', () => {
    task().given(scheduled()).when({ type: 'resume' }).thenRejected(/the task is active; only a paused or suspended task/);
  });

  it('a paused task resumes and fires again, keeping its failure count', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'failed'), paused)
      .when({ type: 'resume' }, { issuedAt: '2026-01-06T08:00:00.000Z' })
      .thenRecorded([{ type: 'task.resumed', data: { resumedAt: '2026-01-06T08:00:00.000Z' } }]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toMatchObject({ consecutiveFailures: 1 });
    after.when({ type: 'fire', dueAt: DUE_2 }).thenRecorded([{ type: 'task.fired', data: { dueAt: DUE_2, runId: RUN_2, firedAt: T0 } }]);
  });

  it('a paused task does not fire again for a due time it already fired for', () => {
    task().given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), paused, resumed).when({ type: 'fire', dueAt: DUE_1 }).thenRejected(/never fires twice/);
  });

  it('a suspended task resumes with its failure count cleared', () => {
    const after = task()
      .given(scheduled(), ...threeFailures)
      .when({ type: 'resume' })
      .thenRecorded([{ type: 'task.resumed', data: { resumedAt: T0 } }]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toMatchObject({ consecutiveFailures: 0 });
    // one more failure does not suspend it again straight away
    const next = after.given(fired('2026-01-05T13:00:00.000Z', 'task-42-20260105T130000000Z'));
    next
      .when({ type: 'finishRun', runId: 'task-42-20260105T130000000Z', outcome: 'failed' })
      .thenRecorded([
        {
          type: 'task.run_finished',
          data: { runId: 'task-42-20260105T130000000Z', dueAt: '2026-01-05T13:00:00.000Z', outcome: 'failed', detail: null, finishedAt: T0 },
        },
      ]);
  });

  it('a suspended task cannot be paused', () => {
    task().given(scheduled(), ...threeFailures).when({ type: 'pause' }).thenRejected(/suspended after repeated failures; resume it or cancel it/);
  });

  it('a suspended task has no run to finish', () => {
    task().given(scheduled(), ...threeFailures).when({ type: 'finishRun', runId: RUN_3, outcome: 'failed' }).thenRejected(/no run in flight/);
  });

  it.each([
    ['active', [scheduled()]],
    ['paused', [scheduled(), paused]],
    ['suspended', [scheduled(), ...threeFailures]],
    ['active with a run in flight', [scheduled(), fired(DUE_1, RUN_1)]],
  ] as const)('a %s task can be cancelled', (_, history) => {
    const after = task()
      .given(...history)
      .when({ type: 'cancel', reason: 'no longer needed' })
      .thenRecorded([{ type: 'task.cancelled', data: { reason: 'no longer needed', cancelledAt: T0 } }]);
    expect(after.state).toBe('cancelled');
  });

  it.each(ALL_COMMANDS)('a cancelled task rejects %s', (type) => {
    task().given(scheduled(), cancelled).when(commandOf(type)).thenRejected(/cancelled/);
  });

  it('a cancelled task says why it cannot be paused', () => {
    task().given(scheduled(), cancelled).when({ type: 'pause' }).thenRejected('the task is cancelled; a cancelled task cannot be paused');
  });

  it('the outcome of a run that ends after the task was cancelled is not recorded', () => {
    task().given(scheduled(), fired(DUE_1, RUN_1), cancelled).when({ type: 'finishRun', runId: RUN_1, outcome: 'succeeded' }).thenRejected(/cancelled; the outcome of its run is not recorded/);
  });
});

describe('task: pending effects after a restart', () => {
  const pending = (...history: GivenEvent[]) => taskKind.pendingEffects!(task().given(...history).snapshot as never);

  it('a fired task whose run has not finished asks for the same run again', () => {
    expect(pending(scheduled(), fired(DUE_1, RUN_1))).toEqual([requestTaskRun(RUN_1, DUE_1)]);
  });

  it('a paused task whose run fired before the pause still asks for it', () => {
    expect(pending(scheduled(), fired(DUE_1, RUN_1), paused)).toEqual([requestTaskRun(RUN_1, DUE_1)]);
  });

  it('nothing is pending once the run finished, before scheduling, or after cancelling', () => {
    expect(pending()).toEqual([]);
    expect(pending(scheduled())).toEqual([]);
    expect(pending(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'))).toEqual([]);
    expect(pending(scheduled(), fired(DUE_1, RUN_1), cancelled)).toEqual([]);
    expect(pending(scheduled(), ...threeFailures)).toEqual([]);
    expect(pending(scheduledOnce, fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), completed(RUN_1))).toEqual([]);
  });
});

describe('task: folding is total and pure', () => {
  it('replaying the same history twice gives the same state and effects', () => {
    const history = [scheduled(), fired(DUE_1, RUN_1), paused, finished(RUN_1, DUE_1, 'failed'), resumed, fired(DUE_2, RUN_2), cancelled];
    const first = task().given(...history);
    const second = task().given(...history);
    expect(second.context).toEqual(first.context);
    expect(second.state).toBe('cancelled');
    expect(second.effects).toEqual(first.effects);
    expect(JSON.parse(JSON.stringify(first.context))).toEqual(first.context);
  });
});
