/**
 * The script gate in real Docker containers of the agent image (built by the global
 * setup): the script's own verdict after a clean exit; a wake (fail open), with a warning
 * and a detail saying exactly what went wrong, on garbage, a non-zero exit or a timeout;
 * and the container it runs in: the workspace readable but not writable, no network, no
 * secrets, and nothing left behind.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { groupWorkspaceDir } from '../../../../runtime/runs/run-executor.js';
import { evaluateGate } from '../../../../runtime/scheduler/gates/evaluate-gate.js';
import type { GateDeps } from '../../../../runtime/scheduler/gates/gate.js';
import { DockerSandbox, MANAGED_LABEL, SCOPE_LABEL } from '../../../../runtime/sandbox/docker-sandbox.js';
import { agentImage, docker } from '../../../support/agent-image.js';

const GROUP = 'T1.C1';
const task = { taskId: 'watch-invoices', groupId: GROUP, lastDecidedAt: '2026-01-05T09:00:00.000Z' };

let dataDir: string;
let scope: string;
let deps: GateDeps;
let warnings: string[];

beforeAll(async () => {
  const image = await agentImage();
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-script-gate-'));
  scope = join(dataDir, 'runs');
  deps = {
    groupActivity: { lastMessageAt: () => Promise.reject(new Error('the script gate asked about messages')) },
    dataDir,
    sandbox: new DockerSandbox({ docker, image: image.tag, scope }),
    limits: { memoryBytes: 128 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 8 * 1024 * 1024 },
    logger: { warn: (_fields, message) => warnings.push(message) },
  };
}, 600_000);

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  warnings = [];
});

const script = (command: string, timeoutMs = 20_000) => evaluateGate({ kind: 'script', command, timeoutMs }, task, deps);

describe("the script's verdict", () => {
  it('wakes when the script says so, with its reason as the detail', async () => {
    expect(await script(`echo 'checking the inbox...'; echo '{"wake": true, "reason": "3 new invoices"}'`)).toEqual({ wake: true, detail: '3 new invoices' });
    expect(warnings).toEqual([]);
  });

  it('sleeps when the script says nothing changed', async () => {
    expect(await script(`echo '{"wake": false, "reason": "no new invoices"}'`)).toEqual({ wake: false, detail: 'no new invoices' });
    expect(warnings).toEqual([]);
  });
});

describe('a broken script wakes the agent (fail open) and says why', () => {
  it('prints garbage', async () => {
    expect(await script('echo all good')).toEqual({ wake: true, detail: 'the gate script printed a last line that is not JSON: "all good", so the agent is woken (fail open)' });
    expect(warnings).toEqual(['wake gate of task watch-invoices failed open: the gate script printed a last line that is not JSON: "all good"']);
  });

  it('exits non-zero, even after printing a sleep verdict', async () => {
    const verdict = await script(`echo '{"wake": false}'; echo 'inbox API answered 503' >&2; exit 3`);
    expect(verdict).toEqual({ wake: true, detail: 'the gate script exited with code 3; stderr: "inbox API answered 503", so the agent is woken (fail open)' });
    expect(warnings).toHaveLength(1);
  });

  it('sleeps past its timeout: killed at the timeout, its container removed', async () => {
    const began = Date.now();
    const verdict = await script(`echo '{"wake": false}'; sleep 60`, 1_500);
    expect(verdict).toEqual({ wake: true, detail: 'the gate script did not finish within its 1500 ms timeout and was killed, so the agent is woken (fail open)' });
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(warnings).toHaveLength(1);
    const left = await docker.listContainers({ all: true, filters: { label: [`${MANAGED_LABEL}=true`, `${SCOPE_LABEL}=${scope}`] } });
    expect(left).toEqual([]);
  });
});

describe('the container a script runs in', () => {
  it("can read the group's workspace but not write to it", async () => {
    const workspace = groupWorkspaceDir(dataDir, GROUP);
    await mkdir(workspace, { recursive: true });
    await writeFile(join(workspace, 'last-invoice.txt'), 'INV-42\n');
    const verdict = await script(
      [
        'read last < /workspace/last-invoice.txt',
        'if { echo x > /workspace/probe; } 2>/tmp/err; then result=wrote; else result=$(tr -d \'"\' < /tmp/err); fi',
        'echo "{\\"wake\\": false, \\"reason\\": \\"read $last; write: $result\\"}"',
      ].join('\n'),
    );
    expect(verdict.wake).toBe(false);
    expect(verdict.detail).toMatch(/^read INV-42; write: .*Read-only file system/);
    expect(existsSync(join(workspace, 'probe'))).toBe(false);
  });

  it('has no network: only the loopback interface, and no route out', async () => {
    const probe = [
      'const os = require("os"), net = require("net");',
      'const names = Object.keys(os.networkInterfaces()).join(",");',
      'const done = (reached, how) => { console.log(JSON.stringify({ wake: reached, reason: "interfaces " + names + "; connect: " + how })); process.exit(0); };',
      'const socket = net.connect({ host: "1.1.1.1", port: 443 });',
      'socket.setTimeout(3000, () => done(false, "timeout"));',
      'socket.on("connect", () => done(true, "connected"));',
      'socket.on("error", (error) => done(false, error.code));',
    ].join(' ');
    const verdict = await script(`node -e '${probe}'`);
    expect(verdict.wake).toBe(false);
    expect(verdict.detail).toMatch(/^interfaces lo; connect: (ENETUNREACH|EHOSTUNREACH|timeout)$/);
  });

  it("gets no secret from the runtime's environment", async () => {
    const previous = process.env.ANTHROPIC_API_KEY;
    process.env.ANTHROPIC_API_KEY = 'sk-ant-test-secret-never-in-a-container';
    try {
      const verdict = await script(`node -e 'console.log(JSON.stringify({ wake: false, reason: Object.entries(process.env).map(([k, v]) => k + "=" + v).join(" ") }))'`);
      expect(verdict.wake).toBe(false);
      expect(verdict.detail).toContain('LEDGERCLAW_WORKSPACE=/workspace');
      expect(verdict.detail).not.toMatch(/ANTHROPIC|sk-ant/);
    } finally {
      if (previous === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = previous;
    }
  });
});
