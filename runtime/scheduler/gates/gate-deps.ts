/**
 * GateDeps from the runtime's pieces, for whoever starts the scheduler: the event store and
 * the projection host (the group-activity reader), the run sandbox, the data directory, the
 * runs' limits and the logger. `close` closes the reader's read-model connections.
 */
import type { EventStore } from '../../../events/port.js';
import type { Config } from '../../config.js';
import type { Sandbox, SandboxLimits } from '../../sandbox/sandbox.js';
import type { GateDeps, GateLog } from './gate.js';
import { ReadModelGroupActivity } from './group-activity-reader.js';

/** A gate script's /tmp: scratch space for a check, smaller than a run's. */
const GATE_TMP_BYTES = 16 * 1024 * 1024;

/** A gate's container gets the limits of a run's (`runs.memoryMb`, `runs.cpus`, `runs.pids`). */
export function gateSandboxLimits(runs: Pick<Config['runs'], 'memoryMb' | 'cpus' | 'pids'>): SandboxLimits {
  return { memoryBytes: runs.memoryMb * 1024 * 1024, cpus: runs.cpus, pids: runs.pids, tmpBytes: GATE_TMP_BYTES };
}

export interface GateDepsSources {
  readonly store: Pick<EventStore, 'headPosition'>;
  /** `(name, position) => projectionHost.waitFor(name, position)`. */
  readonly caughtUp: (projection: string, position: bigint) => Promise<void>;
  readonly dataDir: string;
  /** The runs' sandbox (AgentRuns.sandbox): script gates need it to be Docker's. */
  readonly sandbox: Sandbox;
  readonly runs: Pick<Config['runs'], 'memoryMb' | 'cpus' | 'pids'>;
  readonly logger: GateLog;
}

export function openGateDeps(sources: GateDepsSources): GateDeps & { close(): Promise<void> } {
  const groupActivity = new ReadModelGroupActivity({ store: sources.store, dataDir: sources.dataDir, caughtUp: sources.caughtUp });
  return {
    groupActivity,
    dataDir: sources.dataDir,
    sandbox: sources.sandbox,
    limits: gateSandboxLimits(sources.runs),
    logger: sources.logger,
    close: () => groupActivity.close(),
  };
}
