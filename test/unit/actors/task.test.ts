import { describe, expect, it } from 'vitest';
import { taskKind, taskRunId, type TaskContext } from '../../../actors/task.js';
import { EventCatalogue } from '../../../events/catalogue.js';
import { taskEvents } from '../../../events/catalogue/task.js';
import { GENESIS_HASH } from '../../../events/hash-chain.js';
import { spec, type GivenEvent, type WhenCommand } from '../../support/actor-spec.js';

/** The specs' clock (a Monday, 10:00 in Paris); every command is issued then unless told. */
const T0 = '2026-01-05T09:00:00.000Z';
const DUE_1 = '2026-01-05T10:00:00.000Z';
const DUE_2 = '2026-01-05T11:00:00.000Z';
const DUE_3 = '2026-01-05T12:00:00.000Z';
const DUE_4 = '2026-01-05T13:00:00.000Z';
const RUN_1 = 'task-42-20260105T100000000Z';
const RUN_2 = 'task-42-20260105T110000000Z';
const RUN_3 = 'task-42-20260105T120000000Z';
const RUN_4 = 'task-42-20260105T130000000Z';
const ALL_COMMANDS = ['schedule', 'pause', 'resume', 'fire', 'finishRun', 'cancel'] as const;

/** At the top of every hour, Paris time: due at DUE_1, DUE_2, ... when scheduled at T0. */
const HOURLY = { kind: 'cron', expression: '0 * * * *', timezone: 'Europe/Paris' } as const;
const HOUR = 3_600_000;

const task = () => spec(taskKind, '42');

const scheduleCommand = {
  type: 'schedule',
  groupId: 'T1.C1',
  prompt: 'Post the sales summary for yesterday',
  schedule: HOURLY,
  contextMode: 'group',
} as const;

const scheduledData = {
  groupId: 'T1.C1',
  prompt: 'Post the sales summary for yesterday',
  schedule: HOURLY,
  contextMode: 'group',
  maxConsecutiveFailures: 3,
  scheduledAt: T0,
  catchUp: 'fire_once',
  gate: null,
  deliver: 'group',
};
const scheduled = (overrides: Record<string, unknown> = {}): GivenEvent => ({ type: 'task.scheduled', data: { ...scheduledData, ...overrides } });
const scheduledOnce = scheduled({ schedule: { kind: 'once', at: DUE_1 } });
const fired = (dueAt: string, runId: string, firedAt = T0): GivenEvent => ({
  type: 'task.fired',
  data: { dueAt, runId, firedAt, missed: null, gateDetail: null },
});
const skipped = (dueAt: string, reason: 'gate' | 'missed' | 'run_in_flight' = 'gate'): GivenEvent => ({
  type: 'task.fire_skipped',
  data: { dueAt, reason, detail: null, missed: null, skippedAt: T0 },
});
const finished = (runId: string, dueAt: string, outcome: 'succeeded' | 'failed'): GivenEvent => ({
  type: 'task.run_finished',
  data: { runId, dueAt, outcome, detail: outcome === 'failed' ? 'exit_code: 1' : null, finishedAt: T0 },
});
const paused: GivenEvent = { type: 'task.paused', data: { reason: null, pausedAt: T0 } };
const pausedAt = (at: string): GivenEvent => ({ type: 'task.paused', data: { reason: null, pausedAt: at } });
const resumedAt = (at: string): GivenEvent => ({ type: 'task.resumed', data: { resumedAt: at } });
const cancelled: GivenEvent = { type: 'task.cancelled', data: { reason: null, cancelledAt: T0 } };
const completed = (lastRunId: string | null): GivenEvent => ({ type: 'task.completed', data: { lastRunId, completedAt: T0 } });
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

const firedRecord = (dueAt: string, runId: string, firedAt = T0, more: Record<string, unknown> = {}) => ({
  type: 'task.fired',
  data: { dueAt, runId, firedAt, missed: null, gateDetail: null, ...more },
});

const dueTimes = (outcome: { context: unknown }) => {
  const { nextDueAt, lastDueAt } = outcome.context as TaskContext;
  return { nextDueAt, lastDueAt };
};

