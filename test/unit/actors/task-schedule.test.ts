/**
 * What a task's schedule means: its issues, naming the field, and its due times for cron
 * (five and six fields, in an IANA zone, across daylight-saving changes), intervals
 * (anchored to the previous due time) and once tasks; missed due times and resumes.
 */
import { describe, expect, it } from 'vitest';
import { dueAfter, dueAfterTime, firstDueAt, MIN_INTERVAL_MS, missedDueTimes, resumedDueAt, scheduleIssues } from '../../../actors/task-schedule.js';
import type { TaskSchedule } from '../../../events/catalogue/task.js';

const NOW = '2026-01-05T09:00:00.000Z';
const cron = (expression: string, timezone = 'UTC'): TaskSchedule => ({ kind: 'cron', expression, timezone });
const every = (everyMs: number): TaskSchedule => ({ kind: 'interval', everyMs });
const once = (at: string): TaskSchedule => ({ kind: 'once', at });
const HOUR = 3_600_000;

/** The first `n` due times after `from`, each from the one before. */
function dueTimesAfter(schedule: TaskSchedule, from: string, n: number): (string | null)[] {
  const times: (string | null)[] = [];
  let last: string | null = from;
  for (let i = 0; i < n && last !== null; i += 1) {
    last = dueAfter(schedule, last);
    times.push(last);
  }
  return times;
}

describe('scheduleIssues', () => {
  it('finds nothing wrong with a valid cron, interval or once schedule', () => {
    expect(scheduleIssues(cron('0 9 * * 1-5', 'Europe/Paris'), NOW)).toEqual([]);
    expect(scheduleIssues(cron('*/10 * * * * *', 'America/Argentina/Buenos_Aires'), NOW)).toEqual([]);
    expect(scheduleIssues(every(MIN_INTERVAL_MS), NOW)).toEqual([]);
    expect(scheduleIssues(once('2026-01-05T09:00:00.001Z'), NOW)).toEqual([]);
  });

  it('names schedule.timezone for a zone that does not exist', () => {
    expect(scheduleIssues(cron('0 9 * * *', 'Mars/Olympus'), NOW)).toEqual([
      { field: 'schedule.timezone', message: "unknown IANA time zone 'Mars/Olympus' (for example Europe/Paris, America/New_York, UTC)" },
    ]);
  });

  it('names schedule.expression for a cron expression croner cannot read', () => {
    const issues = scheduleIssues(cron('0 25 * * *'), NOW);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ field: 'schedule.expression' });
    expect(issues[0]?.message).toMatch(/^'0 25 \* \* \*' is not a valid cron expression: /);
  });

  it('names schedule.expression for a cron expression that never fires', () => {
    expect(scheduleIssues(cron('0 9 30 2 *'), NOW)).toEqual([{ field: 'schedule.expression', message: `'0 9 30 2 *' never fires after ${NOW}` }]);
  });

  it('names schedule.everyMs for an interval under a second', () => {
    expect(scheduleIssues(every(MIN_INTERVAL_MS - 1), NOW)).toEqual([{ field: 'schedule.everyMs', message: 'an interval must be at least 1000 ms, got 999' }]);
  });

  it('names schedule.at for a once time that is not in the future', () => {
    expect(scheduleIssues(once(NOW), NOW)).toEqual([
      { field: 'schedule.at', message: `${NOW} is not in the future (now is ${NOW}); a once task must be due later` },
    ]);
    expect(scheduleIssues(once('2025-12-31T23:00:00Z'), NOW).map((issue) => issue.field)).toEqual(['schedule.at']);
  });
});

