/**
 * Issue 16, defect 3: a clean stop (SIGTERM) during a run records `run.interrupted`
 * (`runtime_shutdown`) before the runtime closes, so the next start finds the run ended
 * and does not retry it, as the README says. The built CLI in child processes (`chat`,
 * the process sandbox), the Anthropic fake hanging on the run's model call.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';
import { builtFile } from '../../support/built-dist.js';
import { runProcess, startProcess, type RunningProcess } from '../../support/child-process.js';
import { cliEnv } from '../../support/cli-env.js';

const KEY = 'sk-clean-stop';
let fake: FakeAnthropic;
let dataDir: string;

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-clean-stop-'));
});

afterEach(async () => {
  await fake.close();
  await rm(dataDir, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, LEDGERCLAW_SANDBOX: 'process' });
}

function chat(): RunningProcess {
  return startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'chat', '--data', dataDir], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
}

async function cli(...args: string[]): Promise<string> {
  return (await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), ...args, '--data', dataDir], { env: env() })).stdout;
}

describe('defect 3 (issue 16): a clean stop interrupts live runs', () => {
  it('defect 3: SIGTERM during a run records run.interrupted (runtime_shutdown) before the runtime closes, and a restart does not retry the run', async () => {
    fake.respondWith(() => ({ hang: true }));
    const first = chat();
    await first.waitForOutput('Type a message', { timeoutMs: 60_000 });
    first.stdin!.write('Take your time.\n');
    await first.waitForOutput('· thinking', { timeoutMs: 30_000 });
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    const [runId] = [...(await cli('runs', 'list')).matchAll(/^(\S+)\s+local\.chat/gm)].map((match) => match[1]!);
    const stream = (await cli('events', 'read', `run-${runId}`, '--json')).trim().split('\n').map((line) => JSON.parse(line) as { type: string; data: { reason?: string } });
    expect(stream.filter((event) => ['run.completed', 'run.failed', 'run.timed_out', 'run.interrupted'].includes(event.type))).toMatchObject([
      { type: 'run.interrupted', data: { reason: 'runtime_shutdown' } },
    ]);

    const second = chat();
    await second.waitForOutput('Type a message', { timeoutMs: 60_000 });
    // Give a retry, if one were owed, time to be asked for and reach the model.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    second.stdin!.end('/quit\n');
    expect((await second.exited).code).toBe(0);

    const runs = await cli('runs', 'list');
    expect(runs).not.toMatch(/\.retry/);
    expect(runs).toMatch(new RegExp(`^${runId!.replaceAll('.', '\\.')}\\s+local\\.chat\\s+\\S+\\s+interrupted`, 'm'));
    expect(fake.requests).toHaveLength(1);
  });
});
