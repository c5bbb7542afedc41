/**
 * What a task's schedule means: whether it is valid, and when it is next due. Pure
 * functions of the schedule and the times given (never the clock), so the task actor, the
 * tasks projection and the scheduler's clock compute the same due times from the same
 * events, and a replay computes them again.
 *
 * - cron: five fields (minute precision) or six (seconds first), read in the task's IANA
 *   time zone, through croner. Daylight-saving gaps and repeats are croner's to resolve.
 * - interval: every `everyMs`, anchored to the previous due time (not to when the last run
 *   ended), the first one `everyMs` after the task was scheduled.
 * - once: at `at`; after it, never again.
 */
import { Cron } from 'croner';
import type { TaskSchedule } from '../events/catalogue/task.js';

/** A problem with a schedule, naming the field (`schedule.expression`, `schedule.at`, ...). */
export interface ScheduleIssue {
  readonly field: string;
  readonly message: string;
}

/** Shortest interval a task may have: anything faster is a loop, not a schedule. */
export const MIN_INTERVAL_MS = 1_000;

/** croner `Cron`s are pure once paused; parsing one per call would dominate a 10,000-task clock. */
const parsedCrons = new Map<string, Cron>();
const PARSED_CRON_LIMIT = 10_000;

function cronOf(expression: string, timezone: string): Cron {
  const key = `${timezone}\u0000${expression}`;
  let cron = parsedCrons.get(key);
  if (!cron) {
    // legacyMode: day-of-month and day-of-week are OR-ed, as in Vixie cron and crontab(5).
    cron = new Cron(expression, { timezone, paused: true, legacyMode: true });
    if (parsedCrons.size >= PARSED_CRON_LIMIT) parsedCrons.clear();
    parsedCrons.set(key, cron);
  }
  return cron;
}

/** Zone names already checked: building an Intl.DateTimeFormat costs far more than the lookup. */
const checkedTimezones = new Map<string, boolean>();

function isKnownTimezone(timezone: string): boolean {
  let known = checkedTimezones.get(timezone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
      known = true;
    } catch {
      known = false;
    }
    if (checkedTimezones.size >= PARSED_CRON_LIMIT) checkedTimezones.clear();
    checkedTimezones.set(timezone, known);
  }
  return known;
}

/**
 * What is wrong with a schedule, given when it is being scheduled (`now`, ISO); empty when
 * nothing is. The shape (field types) is the catalogue's schema's to check; this checks
 * the meaning: a cron expression that parses and fires, a time zone that exists, an
 * interval of at least a second, a once-time in the future.
 */
export function scheduleIssues(schedule: TaskSchedule, now: string): ScheduleIssue[] {
  switch (schedule.kind) {
    case 'cron': {
      if (!isKnownTimezone(schedule.timezone)) {
        return [{ field: 'schedule.timezone', message: `unknown IANA time zone '${schedule.timezone}' (for example Europe/Paris, America/New_York, UTC)` }];
      }
      let cron: Cron;
      try {
        cron = cronOf(schedule.expression, schedule.timezone);
      } catch (error) {
        return [{ field: 'schedule.expression', message: `'${schedule.expression}' is not a valid cron expression: ${(error as Error).message}` }];
      }
      if (cron.nextRun(new Date(now)) === null) {
        return [{ field: 'schedule.expression', message: `'${schedule.expression}' never fires after ${now}` }];
      }
      return [];
    }
    case 'interval':
      return schedule.everyMs < MIN_INTERVAL_MS
        ? [{ field: 'schedule.everyMs', message: `an interval must be at least ${MIN_INTERVAL_MS} ms, got ${schedule.everyMs}` }]
        : [];
    case 'once':
      return Date.parse(schedule.at) <= Date.parse(now)
        ? [{ field: 'schedule.at', message: `${schedule.at} is not in the future (now is ${now}); a once task must be due later` }]
        : [];
  }
}

/** The first due time of a task scheduled at `scheduledAt` (ISO), or null if it has none. */
export function firstDueAt(schedule: TaskSchedule, scheduledAt: string): string | null {
  switch (schedule.kind) {
    case 'cron':
      return cronNextAfter(schedule, scheduledAt);
    case 'interval':
      return new Date(Date.parse(scheduledAt) + schedule.everyMs).toISOString();
    case 'once':
      return Date.parse(schedule.at) > Date.parse(scheduledAt) ? new Date(schedule.at).toISOString() : null;
  }
}

