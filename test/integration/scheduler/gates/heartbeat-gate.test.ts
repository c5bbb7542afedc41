/**
 * The heartbeat gate on real files: the group's HEARTBEAT.md in its workspace under the
 * data directory decides; no file sleeps, an unreadable one wakes (fail open). The agent
 * owns the workspace: a HEARTBEAT.md it made into a symlink out of it, or a FIFO, is not
 * read, and the verdict says why.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { groupWorkspaceDir } from '../../../../runtime/runs/run-executor.js';
import { evaluateGate } from '../../../../runtime/scheduler/gates/evaluate-gate.js';
import type { GateDeps } from '../../../../runtime/scheduler/gates/gate.js';
import { heartbeatPath } from '../../../../runtime/scheduler/gates/heartbeat-gate.js';
import { ProcessSandbox } from '../../../../runtime/sandbox/process-sandbox.js';

const GROUP = 'T1.C1';
const task = { taskId: 'heartbeat', groupId: GROUP, lastDecidedAt: '2026-01-05T09:00:00.000Z' };
const gate = { kind: 'heartbeat' } as const;

let dataDir: string;
let deps: GateDeps;
let warnings: string[];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-heartbeat-gate-'));
  warnings = [];
  deps = {
    groupActivity: { lastMessageAt: () => Promise.reject(new Error('the heartbeat gate asked about messages')) },
    dataDir,
    sandbox: new ProcessSandbox({ runsDir: join(dataDir, 'runs') }),
    limits: { memoryBytes: 64 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 1024 * 1024 },
    logger: { warn: (_fields, message) => warnings.push(message) },
  };
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function writeHeartbeat(markdown: string): Promise<void> {
  const path = heartbeatPath(dataDir, GROUP);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, markdown);
}

it("reads HEARTBEAT.md in the group's workspace", () => {
  expect(heartbeatPath(dataDir, GROUP)).toBe(join(groupWorkspaceDir(dataDir, GROUP), 'HEARTBEAT.md'));
});

it('sleeps when the group has no HEARTBEAT.md, or no workspace at all', async () => {
  expect(await evaluateGate(gate, task, deps)).toEqual({ wake: false, detail: 'no HEARTBEAT.md in the workspace of group T1.C1' });
  await mkdir(groupWorkspaceDir(dataDir, GROUP), { recursive: true });
  expect((await evaluateGate(gate, task, deps)).wake).toBe(false);
});

it('sleeps on a file of headings, comments, done items and empty boxes', async () => {
  await writeHeartbeat('# Heartbeat\n<!-- add checks below -->\n- [x] rotated the keys\n- [ ]\n');
  expect(await evaluateGate(gate, task, deps)).toEqual({ wake: false, detail: 'HEARTBEAT.md of group T1.C1 has no actionable items' });
});

it('wakes on actionable items, naming the first three and counting the rest', async () => {
  await writeHeartbeat('# Heartbeat\n- [ ] Chase Globex\n- [x] done\n- [ ] Renew the cert\nWatch the queue depth\n- [ ] Ping Alice\n- [ ] Close Q3\n');
  expect(await evaluateGate(gate, task, deps)).toEqual({
    wake: true,
    detail: 'HEARTBEAT.md has 5 actionable items: Chase Globex; Renew the cert; Watch the queue depth; and 2 more',
  });
  expect(warnings).toEqual([]);
});

it('says "item" for one', async () => {
  await writeHeartbeat('- [ ] Chase Globex\n');
  expect((await evaluateGate(gate, task, deps)).detail).toBe('HEARTBEAT.md has 1 actionable item: Chase Globex');
});

it('wakes, and warns, when HEARTBEAT.md is not a file it can read', async () => {
  await mkdir(heartbeatPath(dataDir, GROUP), { recursive: true }); // a directory where the file should be
  expect(await evaluateGate(gate, task, deps)).toEqual({
    wake: true,
    detail: 'HEARTBEAT.md is a directory, not a regular file, so it was not read and the agent is woken (fail open)',
  });
  expect(warnings).toEqual(['wake gate of task heartbeat failed open: HEARTBEAT.md is a directory, not a regular file']);
});

describe('issue 16 defect 1: the heartbeat gate read host files through a symlink the agent made', () => {
  const SECRET = 'the root-only host secret';

  it('does not read a root-only host file that HEARTBEAT.md is symlinked to, and says why', async () => {
    const hostFile = join(dataDir, 'host-only.md'); // outside the workspace, as /etc/shadow would be
    await writeFile(hostFile, `- [ ] ${SECRET}\n`);
    await chmod(hostFile, 0o600);
    await mkdir(groupWorkspaceDir(dataDir, GROUP), { recursive: true });
    await symlink(hostFile, heartbeatPath(dataDir, GROUP));
    const verdict = await evaluateGate(gate, task, deps);
    expect(verdict).toEqual({
      wake: true,
      detail: 'HEARTBEAT.md is a symlink that leaves the workspace of group T1.C1, so it was not read and the agent is woken (fail open)',
    });
    expect(JSON.stringify(verdict)).not.toContain(SECRET);
    expect(warnings).toEqual(['wake gate of task heartbeat failed open: HEARTBEAT.md is a symlink that leaves the workspace of group T1.C1']);
    expect(warnings.join('\n')).not.toContain(SECRET);
  });

  it('does not read a HEARTBEAT.md in a symlinked directory leaving the workspace either', async () => {
    // The whole workspace cannot be swapped (it is the container's mount), but what is under it can.
    const hostDir = join(dataDir, 'host-dir');
    await mkdir(hostDir);
    await writeFile(join(hostDir, 'HEARTBEAT.md'), `- [ ] ${SECRET}\n`);
    await mkdir(groupWorkspaceDir(dataDir, GROUP), { recursive: true });
    await symlink(hostDir, join(groupWorkspaceDir(dataDir, GROUP), 'linked'));
    await symlink('linked/HEARTBEAT.md', heartbeatPath(dataDir, GROUP));
    const verdict = await evaluateGate(gate, task, deps);
    expect(verdict.detail).toBe('HEARTBEAT.md is a symlink that leaves the workspace of group T1.C1, so it was not read and the agent is woken (fail open)');
    expect(JSON.stringify(verdict)).not.toContain(SECRET);
  });

  it('does not open a FIFO named HEARTBEAT.md (the host would block on it), and says why', { timeout: 5_000 }, async () => {
    await mkdir(groupWorkspaceDir(dataDir, GROUP), { recursive: true });
    execFileSync('mkfifo', [heartbeatPath(dataDir, GROUP)]);
    expect(await evaluateGate(gate, task, deps)).toEqual({
      wake: true,
      detail: 'HEARTBEAT.md is a FIFO, not a regular file, so it was not read and the agent is woken (fail open)',
    });
    expect(warnings).toEqual(['wake gate of task heartbeat failed open: HEARTBEAT.md is a FIFO, not a regular file']);
  });

  it('still follows a symlink that stays inside the workspace', async () => {
    await mkdir(join(groupWorkspaceDir(dataDir, GROUP), 'notes'), { recursive: true });
    await writeFile(join(groupWorkspaceDir(dataDir, GROUP), 'notes', 'checklist.md'), '- [ ] Chase Globex\n');
    await symlink('notes/checklist.md', heartbeatPath(dataDir, GROUP));
    expect(await evaluateGate(gate, task, deps)).toEqual({ wake: true, detail: 'HEARTBEAT.md has 1 actionable item: Chase Globex' });
  });
});
