/**
 * Credentials given to the runtime are never echoed by it: the built CLI in real processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtFile } from '../support/built-dist.js';
import { killLeftoverProcesses, runProcess, startProcess } from '../support/child-process.js';
import { cliEnv } from '../support/cli-env.js';

const PASSWORD = 'hunter2-proxy-password';
const SLACK_TOKEN = 'xoxb-1234567890-abcdefghijkl';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'ledgerclaw-credential-echo-'));
});

afterEach(async () => {
  await killLeftoverProcesses();
  rmSync(dataDir, { recursive: true, force: true });
});

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'info', LEDGERCLAW_SANDBOX: 'process', ...extra });
}

describe('credentials echoed (defect 10)', () => {
  it('the banner and the log show model.baseUrl without its userinfo', async () => {
    const runtime = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start', '--data', dataDir], {
      env: env({ ANTHROPIC_API_KEY: 'sk-credential-echo-test-key', ANTHROPIC_BASE_URL: `http://proxy-user:${PASSWORD}@127.0.0.1:9/` }),
    });
    await runtime.waitForOutput('Stop with Ctrl-C', { timeoutMs: 60_000 });
    runtime.kill('SIGTERM');
    expect((await runtime.exited).code).toBe(0);
    expect(runtime.stdout()).toMatch(/model +\S+ via http:\/\/\[redacted\]@127\.0\.0\.1:9\//);
    expect(runtime.stdout() + runtime.stderr()).not.toContain(PASSWORD);
    expect(runtime.stdout() + runtime.stderr()).not.toContain('proxy-user');
  });

  it('a config error names the key and the variable, not a token-shaped value', async () => {
    const result = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'events', 'streams', '--data', dataDir], {
      env: env({ LEDGERCLAW_SLACK_MODE: SLACK_TOKEN }),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ledgerclaw: invalid config: slack\.mode = "\[redacted\]" \(from LEDGERCLAW_SLACK_MODE\): expected one of/);
    expect(result.stderr).not.toContain(SLACK_TOKEN);
  });
});
