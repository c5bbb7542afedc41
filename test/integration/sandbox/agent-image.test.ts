/**
 * The agent image: named by the hash of what it is made from, found rather than rebuilt,
 * laid out as the sandboxes expect, and packed with modes the agent can use.
 */
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectAgentImageInputs, imageTagFor } from '../../../container/image/agent-image-inputs.js';
import { BUILD_KIND_LABEL, INPUTS_HASH_LABEL, baseImageOf, ensureAgentImage } from '../../../container/image/build-image.js';
import { packDirectory } from '../../../container/image/tar-context.js';
import { DockerSandbox } from '../../../runtime/sandbox/docker-sandbox.js';
import { agentImage, collectingLog, docker, finish, sandboxDirs, testSpec } from '../../support/agent-image.js';
import { REPO_ROOT } from '../../support/built-dist.js';

const execFileAsync = promisify(execFile);
const IMAGE_BUILD_TIMEOUT_MS = 600_000;

const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-agent-image-test-'));
  scratch.push(dir);
  return dir;
}

/** A repository with the real Dockerfiles and node_modules, and a dist/container of our own. */
async function fakeRepo(): Promise<string> {
  const root = await scratchDir();
  await mkdir(join(root, 'container'));
  await cp(join(REPO_ROOT, 'container', 'Dockerfile'), join(root, 'container', 'Dockerfile'));
  await cp(join(REPO_ROOT, 'container', 'Dockerfile.offline'), join(root, 'container', 'Dockerfile.offline'));
  await cp(join(REPO_ROOT, 'container', 'agent-init.sh'), join(root, 'container', 'agent-init.sh'));
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  await mkdir(join(root, 'dist', 'container', 'runner'), { recursive: true });
  await writeFile(join(root, 'dist', 'container', 'runner', 'main.js'), 'console.log("runner v1");\n');
  await writeFile(join(root, 'package.json'), '{}\n');
  return root;
}

describe('the agent image inputs', () => {
  it('give the same hash for the same inputs, and another when a compiled file or the Dockerfile changes', async () => {
    const root = await fakeRepo();
    const first = await collectAgentImageInputs(root);
    expect((await collectAgentImageInputs(root)).hash).toBe(first.hash);
    expect(imageTagFor(first)).toMatch(/^ledgerclaw-agent:[0-9a-f]{12}$/);

    await writeFile(join(root, 'dist', 'container', 'runner', 'main.js'), 'console.log("runner v2");\n');
    const changedRunner = await collectAgentImageInputs(root);
    expect(changedRunner.hash).not.toBe(first.hash);

    await writeFile(join(root, 'container', 'Dockerfile'), `${changedRunner.dockerfile}\n# changed\n`);
    const changedDockerfile = await collectAgentImageInputs(root);
    expect(changedDockerfile.hash).not.toBe(changedRunner.hash);

    await writeFile(join(root, 'container', 'agent-init.sh'), `${changedDockerfile.initScript}\n# changed\n`);
    expect((await collectAgentImageInputs(root)).hash).not.toBe(changedDockerfile.hash);
  });

  it('take the run-time closure of @anthropic-ai/sdk and zod from node_modules, and nothing else', async () => {
    const inputs = await collectAgentImageInputs(await fakeRepo());
    const names = inputs.packages.map((pkg) => pkg.name);
    expect(names).toContain('@anthropic-ai/sdk');
    expect(names).toContain('zod');
    // The SDK's own dependencies come along; host-side packages do not.
    expect(names).toContain('standardwebhooks');
    expect(names).not.toContain('dockerode');
    expect(names).not.toContain('commander');
    expect(names).not.toContain('typescript');
  });

  it('leave the host-only image builder out of /app but count it in the hash', async () => {
    const root = await fakeRepo();
    await mkdir(join(root, 'dist', 'container', 'image'));
    await writeFile(join(root, 'dist', 'container', 'image', 'build-image.js'), '// host side\n');
    const inputs = await collectAgentImageInputs(root);
    expect(inputs.compiledFiles.map((file) => file.relativePath)).toEqual(['image/build-image.js', 'runner/main.js']);
    expect(inputs.filesForImage.map((file) => file.relativePath)).toEqual(['runner/main.js']);
  });

  it('name the normal build\'s base image from its FROM line', () => {
    expect(baseImageOf('# comment\nFROM node:20-slim\nRUN true\n')).toBe('node:20-slim');
  });
});