describe('cron schedules', () => {
  it('five fields: due at the next match strictly after the time given, to the minute', () => {
    expect(firstDueAt(cron('0 9 * * *'), NOW)).toBe('2026-01-06T09:00:00.000Z');
    expect(firstDueAt(cron('0 9 * * *'), '2026-01-05T08:59:59.999Z')).toBe(NOW);
    expect(dueAfter(cron('0 9 * * *'), NOW)).toBe('2026-01-06T09:00:00.000Z');
    expect(dueTimesAfter(cron('*/20 * * * *'), NOW, 3)).toEqual(['2026-01-05T09:20:00.000Z', '2026-01-05T09:40:00.000Z', '2026-01-05T10:00:00.000Z']);
  });

  it('six fields: the first is seconds', () => {
    expect(dueTimesAfter(cron('*/15 * * * * *'), NOW, 3)).toEqual(['2026-01-05T09:00:15.000Z', '2026-01-05T09:00:30.000Z', '2026-01-05T09:00:45.000Z']);
    expect(firstDueAt(cron('30 0 9 * * *'), NOW)).toBe('2026-01-05T09:00:30.000Z');
  });

  it('day of month and day of week are OR-ed, as in crontab(5)', () => {
    // The 1st of the month or a Monday: Monday 2026-01-05 is due although it is not the 1st.
    expect(firstDueAt(cron('0 12 1 * 1'), NOW)).toBe('2026-01-05T12:00:00.000Z');
  });

  it('reads the expression in its time zone: 09:00 Paris is 08:00 UTC in winter and 07:00 UTC in summer', () => {
    expect(dueTimesAfter(cron('0 9 * * *', 'Europe/Paris'), '2026-03-27T12:00:00.000Z', 3)).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    expect(dueTimesAfter(cron('0 9 * * *', 'Europe/Paris'), '2026-10-23T12:00:00.000Z', 3)).toEqual([
      '2026-10-24T07:00:00.000Z',
      '2026-10-25T08:00:00.000Z',
      '2026-10-26T08:00:00.000Z',
    ]);
  });

  it('a time in the hour summer time skips is due once, at the end of the gap', () => {
    // 2026-03-29 02:30 Paris does not exist (02:00 CET is 03:00 CEST): due at 03:00 CEST.
    expect(dueTimesAfter(cron('30 2 * * *', 'Europe/Paris'), '2026-03-27T12:00:00.000Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('a time in the hour that repeats when summer time ends is due once', () => {
    // 2026-10-25 02:30 Paris happens twice (CEST, then CET): due at the first only.
    expect(dueTimesAfter(cron('30 2 * * *', 'Europe/Paris'), '2026-10-23T12:00:00.000Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });
});

describe('interval schedules', () => {
  it('are first due one period after they were scheduled, then one period after each due time', () => {
    expect(firstDueAt(every(HOUR), NOW)).toBe('2026-01-05T10:00:00.000Z');
    expect(dueTimesAfter(every(HOUR), '2026-01-05T10:00:00.000Z', 2)).toEqual(['2026-01-05T11:00:00.000Z', '2026-01-05T12:00:00.000Z']);
  });

  it('are anchored to the previous due time, so a late firing does not push the next one back', () => {
    // Whenever the 10:00 due time actually fired, the next is 11:00.
    expect(dueAfter(every(HOUR), '2026-01-05T10:00:00.000Z')).toBe('2026-01-05T11:00:00.000Z');
    expect(dueAfter(every(HOUR), '2026-01-05T10:00:00Z')).toBe('2026-01-05T11:00:00.000Z');
  });
});

describe('once schedules', () => {
  it('are due at their time if it is ahead, and never after it', () => {
    expect(firstDueAt(once('2026-01-05T12:00:00Z'), NOW)).toBe('2026-01-05T12:00:00.000Z');
    expect(firstDueAt(once('2026-01-05T08:00:00Z'), NOW)).toBeNull();
    expect(dueAfter(once('2026-01-05T12:00:00Z'), '2026-01-05T12:00:00.000Z')).toBeNull();
  });
});

describe('dueAfterTime', () => {
  it('an interval: the first point of the grid through the anchor strictly after the time', () => {
    const anchor = '2026-01-05T09:45:00.000Z';
    const every45 = every(45 * 60_000);
    expect(dueAfterTime(every45, anchor, '2026-01-05T13:20:00.000Z')).toBe('2026-01-05T13:30:00.000Z');
    expect(dueAfterTime(every45, anchor, '2026-01-05T13:30:00.000Z')).toBe('2026-01-05T14:15:00.000Z');
    expect(dueAfterTime(every45, anchor, '2026-01-05T09:00:00.000Z')).toBe(anchor);
  });

  it('a cron: its next match after the time; a once: its time while it is ahead', () => {
    expect(dueAfterTime(cron('0 * * * *'), '2026-01-05T09:00:00.000Z', '2026-01-05T13:20:00.000Z')).toBe('2026-01-05T14:00:00.000Z');
    expect(dueAfterTime(once('2026-01-05T12:00:00Z'), NOW, '2026-01-05T11:00:00.000Z')).toBe('2026-01-05T12:00:00.000Z');
    expect(dueAfterTime(once('2026-01-05T12:00:00Z'), NOW, '2026-01-05T12:00:00.000Z')).toBeNull();
  });
});

describe('missedDueTimes', () => {
  it('an interval: the last due time up to now included, and how many there were', () => {
    expect(missedDueTimes(every(HOUR), '2026-01-05T10:00:00.000Z', '2026-01-05T13:30:00.000Z')).toEqual({ last: '2026-01-05T13:00:00.000Z', count: 4 });
    expect(missedDueTimes(every(HOUR), '2026-01-05T10:00:00.000Z', '2026-01-05T13:00:00.000Z')).toEqual({ last: '2026-01-05T13:00:00.000Z', count: 4 });
  });

  it('a due time not yet passed, or just passed, is one', () => {
    expect(missedDueTimes(every(HOUR), '2026-01-05T10:00:00.000Z', '2026-01-05T10:59:59.999Z')).toEqual({ last: '2026-01-05T10:00:00.000Z', count: 1 });
    expect(missedDueTimes(every(HOUR), '2026-01-05T10:00:00.000Z', '2026-01-05T09:00:00.000Z')).toEqual({ last: '2026-01-05T10:00:00.000Z', count: 1 });
    expect(missedDueTimes(cron('0 * * * *'), '2026-01-05T10:00:00.000Z', '2026-01-05T10:30:00.000Z')).toEqual({ last: '2026-01-05T10:00:00.000Z', count: 1 });
    expect(missedDueTimes(once('2026-01-05T10:00:00Z'), '2026-01-05T10:00:00.000Z', '2026-01-06T00:00:00.000Z')).toEqual({ last: '2026-01-05T10:00:00.000Z', count: 1 });
  });

  it('a cron: the last match up to now included, in its time zone', () => {
    expect(missedDueTimes(cron('0 * * * *', 'Europe/Paris'), '2026-01-05T10:00:00.000Z', '2026-01-05T13:30:00.000Z')).toEqual({ last: '2026-01-05T13:00:00.000Z', count: 4 });
    expect(missedDueTimes(cron('0 * * * *'), '2026-01-05T10:00:00.000Z', '2026-01-05T13:00:00.000Z')).toEqual({ last: '2026-01-05T13:00:00.000Z', count: 4 });
    // Weekdays at 09:00 Paris, down from Friday to Tuesday 10:00: Friday, Monday, Tuesday.
    expect(missedDueTimes(cron('0 9 * * 1-5', 'Europe/Paris'), '2026-01-09T08:00:00.000Z', '2026-01-13T09:00:00.000Z')).toEqual({
      last: '2026-01-13T08:00:00.000Z',
      count: 3,
    });
  });

  it('counts at most the limit, yet gives the true last due time', () => {
    expect(missedDueTimes(every(HOUR), '2026-01-05T10:00:00.000Z', '2026-01-06T10:00:00.000Z', 5)).toEqual({ last: '2026-01-06T10:00:00.000Z', count: 5 });
    expect(missedDueTimes(cron('0 * * * *'), '2026-01-05T10:00:00.000Z', '2026-01-06T10:00:00.000Z', 5)).toEqual({ last: '2026-01-06T10:00:00.000Z', count: 5 });
  });

  it('finds the last of a long outage of an every-second cron without stepping to it', () => {
    const began = performance.now();
    expect(missedDueTimes(cron('* * * * * *'), '2026-01-01T00:00:00.000Z', '2026-01-03T00:00:00.500Z', 10)).toEqual({ last: '2026-01-03T00:00:00.000Z', count: 10 });
    expect(performance.now() - began).toBeLessThan(1_000);
  });
});

describe('resumedDueAt', () => {
  const SCHEDULED = NOW;

  it('a cron: its first match after the resume; the due times while paused are not made up for', () => {
    expect(resumedDueAt(cron('0 * * * *'), { scheduledAt: SCHEDULED, lastDueAt: '2026-01-05T10:00:00.000Z' }, '2026-01-05T13:20:00.000Z')).toBe(
      '2026-01-05T14:00:00.000Z',
    );
  });

  it('an interval: the first point after the resume on the grid through its due times', () => {
    const every45 = every(45 * 60_000);
    expect(resumedDueAt(every45, { scheduledAt: SCHEDULED, lastDueAt: '2026-01-05T09:45:00.000Z' }, '2026-01-05T13:20:00.000Z')).toBe('2026-01-05T13:30:00.000Z');
    // Never fired: the grid starts at the first due time, one period after it was scheduled.
    expect(resumedDueAt(every45, { scheduledAt: SCHEDULED, lastDueAt: null }, '2026-01-05T09:30:00.000Z')).toBe('2026-01-05T09:45:00.000Z');
    expect(resumedDueAt(every45, { scheduledAt: SCHEDULED, lastDueAt: null }, '2026-01-05T10:00:00.000Z')).toBe('2026-01-05T10:30:00.000Z');
  });

  it('a once task that never fired keeps its time, even past; one that fired is due no more', () => {
    expect(resumedDueAt(once('2026-01-05T10:00:00Z'), { scheduledAt: SCHEDULED, lastDueAt: null }, '2026-01-05T15:00:00.000Z')).toBe('2026-01-05T10:00:00.000Z');
    expect(resumedDueAt(once('2026-01-05T10:00:00Z'), { scheduledAt: SCHEDULED, lastDueAt: '2026-01-05T10:00:00.000Z' }, '2026-01-05T09:30:00.000Z')).toBeNull();
  });

  it('is never at or before the last due time, even for a resume stamped earlier', () => {
    const history = { scheduledAt: SCHEDULED, lastDueAt: '2026-01-05T12:00:00.000Z' };
    expect(resumedDueAt(cron('0 * * * *'), history, '2026-01-05T10:30:00.000Z')).toBe('2026-01-05T13:00:00.000Z');
    expect(resumedDueAt(every(HOUR), history, '2026-01-05T10:30:00.000Z')).toBe('2026-01-05T13:00:00.000Z');
  });
});
