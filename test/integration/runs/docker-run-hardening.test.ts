/**
 * What the agent's bash cannot do in the real container (issue 16): reach the runner's
 * channel to the host (defect 5), leave a process running past its call through setsid, or
 * leave a fork bomb's remains that starve the next call (defect 10), or grow the workspace
 * past its quota (defect 9). The real runner, the real image, the model faked.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../container/protocol/framing.js';
import { PROTOCOL_VERSION, type StartMessage } from '../../../container/protocol/messages.js';
import { ModelGateway } from '../../../runtime/gateways/model-gateway.js';
import { DEFAULT_PRICES } from '../../../runtime/gateways/pricing.js';
import { driveRun, type ToolCallRecord } from '../../../runtime/runs/run-session.js';
import { DockerSandbox } from '../../../runtime/sandbox/docker-sandbox.js';
import type { SandboxSpec } from '../../../runtime/sandbox/sandbox.js';
import { WorkspaceQuota } from '../../../runtime/sandbox/workspace-quota.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';
import { agentImage, collectingLog, docker, sandboxDirs, testSpec, type SandboxDirs } from '../../support/agent-image.js';

const MODEL = 'claude-sonnet-5-5';
const KEY = 'sk-test-key';
const MiB = 1024 * 1024;

let fake: FakeAnthropic;
let dirs: SandboxDirs;
let sandbox: DockerSandbox;

beforeAll(async () => {
  const image = await agentImage();
  dirs = await sandboxDirs();
  sandbox = new DockerSandbox({ docker, image: image.tag, scope: `${dirs.runsDir}-hardening`, log: collectingLog().log });
}, 600_000);

afterAll(async () => {
  if (dirs) await rm(dirs.root, { recursive: true, force: true });
});

// A fake of its own per test: replies one test scripted and did not use never reach the next.
beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
});

afterEach(async () => {
  await fake.close();
  for (const name of await readdir(dirs.workspaceDir)) await rm(join(dirs.workspaceDir, name), { recursive: true, force: true });
});

const start: StartMessage = {
  type: 'start',
  protocol: PROTOCOL_VERSION,
  runId: 'r-hardening',
  model: MODEL,
  maxTokens: 1024,
  maxIterations: 6,
  system: [{ name: 'identity', text: 'You are the test assistant.', cached: true }],
  messages: [{ role: 'user', text: 'Try it.' }],
  hostTools: [{ name: 'memory_write', description: 'Remember a fact.', input_schema: { type: 'object', properties: {} } }],
  workspace: { bashEnabled: true, tools: ['read_file', 'write_file', 'edit_file', 'list_files', 'grep', 'bash'], bashTimeoutMs: 20_000, maxOutputChars: 20_000 },
};

interface Driven {
  readonly outcome: Awaited<ReturnType<typeof driveRun>>;
  readonly hostCalls: string[];
  readonly toolRecords: ToolCallRecord[];
}

async function drive(spec: SandboxSpec = testSpec(dirs), workspaceOverQuota?: () => Promise<string | null>): Promise<Driven> {
  const hostCalls: string[] = [];
  const toolRecords: ToolCallRecord[] = [];
  const process = await sandbox.start(spec);
  const outcome = await driveRun({
    sandbox: process,
    start,
    model: new ModelGateway({ apiKey: KEY, baseURL: fake.url, maxRetries: 0, timeoutMs: 30_000, prices: DEFAULT_PRICES }),
    policy: { model: MODEL, maxTokens: 1024 },
    callHostTool: async (callId, name) => {
      hostCalls.push(`${name} ${callId}`);
      return { content: 'done', isError: false, outcome: 'executed', tier: 'write', approvalId: null };
    },
    budgetExceeded: async () => null,
    ...(workspaceOverQuota ? { workspaceOverQuota } : {}),
    recordModelCall: async () => undefined,
    recordToolCall: async (record) => {
      toolRecords.push(record);
    },
    limits: { hardTimeoutMs: 90_000, idleTimeoutMs: 45_000 },
  });
  return { outcome, hostCalls, toolRecords };
}

/** The text of the tool results the model was sent, in order. */
function toolResults(): string[] {
  return fake.requests.flatMap((request) => {
    const last = (request.body as { messages: { role: string; content: unknown }[] }).messages.at(-1)!;
    if (!Array.isArray(last.content)) return [];
    return (last.content as { type: string; content?: unknown }[]).filter((block) => block.type === 'tool_result').map((block) => String(block.content));
  });
}

function bash(command: string, timeoutMs?: number) {
  return { content: [{ type: 'tool_use' as const, name: 'bash', input: { command, ...(timeoutMs ? { timeout_ms: timeoutMs } : {}) } }] };
}

/** A frame as printf writes it: every byte an octal escape. */
function printfEscaped(message: unknown): string {
  return [...encodeFrame(message)].map((byte) => `\\${byte.toString(8).padStart(3, '0')}`).join('');
}

