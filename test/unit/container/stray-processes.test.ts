/**
 * The sweep that ends what a bash call left (defect 10 of issue 16), against a /proc of our
 * own making: the real one is the host's here, and the real sweep is proved in Docker
 * (test/integration/runs/docker-run-hardening.test.ts).
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { endStrayProcesses } from '../../../container/runner/workspace-tools/stray-processes.js';

const created: string[] = [];
afterEach(async () => {
  for (const dir of created.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A fake /proc: pid → [comm, state, ppid]; killing a pid turns it into a zombie, and a zombie is reaped on the next look. */
async function fakeProc(processes: Record<number, [string, string, number]>) {
  const dir = await mkdtemp(join(tmpdir(), 'fake-proc-'));
  created.push(dir);
  const write = async (pid: number, [comm, state, ppid]: [string, string, number]) => {
    await mkdir(join(dir, String(pid)), { recursive: true });
    await writeFile(join(dir, String(pid), 'stat'), `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1\n`);
  };
  for (const [pid, entry] of Object.entries(processes)) await write(Number(pid), entry);
  await mkdir(join(dir, 'self'));
  const killed: number[] = [];
  return {
    dir,
    killed,
    kill: (pid: number) => {
      killed.push(pid);
      // SIGKILL: a zombie until pid 1 reaps it, which this fake does at once (synchronously:
      // an unawaited removal let the next round of a loaded machine see, and kill, it again).
      rmSync(join(dir, String(pid)), { recursive: true, force: true });
    },
  };
}

describe('endStrayProcesses (defect 10 of issue 16)', () => {
  it('kills every process but the runner and its ancestors, a setsid one and one whose name holds ") Z" included', async () => {
    const proc = await fakeProc({
      1: ['sh', 'S', 0],
      [process.ppid]: ['parent', 'S', 1],
      [process.pid]: ['node', 'R', process.ppid],
      900001: ['sleep', 'S', 1],
      900002: ['evil) Z (x', 'S', 1],
    });
    const result = await endStrayProcesses({ procDir: proc.dir, kill: proc.kill });
    expect(proc.killed.sort()).toEqual([900001, 900002]);
    expect(result).toEqual({ killed: 2, remaining: 0 });
  });

  it('waits for zombies to be reaped without signalling them, and gives up at its deadline saying how many are left', async () => {
    const proc = await fakeProc({ 1: ['sh', 'S', 0], [process.ppid]: ['parent', 'S', 1], [process.pid]: ['node', 'R', process.ppid], 900003: ['bomb', 'Z', 1] });
    const started = Date.now();
    const result = await endStrayProcesses({ procDir: proc.dir, kill: proc.kill, deadlineMs: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(proc.killed).toEqual([]);
    expect(result).toEqual({ killed: 0, remaining: 1 });
  });
});
