/**
 * The scheduler: keeps every active task's next due time on the clock and, when one comes,
 * asks the task actor to decide it.
 *
 * - Due times come from the task actors' state (`nextDueAt`): at start from the tasks read
 *   model (one query, caught up to the store's head), then from each task event as it is
 *   stored (the actor's state after it). The clock never computes a schedule itself.
 * - Exactly one decision per due time: the `fire` command names the due time, the actor
 *   accepts only its `nextDueAt`, and the host appends with the revision it decided on.
 *   The command id is derived from the task and the due time, so a fire retried after a
 *   crash (appended or not) is stored at most once.
 * - A fire more than `missedAfterMs` past its due time was missed (the runtime was down, or
 *   stalled): the task's catch-up policy decides, in the same one event.
 * - A task with a wake gate has it checked first; the verdict goes into the fire, and the
 *   actor records a gated skip instead of asking for a run.
 */
import type { Subscription } from 'rxjs';
import type { TaskContext } from '../../actors/task.js';
import type { TaskGate } from '../../events/catalogue/task.js';
import type { EventStore } from '../../events/port.js';
import type { ActorHost, SendResult } from '../actor-host/actor-host.js';
import type { Logger } from '../logger.js';
import { Clock } from './clock.js';
import type { GateTask, GateVerdict } from './gates/gate.js';
import type { DueEntry } from './due-heap.js';

/** An active task's next due time, as the tasks read model has it. */
export interface ActiveTaskDue {
  readonly taskId: string;
  readonly nextDueAt: string;
}

/** How one due time went, for logs, metrics and the scheduler bench. */
export interface FireReport {
  readonly taskId: string;
  readonly dueAt: string;
  /** `fired`/`skipped`: the actor decided; `rejected`: it had decided already; `failed`: see the log, retried. */
  readonly decision: 'fired' | 'skipped' | 'rejected' | 'failed';
  /** When the fire got its slot and began, ms since the epoch. */
  readonly startedAtMs: number;
  /** How long the wake gate took (0 without one). */
  readonly gateMs: number;
  /** When the decision was stored (or refused), ms since the epoch. */
  readonly decidedAtMs: number;
  readonly missed: boolean;
  readonly gated: boolean;
}

/** What the scheduler reads tasks and sends them commands through: the actor host. */
export type TaskActors = Pick<ActorHost, 'load' | 'send'>;

export interface SchedulerOptions {
  readonly store: Pick<EventStore, 'headPosition' | 'subscribe'>;
  readonly actors: TaskActors;
  /** Every active task's next due time, read once the tasks read model has applied `position`. */
  readonly activeTasks: (position: bigint) => Promise<readonly ActiveTaskDue[]>;
  /** Checks a task's wake gate; without it, gated tasks wake every time. */
  readonly checkGate?: (gate: TaskGate, task: GateTask) => Promise<GateVerdict>;
  readonly missedAfterMs: number;
  readonly maxConcurrentFires: number;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly onFire?: (report: FireReport) => void;
}

/** A failed attempt is tried again after this long, doubling up to the cap. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** The id of the fire command for a due time: the same after any number of restarts. */
export function fireCommandId(taskId: string, dueAt: string): string {
  return `fire:${taskId}:${new Date(dueAt).toISOString()}`;
}

const TASK_STREAM_PREFIX = 'task-';