describe('task: scheduling', () => {
  it('records a silent task as silent, and a task scheduled without deliver as delivering to its group', () => {
    task().when({ ...scheduleCommand, deliver: 'silent' }).thenRecorded([{ type: 'task.scheduled', data: { ...scheduledData, deliver: 'silent' } }]);
    const silent = task().given(scheduled({ deliver: 'silent' }));
    expect((silent.context as TaskContext).definition?.deliver).toBe('silent');
    expect(() => task().when({ ...scheduleCommand, deliver: 'dm' })).toThrow(/deliver/);
  });

  it('an unscheduled task records task.scheduled with 3 consecutive failures, catch-up fire_once and no gate by default', () => {
    const after = task()
      .when(scheduleCommand)
      .thenRecorded([{ type: 'task.scheduled', data: scheduledData }]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toEqual<TaskContext>({
      id: '42',
      definition: {
        groupId: 'T1.C1',
        prompt: 'Post the sales summary for yesterday',
        schedule: HOURLY,
        contextMode: 'group',
        maxConsecutiveFailures: 3,
        catchUp: 'fire_once',
        gate: null,
        deliver: 'group',
        scheduledAt: T0,
      },
      consecutiveFailures: 0,
      nextDueAt: DUE_1,
      lastDueAt: null,
      runInFlight: null,
    });
    expect(after.effects).toEqual([]);
  });

  it('keeps an explicit failure limit, an interval schedule, an isolated context, a catch-up policy and a gate', () => {
    const gate = { kind: 'script', command: 'test -s /workspace/inbox.json', timeoutMs: 5_000 } as const;
    const after = task()
      .when({ ...scheduleCommand, schedule: { kind: 'interval', everyMs: HOUR }, contextMode: 'isolated', maxConsecutiveFailures: 5, catchUp: 'skip', gate })
      .thenRecorded([
        {
          type: 'task.scheduled',
          data: { ...scheduledData, schedule: { kind: 'interval', everyMs: HOUR }, contextMode: 'isolated', maxConsecutiveFailures: 5, catchUp: 'skip', gate },
        },
      ]);
    expect(after.context).toMatchObject({ definition: { catchUp: 'skip', gate } });
  });

  it('accepts a once schedule in the future', () => {
    const after = task()
      .when({ ...scheduleCommand, schedule: { kind: 'once', at: DUE_1 } })
      .thenRecorded([{ type: 'task.scheduled', data: scheduledOnce.data }]);
    expect(after.state).toBe('scheduled.active');
  });

  it.each([
    ['an invalid cron expression', { kind: 'cron', expression: '61 9 * * *', timezone: 'UTC' }, /^schedule\.expression: '61 9 \* \* \*' is not a valid cron expression/],
    ['a cron expression that never fires', { kind: 'cron', expression: '0 9 31 2 *', timezone: 'UTC' }, /^schedule\.expression: '0 9 31 2 \*' never fires after/],
    ['an unknown time zone', { kind: 'cron', expression: '0 9 * * *', timezone: 'Mars/Olympus' }, /^schedule\.timezone: unknown IANA time zone 'Mars\/Olympus'/],
    ['an interval under a second', { kind: 'interval', everyMs: 500 }, /^schedule\.everyMs: an interval must be at least 1000 ms, got 500/],
    ['a once time in the past', { kind: 'once', at: '2026-01-05T08:59:59.000Z' }, /^schedule\.at: 2026-01-05T08:59:59.000Z is not in the future/],
    ['a once time of now', { kind: 'once', at: T0 }, /^schedule\.at: /],
  ])('rejects %s, naming the field', (_, schedule, reason) => {
    task().when({ ...scheduleCommand, schedule }).thenRejected(reason);
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

  it('refuses a failure limit below one, an unknown context mode, catch-up policy or gate at the boundary', () => {
    expect(() => task().when({ ...scheduleCommand, maxConsecutiveFailures: 0 })).toThrow(/invalid/);
    expect(() => task().when({ ...scheduleCommand, contextMode: 'shared' })).toThrow(/invalid/);
    expect(() => task().when({ ...scheduleCommand, catchUp: 'fire_all' })).toThrow(/invalid/);
    expect(() => task().when({ ...scheduleCommand, gate: { kind: 'script', command: '', timeoutMs: 5_000 } })).toThrow(/invalid/);
  });

  it('a task is scheduled only once', () => {
    task().given(scheduled()).when(scheduleCommand).thenRejected(/already scheduled/);
  });

  it.each(['pause', 'resume', 'fire', 'finishRun', 'cancel'] as const)('an unscheduled task rejects %s', (type) => {
    task().when(commandOf(type)).thenRejected(/not scheduled/);
  });
});

describe('task: the next due time', () => {
  it('a weekday cron is next due at 09:00 Paris time, in winter and once summer time has begun', () => {
    const weekdays = { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' };
    // Friday 2026-01-09 11:00 Paris: next Monday 09:00 CET, then Tuesday.
    const winter = task().given(scheduled({ schedule: weekdays, scheduledAt: '2026-01-09T10:00:00.000Z' }));
    expect(dueTimes(winter)).toEqual({ nextDueAt: '2026-01-12T08:00:00.000Z', lastDueAt: null });
    const afterMonday = winter.given(fired('2026-01-12T08:00:00.000Z', taskRunId('42', '2026-01-12T08:00:00.000Z')));
    expect(dueTimes(afterMonday)).toEqual({ nextDueAt: '2026-01-13T08:00:00.000Z', lastDueAt: '2026-01-12T08:00:00.000Z' });
    // Friday 2026-03-27; summer time begins on Sunday the 29th: Monday 09:00 is 07:00 UTC.
    const summer = task().given(scheduled({ schedule: weekdays, scheduledAt: '2026-03-27T09:00:00.000Z' }));
    expect(dueTimes(summer).nextDueAt).toBe('2026-03-30T07:00:00.000Z');
  });

  it('a six-field cron is due to the second', () => {
    const after = task().given(scheduled({ schedule: { kind: 'cron', expression: '30 15 10 * * *', timezone: 'UTC' } }));
    expect(dueTimes(after).nextDueAt).toBe('2026-01-05T10:15:30.000Z');
    expect(dueTimes(after.given(fired('2026-01-05T10:15:30.000Z', 'task-42-20260105T101530000Z'))).nextDueAt).toBe('2026-01-06T10:15:30.000Z');
  });

  it('an interval is due every period from the previous due time, not from when it fired', () => {
    const every45 = { kind: 'interval', everyMs: 45 * 60_000 };
    const before = task().given(scheduled({ schedule: every45 }));
    expect(dueTimes(before).nextDueAt).toBe('2026-01-05T09:45:00.000Z');
    // The clock got to it 12 minutes late: the next is still 45 minutes after the due time.
    const after = before
      .when({ type: 'fire', dueAt: '2026-01-05T09:45:00.000Z' }, { issuedAt: '2026-01-05T09:57:00.000Z' })
      .thenRecorded([firedRecord('2026-01-05T09:45:00.000Z', 'task-42-20260105T094500000Z', '2026-01-05T09:57:00.000Z')]);
    expect(dueTimes(after)).toEqual({ nextDueAt: '2026-01-05T10:30:00.000Z', lastDueAt: '2026-01-05T09:45:00.000Z' });
  });

  it('a once task is due at its time, and at no time after it', () => {
    const before = task().given(scheduledOnce);
    expect(dueTimes(before)).toEqual({ nextDueAt: DUE_1, lastDueAt: null });
    const after = before.given(fired(DUE_1, RUN_1));
    expect(dueTimes(after)).toEqual({ nextDueAt: null, lastDueAt: DUE_1 });
    expect(after.state).toBe('scheduled.active');
  });

  it('a skipped due time counts as decided: the next one follows it', () => {
    const after = task().given(scheduled(), skipped(DUE_1));
    expect(dueTimes(after)).toEqual({ nextDueAt: DUE_2, lastDueAt: DUE_1 });
    expect(after.context).toMatchObject({ runInFlight: null });
  });

  it('a paused task is due at no time; resumed, it is due at the first due time after the resume', () => {
    const whilePaused = task().given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), pausedAt('2026-01-05T10:30:00.000Z'));
    expect(dueTimes(whilePaused)).toEqual({ nextDueAt: null, lastDueAt: DUE_1 });
    const resumed = whilePaused
      .when({ type: 'resume' }, { issuedAt: '2026-01-05T13:20:00.000Z' })
      .thenRecorded([{ type: 'task.resumed', data: { resumedAt: '2026-01-05T13:20:00.000Z' } }]);
    // 11:00, 12:00 and 13:00 fell while it was paused; they are not made up for.
    expect(dueTimes(resumed)).toEqual({ nextDueAt: '2026-01-05T14:00:00.000Z', lastDueAt: DUE_1 });
  });

  it('a resumed interval stays on its grid, anchored to its due times', () => {
    const every45 = { kind: 'interval', everyMs: 45 * 60_000 };
    const after = task().given(
      scheduled({ schedule: every45 }),
      fired('2026-01-05T09:45:00.000Z', 'task-42-20260105T094500000Z'),
      pausedAt('2026-01-05T10:00:00.000Z'),
      resumedAt('2026-01-05T13:20:00.000Z'),
    );
    // The grid: 09:45, 10:30, 11:15, 12:00, 12:45, 13:30; not 45 minutes after the resume.
    expect(dueTimes(after).nextDueAt).toBe('2026-01-05T13:30:00.000Z');
  });

  it('a resume stamped before the last due time never brings that due time back', () => {
    const after = task().given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), paused, resumedAt(T0));
    expect(dueTimes(after).nextDueAt).toBe(DUE_2);
  });

  it('a once task paused past its time keeps it when resumed, so the clock treats it as missed', () => {
    const after = task().given(scheduledOnce, pausedAt('2026-01-05T09:30:00.000Z'), resumedAt('2026-01-05T15:00:00.000Z'));
    expect(dueTimes(after)).toEqual({ nextDueAt: DUE_1, lastDueAt: null });
    after
      .when({ type: 'fire', dueAt: DUE_1, missed: true }, { issuedAt: '2026-01-05T15:00:01.000Z' })
      .thenRecorded([firedRecord(DUE_1, RUN_1, '2026-01-05T15:00:01.000Z', { missed: { firstDueAt: DUE_1, count: 1 } })]);
  });

  it('a suspended, completed or cancelled task is due at no time', () => {
    expect(dueTimes(task().given(scheduled(), ...threeFailures)).nextDueAt).toBeNull();
    expect(dueTimes(task().given(scheduled(), cancelled)).nextDueAt).toBeNull();
    expect(dueTimes(task().given(scheduledOnce, completed(null))).nextDueAt).toBeNull();
  });

  it('a suspended task resumed is due at the first due time after the resume', () => {
    const after = task().given(scheduled(), ...threeFailures, resumedAt('2026-01-05T15:10:00.000Z'));
    expect(dueTimes(after)).toEqual({ nextDueAt: '2026-01-05T16:00:00.000Z', lastDueAt: DUE_3 });
  });
});