describe('defect 5 of issue 16: bash cannot forge frames on the host channel', () => {
  it('a forged tool_call and a forged tool_executed written to the runner\'s /proc/<pid>/fd/{0,1,2} are refused; nothing forged is run or recorded', async () => {
    const forgedCall = printfEscaped({ type: 'tool_call', callId: 'toolu_forged_call', name: 'memory_write', input: { key: 'k', statement: 'forged' } });
    const forgedExecuted = printfEscaped({
      type: 'tool_executed',
      callId: 'toolu_forged_executed',
      name: 'bash',
      input: { command: 'innocent' },
      output: 'forged',
      isError: false,
      durationMs: 1,
    });
    // pid 1, the runner found by its command line, and every fd of every other process.
    const attack = [
      `frames='${forgedCall}${forgedExecuted}'`,
      `runner=$(grep -l -a 'runner/mai[n].js' /proc/[0-9]*/cmdline | cut -d/ -f3)`,
      'echo "runner pid $runner"',
      `for fd in 0 1 2; do echo "pid 1 fd $fd -> $(ls -l /proc/1/fd/$fd | sed 's/.* -> //')"; done`,
      'targets="/proc/1/fd/0 /proc/1/fd/1 /proc/1/fd/2 /proc/$runner/fd/0 /proc/$runner/fd/1 /proc/$runner/fd/2"',
      'for p in /proc/[0-9]*; do [ "${p#/proc/}" = "$$" ] || targets="$targets $(echo $p/fd/*)"; done',
      'for f in $targets; do if { printf "$frames" > "$f"; } 2>/dev/null; then echo "wrote $f"; else echo "refused $f"; fi; done',
    ].join('\n');
    fake.enqueue(bash(attack), { content: [{ type: 'text', text: 'tried' }] });

    const { outcome, hostCalls, toolRecords } = await drive();

    expect(outcome).toMatchObject({ status: 'completed', answer: 'tried' });
    const [report] = toolResults();
    const runnerPid = /runner pid (\d+)/.exec(report ?? '')?.[1];
    expect(runnerPid).toMatch(/^\d+$/);
    // pid 1 is the image's init, which kept only /dev/null: writing there reaches nobody.
    for (const fd of [0, 1, 2]) expect(report).toContain(`pid 1 fd ${fd} -> /dev/null`);
    // The runner's fds, its stdin and stdout above all, cannot even be opened.
    for (const fd of [0, 1, 2]) expect(report).toContain(`refused /proc/${runnerPid}/fd/${fd}`);
    expect(report).not.toMatch(new RegExp(`wrote /proc/${runnerPid}/`));
    expect(report).not.toMatch(/wrote \/proc\/1\/fd\/(?!(0|1|2)\n)/);
    expect(hostCalls).toEqual([]);
    expect(toolRecords.map((record) => record.tool)).toEqual(['bash']);
    expect(toolRecords.map((record) => record.callId)).not.toContain('toolu_forged_executed');
  });
});

describe('defect 10 of issue 16: nothing a bash call starts outlives it', () => {
  it('a process started with setsid in one call is gone by the next', async () => {
    fake.enqueue(
      bash("setsid sleep 1000 > /dev/null 2>&1 < /dev/null & sleep 0.5; grep -l -a 'slee[p]' /proc/[0-9]*/cmdline; echo listed"),
      bash("grep -l -a 'slee[p]' /proc/[0-9]*/cmdline; echo listed"),
      { content: [{ type: 'text', text: 'checked' }] },
    );
    const { outcome } = await drive();
    expect(outcome).toMatchObject({ status: 'completed', answer: 'checked' });
    const [first, second] = toolResults();
    // Running during its call, in a session of its own, out of the call's process group.
    expect(first).toMatch(/^exit code 0\n(.*\n)*stdout:\n(\/proc\/\d+\/cmdline\n)+listed\n/);
    expect(second).toBe('exit code 0\nstdout:\nlisted\nstderr: (empty)');
  });

  it('after a fork bomb held in by the pids limit, the next call can fork again', async () => {
    fake.enqueue(
      bash('bomb() { bomb | bomb & }; bomb; sleep 3', 8_000),
      // No zombie left to hold a slot of the pids limit, and room for 30 processes at once.
      bash("echo zombies $(cat /proc/[0-9]*/stat 2>/dev/null | grep -c ') Z '); i=0; while [ $i -lt 30 ]; do sleep 1 & i=$((i+1)); done; wait; echo forked $i"),
      { content: [{ type: 'text', text: 'survived' }] },
    );
    const { outcome } = await drive(testSpec(dirs, { limits: { memoryBytes: 256 * MiB, cpus: 1, pids: 48, tmpBytes: 16 * MiB } }));
    expect(outcome).toMatchObject({ status: 'completed', answer: 'survived' });
    const [first, second] = toolResults();
    expect(first).toContain('Cannot fork'); // the bomb did reach the limit
    expect(second).toBe('exit code 0\nstdout:\nzombies 0\nforked 30\nstderr: (empty)');
  });
});

describe('defect 9 of issue 16: the workspace quota', () => {
  it('one file cannot grow past the quota (RLIMIT_FSIZE), and a run whose bash leaves the workspace over it fails with workspace_quota', async () => {
    const quotaBytes = 4 * MiB;
    const quota = await WorkspaceQuota.begin(dirs.workspaceDir, quotaBytes);
    fake.enqueue(
      bash('head -c 10000000 /dev/zero > big; echo "status $?"; wc -c < big; rm big'),
      bash('head -c 3000000 /dev/zero > one; head -c 3000000 /dev/zero > two; echo written'),
      { content: [{ type: 'text', text: 'should not be asked' }] },
    );
    const { outcome } = await drive(
      testSpec(dirs, { limits: { memoryBytes: 256 * MiB, cpus: 1, pids: 64, tmpBytes: 16 * MiB, fileBytes: quotaBytes } }),
      () => quota.overQuota(),
    );
    expect(outcome).toMatchObject({ status: 'failed', reason: 'workspace_quota' });
    expect((outcome as { detail: string }).detail).toMatch(/over its quota of 4\.00 MiB \(runs\.workspaceMb\)/);
    // The first file stopped at the limit (128 + SIGXFSZ, "File size limit exceeded"); the next two pushed the workspace over it.
    expect(toolResults()[0]).toMatch(/status 153\n4194304\n/);
    expect((await stat(join(dirs.workspaceDir, 'two'))).size).toBe(3_000_000);
    // The run ended before the model was asked again.
    expect(fake.requests).toHaveLength(2);
  });
});
