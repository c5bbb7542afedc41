import { describe, expect, it } from 'vitest';
import { DueHeap, type DueEntry } from '../../../runtime/scheduler/due-heap.js';

const at = (taskId: string, atMs: number): DueEntry => ({ taskId, dueAt: new Date(atMs).toISOString(), atMs });

/** A deterministic pseudo-random sequence, so a failure reproduces. */
function* randoms(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    yield state / 2 ** 32;
  }
}

describe('the due heap', () => {
  it('hands out entries earliest first, ties by task id', () => {
    const heap = new DueHeap();
    heap.set(at('b', 20));
    heap.set(at('c', 10));
    heap.set(at('a', 20));
    heap.set(at('d', 5));
    expect(heap.popDue(100).map((entry) => entry.taskId)).toEqual(['d', 'c', 'a', 'b']);
    expect(heap.size).toBe(0);
  });

  it('pops only what is due by the time given', () => {
    const heap = new DueHeap();
    heap.set(at('late', 50));
    heap.set(at('early', 10));
    expect(heap.popDue(49).map((entry) => entry.taskId)).toEqual(['early']);
    expect(heap.peek()?.taskId).toBe('late');
  });

  it('moves a task when its time is set again instead of holding it twice', () => {
    const heap = new DueHeap();
    heap.set(at('a', 10));
    heap.set(at('b', 20));
    heap.set(at('a', 30));
    expect(heap.size).toBe(2);
    expect(heap.get('a')?.atMs).toBe(30);
    expect(heap.popDue(100).map((entry) => entry.taskId)).toEqual(['b', 'a']);
  });

  it('forgets a deleted task', () => {
    const heap = new DueHeap();
    heap.set(at('a', 10));
    heap.set(at('b', 20));
    expect(heap.delete('a')).toBe(true);
    expect(heap.delete('a')).toBe(false);
    expect(heap.get('a')).toBeUndefined();
    expect(heap.popDue(100).map((entry) => entry.taskId)).toEqual(['b']);
  });

  it('stays ordered through thousands of random sets and deletes', () => {
    const heap = new DueHeap();
    const expected = new Map<string, number>();
    const random = randoms(42);
    for (let step = 0; step < 5_000; step += 1) {
      const taskId = `t${Math.floor(random.next().value! * 500)}`;
      if (random.next().value! < 0.2) {
        heap.delete(taskId);
        expected.delete(taskId);
      } else {
        const atMs = Math.floor(random.next().value! * 1_000_000);
        heap.set(at(taskId, atMs));
        expected.set(taskId, atMs);
      }
    }
    const popped = heap.popDue(Number.MAX_SAFE_INTEGER);
    const want = [...expected.entries()].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1)).map(([taskId]) => taskId);
    expect(popped.map((entry) => entry.taskId)).toEqual(want);
  });
});