describe('task: firing', () => {
  it('an active task fires for its next due time and asks for a run named from the task and the due time', () => {
    const after = task()
      .given(scheduled())
      .when({ type: 'fire', dueAt: DUE_1 }, { issuedAt: '2026-01-05T10:00:00.250Z' })
      .thenRecorded([firedRecord(DUE_1, RUN_1, '2026-01-05T10:00:00.250Z')]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toMatchObject({ lastDueAt: DUE_1, nextDueAt: DUE_2, runInFlight: { runId: RUN_1, dueAt: DUE_1 } });
    expect(after.effects).toEqual([requestTaskRun(RUN_1, DUE_1)]);
  });

  it('the run id is a pure function of the task id and the instant, whatever the precision', () => {
    expect(taskRunId('42', '2026-01-05T10:00:00Z')).toBe(RUN_1);
    expect(taskRunId('42', '2026-01-05T10:00:00.000Z')).toBe(RUN_1);
    expect(taskRunId('43', '2026-01-05T10:00:00Z')).not.toBe(RUN_1);
  });

  it('rejects a fire for any time but the next due time, naming both', () => {
    task()
      .given(scheduled())
      .when({ type: 'fire', dueAt: DUE_2 })
      .thenRejected(`the task is next due at ${DUE_1}, not ${DUE_2}; a task fires once per due time`);
    task().given(scheduled()).when({ type: 'fire', dueAt: '2026-01-05T10:00:01.000Z' }).thenRejected(/next due at 2026-01-05T10:00:00.000Z/);
  });

  it('rejects a second fire for the same due time', () => {
    const after = task().given(scheduled()).when({ type: 'fire', dueAt: DUE_1 }).thenRecorded([firedRecord(DUE_1, RUN_1)]);
    after.when({ type: 'fire', dueAt: DUE_1 }).thenRejected(`the task is next due at ${DUE_2}, not ${DUE_1}`);
    after.given(finished(RUN_1, DUE_1, 'succeeded')).when({ type: 'fire', dueAt: '2026-01-05T10:00:00Z' }).thenRejected(/fires once per due time/);
  });

  it('rejects a second fire for a once task, whose only due time is spent', () => {
    task()
      .given(scheduledOnce, fired(DUE_1, RUN_1))
      .when({ type: 'fire', dueAt: DUE_1 })
      .thenRejected(`the task has no due time left (the last was ${DUE_1}); a fire for ${DUE_1} is refused`);
  });

  it('the same instant written with another precision is the due time, recorded as computed', () => {
    task()
      .given(scheduled())
      .when({ type: 'fire', dueAt: '2026-01-05T10:00:00Z' })
      .thenRecorded([firedRecord(DUE_1, RUN_1)]);
  });

  it('a task fires for each due time in turn once the previous run finished', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'))
      .when({ type: 'fire', dueAt: DUE_2 })
      .thenRecorded([firedRecord(DUE_2, RUN_2)]);
    expect(after.effects).toEqual([requestTaskRun(RUN_1, DUE_1), requestTaskRun(RUN_2, DUE_2)]);
  });

  it('a due time that comes while the run is in flight is skipped, naming the run, and the run stays in flight', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1))
      .when({ type: 'fire', dueAt: DUE_2 }, { issuedAt: DUE_2 })
      .thenRecorded([
        {
          type: 'task.fire_skipped',
          data: { dueAt: DUE_2, reason: 'run_in_flight', detail: `run ${RUN_1} (due ${DUE_1}) has not finished`, missed: null, skippedAt: DUE_2 },
        },
      ]);
    expect(after.context).toMatchObject({ runInFlight: { runId: RUN_1, dueAt: DUE_1 }, lastDueAt: DUE_2, nextDueAt: DUE_3 });
    expect(after.effects).toEqual([requestTaskRun(RUN_1, DUE_1)]);
  });

  it('a paused task cannot fire', () => {
    task().given(scheduled(), paused).when({ type: 'fire', dueAt: DUE_1 }).thenRejected(/paused; a paused task does not fire/);
  });

  it('a suspended task cannot fire', () => {
    task().given(scheduled(), ...threeFailures).when({ type: 'fire', dueAt: DUE_4 }).thenRejected(/suspended after 3 consecutive/);
  });

  it('refuses a fire with unknown fields or an empty gate detail at the boundary', () => {
    expect(() => task().when({ type: 'fire', dueAt: DUE_1, late: true })).toThrow(/invalid/);
    expect(() => task().when({ type: 'fire', dueAt: DUE_1, gate: { wake: false, detail: '' } })).toThrow(/invalid/);
  });
});

