/**
 * The due times of every active task, earliest first: a binary min-heap with an index from
 * task id to its slot, so a task's time is set, moved or removed in O(log n) and the clock
 * only ever looks at the top. Ties are broken by task id, so the order is the same on every
 * run (and in tests).
 */

export interface DueEntry {
  readonly taskId: string;
  /** The due time the task's state names (ISO), which is what a fire must name. */
  readonly dueAt: string;
  /** When to act on it (ms since the epoch): the due time, or later after a failed attempt. */
  readonly atMs: number;
}

export class DueHeap {
  private readonly entries: DueEntry[] = [];
  private readonly slots = new Map<string, number>();

  get size(): number {
    return this.entries.length;
  }

  peek(): DueEntry | undefined {
    return this.entries[0];
  }

  get(taskId: string): DueEntry | undefined {
    const slot = this.slots.get(taskId);
    return slot === undefined ? undefined : this.entries[slot];
  }

  /** Adds the task, or moves it to its new time. */
  set(entry: DueEntry): void {
    const slot = this.slots.get(entry.taskId);
    if (slot === undefined) {
      this.entries.push(entry);
      this.slots.set(entry.taskId, this.entries.length - 1);
      this.up(this.entries.length - 1);
      return;
    }
    this.entries[slot] = entry;
    this.down(this.up(slot));
  }

  delete(taskId: string): boolean {
    const slot = this.slots.get(taskId);
    if (slot === undefined) return false;
    const last = this.entries.pop()!;
    this.slots.delete(taskId);
    if (slot < this.entries.length) {
      this.entries[slot] = last;
      this.slots.set(last.taskId, slot);
      this.down(this.up(slot));
    }
    return true;
  }

  /** Removes and returns every entry due at or before `nowMs`, earliest first. */
  popDue(nowMs: number): DueEntry[] {
    const due: DueEntry[] = [];
    for (let top = this.peek(); top !== undefined && top.atMs <= nowMs; top = this.peek()) {
      due.push(top);
      this.delete(top.taskId);
    }
    return due;
  }

  private before(a: DueEntry, b: DueEntry): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.taskId < b.taskId);
  }

  private swap(i: number, j: number): void {
    const a = this.entries[i]!;
    const b = this.entries[j]!;
    this.entries[i] = b;
    this.entries[j] = a;
    this.slots.set(b.taskId, i);
    this.slots.set(a.taskId, j);
  }

  /** Moves the entry at `slot` towards the top while it is earlier than its parent; returns where it ends. */
  private up(slot: number): number {
    let at = slot;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(this.entries[at]!, this.entries[parent]!)) break;
      this.swap(at, parent);
      at = parent;
    }
    return at;
  }

  private down(slot: number): void {
    let at = slot;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let earliest = at;
      if (left < this.entries.length && this.before(this.entries[left]!, this.entries[earliest]!)) earliest = left;
      if (right < this.entries.length && this.before(this.entries[right]!, this.entries[earliest]!)) earliest = right;
      if (earliest === at) return;
      this.swap(at, earliest);
      at = earliest;
    }
  }
}
