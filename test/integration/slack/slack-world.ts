/**
 * The Slack end-to-end world: a fake Slack (Web API, Socket Mode, signed HTTP events) and
 * a fake Anthropic on 127.0.0.1, and the built `ledgerclaw start` in a child process
 * pointed at them, with runs in real Docker containers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';
import { FakeSlack } from '../../fakes/slack.js';
import { agentImage } from '../../support/agent-image.js';
import { builtFile } from '../../support/built-dist.js';
import { runProcess, startProcess, type RunningProcess } from '../../support/child-process.js';

export const KEY = 'sk-slack-e2e-key';
export const SIGNING_SECRET = 'e2e-signing-secret-0123456789abcdef';
export const GENERAL = 'C0GENERAL';
export const ALICE = 'U0ALICE';
export const BOB = 'U0BOB';

export interface SlackWorld {
  readonly slack: FakeSlack;
  readonly model: FakeAnthropic;
  readonly dataDir: string;
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** `ledgerclaw start`, once its banner says Slack is connected. */
  start(extra?: Record<string, string>): Promise<RunningProcess>;
  cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number | null }>;
  /** The events of one stream as NDJSON envelopes. */
  events(stream: string): Promise<{ type: string; data: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function openSlackWorld(options: { http?: { port: number } } = {}): Promise<SlackWorld> {
  const slack = await FakeSlack.start({
    ...(options.http ? { http: { url: `http://127.0.0.1:${options.http.port}/slack/events`, signingSecret: SIGNING_SECRET } } : {}),
  });
  slack.web.addUser({ id: ALICE, name: 'alice', realName: 'Alice' });
  slack.web.addUser({ id: BOB, name: 'bob', realName: 'Bob' });
  slack.web.addChannel({ id: GENERAL, name: 'general' });
  const model = await startFakeAnthropic({ apiKey: KEY });
  const dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-slack-'));
  const started: RunningProcess[] = [];
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!/^(LEDGERCLAW_|ANTHROPIC_|SLACK_)/.test(key)) clean[key] = value;
    return {
      ...clean,
      LEDGERCLAW_LOG_LEVEL: 'warn',
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: model.url,
      LEDGERCLAW_SANDBOX: 'docker',
      SLACK_BOT_TOKEN: slack.botToken,
      LEDGERCLAW_SLACK_API_URL: slack.url,
      ...(options.http
        ? { LEDGERCLAW_SLACK_MODE: 'http', LEDGERCLAW_SLACK_PORT: String(options.http.port), SLACK_SIGNING_SECRET: SIGNING_SECRET }
        : { SLACK_APP_TOKEN: slack.appToken }),
      ...extra,
    };
  };
  const cli = async (...args: string[]) => {
    const result = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), ...args, '--data', dataDir], { env: env() });
    return { stdout: result.stdout, stderr: result.stderr, code: result.code };
  };
  return {
    slack,
    model,
    dataDir,
    env,
    cli,
    async start(extra = {}) {
      const child = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start', '--data', dataDir], { env: env(extra) });
      started.push(child);
      await child.waitForOutput(/slack +connected/, { timeoutMs: 120_000 });
      if (!options.http) await slack.socket.waitForConnection();
      return child;
    },
    async events(stream) {
      const result = await cli('events', 'read', stream, '--json');
      if (result.code !== 0) return [];
      return result.stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as { type: string; data: Record<string, unknown> });
    },
    async close() {
      for (const child of started) child.kill('SIGKILL');
      await Promise.all(started.map((child) => child.exited));
      await slack.close();
      await model.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Gives every test of the file a fresh world (handed to `use` before the test, closed
 * after it), the agent image built once before the first.
 */
export function freshSlackWorldPerTest(use: (world: SlackWorld) => void): void {
  let current: SlackWorld | undefined;
  beforeAll(async () => {
    await agentImage();
  }, 600_000);
  beforeEach(async () => {
    current = await openSlackWorld();
    use(current);
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
}