describe('task: missed due times', () => {
  const LATE = '2026-01-05T13:30:00.000Z';

  it('with catch-up fire_once, fires once, for the last missed due time, with how many were missed', () => {
    const after = task()
      .given(scheduled())
      .when({ type: 'fire', dueAt: DUE_1, missed: true }, { issuedAt: LATE })
      .thenRecorded([firedRecord(DUE_4, RUN_4, LATE, { missed: { firstDueAt: DUE_1, count: 4 } })]);
    expect(after.context).toMatchObject({ lastDueAt: DUE_4, nextDueAt: '2026-01-05T14:00:00.000Z', runInFlight: { runId: RUN_4 } });
    expect(after.effects).toEqual([requestTaskRun(RUN_4, DUE_4)]);
  });

  it('an interval counts its missed due times on its grid', () => {
    task()
      .given(scheduled({ schedule: { kind: 'interval', everyMs: HOUR } }))
      .when({ type: 'fire', dueAt: DUE_1, missed: true }, { issuedAt: LATE })
      .thenRecorded([firedRecord(DUE_4, RUN_4, LATE, { missed: { firstDueAt: DUE_1, count: 4 } })]);
  });

  it('with catch-up skip, records one skip for them all, and the next due time is after now', () => {
    const after = task()
      .given(scheduled({ catchUp: 'skip' }))
      .when({ type: 'fire', dueAt: DUE_1, missed: true }, { issuedAt: LATE })
      .thenRecorded([
        { type: 'task.fire_skipped', data: { dueAt: DUE_4, reason: 'missed', detail: null, missed: { firstDueAt: DUE_1, count: 4 }, skippedAt: LATE } },
      ]);
    expect(dueTimes(after)).toEqual({ nextDueAt: '2026-01-05T14:00:00.000Z', lastDueAt: DUE_4 });
    expect(Date.parse(dueTimes(after).nextDueAt ?? '')).toBeGreaterThan(Date.parse(LATE));
    expect(after.effects).toEqual([]);
  });

  it('a fire marked missed while the task has a run in flight is skipped for the last missed due time', () => {
    task()
      .given(scheduled(), fired(DUE_1, RUN_1))
      .when({ type: 'fire', dueAt: DUE_2, missed: true }, { issuedAt: LATE })
      .thenRecorded([
        {
          type: 'task.fire_skipped',
          data: { dueAt: DUE_4, reason: 'run_in_flight', detail: `run ${RUN_1} (due ${DUE_1}) has not finished`, missed: { firstDueAt: DUE_2, count: 3 }, skippedAt: LATE },
        },
      ]);
  });
});

