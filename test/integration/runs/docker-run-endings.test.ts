/**
 * How a run in a real Docker container ends, as the run session decides it: the real
 * runner answering through the gateways, and sandboxes whose process runs out of memory,
 * crashes, or never speaks. Each gives exactly one outcome with its reason.
 */
import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type StartMessage } from '../../../container/protocol/messages.js';
import { ModelGateway } from '../../../runtime/gateways/model-gateway.js';
import { DEFAULT_PRICES } from '../../../runtime/gateways/pricing.js';
import { driveRun } from '../../../runtime/runs/run-session.js';
import { DockerSandbox } from '../../../runtime/sandbox/docker-sandbox.js';
import type { SandboxSpec } from '../../../runtime/sandbox/sandbox.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';
import { agentImage, collectingLog, docker, sandboxDirs, testSpec, type SandboxDirs } from '../../support/agent-image.js';

const MODEL = 'claude-sonnet-5-5';
const KEY = 'sk-test-key';

let fake: FakeAnthropic;
let dirs: SandboxDirs;
let sandbox: DockerSandbox;

beforeAll(async () => {
  const image = await agentImage();
  fake = await startFakeAnthropic({ apiKey: KEY });
  dirs = await sandboxDirs();
  sandbox = new DockerSandbox({ docker, image: image.tag, scope: `${dirs.runsDir}-endings`, log: collectingLog().log });
}, 600_000);

afterAll(async () => {
  await fake?.close();
  if (dirs) await rm(dirs.root, { recursive: true, force: true });
});

afterEach(() => fake.respondWith(() => ({ error: { status: 500, message: 'nothing scripted' } })));

const start: StartMessage = {
  type: 'start',
  protocol: PROTOCOL_VERSION,
  runId: 'r-docker',
  model: MODEL,
  maxTokens: 1024,
  maxIterations: 5,
  system: [{ name: 'identity', text: 'You are the test assistant.', cached: true }],
  messages: [{ role: 'user', text: 'Say hello, then run ls.' }],
  hostTools: [],
  workspace: { bashEnabled: true, tools: ['read_file', 'write_file', 'edit_file', 'list_files', 'grep', 'bash'], bashTimeoutMs: 10_000, maxOutputChars: 10_000 },
};

async function drive(spec: SandboxSpec, limits = { hardTimeoutMs: 60_000, idleTimeoutMs: 30_000 }) {
  const process = await sandbox.start(spec);
  return driveRun({
    sandbox: process,
    start,
    model: new ModelGateway({ apiKey: KEY, baseURL: fake.url, maxRetries: 0, timeoutMs: 30_000, prices: DEFAULT_PRICES }),
    policy: { model: MODEL, maxTokens: 1024 },
    callHostTool: async () => ({ content: 'no host tools here', isError: true, outcome: 'failed', tier: null, approvalId: null }),
    budgetExceeded: async () => null,
    recordModelCall: async () => undefined,
    recordToolCall: async () => undefined,
    limits,
  });
}

describe('runs in Docker end with the right outcome', () => {
  it('completes: the runner in the container uses bash in /workspace and answers through the tunnelled model', async () => {
    fake.enqueue(
      { content: [{ type: 'tool_use', name: 'bash', input: { command: 'echo hi > note.txt && ls -n note.txt' } }] },
      { content: [{ type: 'text', text: 'hello; note.txt is there' }] },
    );
    const outcome = await drive(testSpec(dirs));
    expect(outcome).toEqual({ status: 'completed', answer: 'hello; note.txt is there', iterations: 2, stopReason: 'end_turn' });
    const toolResult = JSON.stringify((fake.requests[fake.requests.length - 1]!.body as { messages: unknown[] }).messages.at(-1));
    expect(toolResult).toMatch(/exit code 0.* 1000 +1000 .*note.txt/); // written by the non-root user
  });

  it('fails with oom when the sandboxed process runs out of memory', async () => {
    const outcome = await drive(
      testSpec(dirs, {
        command: ['node', '-e', 'const hog = []; for (;;) hog.push(Buffer.alloc(8 * 1024 * 1024, 1));'],
        limits: { memoryBytes: 64 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 16 * 1024 * 1024 },
      }),
    );
    expect(outcome).toMatchObject({ status: 'failed', reason: 'oom' });
  });

  it('fails with exit_code and the tail of stderr when the process crashes', async () => {
    const outcome = await drive(testSpec(dirs, { command: ['node', '-e', 'console.error("runner blew up"); process.exit(3)'] }));
    expect(outcome).toMatchObject({ status: 'failed', reason: 'exit_code' });
    expect((outcome as { detail: string }).detail).toMatch(/code 3.*runner blew up/s);
  });

  it('fails with crash when the process speaks garbage instead of the protocol', async () => {
    const outcome = await drive(testSpec(dirs, { command: ['node', '-e', 'process.stdout.write(Buffer.from([0,0,0,5,123,123,123,123,123])); setTimeout(() => {}, 30000)'] }));
    expect(outcome).toMatchObject({ status: 'failed', reason: 'crash' });
    expect((outcome as { detail: string }).detail).toMatch(/not JSON/);
  });

  it('times out (idle) when the process never speaks, and its container is removed', async () => {
    const spec = testSpec(dirs, { command: ['sleep', '600'] });
    const outcome = await drive(spec, { hardTimeoutMs: 60_000, idleTimeoutMs: 2_000 });
    expect(outcome).toEqual({ status: 'timed_out', limit: 'idle', limitMs: 2_000 });
    const left = await docker.listContainers({ all: true, filters: { label: [`ledgerclaw.run=${spec.runId}`] } });
    expect(left).toHaveLength(0);
  });

  it('times out (hard) when the run keeps busy past its total limit', async () => {
    // Only protocol frames count as activity: a ready frame every 500 ms keeps the run from idling.
    const ready = 'const f=Buffer.from(JSON.stringify({type:"ready",protocol:1}));const h=Buffer.alloc(4);h.writeUInt32BE(f.length);setInterval(()=>process.stdout.write(Buffer.concat([h,f])),500)';
    const outcome = await drive(testSpec(dirs, { command: ['node', '-e', ready] }), { hardTimeoutMs: 3_000, idleTimeoutMs: 2_000 });
    expect(outcome).toEqual({ status: 'timed_out', limit: 'hard', limitMs: 3_000 });
  });
});
