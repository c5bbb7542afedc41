/**
 * Issue 18: a run is given COMPANY.md and its group's INSTRUCTIONS.md, and a change to
 * either is recorded before the run's prompt is built, so replay shows which instructions
 * each run saw. The built CLI (`chat`, the process sandbox) against the Anthropic fake; the
 * files edited by hand between two turns, as an operator would.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instructionsHash } from '../../../events/catalogue/instructions.js';
import { startFakeAnthropic, type FakeAnthropic, type RecordedRequest } from '../../fakes/anthropic-messages.js';
import { builtFile } from '../../support/built-dist.js';
import { runProcess, startProcess } from '../../support/child-process.js';
import { cliEnv } from '../../support/cli-env.js';

const KEY = 'sk-instructions-run';
const GROUP = 'local.chat';
let fake: FakeAnthropic;
let dataDir: string;

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-instructions-run-'));
});

afterEach(async () => {
  await fake.close();
  await rm(dataDir, { recursive: true, force: true });
});

const env = () => cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, LEDGERCLAW_SANDBOX: 'process' });

async function cli(...args: string[]): Promise<string> {
  const result = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), ...args, '--data', dataDir], { env: env() });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

async function events(streamId: string): Promise<{ type: string; data: Record<string, unknown>; metadata: { actor: string } }[]> {
  const text = (await cli('events', 'read', streamId, '--json')).trim();
  return text === '' ? [] : text.split('\n').map((line) => JSON.parse(line));
}

/** One turn of `chat`, then quit. */
async function turn(message: string, answer: string): Promise<void> {
  fake.enqueue({ content: [{ type: 'text', text: answer }] });
  const session = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'chat', '--data', dataDir], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
  await session.waitForOutput('Type a message', { timeoutMs: 60_000 });
  session.stdin!.write(`${message}\n`);
  await session.waitForOutput(answer, { timeoutMs: 60_000 });
  session.stdin!.end('/quit\n');
  expect(await session.exited).toEqual({ code: 0, signal: null });
}

const systemText = (request: RecordedRequest) => JSON.stringify((request.body as { system: unknown }).system);

describe('issue 18: runs and their instructions', () => {
  it('gives each run COMPANY.md and its INSTRUCTIONS.md, records each change once before the prompt, and names the hashes in run.context_built', async () => {
    const company = 'Answer in British English.\n';
    const group = 'This is the local console: keep answers short.\n';
    await mkdir(join(dataDir, 'shared'), { recursive: true });
    await writeFile(join(dataDir, 'shared', 'COMPANY.md'), company);
    await mkdir(join(dataDir, 'groups', GROUP), { recursive: true });
    await writeFile(join(dataDir, 'groups', GROUP, 'INSTRUCTIONS.md'), group);

    await turn('Hello there.', 'First answer.');
    expect(systemText(fake.requests.at(-1)!)).toContain('Answer in British English.');
    expect(systemText(fake.requests.at(-1)!)).toContain('keep answers short');

    // The same files for a second turn: nothing new to record.
    await turn('And again.', 'Second answer.');
    const changed = 'Answer in Canadian English.\n';
    await writeFile(join(dataDir, 'shared', 'COMPANY.md'), changed);
    await turn('Once more.', 'Third answer.');
    expect(systemText(fake.requests.at(-1)!)).toContain('Answer in Canadian English.');

    const companyChanges = await events('instructions-company');
    expect(companyChanges.map((event) => [event.type, event.data.text, event.metadata.actor])).toEqual([
      ['instructions.changed', company, 'runtime'],
      ['instructions.changed', changed, 'runtime'],
    ]);
    expect((await events(`instructions-group.${GROUP}`)).map((event) => event.data.hash)).toEqual([instructionsHash(group)]);

    // Newest first: the first run is the last row.
    const runIds = [...(await cli('runs', 'list')).matchAll(/^(\S+)\s+local\.chat/gm)].map((match) => match[1]!).reverse();
    expect(runIds).toHaveLength(3);
    const named = [];
    for (const runId of runIds) named.push((await events(`run-${runId}`)).find((event) => event.type === 'run.context_built')!.data.instructions);
    expect(await cli('runs', 'show', runIds[2]!)).toContain(`instructions: company ${instructionsHash(changed)}, group ${instructionsHash(group)}`);
    expect(named).toEqual([
      { company: instructionsHash(company), group: instructionsHash(group) },
      { company: instructionsHash(company), group: instructionsHash(group) },
      { company: instructionsHash(changed), group: instructionsHash(group) },
    ]);
  }, 300_000);
});
