/**
 * The data directory is its owner's alone: after a real chat (the built CLI, a Docker
 * container per turn, the agent writing in its workspace, memory written and its files
 * rendered), nothing under it is readable by another local user, and the agent in its
 * container still uses its workspace and reads the shared folder.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-messages.js';
import { agentImage } from '../support/agent-image.js';
import { builtFile } from '../support/built-dist.js';
import { killLeftoverProcesses, runProcess, startProcess } from '../support/child-process.js';
import { cliEnv } from '../support/cli-env.js';

const KEY = 'sk-permissions-test-key';
/** The agent's uid in its container, and the owner of what it may use on the host. */
const AGENT_UID = 1000;
/** Another local user: nobody. */
const OTHER_UID = 65534;

let fake: FakeAnthropic;
let root: string;
let dataDir: string;

beforeAll(async () => {
  await agentImage();
}, 600_000);

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
  root = mkdtempSync(join(tmpdir(), 'ledgerclaw-permissions-'));
  // Searchable by everyone, as /var/lib is: only the data directory's own mode protects it.
  chmodSync(root, 0o755);
  dataDir = join(root, 'data');
});

afterEach(async () => {
  await killLeftoverProcesses();
  await fake.close();
  rmSync(root, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  // The shell's usual umask: the CLI must not depend on it.
  return cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url, LEDGERCLAW_SANDBOX: 'docker' });
}

/** Every path under `dir` (itself included), not following symlinks. */
function walk(dir: string): string[] {
  const paths = [dir];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) paths.push(...walk(path));
    else paths.push(path);
  }
  return paths;
}

/** Whether `uid` can open `path` for reading (or list it, for a directory), tried as that user. */
function readableBy(uid: number, path: string): boolean {
  const script = `const fs = require('node:fs'); const p = process.argv[1]; fs.statSync(p).isDirectory() ? fs.readdirSync(p) : fs.closeSync(fs.openSync(p, 'r'));`;
  return spawnSync(process.execPath, ['-e', script, path], { uid, gid: uid, stdio: 'ignore' }).status === 0;
}

async function chatOnce(): Promise<{ stdout: string; stderr: string }> {
  const session = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'chat', '--data', dataDir], { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
  await session.waitForOutput('Type a message', { timeoutMs: 120_000 });
  session.stdin!.write('Keep a note, and remember that Acme pays net 30.\n');
  await session.waitForOutput('Done: noted and remembered.', { timeoutMs: 90_000 });
  session.stdin!.end('/quit\n');
  expect(await session.exited).toEqual({ code: 0, signal: null });
  return { stdout: session.stdout(), stderr: session.stderr() };
}

describe('the data directory (defect 4: the data directory is readable by every local user)', () => {
  it('after a chat, nothing under it is readable by another uid; the agent owns only its workspace and the shared folder, and still uses both', async () => {
    fake.enqueue(
      {
        content: [
          {
            type: 'tool_use',
            name: 'bash',
            input: { command: 'echo hi > note.txt && mkdir -p drafts && echo x > drafts/a.txt && ls /shared > /dev/null && echo WORKSPACE_AND_SHARED_$((40 + 2))' },
          },
        ],
      },
      { content: [{ type: 'tool_use', name: 'memory_write', input: { key: 'vendor.acme.payment_terms', statement: 'Acme pays its invoices net 30.' } }] },
      { content: [{ type: 'text', text: 'Done: noted and remembered.' }] },
    );
    await chatOnce();
    // The agent wrote in its workspace and listed /shared from inside its container (the
    // shell's arithmetic, so the command's own text in the history cannot match).
    const requests = JSON.stringify(fake.requests.map((request) => request.body));
    expect(requests).toContain('WORKSPACE_AND_SHARED_42');

    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const paths = walk(dataDir);
    expect(paths.some((path) => path.endsWith('events.db'))).toBe(true);
    expect(paths.some((path) => path.endsWith('MEMORY.md'))).toBe(true);
    const agentsOwn = (path: string) => /^(groups\/[^/]+\/workspace|shared)(\/|$)/.test(relative(dataDir, path));
    for (const path of paths) {
      const stats = lstatSync(path);
      const where = relative(dataDir, path) || '.';
      if (agentsOwn(path)) {
        // What the container's user must use: its, and nobody else's.
        expect({ where, uid: stats.uid, other: stats.mode & 0o007 }).toEqual({ where, uid: AGENT_UID, other: 0 });
      } else {
        expect({ where, uid: stats.uid, groupOrOther: stats.mode & 0o077 }).toEqual({ where, uid: process.getuid!(), groupOrOther: 0 });
      }
    }
    expect(paths.filter((path) => path.includes('/workspace/')).map((path) => relative(dataDir, path))).toEqual(
      expect.arrayContaining([expect.stringMatching(/workspace\/note\.txt$/), expect.stringMatching(/workspace\/drafts\/a\.txt$/)]),
    );

    // The attack: another local user, and the agent's uid on the host, try to read.
    for (const path of [join(dataDir, 'events.db'), paths.find((path) => path.endsWith('MEMORY.md'))!, paths.find((path) => path.endsWith('note.txt'))!, dataDir]) {
      expect({ path, readable: readableBy(OTHER_UID, path) }).toEqual({ path, readable: false });
      expect({ path, readable: readableBy(AGENT_UID, path) }).toEqual({ path, readable: false });
    }
  }, 300_000);

  it('start tightens an existing data directory that others can enter, and says so', async () => {
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const runtime = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start', '--data', dataDir], { env: { ...env(), LEDGERCLAW_SANDBOX: 'process' } });
    await runtime.waitForOutput('Stop with Ctrl-C', { timeoutMs: 60_000 });
    runtime.kill('SIGTERM');
    expect((await runtime.exited).code).toBe(0);
    expect(runtime.stderr()).toMatch(/"from":"0755","to":"0700".*the data directory was open to other users; tightened it/);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const path of walk(dataDir)) expect({ path, groupOrOther: lstatSync(path).mode & 0o077 }).toEqual({ path, groupOrOther: 0 });
    expect(readableBy(OTHER_UID, join(dataDir, 'events.db'))).toBe(false);
  });

  it('other commands that open the data directory (a reader, tasks add) create nothing readable by others either', async () => {
    const streams = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'events', 'streams', '--data', dataDir], { env: env() });
    expect(streams.code).toBe(0);
    const tasks = await runProcess(
      process.execPath,
      [builtFile('runtime/cli/main.js'), 'tasks', 'add', '--group', 'T1.CSALES', '--prompt', 'hello', '--every', '1h', '--data', dataDir],
      { env: env() },
    );
    expect(tasks.code, tasks.stderr).toBe(0);
    for (const path of walk(dataDir)) expect({ path, groupOrOther: lstatSync(path).mode & 0o077 }).toEqual({ path, groupOrOther: 0 });
  });
});