export class TaskScheduler {
  private readonly clock: Clock;
  private readonly now: () => number;
  /** Due entries waiting for a fire slot, earliest first, and the same by task. */
  private readonly waiting: DueEntry[] = [];
  private readonly waitingByTask = new Map<string, DueEntry>();
  /** Tasks with a fire under way; their state is tracked again once it is done. */
  private readonly firing = new Set<string>();
  private readonly retries = new Map<string, number>();
  private readonly fires = new Set<Promise<void>>();
  private subscription: Subscription | undefined;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.clock = new Clock({ now: this.now, onDue: (entries) => this.enqueue(entries) });
  }

  /** Tasks on the clock. */
  get size(): number {
    return this.clock.size;
  }

  /** Loads every active task's next due time and starts following task events; resolves when armed. */
  async start(): Promise<void> {
    const { store } = this.options;
    const position = await store.headPosition();
    for (const task of await this.options.activeTasks(position)) {
      this.clock.set({ taskId: task.taskId, dueAt: task.nextDueAt, atMs: Date.parse(task.nextDueAt) });
    }
    this.subscription = store.subscribe({ fromPosition: position, filter: { streamPrefixes: [TASK_STREAM_PREFIX] }, maxInFlight: 1_024 }).subscribe({
      next: (delivery) => {
        void this.track(delivery.event.streamId.slice(TASK_STREAM_PREFIX.length)).finally(() => delivery.ack());
      },
      error: (error: unknown) => this.options.logger.error({ err: error }, 'the scheduler stopped following task events; restart the runtime'),
    });
    this.clock.start();
    this.options.logger.info({ tasks: this.clock.size }, 'scheduler armed');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.stop();
    this.subscription?.unsubscribe();
    this.waiting.length = 0;
    this.waitingByTask.clear();
    await Promise.allSettled([...this.fires]);
  }

  /** Puts the task on the clock at the due time its actor names, or takes it off. */
  private async track(taskId: string): Promise<void> {
    if (this.stopped || this.firing.has(taskId)) return; // tracked once its fire is done
    try {
      const task = (await this.options.actors.load('task', taskId)).context;
      this.place(taskId, task.nextDueAt);
    } catch (error) {
      this.options.logger.error({ err: error, taskId }, 'could not read a task to schedule it');
    }
  }

  private place(taskId: string, nextDueAt: string | null): void {
    if (nextDueAt === null) {
      this.clock.delete(taskId);
      this.retries.delete(taskId);
      return;
    }
    const current = this.clock.get(taskId) ?? this.waitingByTask.get(taskId);
    if (current?.dueAt === nextDueAt) return; // already there (perhaps waiting to retry, or for a slot)
    this.retries.delete(taskId);
    this.clock.set({ taskId, dueAt: nextDueAt, atMs: Date.parse(nextDueAt) });
  }

  private enqueue(entries: readonly DueEntry[]): void {
    for (const entry of entries) {
      this.waiting.push(entry);
      this.waitingByTask.set(entry.taskId, entry);
    }
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.fires.size < this.options.maxConcurrentFires && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      if (this.waitingByTask.get(entry.taskId) === entry) this.waitingByTask.delete(entry.taskId);
      if (this.firing.has(entry.taskId)) continue; // its fire re-tracks it when done
      this.firing.add(entry.taskId);
      const fire = this.fire(entry).finally(() => {
        this.fires.delete(fire);
        this.firing.delete(entry.taskId);
        void this.track(entry.taskId);
        this.pump();
      });
      this.fires.add(fire);
    }
  }

  private async fire(entry: DueEntry): Promise<void> {
    const { taskId, dueAt } = entry;
    const timing = { startedAtMs: this.now(), gateMs: 0 };
    let missed = false;
    let gated = false;
    try {
      const task = (await this.options.actors.load('task', taskId)).context;
      if (task.nextDueAt !== dueAt || task.definition === null) return; // decided meanwhile; track() places it again
      missed = this.now() - Date.parse(dueAt) > this.options.missedAfterMs;
      const gateStarted = this.now();
      const verdict = await this.checkGate(task, missed);
      timing.gateMs = this.now() - gateStarted;
      gated = verdict !== undefined;
      const result = await this.options.actors.send(
        'task',
        taskId,
        { type: 'fire', dueAt, ...(missed ? { missed: true } : {}), ...(verdict ? { gate: { wake: verdict.wake, detail: verdict.detail } } : {}) },
        { commandId: fireCommandId(taskId, dueAt), actor: 'scheduler' },
      );
      this.retries.delete(taskId);
      this.report(entry, timing, decisionOf(result), missed, gated);
      if (result.status === 'rejected') this.options.logger.info({ taskId, dueAt, reason: result.reason }, 'the task did not take the fire');
    } catch (error) {
      this.report(entry, timing, 'failed', missed, gated);
      this.retryLater(entry, error);
    }
  }

  /** The gate's verdict, or undefined when the task has none (or a missed fire it will skip anyway). */
  private async checkGate(task: TaskContext, missed: boolean): Promise<GateVerdict | undefined> {
    const definition = task.definition!;
    if (definition.gate === null || !this.options.checkGate) return undefined;
    if (missed && definition.catchUp === 'skip') return undefined;
    return this.options.checkGate(definition.gate, {
      taskId: task.id,
      groupId: definition.groupId,
      lastDecidedAt: task.lastDueAt ?? definition.scheduledAt,
    });
  }

  private retryLater(entry: DueEntry, error: unknown): void {
    const delay = Math.min(RETRY_MAX_MS, (this.retries.get(entry.taskId) ?? RETRY_FIRST_MS / 2) * 2);
    this.retries.set(entry.taskId, delay);
    this.options.logger.warn({ err: error, taskId: entry.taskId, dueAt: entry.dueAt, retryInMs: delay }, 'firing a task failed; trying again');
    if (!this.stopped) this.clock.set({ ...entry, atMs: this.now() + delay });
  }

  private report(entry: DueEntry, timing: { startedAtMs: number; gateMs: number }, decision: FireReport['decision'], missed: boolean, gated: boolean): void {
    this.options.onFire?.({ taskId: entry.taskId, dueAt: entry.dueAt, decision, ...timing, decidedAtMs: this.now(), missed, gated });
  }
}

function decisionOf(result: SendResult): FireReport['decision'] {
  if (result.status === 'rejected') return 'rejected';
  return result.events.some((event) => event.type === 'task.fired') ? 'fired' : 'skipped';
}
