/**
 * What the benches that time agent turns share: `docker run` of the agent image as the
 * same-run baseline, a sandbox wrapper that notes when each run's container is running,
 * and a run's model time, to take out of its turn.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { EventStore } from '../../events/port.js';
import type { Sandbox } from '../../runtime/sandbox/sandbox.js';

const run = promisify(execFile);

/** `docker run` of the agent image: create, start, exit and remove a container, as the CLI does it. */
export async function timeDockerRun(tag: string): Promise<number> {
  const began = performance.now();
  await run('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'node', tag, '-e', '0']);
  return performance.now() - began;
}

/** Wraps a sandbox to note when each run's container is running. */
export function timedSandbox(inner: Sandbox, runningAt: Map<string, number>): Sandbox {
  return {
    kind: inner.kind,
    isolation: inner.isolation,
    highRiskToolsAllowed: inner.highRiskToolsAllowed,
    findLeftovers: () => inner.findLeftovers(),
    removeLeftover: (id) => inner.removeLeftover(id),
    start: async (spec) => {
      const process = await inner.start(spec);
      runningAt.set(spec.runId, performance.now());
      return process;
    },
  };
}

/** The latency of a run's model calls, as the model gateway recorded them. */
export async function modelLatencyMs(store: EventStore, runId: string): Promise<number> {
  return (await store.readStream(`run-${runId}`))
    .filter((event) => event.type === 'run.model_called')
    .reduce((sum, event) => sum + (event.data as { latencyMs: number }).latencyMs, 0);
}
