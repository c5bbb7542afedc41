/**
 * Knowledge from configuration to search, through the CLI on a real data directory: a
 * folder source configured in ledgerclaw.config.json is synced into events, indexed by its
 * cache projection, and found by `ledgerclaw search`; what .gitignore excludes is not.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { builtFile } from '../support/built-dist.js';
import { startProcess } from '../support/child-process.js';
import { runCliCaptured } from '../support/in-process-cli.js';

let cwd: string;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'ledgerclaw-knowledge-cli-'));
  await mkdir(join(cwd, 'handbook', 'drafts'), { recursive: true });
  await writeFile(join(cwd, 'handbook', 'onboarding.md'), '# Onboarding\n\nEvery new hire gets a security briefing and an access review in the first week.\n');
  await writeFile(join(cwd, 'handbook', 'expenses.md'), '# Expenses\n\nReceipts above fifty euros need the finance lead to approve them.\n');
  await writeFile(join(cwd, 'handbook', '.gitignore'), 'drafts/\n');
  await writeFile(join(cwd, 'handbook', 'drafts', 'secret-plan.md'), 'The onboarding of the merger team stays confidential.\n');
  await writeFile(
    join(cwd, 'ledgerclaw.config.json'),
    JSON.stringify({ knowledge: { sources: [{ name: 'handbook', kind: 'folder', path: './handbook' }, { name: 'slack-general', kind: 'slack', channels: ['C0123ABCD'] }] } }),
  );
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string> = {}) => runCliCaptured(args, { cwd, env: { LEDGERCLAW_LOG_LEVEL: 'silent', ...env } });

it('syncs a folder source, indexes it and finds its documents, never what .gitignore excludes', async () => {
  const synced = await cli(['knowledge', 'sync', '--source', 'handbook']);
  expect(synced.code, synced.stderr).toBe(0);
  // onboarding.md, expenses.md and .gitignore itself; not drafts/.
  expect(synced.stdout).toMatch(/handbook\s+3\s+0\s+0\s+0/);
  const again = await cli(['knowledge', 'sync', '--source', 'handbook']);
  // The cursor (what each file looked like) says nothing changed: nothing is even compared.
  expect(again.stdout).toMatch(/handbook\s+0\s+0\s+0\s+0/);

  expect((await cli(['projections', 'rebuild', 'knowledge-handbook'])).code).toBe(0);
  const found = await cli(['search', 'onboarding', '--json']);
  expect(found.code, found.stderr).toBe(0);
  const results = found.stdout.trim().split('\n').map((line) => JSON.parse(line) as { documentId: string; source: string });
  expect(results.map((result) => result.documentId)).toEqual(['onboarding.md']);
  expect(results[0]!.source).toBe('handbook');
});

it('says which environment variable a Slack source needs, and syncs nothing', async () => {
  const result = await cli(['knowledge', 'sync', '--source', 'slack-general']);
  expect(result).toMatchObject({ code: 1, stderr: expect.stringMatching(/slack-general reads Slack and needs the bot token in SLACK_BOT_TOKEN/) });
});

it('names the configured sources when asked for one that is not', async () => {
  const result = await cli(['knowledge', 'sync', '--source', 'wiki']);
  expect(result).toMatchObject({ code: 1, stderr: expect.stringMatching(/no knowledge source named wiki \(configured: handbook, slack-general\)/) });
});

it('has the running runtime sync its sources and index them, searchable while it runs', async () => {
  const runtime = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start'], {
    cwd,
    env: { ...process.env, LEDGERCLAW_LOG_LEVEL: 'info' },
  });
  try {
    await runtime.waitForOutput('knowledge source synced', { stream: 'stderr' });
    // The slack source has no token here: it is logged and retried, and the others go on.
    await runtime.waitForOutput('could not be synced', { stream: 'stderr' });
    expect(runtime.stderr()).toContain('SLACK_BOT_TOKEN');
    let found = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && !found.includes('onboarding.md'); ) {
      found = (await cli(['search', 'onboarding', '--json'])).stdout;
      if (!found.includes('onboarding.md')) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(found).toContain('onboarding.md');
  } finally {
    runtime.kill('SIGTERM');
    await runtime.exited;
  }
});
