/**
 * Without Docker there is nowhere safe to run a gate script: the process sandbox refuses a
 * read-only workspace it cannot enforce, and the script gate wakes the agent (fail open)
 * without running anything on the host.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { evaluateGate } from '../../../../runtime/scheduler/gates/evaluate-gate.js';
import { ProcessSandbox } from '../../../../runtime/sandbox/process-sandbox.js';
import { SandboxSpecError } from '../../../../runtime/sandbox/sandbox-spec.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-script-gate-process-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('the process sandbox refuses to start with a read-only workspace', async () => {
  const workspaceDir = join(dir, 'workspace');
  await mkdir(workspaceDir);
  const sandbox = new ProcessSandbox({ runsDir: join(dir, 'runs') });
  const start = sandbox.start({
    runId: 'gate-probe',
    groupId: 'T1.C1',
    workspaceDir,
    workspaceReadOnly: true,
    sharedDir: null,
    env: {},
    limits: { memoryBytes: 64 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 1024 * 1024 },
    command: ['sh', '-c', 'touch started'],
  });
  await expect(start).rejects.toThrow(SandboxSpecError);
  await expect(start).rejects.toThrow(/cannot mount a workspace read-only/);
  expect(existsSync(join(workspaceDir, 'started'))).toBe(false);
});

it('a script gate on the process sandbox wakes the agent without running the script', async () => {
  const warnings: string[] = [];
  const marker = join(dir, 'ran');
  const verdict = await evaluateGate(
    { kind: 'script', command: `touch ${marker}; echo '{"wake": false}'`, timeoutMs: 5_000 },
    { taskId: 'watch', groupId: 'T1.C1', lastDecidedAt: null },
    {
      groupActivity: { lastMessageAt: async () => null },
      dataDir: dir,
      sandbox: new ProcessSandbox({ runsDir: join(dir, 'runs') }),
      limits: { memoryBytes: 64 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 1024 * 1024 },
      logger: { warn: (_fields, message) => warnings.push(message) },
    },
  );
  expect(verdict.wake).toBe(true);
  expect(verdict.detail).toBe(
    "script gates run only in a container sandbox, and this runtime uses the process sandbox (process-weak isolation: the host's network, files and user), so the agent is woken (fail open)",
  );
  expect(warnings).toHaveLength(1);
  expect(existsSync(marker)).toBe(false);
});
