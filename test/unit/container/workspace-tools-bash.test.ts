/**
 * The bash workspace tool: what a command sees, what comes back, and that a timeout or the
 * shell's exit leaves no process behind.
 */
import { describe, expect, it } from 'vitest';
import { isProcessAlive, makeTestbed, waitUntil } from './workspace-support.js';

describe('bash', () => {
  it('runs in the workspace root and answers exit code 0 and stdout', async () => {
    const bed = await makeTestbed();
    await bed.write('hello.txt', 'hi there\n');
    expect(await bed.run('bash', { command: 'pwd; cat hello.txt' })).toEqual({
      content: `exit code 0\nstdout:\n${bed.root}\nhi there\nstderr: (empty)`,
      isError: false,
    });
  });

  it('answers a non-zero exit code and stderr as an error', async () => {
    const bed = await makeTestbed();
    expect(await bed.run('bash', { command: 'echo oops >&2; exit 3' })).toEqual({
      content: 'exit code 3\nstdout: (empty)\nstderr:\noops',
      isError: true,
    });
  });

  it('gives the command only PATH, HOME (the workspace) and LANG, never the runner environment', async () => {
    const bed = await makeTestbed();
    process.env['WORKSPACE_TOOLS_TEST_SECRET'] = 'leaked';
    try {
      const outcome = await bed.run('bash', { command: 'env | grep -v "^PWD=\\|^SHLVL=\\|^_=" | sort' });
      const variables = outcome.content.split('\n').filter((line) => /^[A-Z_]+=/.test(line));
      expect(variables).toEqual(['HOME=' + bed.root, 'LANG=C.UTF-8', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
    } finally {
      delete process.env['WORKSPACE_TOOLS_TEST_SECRET'];
    }
  });

  it('closes stdin, so a command that reads it ends at once', async () => {
    const bed = await makeTestbed({ bashTimeoutMs: 5_000 });
    expect(await bed.run('bash', { command: 'cat; echo done' })).toEqual({ content: 'exit code 0\nstdout:\ndone\nstderr: (empty)', isError: false });
  });

  it('on timeout kills the whole process group, background jobs included, and says so', async () => {
    const bed = await makeTestbed();
    const started = Date.now();
    const outcome = await bed.run('bash', { command: 'sleep 30 & echo $! > background.pid; sleep 30', timeout_ms: 300 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcome).toEqual({ content: expect.stringMatching(/^timed out after 300 ms; the command and everything it started were killed\n/), isError: true });
    const backgroundPid = Number((await bed.read('background.pid')).trim());
    expect(await waitUntil(() => !isProcessAlive(backgroundPid), 3_000)).toBe(true);
  });

  it('never waits longer than the configured timeout, whatever the call asks', async () => {
    const bed = await makeTestbed({ bashTimeoutMs: 300 });
    const started = Date.now();
    const outcome = await bed.run('bash', { command: 'sleep 30', timeout_ms: 60_000 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcome.content).toMatch(/^timed out after 300 ms/);
  });

  it('kills background jobs left when the shell exits, instead of waiting on them', async () => {
    const bed = await makeTestbed();
    const started = Date.now();
    const outcome = await bed.run('bash', { command: 'sleep 30 & echo $! > background.pid; echo started' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcome).toEqual({ content: 'exit code 0\nstdout:\nstarted\nstderr: (empty)', isError: false });
    const backgroundPid = Number((await bed.read('background.pid')).trim());
    expect(await waitUntil(() => !isProcessAlive(backgroundPid), 3_000)).toBe(true);
  });

  it('truncates long output, keeping its start and end, with a marker saying how much was cut', async () => {
    const bed = await makeTestbed({ maxOutputChars: 1_000 });
    const outcome = await bed.run('bash', { command: 'echo BEGIN; seq 1 20000; echo END' });
    expect(outcome.isError).toBe(false);
    expect(outcome.content.length).toBeLessThanOrEqual(1_000);
    expect(outcome.content).toMatch(/^exit code 0\nstdout:\nBEGIN\n/);
    expect(outcome.content).toMatch(/\[\.\.\. \d+ of 108904 characters cut \.\.\.\]/);
    expect(outcome.content).toMatch(/\n20000\nEND\nstderr: \(empty\)$/);
  });

  it('shares the output cap so a short stderr survives a flood on stdout', async () => {
    const bed = await makeTestbed({ maxOutputChars: 1_000 });
    const outcome = await bed.run('bash', { command: 'seq 1 20000; echo "the real error" >&2; exit 1' });
    expect(outcome.content).toMatch(/\nstderr:\nthe real error$/);
    expect(outcome.content.length).toBeLessThanOrEqual(1_000);
  });
});

describe('bash against a command that ignores SIGTERM', () => {
  it('kills it with SIGKILL after the grace period', async () => {
    const bed = await makeTestbed();
    const started = Date.now();
    // An ignored signal stays ignored across exec, so the sleep ignores SIGTERM too.
    const outcome = await bed.run('bash', { command: "trap '' TERM; sleep 30 & echo $! > background.pid; sleep 30", timeout_ms: 200 });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(outcome.content).toMatch(/^timed out after 200 ms/);
    const backgroundPid = Number((await bed.read('background.pid')).trim());
    expect(await waitUntil(() => !isProcessAlive(backgroundPid), 3_000)).toBe(true);
  });
});
