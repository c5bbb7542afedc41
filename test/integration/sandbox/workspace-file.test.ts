/**
 * readWorkspaceFile and listWorkspaceSubdirectories on real files: what an agent can plant in
 * its workspace (symlinks out, symlinked directories, FIFOs, devices, loops, huge files, a
 * directory swapped for a symlink mid-read) is refused or capped, and nothing of a file
 * outside the workspace is ever returned.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  listWorkspaceSubdirectories,
  readWorkspaceFile,
  textOrThrow,
  WorkspaceFileRefusedError,
  type WorkspaceFileRead,
  type WorkspaceRoot,
} from '../../../runtime/sandbox/workspace-file.js';

const SECRET = 'root-only host secret';
const isRoot = process.getuid?.() === 0;

let base: string;
let workspace: WorkspaceRoot;
/** A 0600 file outside the workspace: what the host can read and the agent must not get. */
let secretFile: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'ledgerclaw-workspace-file-'));
  workspace = { dir: join(base, 'workspace'), label: 'the workspace of group T1.C1' };
  await mkdir(workspace.dir);
  await mkdir(join(base, 'host'));
  secretFile = join(base, 'host', 'secret.md');
  await writeFile(secretFile, `- [ ] ${SECRET}\n`);
  await chmod(secretFile, 0o600);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const read = (path: string, maxBytes = 1024) => readWorkspaceFile(workspace, path, { maxBytes });
const inWorkspace = (...parts: string[]) => join(workspace.dir, ...parts);

function expectNothingOfTheSecret(result: WorkspaceFileRead): void {
  expect(JSON.stringify(result)).not.toContain(SECRET);
  expect(JSON.stringify(result)).not.toContain(secretFile);
}

