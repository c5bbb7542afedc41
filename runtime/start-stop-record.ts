/**
 * The runtime's own lifecycle on the `runtime` stream: `runtime.started` (with how the run
 * before it ended) and `runtime.stopped` (with why, and after how long).
 */
import { hostname } from 'node:os';
import { runtimeStarted, runtimeStopped, RUNTIME_STREAM } from '../events/catalogue/runtime.js';
import type { StoredEvent } from '../events/envelope.js';
import type { EventStore } from '../events/port.js';
import type { Config } from './config.js';
import { ledgerclawVersion } from './version.js';

/** The signals that stop the runtime in order. */
export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

export type PreviousShutdown = 'first_start' | 'clean' | 'unclean';

/** Why the runtime stopped: a signal, or its session (the local chat) ended. */
export type StopCause = { readonly reason: 'signal'; readonly signal: ShutdownSignal } | { readonly reason: 'requested' };

/** How the previous run ended, judged from the last event on the `runtime` stream. */
export function previousShutdownFrom(last: StoredEvent | undefined): PreviousShutdown {
  if (!last) return 'first_start';
  // A run that recorded its start but not its stop was killed or crashed.
  return last.type === runtimeStopped.type ? 'clean' : 'unclean';
}

export interface RecordedStart {
  readonly previousShutdown: PreviousShutdown;
  /** The `runtime` stream's revision after runtime.started: where runtime.stopped goes. */
  readonly revision: bigint;
  readonly at: number;
}

/** Appends runtime.started, decided on the stream's last event. */
export async function recordStart(store: EventStore, config: Config): Promise<RecordedStart> {
  const [last] = await store.readStream(RUNTIME_STREAM, { from: 'end', direction: 'backwards', maxCount: 1 });
  const previousShutdown = previousShutdownFrom(last);
  const at = Date.now();
  const result = await store.append(
    RUNTIME_STREAM,
    [
      runtimeStarted.create({
        pid: process.pid,
        hostname: hostname(),
        ledgerclawVersion: ledgerclawVersion(),
        nodeVersion: process.version,
        eventStore: config.eventStore.backend,
        previousShutdown,
      }),
    ],
    // Decided on what was read: a second writer slipping past the lock would conflict here.
    { expectedRevision: last ? last.revision : 'no_stream' },
  );
  return { previousShutdown, revision: result.nextExpectedRevision, at };
}

export async function recordStop(store: EventStore, started: RecordedStart, cause: StopCause): Promise<void> {
  await store.append(
    RUNTIME_STREAM,
    [runtimeStopped.create({ pid: process.pid, ...cause, uptimeMs: Date.now() - started.at })],
    { expectedRevision: started.revision },
  );
}
