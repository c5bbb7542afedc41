/**
 * What the benches that start containers share: `docker run` of the agent image as the
 * same-run baseline, and a sandbox wrapper that notes when each run's container is running.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
