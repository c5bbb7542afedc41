/**
 * The executor of `approval.awaitExpiry`: a durable expiry on the scheduler's clock. The
 * timer lives in memory, and the approval owes `awaitExpiry` for as long as it is pending,
 * so every start arms it again from the stream: the expiry survives any restart, and one
 * that passed while the runtime was down fires as soon as it is armed.
 *
 * At `expiresAt` the timer sends the approval `expire` (command id `approval-expire:<id>`,
 * so however often it fires, one expiry is stored). A refusal of an approval decided
 * meanwhile is the end of it; one still pending (this process's clock ran ahead of the
 * actor host's) is tried again shortly.
 */
import type { EffectContext, EffectExecutorsFor } from '../actor-host/effects.js';
import type { Logger } from '../logger.js';
import { Clock } from '../scheduler/clock.js';
import type { DueEntry } from '../scheduler/due-heap.js';

/** How long after a refused or failed expiry of a still pending approval it is tried again. */
const RETRY_DELAY_MS = 1_000;

export interface ApprovalExpiryTimersOptions {
  readonly logger: Logger;
  /** Milliseconds since the epoch; the wall clock unless a test moves time. */
  readonly now?: () => number;
  readonly retryDelayMs?: number;
}

export class ApprovalExpiryTimers {
  private readonly clock: Clock;
  /** How each armed approval's `expire` is sent: through the effect that armed it, in its correlation. */
  private readonly senders = new Map<string, EffectContext['send']>();
  private readonly now: () => number;

  constructor(private readonly options: ApprovalExpiryTimersOptions) {
    this.now = options.now ?? Date.now;
    this.clock = new Clock({ now: this.now, onDue: (entries) => entries.forEach((entry) => void this.expire(entry)) });
    this.clock.start();
  }

  /** How many approvals have a timer armed. */
  get armed(): number {
    return this.clock.size;
  }

  get effects(): EffectExecutorsFor<'approval.awaitExpiry'> {
    return {
      'approval.awaitExpiry': async ({ approvalId, expiresAt }, context) => {
        const atMs = Date.parse(expiresAt);
        if (Number.isNaN(atMs)) throw new Error(`approval ${approvalId}: expiresAt '${expiresAt}' is not a time`);
        this.senders.set(approvalId, context.send);
        this.clock.set({ taskId: approvalId, dueAt: expiresAt, atMs });
      },
    };
  }

  /** Clears every timer: nothing is sent after this (the next start arms them again). */
  stop(): void {
    this.clock.stop();
    this.senders.clear();
  }

  private async expire(entry: DueEntry): Promise<void> {
    const approvalId = entry.taskId;
    const send = this.senders.get(approvalId);
    if (!send) return;
    try {
      const result = await send('approval', approvalId, { type: 'expire' }, { commandId: `approval-expire:${approvalId}`, actor: 'runtime' });
      if (result.status === 'accepted' || result.state !== 'pending') {
        this.senders.delete(approvalId);
        return;
      }
      this.options.logger.warn({ approvalId, reason: result.reason }, 'the approval refused to expire yet; trying again shortly');
    } catch (error) {
      this.options.logger.error({ approvalId, err: error }, 'could not expire the approval; trying again shortly');
    }
    // Re-armed only while running: a stopped clock ignores it, and the next start arms it from the stream.
    this.clock.set({ ...entry, atMs: this.now() + (this.options.retryDelayMs ?? RETRY_DELAY_MS) });
  }
}