describe('the build context tar', () => {
  it('is owned by root and readable by all whatever the modes on disk, and keeps long paths and symlinks', async () => {
    const dir = await scratchDir();
    const longDir = join(dir, 'node_modules', `${'deep-'.repeat(25)}package`);
    await mkdir(longDir, { recursive: true });
    await writeFile(join(longDir, 'index.js'), 'module.exports = 1;\n');
    await writeFile(join(dir, 'private.txt'), 'x');
    await chmod(join(dir, 'private.txt'), 0o600);
    await writeFile(join(dir, 'tool'), '#!/bin/sh\n');
    await chmod(join(dir, 'tool'), 0o700);
    await mkdir(join(dir, 'tmp'));
    await chmod(join(dir, 'tmp'), 0o1777);
    await mkdir(join(dir, 'closed'));
    await chmod(join(dir, 'closed'), 0o700);
    await symlink('usr/bin', join(dir, 'bin'));
    const archive = join(await scratchDir(), 'context.tar');
    await pipeline(packDirectory(dir), createWriteStream(archive));

    const { stdout } = await execFileAsync('tar', ['-tvf', archive, '--numeric-owner']);
    const line = (name: string) => stdout.split('\n').find((entry) => entry.endsWith(` ${name}`) || entry.includes(` ${name} -> `)) ?? '';
    expect(line('private.txt')).toMatch(/^-rw-r--r-- 0\/0 /);
    expect(line('tool')).toMatch(/^-rwxr-xr-x 0\/0 /);
    expect(line('tmp/')).toMatch(/^drwxrwxrwt 0\/0 /);
    expect(line('closed/')).toMatch(/^drwxr-xr-x 0\/0 /);
    expect(line('bin')).toMatch(/^lrwxrwxrwx 0\/0 .* bin -> usr\/bin$/);
    expect(stdout).toContain(`node_modules/${'deep-'.repeat(25)}package/index.js`);
  });

  it('packs the files it is asked to execute-only (0711), and refuses to build when one is missing (defect 5 of issue 16: the runner\'s node)', async () => {
    const dir = await scratchDir();
    await mkdir(join(dir, 'usr', 'local', 'bin'), { recursive: true });
    await writeFile(join(dir, 'usr', 'local', 'bin', 'node'), '#!/bin/sh\n');
    await chmod(join(dir, 'usr', 'local', 'bin', 'node'), 0o755);
    const archive = join(await scratchDir(), 'context.tar');
    await pipeline(packDirectory(dir, { executeOnly: ['usr/local/bin/node'] }), createWriteStream(archive));
    const { stdout } = await execFileAsync('tar', ['-tvf', archive, '--numeric-owner']);
    expect(stdout.split('\n').find((line) => line.endsWith(' usr/local/bin/node'))).toMatch(/^-rwx--x--x 0\/0 /);

    const nowhere = pipeline(packDirectory(dir, { executeOnly: ['usr/bin/node'] }), createWriteStream(join(await scratchDir(), 'context.tar')));
    await expect(nowhere).rejects.toThrow(/no file usr\/bin\/node to pack execute-only/);
  });
});

describe('ensureAgentImage', () => {
  let tag: string;
  let offline: boolean;

  beforeAll(async () => {
    ({ tag, offline } = await agentImage());
  }, IMAGE_BUILD_TIMEOUT_MS);

  it('finds the image for the current inputs instead of building it again', async () => {
    const { log, infos } = collectingLog();
    const again = await ensureAgentImage(docker, { log });
    expect(again).toEqual({ tag, built: false, offline });
    expect(infos).toEqual([]);
    const info = await docker.getImage(tag).inspect();
    expect(info.Config.Labels?.[BUILD_KIND_LABEL]).toBe(offline ? 'offline' : 'normal');
    expect(tag.endsWith(info.Config.Labels?.[INPUTS_HASH_LABEL]?.slice(0, 12) ?? 'missing')).toBe(true);
    expect((await docker.getImage('ledgerclaw-agent:latest').inspect()).Id).toBe(info.Id);
  });

  it('starts the runner with node as the agent user in /workspace', async () => {
    const info = await docker.getImage(tag).inspect();
    expect(info.Config.Entrypoint).toEqual(['/bin/sh', '/app/agent-init.sh']);
    expect(info.Config.User).toBe('agent');
    expect(info.Config.WorkingDir).toBe('/workspace');
  });

  it('installs node execute-only, so the runner is non-dumpable and its /proc/<pid>/fd closed to the agent (defect 5 of issue 16)', async () => {
    const dirs = await sandboxDirs();
    scratch.push(dirs.root);
    const sandbox = new DockerSandbox({ docker, image: tag, scope: `test-agent-image-${process.pid}` });
    // A node started the way the init starts the runner, and a shell of the agent's uid probing it.
    const probe = `node -e 'setTimeout(() => {}, 30000)' & sleep 1; ls -l /usr/local/bin/node; cat /usr/local/bin/node > /dev/null || echo unreadable; ls /proc/$!/fd || echo closed; kill $!`;
    const shell = await finish(await sandbox.start(testSpec(dirs, { command: ['sh', '-c', probe] })));
    expect(shell.stdout).toMatch(/^-rwx--x--x 1 root root .* \/usr\/local\/bin\/node\nunreadable\nclosed\n$/);
  });

  it('holds the runner\'s packages where the compiled runner resolves them, usable with no network, and a shell with everyday tools', async () => {
    const dirs = await sandboxDirs();
    scratch.push(dirs.root);
    const sandbox = new DockerSandbox({ docker, image: tag, scope: `test-agent-image-${process.pid}` });
    const script = `
      const { createRequire } = require('node:module');
      const fromRunner = createRequire('/app/dist/container/runner/main.js');
      const sdk = fromRunner('@anthropic-ai/sdk');
      import(fromRunner.resolve('zod')).then((zod) => {
        const pkg = JSON.parse(require('node:fs').readFileSync('/app/package.json', 'utf8'));
        console.log(JSON.stringify({ sdk: typeof sdk.Anthropic, zod: typeof zod.z.object, type: pkg.type, user: require('node:os').userInfo().username }));
      });`;
    const node = await finish(await sandbox.start(testSpec(dirs, { command: ['node', '-e', script] })));
    expect(node.exit.exitCode).toBe(0);
    expect(JSON.parse(node.stdout)).toEqual({ sdk: 'function', zod: 'function', type: 'module', user: 'agent' });

    const tools = 'cd /workspace && printf "b\\na\\n" > f && sort f | head -1 && grep -c a f && ls | wc -l && id -u';
    const shell = await finish(await sandbox.start(testSpec(dirs, { command: ['bash', '-c', tools] })));
    expect(shell.stderr).toBe('');
    expect(shell.stdout.split('\n')).toEqual(['a', '1', '1', '1000', '']);
  });
});