describe('readWorkspaceFile', () => {
  it('reads a regular file in the workspace', async () => {
    await writeFile(inWorkspace('HEARTBEAT.md'), '- [ ] chase Globex\n');
    expect(await read('HEARTBEAT.md')).toEqual({ kind: 'read', text: '- [ ] chase Globex\n', truncated: false });
  });

  it('says missing for no file, no workspace, and a symlink to nothing', async () => {
    expect(await read('HEARTBEAT.md')).toEqual({ kind: 'missing' });
    await symlink(join(base, 'host', 'nothing-here'), inWorkspace('HEARTBEAT.md'));
    expect(await read('HEARTBEAT.md')).toEqual({ kind: 'missing' });
    await rm(workspace.dir, { recursive: true });
    expect(await read('HEARTBEAT.md')).toEqual({ kind: 'missing' });
  });

  it('refuses a symlink to a 0600 file outside the workspace, and says so without its target or content', async () => {
    await symlink(secretFile, inWorkspace('HEARTBEAT.md'));
    const result = await read('HEARTBEAT.md');
    expect(result).toEqual({ kind: 'refused', reason: 'leaves_root', message: 'HEARTBEAT.md is a symlink that leaves the workspace of group T1.C1' });
    expectNothingOfTheSecret(result);
  });

  it('refuses a relative symlink that climbs out of the workspace', async () => {
    await symlink('../host/secret.md', inWorkspace('HEARTBEAT.md'));
    const result = await read('HEARTBEAT.md');
    expect(result).toMatchObject({ kind: 'refused', reason: 'leaves_root' });
    expectNothingOfTheSecret(result);
  });

  it('follows a symlink that stays inside the workspace', async () => {
    await mkdir(inWorkspace('notes'));
    await writeFile(inWorkspace('notes', 'checklist.md'), '- [ ] renew the cert\n');
    await symlink('notes/checklist.md', inWorkspace('HEARTBEAT.md'));
    expect(await read('HEARTBEAT.md')).toEqual({ kind: 'read', text: '- [ ] renew the cert\n', truncated: false });
  });

  it('refuses a file reached through a symlinked parent directory that leaves the workspace', async () => {
    await symlink(join(base, 'host'), inWorkspace('docs'));
    const result = await read('docs/secret.md');
    expect(result).toEqual({
      kind: 'refused',
      reason: 'leaves_root',
      message: 'docs/secret.md is reached through a symlinked directory that leaves the workspace of group T1.C1',
    });
    expectNothingOfTheSecret(result);
  });

  it('refuses a FIFO without opening it, so the host never blocks on it', { timeout: 5_000 }, async () => {
    execFileSync('mkfifo', [inWorkspace('HEARTBEAT.md')]);
    expect(await read('HEARTBEAT.md')).toEqual({ kind: 'refused', reason: 'wrong_type', message: 'HEARTBEAT.md is a FIFO, not a regular file' });
  });

  it('refuses a FIFO behind an in-workspace symlink, with a writer waiting on it', { timeout: 5_000 }, async () => {
    execFileSync('mkfifo', [inWorkspace('pipe')]);
    await symlink('pipe', inWorkspace('HEARTBEAT.md'));
    // Opening for reading would let this writer through; its line must never come back.
    const writer = spawn('sh', ['-c', `printf '%s\\n' '- [ ] ${SECRET}' > '${inWorkspace('pipe')}'`], { stdio: 'ignore' });
    try {
      const result = await read('HEARTBEAT.md');
      expect(result).toMatchObject({ kind: 'refused', reason: 'wrong_type', message: 'HEARTBEAT.md is a FIFO, not a regular file' });
      expectNothingOfTheSecret(result);
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('refuses a symlink to /dev/zero (a device outside the workspace)', { timeout: 5_000 }, async () => {
    await symlink('/dev/zero', inWorkspace('HEARTBEAT.md'));
    expect(await read('HEARTBEAT.md')).toMatchObject({ kind: 'refused', reason: 'leaves_root' });
  });

  it.runIf(isRoot)('refuses a character device made inside the workspace, without opening it', { timeout: 5_000 }, async () => {
    execFileSync('mknod', [inWorkspace('HEARTBEAT.md'), 'c', '1', '5']); // what /dev/zero is
    expect(await read('HEARTBEAT.md')).toEqual({ kind: 'refused', reason: 'wrong_type', message: 'HEARTBEAT.md is a character device, not a regular file' });
  });

  it('refuses a directory where a file is expected', async () => {
    await mkdir(inWorkspace('HEARTBEAT.md'));
    expect(await read('HEARTBEAT.md')).toEqual({ kind: 'refused', reason: 'wrong_type', message: 'HEARTBEAT.md is a directory, not a regular file' });
  });

  it('refuses a symlink loop', async () => {
    await symlink('b', inWorkspace('a'));
    await symlink('a', inWorkspace('b'));
    expect(await read('a')).toEqual({ kind: 'refused', reason: 'symlink_loop', message: 'a is a symlink loop' });
  });

  it('reads at most maxBytes of an oversized file, and says it was cut', async () => {
    await writeFile(inWorkspace('big.md'), 'x'.repeat(10_000));
    expect(await read('big.md', 100)).toEqual({ kind: 'read', text: 'x'.repeat(100), truncated: true });
    expect(await read('big.md', 10_000)).toEqual({ kind: 'read', text: 'x'.repeat(10_000), truncated: false });
  });

  it('drops a character cut in half at the bound rather than inventing one', async () => {
    await writeFile(inWorkspace('accents.md'), 'aé'); // 'é' is two bytes
    expect(await read('accents.md', 2)).toEqual({ kind: 'read', text: 'a', truncated: true });
  });

  it('throws on a path that is not relative to the root: a caller bug, not agent input', async () => {
    await expect(read('../host/secret.md')).rejects.toThrow('a workspace path must be relative and stay below its root, got "../host/secret.md"');
    await expect(read(secretFile)).rejects.toThrow(/must be relative/);
  });

  it('textOrThrow: the text, null when missing, and a WorkspaceFileRefusedError naming why', async () => {
    await writeFile(inWorkspace('ok.md'), 'fine');
    await symlink(secretFile, inWorkspace('out.md'));
    expect(textOrThrow(await read('ok.md'))).toBe('fine');
    expect(textOrThrow(await read('none.md'))).toBeNull();
    const refused = await read('out.md');
    expect(() => textOrThrow(refused)).toThrow(WorkspaceFileRefusedError);
    expect(() => textOrThrow(refused)).toThrow('out.md is a symlink that leaves the workspace of group T1.C1');
  });

  it('never returns the outside file while a directory is swapped for a symlink to it during reads', { timeout: 20_000 }, async () => {
    // The race realpath alone loses: `d` is a real directory when the path is checked and a
    // symlink out of the workspace when it is opened. The opened file's real path catches it.
    await mkdir(inWorkspace('d'));
    await writeFile(inWorkspace('d', 'secret.md'), '- [ ] the workspace copy\n');
    const d = inWorkspace('d');
    // Another process, swapping as fast as it can: real directory, symlink out, real directory…
    const swap = `const fs = require('node:fs'); const [d, out] = process.argv.slice(1);
      for (;;) { fs.renameSync(d, d + '.real'); fs.symlinkSync(out, d); fs.unlinkSync(d); fs.renameSync(d + '.real', d); }`;
    const swapper = spawn(process.execPath, ['-e', swap, d, join(base, 'host')], { stdio: 'ignore' });
    const seen = new Map<string, number>();
    try {
      for (const startedAt = Date.now(); Date.now() - startedAt < 1_500; ) {
        const result = await read('d/secret.md');
        expectNothingOfTheSecret(result);
        const key = result.kind === 'refused' ? result.reason : result.kind;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    } finally {
      const exited = new Promise((resolve) => swapper.once('exit', resolve));
      swapper.kill('SIGKILL');
      await exited;
    }
    // Not a helper that refuses everything: the workspace copy was read whenever `d` was real.
    expect(seen.get('read')).toBeGreaterThan(0);
  });
});

describe('listWorkspaceSubdirectories', () => {
  it('lists the real directories, sorted, leaving out files and symlinked directories', async () => {
    await mkdir(inWorkspace('skills', 'invoices'), { recursive: true });
    await mkdir(inWorkspace('skills', 'billing'));
    await writeFile(inWorkspace('skills', 'README.md'), 'not a skill');
    await symlink(join(base, 'host'), inWorkspace('skills', 'host-files'));
    expect(await listWorkspaceSubdirectories(workspace, 'skills')).toEqual({ kind: 'listed', names: ['billing', 'invoices'] });
  });

  it('says missing when there is no such directory', async () => {
    expect(await listWorkspaceSubdirectories(workspace, 'skills')).toEqual({ kind: 'missing' });
  });

  it('refuses a directory that is a symlink leaving the root, listing nothing of it', async () => {
    await mkdir(join(base, 'host', 'private-project'));
    await symlink(join(base, 'host'), inWorkspace('skills'));
    const listed = await listWorkspaceSubdirectories(workspace, 'skills');
    expect(listed).toEqual({ kind: 'refused', reason: 'leaves_root', message: 'skills is a symlink that leaves the workspace of group T1.C1' });
  });

  it('refuses a file where a directory is expected', async () => {
    await writeFile(inWorkspace('skills'), 'a file');
    expect(await listWorkspaceSubdirectories(workspace, 'skills')).toEqual({ kind: 'refused', reason: 'wrong_type', message: 'skills is a regular file, not a directory' });
  });
});
