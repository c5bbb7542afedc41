/**
 * The heartbeat gate on real files: the group's HEARTBEAT.md in its workspace under the
 * data directory decides; no file sleeps, an unreadable one wakes (fail open).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
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

it('wakes, and warns, when HEARTBEAT.md cannot be read', async () => {
  await mkdir(heartbeatPath(dataDir, GROUP), { recursive: true }); // a directory where the file should be
  const verdict = await evaluateGate(gate, task, deps);
  expect(verdict.wake).toBe(true);
  expect(verdict.detail).toMatch(/^the heartbeat gate could not be evaluated \(.*EISDIR.*\), so the agent is woken \(fail open\)$/);
  expect(warnings).toHaveLength(1);
});