/** The due time after `dueAt` (the last one decided), or null when there is none (once). */
export function dueAfter(schedule: TaskSchedule, dueAt: string): string | null {
  switch (schedule.kind) {
    case 'cron':
      return cronNextAfter(schedule, dueAt);
    case 'interval':
      return new Date(Date.parse(dueAt) + schedule.everyMs).toISOString();
    case 'once':
      return null;
  }
}

/**
 * The first due time strictly after `time`, on the schedule's grid: for an interval, the
 * grid anchored at `anchor` (a due time of the task); for cron, the next match; for once,
 * its time if still ahead. Used when a paused task resumes.
 */
export function dueAfterTime(schedule: TaskSchedule, anchor: string, time: string): string | null {
  switch (schedule.kind) {
    case 'cron':
      return cronNextAfter(schedule, time);
    case 'interval': {
      const start = Date.parse(anchor);
      const at = Date.parse(time);
      const steps = at < start ? 0 : Math.floor((at - start) / schedule.everyMs) + 1;
      return new Date(start + steps * schedule.everyMs).toISOString();
    }
    case 'once':
      return Date.parse(schedule.at) > Date.parse(time) ? new Date(schedule.at).toISOString() : null;
  }
}

/**
 * The due times from `dueAt` (included) up to `now` (included): the last of them and how
 * many there are, counting at most `limit` (past that, the count says `limit`; the last is
 * still the true last, so a task that skips them is next due after `now`). Used to
 * collapse the fires missed while the runtime was down into one decision.
 */
export function missedDueTimes(schedule: TaskSchedule, dueAt: string, now: string, limit = 100_000): { last: string; count: number } {
  const nowMs = Date.parse(now);
  if (schedule.kind === 'interval') {
    const count = Math.floor((nowMs - Date.parse(dueAt)) / schedule.everyMs) + 1;
    if (count <= 1) return { last: dueAt, count: 1 };
    return { last: new Date(Date.parse(dueAt) + (count - 1) * schedule.everyMs).toISOString(), count: Math.min(count, limit) };
  }
  if (schedule.kind === 'once') return { last: dueAt, count: 1 };
  // The last is found directly (croner walks back from `now`), not by stepping there from
  // `dueAt`: an every-second cron down for a day is 86,400 steps of some 40 µs each.
  const last = cronLastAtOrBefore(schedule, now);
  if (last === null || Date.parse(last) <= Date.parse(dueAt)) return { last: dueAt, count: 1 };
  const lastMs = Date.parse(last);
  let count = 1;
  for (let next = dueAfter(schedule, dueAt); next !== null && Date.parse(next) <= lastMs && count < limit; next = dueAfter(schedule, next)) count += 1;
  return { last, count };
}

/** The last cron match at or before `time` (croner's previous runs are strictly before a whole second). */
function cronLastAtOrBefore(schedule: Extract<TaskSchedule, { kind: 'cron' }>, time: string): string | null {
  const reference = new Date(Math.floor(Date.parse(time) / 1_000) * 1_000 + 1_000);
  const [previous] = cronOf(schedule.expression, schedule.timezone).previousRuns(1, reference);
  return previous === undefined ? null : previous.toISOString();
}

function cronNextAfter(schedule: Extract<TaskSchedule, { kind: 'cron' }>, after: string): string | null {
  const next = cronOf(schedule.expression, schedule.timezone).nextRun(new Date(after));
  return next === null ? null : next.toISOString();
}

/**
 * The next due time of a task resumed at `resumedAt` (after a pause or a suspension): the
 * first on its grid after that moment, so time spent paused is not made up for; a once task
 * that never fired keeps its time even if it has passed (the clock then treats it as a
 * missed fire, under the task's catch-up policy). Never at or before the last due time
 * decided, even if the resume is stamped earlier than it (clocks disagree): a due time
 * comes up once.
 */
export function resumedDueAt(schedule: TaskSchedule, history: { readonly scheduledAt: string; readonly lastDueAt: string | null }, resumedAt: string): string | null {
  if (schedule.kind === 'once') return history.lastDueAt === null ? new Date(schedule.at).toISOString() : null;
  const anchor = history.lastDueAt ?? firstDueAt(schedule, history.scheduledAt);
  if (anchor === null) return null;
  const from = history.lastDueAt !== null && Date.parse(history.lastDueAt) > Date.parse(resumedAt) ? history.lastDueAt : resumedAt;
  return dueAfterTime(schedule, anchor, from);
}
