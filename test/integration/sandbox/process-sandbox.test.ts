/**
 * The process sandbox with real child processes: what it keeps from the run (the host's
 * environment), what kill() ends (the whole process group), and what a later runtime
 * process finds of an earlier one's children.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessSandbox } from '../../../runtime/sandbox/process-sandbox.js';
import type { SandboxedProcess } from '../../../runtime/sandbox/sandbox.js';
import { SandboxSpecError } from '../../../runtime/sandbox/sandbox-spec.js';
import { finish, sandboxDirs, testSpec, waitForStdout, type SandboxDirs } from '../../support/agent-image.js';

let dirs: SandboxDirs | undefined;
const started: SandboxedProcess[] = [];

async function setUp(): Promise<{ dirs: SandboxDirs; sandbox: ProcessSandbox }> {
  dirs = await sandboxDirs();
  return { dirs, sandbox: new ProcessSandbox({ runsDir: dirs.runsDir }) };
}

async function startTracked(sandbox: ProcessSandbox, ...args: Parameters<ProcessSandbox['start']>): Promise<SandboxedProcess> {
  const running = await sandbox.start(...args);
  started.push(running);
  return running;
}

/** Running, and not a zombie waiting for a parent that will never reap it. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  for (const startedAt = Date.now(); Date.now() - startedAt < timeoutMs; ) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((running) => running.kill()));
  if (dirs !== undefined) await rm(dirs.root, { recursive: true, force: true });
  dirs = undefined;
});

describe('the process sandbox', () => {
  it('says it is weak and turns high-risk tools off', async () => {
    const { sandbox } = await setUp();
    expect(sandbox.kind).toBe('process');
    expect(sandbox.isolation).toBe('process-weak');
    expect(sandbox.highRiskToolsAllowed).toBe(false);
  });

  it("builds the run's environment from the spec alone: none of the host's variables, secrets least of all", async () => {
    const { dirs, sandbox } = await setUp();
    const secret = 'sk-ant-api03-test-only-not-a-real-key-0123456789';
    const before = process.env.ANTHROPIC_API_KEY;
    process.env.ANTHROPIC_API_KEY = secret;
    try {
      const spec = testSpec(dirs, {
        env: { LEDGERCLAW_MODE: 'test' },
        command: ['node', '-e', 'console.log(JSON.stringify({ env: process.env, cwd: process.cwd() }))'],
      });
      const { exit, stdout } = await finish(await startTracked(sandbox, spec));
      expect(exit.exitCode).toBe(0);
      const seen = JSON.parse(stdout) as { env: Record<string, string>; cwd: string };
      expect(Object.keys(seen.env).sort()).toEqual(['HOME', 'LEDGERCLAW_MODE', 'LEDGERCLAW_WORKSPACE', 'PATH']);
      expect(stdout).not.toContain(secret);
      expect(seen.env.HOME).toBe(dirs.workspaceDir);
      expect(seen.env.LEDGERCLAW_WORKSPACE).toBe(dirs.workspaceDir);
      expect(seen.cwd).toBe(dirs.workspaceDir);
    } finally {
      if (before === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = before;
    }
  });

  it('refuses a secret-looking env entry, and one copied from a host secret, before starting anything', async () => {
    const { dirs, sandbox } = await setUp();
    await expect(sandbox.start(testSpec(dirs, { env: { SLACK_BOT_TOKEN: 'anything' } }))).rejects.toThrow(SandboxSpecError);
    const before = process.env.MY_SERVICE_PASSWORD;
    process.env.MY_SERVICE_PASSWORD = 'correct horse battery staple';
    try {
      await expect(sandbox.start(testSpec(dirs, { env: { PHRASE: 'correct horse battery staple' } }))).rejects.toThrow(
        /PHRASE refused: its value is the host's MY_SERVICE_PASSWORD/,
      );
    } finally {
      if (before === undefined) delete process.env.MY_SERVICE_PASSWORD;
      else process.env.MY_SERVICE_PASSWORD = before;
    }
    expect(await readdir(dirs.runsDir).catch(() => [])).toEqual([]);
  });

  it('kill() ends the whole process group, grandchildren included', async () => {
    const { dirs, sandbox } = await setUp();
    const running = await startTracked(sandbox, testSpec(dirs, { command: ['sh', '-c', 'sleep 1000 & echo "grandchild $!"; wait'] }));
    const grandchild = Number(/grandchild (\d+)/.exec(await waitForStdout(running, /grandchild \d+/))?.[1]);
    expect(await isRunning(grandchild)).toBe(true);
    await running.kill();
    await running.kill();
    const exit = await running.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(await eventually(async () => !(await isRunning(grandchild)))).toBe(true);
  });

  it('ends what the run left behind when its first process exits, as a container would', async () => {
    const { dirs, sandbox } = await setUp();
    const running = await startTracked(sandbox, testSpec(dirs, { command: ['sh', '-c', 'sleep 1000 & echo "grandchild $!"'] }));
    const grandchild = Number(/grandchild (\d+)/.exec(await waitForStdout(running, /grandchild \d+/))?.[1]);
    const exit = await running.exited;
    expect(exit.exitCode).toBe(0);
    expect(await eventually(async () => !(await isRunning(grandchild)))).toBe(true);
  });

  it('reports a crash with its exit code and stderr tail, and carries stdin to stdout', async () => {
    const { dirs, sandbox } = await setUp();
    const crash = await startTracked(sandbox, testSpec(dirs, { command: ['node', '-e', "throw new Error('the runner broke')"] }));
    const crashed = await finish(crash);
    expect(crashed.exit.exitCode).toBe(1);
    expect(crashed.exit.oomKilled).toBe(false);
    expect(crashed.exit.stderrTail).toContain('Error: the runner broke');

    const echo = await startTracked(sandbox, testSpec(dirs, { command: ['node', '-e', 'process.stdin.pipe(process.stdout)'] }));
    const done = finish(echo);
    echo.stdin.end('hello sandbox\n');
    expect((await done).stdout).toBe('hello sandbox\n');
  });

  it('finds the children an earlier runtime process left, by pid file, and removes them', async () => {
    const { dirs } = await setUp();
    const previousProcess = new ProcessSandbox({ runsDir: dirs.runsDir });
    const spec = testSpec(dirs, { command: ['sh', '-c', 'echo up; exec sleep 1000'] });
    const forgotten = await previousProcess.start(spec);
    await waitForStdout(forgotten, /up/);
    const pid = Number(forgotten.id.replace('pid:', ''));
    // A pid file whose process is long gone: not a leftover, and swept.
    await mkdir(dirs.runsDir, { recursive: true });
    await writeFile(join(dirs.runsDir, 'dead-run.pid'), JSON.stringify({ runId: 'dead-run', groupId: 'g', pid: 2 ** 22 - 1, startTime: '1' }));

    const current = new ProcessSandbox({ runsDir: dirs.runsDir });
    expect(await previousProcess.findLeftovers()).toEqual([]);
    expect(await current.findLeftovers()).toEqual([{ runId: spec.runId, id: forgotten.id }]);
    expect(await readdir(dirs.runsDir)).not.toContain('dead-run.pid');

    await current.removeLeftover(forgotten.id);
    expect(await eventually(async () => !(await isRunning(pid)))).toBe(true);
    await current.removeLeftover(forgotten.id);
    expect(await current.findLeftovers()).toEqual([]);
    await forgotten.exited;
  });

  it('does not mistake an unrelated process that reused a pid for a leftover', async () => {
    const { dirs } = await setUp();
    // Alive and a group leader, as a sandboxed run is, but not started when the file says.
    const unrelated = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    const pid = unrelated.pid ?? 0;
    try {
      await mkdir(dirs.runsDir, { recursive: true });
      await writeFile(join(dirs.runsDir, 'reused.pid'), JSON.stringify({ runId: 'reused', groupId: 'g', pid, startTime: '12345' }));
      const sandbox = new ProcessSandbox({ runsDir: dirs.runsDir });
      expect(await sandbox.findLeftovers()).toEqual([]);
      await writeFile(join(dirs.runsDir, 'reused.pid'), JSON.stringify({ runId: 'reused', groupId: 'g', pid, startTime: '12345' }));
      await sandbox.removeLeftover(`pid:${pid}`);
      expect(await isRunning(pid)).toBe(true);
    } finally {
      unrelated.kill('SIGKILL');
    }
  });
});
