/**
 * What the gRPC handlers of one fake node share: the (possibly cluster-shared) log, the node's
 * role, the leader to point a client to, the injected slowness, and the set of open calls
 * (so that `dropConnections()` and `close()` can end them).
 */
import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import type { EventLog } from './event-log.js';
import { noLeaderInfo, notLeader } from './errors.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface DelaySetting {
  /** Milliseconds every call waits before the server acts on it. */
  readonly ms: number;
  /**
   * When true, a write is applied before the wait, so a client whose deadline passes during
   * the wait sees DeadlineExceeded although the write landed (the "unknown outcome" a real
   * server can produce). When false, the write is applied after the wait, and not at all if
   * the call was cancelled meanwhile.
   */
  readonly applyBeforeDelay: boolean;
}

export interface NodeContext {
  readonly log: EventLog;
  readonly serverVersion: string;
  isLeader(): boolean;
  /** Where the current leader of this node's cluster listens; undefined while there is none. */
  leaderEndpoint(): Endpoint | undefined;
  delay(): DelaySetting;
  /** Registers an open call; `end` is called if the node drops its connections. Returns the unregister function. */
  trackCall(end: () => void): () => void;
}

/** A follower refuses calls that require the leader (`requires-leader: true`), as a real one does. */
export function leaderRequirementError(node: NodeContext, metadata: Metadata): Error | undefined {
  const required = metadata.get('requires-leader').some((value) => String(value).toLowerCase() === 'true');
  if (!required || node.isLeader()) return undefined;
  const leader = node.leaderEndpoint();
  return leader === undefined ? noLeaderInfo() : notLeader(leader);
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes a message and waits for the stream to drain when its buffer is full (backpressure). */
export async function writeWithBackpressure<T>(call: ServerWritableStream<unknown, T>, message: T): Promise<void> {
  if (call.write(message)) return;
  await new Promise<void>((resolve) => {
    const events = ['drain', 'close', 'cancelled', 'error'] as const;
    const done = (): void => {
      for (const event of events) call.off(event, done);
      resolve();
    };
    for (const event of events) call.on(event, done);
  });
}

/** Ticks (100 ns) since the Unix epoch, as the server stamps `created`. */
export function ticksSinceEpoch(date: Date): string {
  return (BigInt(date.getTime()) * 10_000n).toString();
}
