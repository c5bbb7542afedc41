/**
 * The runner and the host's run session end to end, without Docker: the compiled runner in
 * the process sandbox, the real SDK on both sides of the tunnel, the model gateway talking
 * to the Anthropic fake. (The Docker sandbox's own guarantees are tested in sandbox/.)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type StartMessage } from '../../../container/protocol/messages.js';
import { ModelGateway } from '../../../runtime/gateways/model-gateway.js';
import { DEFAULT_PRICES } from '../../../runtime/gateways/pricing.js';
import { driveRun, type RunSessionDeps, type ToolCallRecord } from '../../../runtime/runs/run-session.js';
import type { ModelCallRecord } from '../../../runtime/gateways/model-gateway.js';
import { ProcessSandbox } from '../../../runtime/sandbox/process-sandbox.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';
import { builtFile } from '../../support/built-dist.js';

const MODEL = 'claude-sonnet-5-5';
const KEY = 'sk-test-key';

let fake: FakeAnthropic;
let dir: string;

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY, minCacheableTokens: 10 });
  dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-run-session-'));
});

afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

function startMessage(overrides: Partial<StartMessage> = {}): StartMessage {
  return {
    type: 'start',
    protocol: PROTOCOL_VERSION,
    runId: 'r-1',
    model: MODEL,
    maxTokens: 1024,
    maxIterations: 20,
    system: [
      { name: 'identity', text: 'You are the test assistant. '.repeat(20), cached: true },
      { name: 'memory', text: 'Nothing remembered yet.', cached: false },
    ],
    messages: [{ role: 'user', text: 'Write the plan to plan.md, then tell me it is done.' }],
    hostTools: [{ name: 'memory_search', description: 'search memory', input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } }],
    workspace: { bashEnabled: false, tools: ['read_file', 'write_file', 'edit_file', 'list_files', 'grep', 'bash'], bashTimeoutMs: 5_000, maxOutputChars: 10_000 },
    ...overrides,
  };
}

async function session(overrides: Partial<RunSessionDeps> & { start?: StartMessage } = {}) {
  const sandbox = new ProcessSandbox({ runsDir: join(dir, 'runs'), runnerMain: builtFile('container/runner/main.js') });
  const workspaceDir = join(dir, 'workspace');
  await import('node:fs/promises').then((fs) => fs.mkdir(workspaceDir, { recursive: true }));
  const process = await sandbox.start({
    runId: 'r-1',
    groupId: 'T1.C1',
    workspaceDir,
    sharedDir: null,
    env: {},
    limits: { memoryBytes: 256 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 16 * 1024 * 1024 },
  });
  const models: ModelCallRecord[] = [];
  const tools: ToolCallRecord[] = [];
  const hostCalls: { name: string; input: unknown }[] = [];
  const gateway = new ModelGateway({ apiKey: KEY, baseURL: fake.url, maxRetries: 2, timeoutMs: 30_000, prices: DEFAULT_PRICES });
  const outcome = await driveRun({
    sandbox: process,
    start: overrides.start ?? startMessage(),
    model: gateway,
    policy: { model: MODEL, maxTokens: 1024 },
    callHostTool: async (_callId, name, input) => {
      hostCalls.push({ name, input });
      return { content: 'net 30 days (fact f-1)', isError: false, outcome: 'executed', tier: 'read', approvalId: null };
    },
    budgetExceeded: async () => null,
    recordModelCall: async (record) => void models.push(record),
    recordToolCall: async (record) => void tools.push(record),
    limits: { hardTimeoutMs: 30_000, idleTimeoutMs: 20_000 },
    ...overrides,
  });
  return { outcome, models, tools, hostCalls, workspaceDir };
}

describe('a run through the runner and the gateways', () => {
  it('runs a workspace tool round and a host tool round, records every call, and completes with the answer', async () => {
    fake.enqueue(
      { content: [{ type: 'text', text: 'Writing it.' }, { type: 'tool_use', name: 'write_file', input: { path: 'plan.md', content: '# Plan\n- ship\n' } }] },
      { content: [{ type: 'tool_use', name: 'memory_search', input: { query: 'payment terms' } }] },
      { content: [{ type: 'text', text: 'Done: plan.md holds the plan; terms are net 30.' }] },
    );
    const { outcome, models, tools, hostCalls, workspaceDir } = await session();
    expect(outcome).toEqual({ status: 'completed', answer: 'Done: plan.md holds the plan; terms are net 30.', iterations: 3, stopReason: 'end_turn' });
    expect(await readFile(join(workspaceDir, 'plan.md'), 'utf8')).toBe('# Plan\n- ship\n');
    expect(hostCalls).toEqual([{ name: 'memory_search', input: { query: 'payment terms' } }]);
    expect(tools.map((tool) => [tool.tool, tool.where, tool.isError])).toEqual([
      ['write_file', 'workspace', false],
      ['memory_search', 'host', false],
    ]);
    expect(models).toHaveLength(3);
    expect(models[0]!.output).toEqual([
      { type: 'text', text: 'Writing it.' },
      { type: 'tool_use', id: expect.any(String), name: 'write_file', input: { path: 'plan.md', content: '# Plan\n- ship\n' } },
    ]);
    expect(models.every((model) => model.attempts === 1 && model.costUsd !== null && model.tokens.output > 0)).toBe(true);
    // The key never left the host: the fake saw it on every call, from the gateway.
    expect(fake.requests.every((request) => request.apiKey === 'matched')).toBe(true);
  });

  it('caches the stable prompt: later calls of the turn read the prefix the first one wrote', async () => {
    fake.enqueue(
      { content: [{ type: 'tool_use', name: 'list_files', input: {} }] },
      { content: [{ type: 'text', text: 'Empty workspace.' }] },
    );
    const { models } = await session();
    expect(models[0]!.tokens.cacheWrite).toBeGreaterThan(0);
    expect(models[1]!.tokens.cacheRead).toBeGreaterThan(0);
    const body = fake.requests[0]!.body as { system: { cache_control?: unknown }[]; tools: { cache_control?: unknown }[] };
    expect(body.system[0]!.cache_control).toEqual({ type: 'ephemeral' });
    expect(body.system[1]!.cache_control).toBeUndefined();
    expect(body.tools[body.tools.length - 1]!.cache_control).toEqual({ type: 'ephemeral' });
  });

  it('stops at the iteration cap and says so in the answer', async () => {
    fake.respondWith(() => ({ content: [{ type: 'tool_use', name: 'list_files', input: {} }] }));
    const { outcome, models } = await session({ start: startMessage({ maxIterations: 2 }) });
    expect(outcome).toMatchObject({ status: 'completed', iterations: 2, stopReason: 'max_iterations' });
    expect((outcome as { answer: string }).answer).toMatch(/stopped after 2 steps/);
    expect(models).toHaveLength(2);
  });

  it('retries a 429 in the gateway and records the attempts', async () => {
    fake.enqueue({ error: { status: 429, message: 'slow down', retryAfterSeconds: 0 } }, { content: [{ type: 'text', text: 'ok' }] });
    const { outcome, models } = await session();
    expect(outcome).toMatchObject({ status: 'completed', answer: 'ok' });
    expect(models[0]!.attempts).toBe(2);
  });

  it('fails the run with the API error when the model stays overloaded', async () => {
    fake.respondWith(() => ({ error: { status: 529, message: 'overloaded' } }));
    const gatewayRetries = 0;
    const { outcome } = await session({
      model: new ModelGateway({ apiKey: KEY, baseURL: fake.url, maxRetries: gatewayRetries, timeoutMs: 10_000, prices: DEFAULT_PRICES }),
    });
    expect(outcome).toMatchObject({ status: 'failed', reason: 'model_error' });
    expect((outcome as { detail: string }).detail).toMatch(/529 overloaded_error/);
  });

  it('stops a run whose budget is spent, with the reason', async () => {
    const { outcome, models } = await session({ budgetExceeded: async () => 'group T1.C1 has spent 2000001 of its 2000000 tokens today' });
    expect(outcome).toEqual({ status: 'failed', reason: 'budget_exceeded', detail: 'group T1.C1 has spent 2000001 of its 2000000 tokens today' });
    expect(models).toHaveLength(0);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a model request outside the run policy and never calls the API', async () => {
    const { outcome } = await session({ policy: { model: 'claude-haiku-5-5', maxTokens: 1024 } });
    expect(outcome).toMatchObject({ status: 'failed', reason: 'model_error' });
    expect((outcome as { detail: string }).detail).toMatch(/may use 'claude-haiku-5-5' only/);
    expect(fake.requests).toHaveLength(0);
  });

  it('times out an idle run and kills its sandbox', async () => {
    fake.enqueue({ hang: true });
    const { outcome } = await session({ limits: { hardTimeoutMs: 30_000, idleTimeoutMs: 1_500 } });
    expect(outcome).toEqual({ status: 'timed_out', limit: 'idle', limitMs: 1_500 });
  });

  it('fails with the model gateway reason when no key is configured', async () => {
    const { outcome } = await session({ model: new ModelGateway({ apiKey: null, maxRetries: 0, timeoutMs: 1_000, prices: DEFAULT_PRICES }) });
    expect(outcome).toMatchObject({ status: 'failed', reason: 'model_error' });
    expect((outcome as { detail: string }).detail).toMatch(/set ANTHROPIC_API_KEY/);
  });
});
