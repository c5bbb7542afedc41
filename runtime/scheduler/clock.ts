/**
 * One timer for every task: armed for the earliest entry of the due heap, re-armed whenever
 * the earliest changes. No polling loop: between due times the process does nothing, and a
 * fire is late only by the timer's own slack and the time it takes to start it.
 */
import { DueHeap, type DueEntry } from './due-heap.js';

/** setTimeout takes at most a signed 32-bit delay; a later top is re-armed in steps. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface ClockOptions {
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Called with every entry whose time has come, earliest first; they leave the heap. */
  readonly onDue: (entries: readonly DueEntry[]) => void;
}

export class Clock {
  private readonly heap = new DueHeap();
  private timer: NodeJS.Timeout | undefined;
  /** The time the timer is armed for, so a set that does not change the top leaves it be. */
  private armedFor: number | undefined;
  private running = false;

  constructor(private readonly options: ClockOptions) {}

  get size(): number {
    return this.heap.size;
  }

  get(taskId: string): DueEntry | undefined {
    return this.heap.get(taskId);
  }

  start(): void {
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.disarm();
  }

  /** The task is next due at `entry.dueAt` (acted on at `entry.atMs`). */
  set(entry: DueEntry): void {
    this.heap.set(entry);
    this.arm();
  }

  delete(taskId: string): void {
    if (this.heap.delete(taskId)) this.arm();
  }

  private arm(): void {
    if (!this.running) return;
    const top = this.heap.peek();
    if (top === undefined) {
      this.disarm();
      return;
    }
    if (this.timer !== undefined && this.armedFor === top.atMs) return;
    this.disarm();
    const delay = Math.min(Math.max(0, top.atMs - this.options.now()), MAX_TIMER_DELAY_MS);
    this.armedFor = top.atMs;
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    this.armedFor = undefined;
    if (!this.running) return;
    // A timer may wake a millisecond early by the wall clock, or far early after a capped
    // delay: whatever is not due yet simply re-arms.
    const due = this.heap.popDue(this.options.now());
    if (due.length > 0) this.options.onDue(due);
    this.arm();
  }
}
