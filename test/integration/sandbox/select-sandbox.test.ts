/**
 * Which sandbox runs get: Docker when the daemon answers, the process sandbox (loudly) when
 * none does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { selectSandbox } from '../../../runtime/sandbox/select-sandbox.js';
import { agentImage, collectingLog, docker } from '../../support/agent-image.js';

const IMAGE_BUILD_TIMEOUT_MS = 600_000;
let root: string | undefined;

afterEach(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  root = undefined;
});

describe('selectSandbox', () => {
  it('picks the process sandbox, with a warning that isolation is weaker and bash is off, when no daemon answers', async () => {
    root = await mkdtemp(join(tmpdir(), 'ledgerclaw-select-sandbox-'));
    const noDaemon = new Dockerode({ socketPath: join(root, 'no-daemon-here.sock') });
    const { log, warnings } = collectingLog();
    const sandbox = await selectSandbox({ docker: noDaemon, runsDir: join(root, 'runs'), log });
    expect(sandbox.kind).toBe('process');
    expect(sandbox.highRiskToolsAllowed).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/isolation is weaker/);
    expect(warnings[0]).toMatch(/bash .* off/);
  });

  it('does not wait long on a daemon socket that accepts but never answers', async () => {
    root = await mkdtemp(join(tmpdir(), 'ledgerclaw-select-sandbox-'));
    const socketPath = join(root, 'hung-daemon.sock');
    const hung = createServer(() => {
      // Accepts the connection and never says a word.
    });
    await new Promise<void>((resolve) => hung.listen(socketPath, resolve));
    try {
      const { log, warnings } = collectingLog();
      const startedAt = Date.now();
      const sandbox = await selectSandbox({ docker: new Dockerode({ socketPath }), runsDir: join(root, 'runs'), log, pingTimeoutMs: 300 });
      expect(sandbox.kind).toBe('process');
      expect(Date.now() - startedAt).toBeLessThan(5_000);
      expect(warnings).toHaveLength(1);
    } finally {
      hung.close();
    }
  });

  it('picks Docker, with the agent image, when the daemon answers', async () => {
    await agentImage();
    root = await mkdtemp(join(tmpdir(), 'ledgerclaw-select-sandbox-'));
    const { log, warnings } = collectingLog();
    const sandbox = await selectSandbox({ docker, runsDir: join(root, 'runs'), log });
    expect(sandbox.kind).toBe('docker');
    expect(sandbox.isolation).toBe('container');
    expect(sandbox.highRiskToolsAllowed).toBe(true);
    expect(warnings).toEqual([]);
  }, IMAGE_BUILD_TIMEOUT_MS);
});
