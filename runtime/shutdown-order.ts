/**
 * The order the running parts of the runtime stop in. It is written down here rather than
 * left to the reverse of the order they opened in, because two steps depend on it:
 * - live runs end (recorded as interrupted) BEFORE the actor host closes, so the host is
 *   still there to take their endings and its in-flight effects can finish;
 * - the actor host closes before the projections stop, so what it appended last is still
 *   followed.
 * Everything that lets work in (Slack, the scheduler's clock, the approvals' expiry timers,
 * the control socket) stops first.
 */

export const STOP_ORDER = [
  'slack',
  'scheduler',
  'approvalTimers',
  'control',
  'consolidation',
  'knowledgeSync',
  'liveActorsFile',
  'runs',
  'actorHost',
  'projections',
] as const;

export type RunningPart = (typeof STOP_ORDER)[number];

/** The parts opened so far, and how to stop each. */
export class OrderedShutdown {
  private readonly stops = new Map<RunningPart, () => Promise<void> | void>();

  /** Records how to stop a part that is now open. */
  add(part: RunningPart, stop: () => Promise<void> | void): void {
    if (this.stops.has(part)) throw new Error(`the runtime part '${part}' was opened twice`);
    this.stops.set(part, stop);
  }

  /**
   * Stops every open part in STOP_ORDER, each once. A part that fails to stop does not keep
   * the ones after it open; the first failure is thrown once all have been tried.
   */
  async stop(): Promise<void> {
    const failures: unknown[] = [];
    for (const part of STOP_ORDER) {
      const stop = this.stops.get(part);
      if (!stop) continue;
      this.stops.delete(part);
      try {
        await stop();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
}
