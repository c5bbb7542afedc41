/**
 * `ledgerclaw chat` end to end, as a person uses it: the built CLI in a child process,
 * lines on its stdin, the whole pipeline (group actor, supervisor, a Docker container per
 * turn, the model and tool gateways) against the Anthropic fake. Then a runtime killed in
 * the middle of a run: the next start removes the container it left and ends the run as
 * interrupted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic, type RecordedRequest } from '../../fakes/anthropic-messages.js';
import { agentImage, docker } from '../../support/agent-image.js';
import { builtFile } from '../../support/built-dist.js';
import { runProcess, startProcess, type RunningProcess } from '../../support/child-process.js';
import { cliEnv } from '../../support/cli-env.js';

const KEY = 'sk-e2e-key';
let fake: FakeAnthropic;
let dataDir: string;

beforeAll(async () => {
  // Built once here, so the CLI finds the image instead of building it under the test's clock.
  await agentImage();
}, 600_000);

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-chat-'));
});

afterEach(async () => {
  await fake.close();
  await rm(dataDir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, LEDGERCLAW_SANDBOX: 'docker', ...extra });
}

function chat(extra: Record<string, string> = {}): RunningProcess {
  return startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'chat', '--data', dataDir], { env: env(extra), stdio: ['pipe', 'pipe', 'pipe'] });
}

/** The tool_result blocks of the newest request, as text. */
function lastToolResults(requests: readonly RecordedRequest[]): string {
  const body = requests[requests.length - 1]!.body as { messages: { content: unknown }[] };
  return JSON.stringify(body.messages[body.messages.length - 1]!.content);
}

describe('ledgerclaw chat', () => {
  it('answers a question, remembers with memory_write, and finds it with memory_search in a later turn', async () => {
    fake.enqueue(
      { content: [{ type: 'tool_use', name: 'memory_write', input: { key: 'vendor.acme.payment_terms', statement: 'Acme pays its invoices net 30.' } }] },
      { content: [{ type: 'text', text: 'Noted: Acme pays net 30.' }] },
    );
    const session = chat();
    await session.waitForOutput('Type a message', { timeoutMs: 120_000 });
    session.stdin!.write('Remember that Acme pays net 30.\n');
    await session.waitForOutput('Noted: Acme pays net 30.', { timeoutMs: 60_000 });
    expect(session.stdout()).toMatch(/· using memory_write/);

    fake.enqueue({ content: [{ type: 'tool_use', name: 'memory_search', input: { query: 'Acme payment' } }] });
    fake.respondWith((request) => ({ content: [{ type: 'text', text: `From memory: ${lastToolResults([request]).includes('net 30') ? 'net 30' : 'nothing found'}.` }] }));
    session.stdin!.write('What are the payment terms of Acme?\n');
    await session.waitForOutput(/From memory: (net 30|nothing found)\./, { timeoutMs: 60_000 });
    expect(session.stdout()).toContain('From memory: net 30.');

    session.stdin!.end('/quit\n');
    expect(await session.exited).toEqual({ code: 0, signal: null });

    // The whole turn is on record: the prompt, each model and tool call, tokens and cost.
    const runs = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'runs', 'list', '--data', dataDir], { env: env() });
    expect(runs.stdout).toMatch(/local\.chat/);
    // Newest first: the last row is the first turn.
    const firstRun = [...runs.stdout.matchAll(/^(\S+)\s+local\.chat/gm)].at(-1)?.[1];
    const shown = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'runs', 'show', firstRun!, '--data', dataDir], { env: env() });
    expect(shown.stdout).toMatch(/\[system: identity, cached\]/);
    expect(shown.stdout).toMatch(/Remember that Acme pays net 30\./);
    expect(shown.stdout).toMatch(/model call .*claude-sonnet-5-5: in \d+, out \d+/);
    expect(shown.stdout).toMatch(/tool call .*memory_write \(host, tier write, executed, \d+ ms\)/);
    expect(shown.stdout).toMatch(/total .*\$\d+\.\d+/);
    // No secret in the container, the log or any event.
    expect(session.stderr()).not.toContain(KEY);
    const events = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'events', 'read', '$all', '--json', '--data', dataDir], { env: env() });
    expect(events.stdout).not.toContain(KEY);
  });

  it('without ANTHROPIC_API_KEY a turn fails at once, saying what to set', async () => {
    const session = chat({ ANTHROPIC_API_KEY: '' });
    await session.waitForOutput('Type a message', { timeoutMs: 120_000 });
    session.stdin!.write('hello?\n');
    await session.waitForOutput(/the run failed: model_error: .*set ANTHROPIC_API_KEY/, { timeoutMs: 30_000 });
    session.stdin!.end('/quit\n');
    expect((await session.exited).code).toBe(0);
    expect(fake.requests).toHaveLength(0);
  });

  it('a runtime killed during a run: the restart removes its container, ends the run as interrupted, and retries the turn once', async () => {
    // The first attempt hangs; the retry (its prompt names its run) answers.
    fake.respondWith((request) =>
      JSON.stringify(request.body).includes('.retry') ? { content: [{ type: 'text', text: 'Sorry for the wait: here it is.' }] } : { hang: true },
    );
    const first = chat();
    await first.waitForOutput('Type a message', { timeoutMs: 120_000 });
    first.stdin!.write('Take your time.\n');
    await first.waitForOutput('· thinking', { timeoutMs: 60_000 });
    const running = await docker.listContainers({ filters: { label: ['ledgerclaw.managed=true'], status: ['running'] } });
    const ours = running.filter((container) => container.Labels['ledgerclaw.group'] === 'local.chat');
    expect(ours.length).toBeGreaterThan(0);
    first.kill('SIGKILL');
    await first.exited;

    const second = chat();
    await second.waitForOutput('Type a message', { timeoutMs: 120_000 });
    for (const container of ours) {
      await expect(docker.getContainer(container.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    }
    // The retry runs in the background of the new session; wait for it on the record.
    let runs = '';
    for (let attempt = 0; attempt < 40 && !/\.retry\s+local\.chat\s+\S+\s+completed/.test(runs); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      runs = (await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'runs', 'list', '--data', dataDir], { env: env() })).stdout;
    }
    second.stdin!.end('/quit\n');
    expect((await second.exited).code).toBe(0);
    expect(runs).toMatch(/^\S+-\d+\.\d+\s+local\.chat\s+\S+\s+interrupted/m);
    expect(runs).toMatch(/\.retry\s+local\.chat\s+\S+\s+completed/);
    expect(fake.requests.filter((request) => JSON.stringify(request.body).includes('.retry'))).toHaveLength(1);
  });
});
