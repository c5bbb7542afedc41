/**
 * `tasks add`'s flags as values: durations as people type them, the schedule and wake gate
 * they make, combinations that make no sense, and the actor's reasons reworded to name flags.
 */
import { describe, expect, it } from 'vitest';
import { durationSchema, formatDuration } from '../../../runtime/cli/durations.js';
import { UsageError } from '../../../runtime/cli/exit-codes.js';
import { flagsInReason, scheduleCommandOf } from '../../../runtime/cli/task-options.js';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['500ms', 500],
    ['1m30s250ms', 90_250],
    [' 2h ', 7_200_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(durationSchema.parse(text)).toBe(ms);
  });

  it.each(['5x', '5 minutes', '1.5h', 'h', '', '0s', '30m1h', '1h1h', '-5m'])('refuses %j', (text) => {
    expect(durationSchema.safeParse(text).success).toBe(false);
  });

  it.each([
    [450, '450 ms'],
    [1_234, '1.2 s'],
    [42_000, '42 s'],
    [184_000, '3 min 4 s'],
    [7_500_000, '2 h 5 min'],
    [90_000_000, '1 d 1 h'],
    [86_400_000, '1 d'],
  ])('prints %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('the schedule command', () => {
  const base = { group: 'T1.C1', prompt: 'Check the queue' };

  it('reads a cron expression in UTC unless a zone is given, with the defaults left to the actor', () => {
    expect(scheduleCommandOf({ ...base, cron: '0 9 * * *' })).toEqual({
      type: 'schedule',
      groupId: 'T1.C1',
      prompt: 'Check the queue',
      schedule: { kind: 'cron', expression: '0 9 * * *', timezone: 'UTC' },
      contextMode: 'group',
    });
    expect(scheduleCommandOf({ ...base, cron: '0 9 * * *', tz: 'Asia/Tokyo' }).schedule).toEqual({ kind: 'cron', expression: '0 9 * * *', timezone: 'Asia/Tokyo' });
  });

  it('carries the context mode, catch-up policy, failure limit and wake gate given', () => {
    expect(scheduleCommandOf({ ...base, every: 60_000, context: 'isolated', catchUp: 'skip', maxFailures: 7, gateScript: 'true' })).toMatchObject({
      schedule: { kind: 'interval', everyMs: 60_000 },
      contextMode: 'isolated',
      catchUp: 'skip',
      maxConsecutiveFailures: 7,
      gate: { kind: 'script', command: 'true', timeoutMs: 30_000 },
    });
    expect(scheduleCommandOf({ ...base, at: '2099-01-01T00:00:00.000Z', gateNewMessages: 'T1.C2' })).toMatchObject({
      schedule: { kind: 'once', at: '2099-01-01T00:00:00.000Z' },
      gate: { kind: 'new_messages', groupId: 'T1.C2' },
    });
    expect(scheduleCommandOf({ ...base, every: 1_000, gateHeartbeat: true }).gate).toEqual({ kind: 'heartbeat' });
  });

  it.each([
    [{}, /exactly one of --cron, --every or --at$/],
    [{ cron: '* * * * *', at: '2099-01-01T00:00:00.000Z' }, /\(got --cron and --at\)/],
    [{ every: 1_000, tz: 'UTC' }, /--tz goes with --cron/],
    [{ every: 1_000, gateTimeout: 1_000 }, /--gate-timeout goes with --gate-script/],
    [{ every: 1_000, gateScript: 'true', gateHeartbeat: true }, /--gate-script and --gate-heartbeat cannot go together/],
  ])('refuses %j as a usage error', (options, message) => {
    expect(() => scheduleCommandOf({ ...base, ...options })).toThrow(UsageError);
    expect(() => scheduleCommandOf({ ...base, ...options })).toThrow(message);
  });
});

describe("the actor's reasons", () => {
  it('name the flag a field came from', () => {
    expect(flagsInReason("schedule.timezone: unknown IANA time zone 'X/Y'")).toBe("--tz: unknown IANA time zone 'X/Y'");
    expect(flagsInReason('schedule.expression: bad; schedule.everyMs: too short')).toBe('--cron: bad; --every: too short');
    expect(flagsInReason('gate.timeoutMs: too long')).toBe('--gate-timeout: too long');
  });

  it('are left alone when they name no field', () => {
    expect(flagsInReason('the task is already scheduled; a task is scheduled once')).toBeNull();
  });
});
