import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Clock } from '../../../runtime/scheduler/clock.js';
import type { DueEntry } from '../../../runtime/scheduler/due-heap.js';

const entry = (taskId: string, atMs: number): DueEntry => ({ taskId, dueAt: new Date(atMs).toISOString(), atMs });

describe('the clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function clockRecording(): { clock: Clock; fired: Array<{ taskId: string; atNow: number }> } {
    const fired: Array<{ taskId: string; atNow: number }> = [];
    const clock = new Clock({ now: () => Date.now(), onDue: (entries) => entries.forEach((due) => fired.push({ taskId: due.taskId, atNow: Date.now() })) });
    return { clock, fired };
  }

  it('fires each entry at its time, with one timer and no polling', () => {
    const { clock, fired } = clockRecording();
    clock.set(entry('b', 1_000_300));
    clock.set(entry('a', 1_000_100));
    clock.start();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([{ taskId: 'a', atNow: 1_000_100 }]);
    vi.advanceTimersByTime(200);
    expect(fired).toEqual([
      { taskId: 'a', atNow: 1_000_100 },
      { taskId: 'b', atNow: 1_000_300 },
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('re-arms for an earlier entry set while it waits', () => {
    const { clock, fired } = clockRecording();
    clock.start();
    clock.set(entry('later', 1_010_000));
    clock.set(entry('sooner', 1_000_050));
    vi.advanceTimersByTime(50);
    expect(fired.map((due) => due.taskId)).toEqual(['sooner']);
  });

  it('does not fire an entry deleted before its time', () => {
    const { clock, fired } = clockRecording();
    clock.start();
    clock.set(entry('a', 1_000_100));
    clock.delete('a');
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual([]);
  });

  it('fires an entry already past at once', () => {
    const { clock, fired } = clockRecording();
    clock.set(entry('overdue', 900_000));
    clock.start();
    vi.advanceTimersByTime(0);
    expect(fired).toEqual([{ taskId: 'overdue', atNow: 1_000_000 }]);
  });

  it('waits in steps for an entry further away than a timer can wait', () => {
    const { clock, fired } = clockRecording();
    const farAway = 1_000_000 + 40 * 86_400_000; // 40 days: past setTimeout's 24.8-day limit
    clock.set(entry('far', farAway));
    clock.start();
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10 * 86_400_000);
    expect(fired).toEqual([{ taskId: 'far', atNow: farAway }]);
  });

  it('fires nothing once stopped', () => {
    const { clock, fired } = clockRecording();
    clock.set(entry('a', 1_000_100));
    clock.start();
    clock.stop();
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