describe('task: the wake gate', () => {
  const gated = scheduled({ gate: { kind: 'heartbeat' } });

  it('a gate that says not to wake records a gate skip and spends no run', () => {
    const after = task()
      .given(gated)
      .when({ type: 'fire', dueAt: DUE_1, gate: { wake: false, detail: 'HEARTBEAT.md has no open items' } }, { issuedAt: DUE_1 })
      .thenRecorded([
        { type: 'task.fire_skipped', data: { dueAt: DUE_1, reason: 'gate', detail: 'HEARTBEAT.md has no open items', missed: null, skippedAt: DUE_1 } },
      ]);
    expect(after.context).toMatchObject({ runInFlight: null, lastDueAt: DUE_1, nextDueAt: DUE_2 });
    expect(after.effects).toEqual([]);
  });

  it('a gate skip without a detail records a null detail, and keeps the missed due times it stands for', () => {
    task()
      .given(gated)
      .when({ type: 'fire', dueAt: DUE_1, missed: true, gate: { wake: false } }, { issuedAt: '2026-01-05T11:10:00.000Z' })
      .thenRecorded([
        {
          type: 'task.fire_skipped',
          data: { dueAt: DUE_2, reason: 'gate', detail: null, missed: { firstDueAt: DUE_1, count: 2 }, skippedAt: '2026-01-05T11:10:00.000Z' },
        },
      ]);
  });

  it('a gate that says to wake fires, recording what it saw', () => {
    task()
      .given(gated)
      .when({ type: 'fire', dueAt: DUE_1, gate: { wake: true, detail: '2 open items' } })
      .thenRecorded([firedRecord(DUE_1, RUN_1, T0, { gateDetail: '2 open items' })]);
  });
});

