/**
 * The workspace quota end to end (defect 9 of issue 16): `ledgerclaw chat` with a 1 MiB
 * quota, a turn whose bash fills the group's workspace past it, and the next turn. The built
 * CLI, a Docker container per turn, the Anthropic fake.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';
import { agentImage } from '../../support/agent-image.js';
import { builtFile } from '../../support/built-dist.js';
import { runProcess, startProcess } from '../../support/child-process.js';
import { cliEnv } from '../../support/cli-env.js';

const KEY = 'sk-e2e-key';
let fake: FakeAnthropic;
let dataDir: string;

beforeAll(async () => {
  await agentImage();
}, 600_000);

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-quota-'));
});

afterEach(async () => {
  await fake.close();
  await rm(dataDir, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, LEDGERCLAW_SANDBOX: 'docker', LEDGERCLAW_RUN_WORKSPACE_MB: '1' });
}

describe('the workspace quota (defect 9 of issue 16)', () => {
  it('a turn whose bash fills the workspace past runs.workspaceMb fails with workspace_quota, and the group answers the next message', async () => {
    fake.enqueue(
      // Each file is under the 1 MiB a file may take; together they are over the workspace's 1 MiB.
      { content: [{ type: 'tool_use', name: 'bash', input: { command: 'head -c 700000 /dev/zero > a; head -c 700000 /dev/zero > b; echo written' } }] },
    );
    const session = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'chat', '--data', dataDir], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    await session.waitForOutput('Type a message', { timeoutMs: 120_000 });
    session.stdin!.write('Fill the disk.\n');
    await session.waitForOutput(/the run failed: workspace_quota: the workspace holds 1\.\d\d MiB in \d+ entries, over its quota of 1\.00 MiB/, { timeoutMs: 60_000 });
    // The run ended before the model was asked again.
    expect(fake.requests).toHaveLength(1);

    fake.respondWith(() => ({ content: [{ type: 'text', text: 'Still here.' }] }));
    session.stdin!.write('Are you there?\n');
    await session.waitForOutput('Still here.', { timeoutMs: 60_000 });
    session.stdin!.end('/quit\n');
    expect((await session.exited).code).toBe(0);

    const runs = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'runs', 'list', '--data', dataDir], { env: env() });
    expect(runs.stdout).toMatch(/local\.chat\s+\S+\s+failed/);
    expect(runs.stdout).toMatch(/local\.chat\s+\S+\s+completed/);
  }, 240_000);
});