describe('task: runs finishing', () => {
  it('records a successful run and clears the failure count', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'failed'), fired(DUE_2, RUN_2))
      .when({ type: 'finishRun', runId: RUN_2, outcome: 'succeeded' })
      .thenRecorded([{ type: 'task.run_finished', data: { runId: RUN_2, dueAt: DUE_2, outcome: 'succeeded', detail: null, finishedAt: T0 } }]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toMatchObject({ consecutiveFailures: 0, runInFlight: null, lastDueAt: DUE_2, nextDueAt: DUE_3 });
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

  it('a skipped due time neither counts as a failure nor clears the count', () => {
    const after = task().given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'failed'), skipped(DUE_2));
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
    expect(after.context).toMatchObject({ consecutiveFailures: 3, runInFlight: null, nextDueAt: null });
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
    expect(after.context).toMatchObject({ consecutiveFailures: 1, runInFlight: null, nextDueAt: null });
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
    expect(after.context).toMatchObject({ runInFlight: null, nextDueAt: null });
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

  it('a once task whose gate says not to wake completes without a run', () => {
    const after = task()
      .given(scheduled({ schedule: { kind: 'once', at: DUE_1 }, gate: { kind: 'heartbeat' } }))
      .when({ type: 'fire', dueAt: DUE_1, gate: { wake: false } }, { issuedAt: DUE_1 })
      .thenRecorded([
        { type: 'task.fire_skipped', data: { dueAt: DUE_1, reason: 'gate', detail: null, missed: null, skippedAt: DUE_1 } },
        { type: 'task.completed', data: { lastRunId: null, completedAt: DUE_1 } },
      ]);
    expect(after.state).toBe('completed');
    expect(after.context).toMatchObject({ runInFlight: null, nextDueAt: null, lastDueAt: DUE_1 });
    expect(after.effects).toEqual([]);
  });

  it('a once task missed while the runtime was down completes without a run when it skips missed fires', () => {
    const after = task()
      .given(scheduled({ schedule: { kind: 'once', at: DUE_1 }, catchUp: 'skip' }))
      .when({ type: 'fire', dueAt: DUE_1, missed: true }, { issuedAt: DUE_3 })
      .thenRecorded([
        { type: 'task.fire_skipped', data: { dueAt: DUE_1, reason: 'missed', detail: null, missed: { firstDueAt: DUE_1, count: 1 }, skippedAt: DUE_3 } },
        { type: 'task.completed', data: { lastRunId: null, completedAt: DUE_3 } },
      ]);
    expect(after.state).toBe('completed');
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

  it('a paused task resumes and fires again for its next due time, keeping its failure count', () => {
    const after = task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'failed'), paused)
      .when({ type: 'resume' }, { issuedAt: '2026-01-05T10:30:00.000Z' })
      .thenRecorded([{ type: 'task.resumed', data: { resumedAt: '2026-01-05T10:30:00.000Z' } }]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toMatchObject({ consecutiveFailures: 1, nextDueAt: DUE_2 });
    after.when({ type: 'fire', dueAt: DUE_2 }).thenRecorded([firedRecord(DUE_2, RUN_2)]);
  });

  it('a resumed task does not fire again for a due time it already fired for', () => {
    task()
      .given(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), paused, resumedAt(DUE_1))
      .when({ type: 'fire', dueAt: DUE_1 })
      .thenRejected(/fires once per due time/);
  });

  it('a suspended task resumes with its failure count cleared', () => {
    const after = task()
      .given(scheduled(), ...threeFailures)
      .when({ type: 'resume' }, { issuedAt: '2026-01-05T12:10:00.000Z' })
      .thenRecorded([{ type: 'task.resumed', data: { resumedAt: '2026-01-05T12:10:00.000Z' } }]);
    expect(after.state).toBe('scheduled.active');
    expect(after.context).toMatchObject({ consecutiveFailures: 0, nextDueAt: DUE_4 });
    // one more failure does not suspend it again straight away
    const next = after.given(fired(DUE_4, RUN_4));
    next
      .when({ type: 'finishRun', runId: RUN_4, outcome: 'failed' })
      .thenRecorded([{ type: 'task.run_finished', data: { runId: RUN_4, dueAt: DUE_4, outcome: 'failed', detail: null, finishedAt: T0 } }]);
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

describe('task: where its answers go', () => {
  const changed = (deliver: string): GivenEvent => ({ type: 'task.deliver_changed', data: { deliver, changedAt: T0 } });

  it('changes its delivery while scheduled, active, paused or with a run in flight, and the change is what it delivers by', () => {
    task().given(scheduled()).when({ type: 'setDeliver', deliver: 'silent' }).thenRecorded([changed('silent')]);
    task().given(scheduled(), paused).when({ type: 'setDeliver', deliver: 'silent' }).thenRecorded([changed('silent')]);
    const inFlight = task().given(scheduled(), fired(DUE_1, RUN_1), changed('silent'));
    expect((inFlight.context as TaskContext).definition?.deliver).toBe('silent');
    expect((inFlight.context as TaskContext).runInFlight?.runId).toBe(RUN_1);
    inFlight.when({ type: 'setDeliver', deliver: 'group' }).thenRecorded([changed('group')]);
  });

  it('refuses a change to what it already does, and any change once unscheduled, completed or cancelled', () => {
    task().given(scheduled()).when({ type: 'setDeliver', deliver: 'group' }).thenRejected(/already go to its group/);
    task().given(scheduled({ deliver: 'silent' })).when({ type: 'setDeliver', deliver: 'silent' }).thenRejected(/already go nowhere \(silent\)/);
    task().when({ type: 'setDeliver', deliver: 'silent' }).thenRejected(/not scheduled/);
    task().given(scheduled(), cancelled).when({ type: 'setDeliver', deliver: 'silent' }).thenRejected(/cancelled/);
    task().given(scheduledOnce, fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), completed(RUN_1)).when({ type: 'setDeliver', deliver: 'silent' }).thenRejected(/completed/);
  });
});

describe('task: pending effects after a restart', () => {
  const pending = (...history: GivenEvent[]) => taskKind.pendingEffects!(task().given(...history).snapshot as never);

  const reconcileRun = (runId: string) => ({ type: 'reconcileRun', params: { taskId: '42', runId, groupId: 'T1.C1' } });

  it('a fired task whose run has not reported asks for the same run again, and reads it in case it ended while its report was lost', () => {
    expect(pending(scheduled(), fired(DUE_1, RUN_1))).toEqual([requestTaskRun(RUN_1, DUE_1), reconcileRun(RUN_1)]);
    expect(pending(scheduled(), fired(DUE_1, RUN_1), skipped(DUE_2, 'run_in_flight'))).toEqual([requestTaskRun(RUN_1, DUE_1), reconcileRun(RUN_1)]);
  });

  it('a paused task whose run fired before the pause still asks for it', () => {
    expect(pending(scheduled(), fired(DUE_1, RUN_1), paused)).toEqual([requestTaskRun(RUN_1, DUE_1), reconcileRun(RUN_1)]);
  });

  it('nothing is pending once the run finished, before scheduling, after a skip, or after cancelling', () => {
    expect(pending()).toEqual([]);
    expect(pending(scheduled())).toEqual([]);
    expect(pending(scheduled(), skipped(DUE_1))).toEqual([]);
    expect(pending(scheduled(), fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'))).toEqual([]);
    expect(pending(scheduled(), fired(DUE_1, RUN_1), cancelled)).toEqual([]);
    expect(pending(scheduled(), ...threeFailures)).toEqual([]);
    expect(pending(scheduledOnce, fired(DUE_1, RUN_1), finished(RUN_1, DUE_1, 'succeeded'), completed(RUN_1))).toEqual([]);
  });
});

describe('task: streams stored before the v2 events', () => {
  const catalogue = new EventCatalogue(taskEvents);
  const decoded = (type: string, version: number, data: unknown) =>
    catalogue.decode(
      {
        id: '7d444840-9dc0-11d1-b245-5ffdce74fad2',
        type,
        version,
        dataJson: JSON.stringify(data),
        metadataJson: JSON.stringify({ actor: 'runtime', causationId: null, correlationId: 'c-1', occurredAt: T0 }),
        streamId: 'task-42',
        revision: 0n,
        position: 1n,
        recordedAt: T0,
        prevHash: GENESIS_HASH,
        hashVersion: 2,
        hash: GENESIS_HASH,
      },
      true,
    ).data;

  it('reads a v1 task.scheduled as catch-up fire_once with no gate, and a v1 task.fired as neither missed nor gated', () => {
    const { catchUp: _catchUp, gate: _gate, deliver: _deliver, ...v1 } = scheduledData;
    expect(decoded('task.scheduled', 1, v1)).toEqual(scheduledData);
    expect(decoded('task.fired', 1, { dueAt: DUE_1, runId: RUN_1, firedAt: T0 })).toEqual(fired(DUE_1, RUN_1).data);
  });

  it('reads a v2 task.scheduled (before deliver) as delivering to the group, and keeps a v3 silent task silent', () => {
    const { deliver: _deliver, ...v2 } = scheduledData;
    expect(decoded('task.scheduled', 2, { ...v2, gate: { kind: 'heartbeat' } })).toEqual({ ...scheduledData, gate: { kind: 'heartbeat' }, deliver: 'group' });
    expect(decoded('task.scheduled', 3, { ...scheduledData, deliver: 'silent' })).toMatchObject({ deliver: 'silent' });
    expect(() => decoded('task.scheduled', 3, { ...scheduledData, deliver: 'dm' })).toThrow(/deliver/);
  });

  it('reads a v1 task.completed unchanged, and v2 allows a completion without a run', () => {
    expect(decoded('task.completed', 1, { lastRunId: RUN_1, completedAt: T0 })).toEqual({ lastRunId: RUN_1, completedAt: T0 });
    expect(decoded('task.completed', 2, { lastRunId: null, completedAt: T0 })).toEqual({ lastRunId: null, completedAt: T0 });
    expect(() => decoded('task.completed', 1, { lastRunId: null, completedAt: T0 })).toThrow();
  });
});

describe('task: folding is total and pure', () => {
  it('replaying the same history twice gives the same state and effects', () => {
    const history = [scheduled(), fired(DUE_1, RUN_1), paused, finished(RUN_1, DUE_1, 'failed'), resumedAt(DUE_2), fired(DUE_3, RUN_3), skipped(DUE_4, 'run_in_flight'), cancelled];
    const first = task().given(...history);
    const second = task().given(...history);
    expect(second.context).toEqual(first.context);
    expect(second.state).toBe('cancelled');
    expect(second.effects).toEqual(first.effects);
    expect(JSON.parse(JSON.stringify(first.context))).toEqual(first.context);
  });
});
