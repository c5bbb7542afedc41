/**
 * Path confinement, through the tools themselves: nothing outside the workspace can be read,
 * written, listed or searched, whether reached lexically or through symlinks.
 */
import { existsSync } from 'node:fs';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTestbed } from './workspace-support.js';

const refusedAsOutside = (requested: string) => expect.stringContaining(`path ${JSON.stringify(requested)} resolves outside the workspace`);

describe('lexical confinement', () => {
  it('refuses ../x, naming the path', async () => {
    const bed = await makeTestbed();
    await writeFile(path.join(bed.outside, 'x'), 'secret');
    expect(await bed.run('read_file', { path: '../outside/x' })).toEqual({ content: `read_file: ${'path "../outside/x" resolves outside the workspace; only paths inside it are allowed'}`, isError: true });
  });

  it('refuses an absolute path elsewhere, such as /etc/passwd', async () => {
    const bed = await makeTestbed();
    const outcome = await bed.run('read_file', { path: '/etc/passwd' });
    expect(outcome).toEqual({ content: refusedAsOutside('/etc/passwd'), isError: true });
    expect(outcome.content).not.toContain('root:');
  });

  it('refuses a/../../x for a write, and creates nothing outside', async () => {
    const bed = await makeTestbed();
    await bed.write('a/keep.txt', '');
    const outcome = await bed.run('write_file', { path: 'a/../../outside/x', content: 'escaped' });
    expect(outcome).toEqual({ content: refusedAsOutside('a/../../outside/x'), isError: true });
    expect(existsSync(path.join(bed.outside, 'x'))).toBe(false);
  });

  it('accepts an absolute path that lies inside the workspace, and a/../b that stays inside', async () => {
    const bed = await makeTestbed();
    await bed.write('b.txt', 'bee\n');
    expect(await bed.run('read_file', { path: path.join(bed.root, 'b.txt') })).toEqual({ content: '     1\tbee', isError: false });
    expect(await bed.run('read_file', { path: 'a/../b.txt' })).toEqual({ content: '     1\tbee', isError: false });
  });

  it('refuses to write to the workspace root itself', async () => {
    const bed = await makeTestbed();
    expect(await bed.run('write_file', { path: '.', content: 'x' })).toEqual({ content: expect.stringContaining('is the workspace root directory'), isError: true });
  });
});

describe('symlink confinement', () => {
  it('refuses to read through a symlink to /etc', async () => {
    const bed = await makeTestbed();
    await bed.link('etc', '/etc');
    expect(await bed.run('read_file', { path: 'etc/passwd' })).toEqual({ content: refusedAsOutside('etc/passwd'), isError: true });
    expect(await bed.run('list_files', { path: 'etc' })).toEqual({ content: refusedAsOutside('etc'), isError: true });
    expect(await bed.run('grep', { pattern: 'root', path: 'etc' })).toEqual({ content: refusedAsOutside('etc'), isError: true });
  });

  it('refuses to write below a symlinked directory that points outside', async () => {
    const bed = await makeTestbed();
    await bed.link('shared', bed.outside);
    expect(await bed.run('write_file', { path: 'shared/new/file.txt', content: 'x' })).toEqual({ content: refusedAsOutside('shared/new/file.txt'), isError: true });
    expect(existsSync(path.join(bed.outside, 'new'))).toBe(false);
  });

  it('refuses to edit a file outside reached through a symlinked parent directory', async () => {
    const bed = await makeTestbed();
    await writeFile(path.join(bed.outside, 'config'), 'a = 1');
    await bed.link('shared', bed.outside);
    expect(await bed.run('edit_file', { path: 'shared/config', old_text: '1', new_text: '2' })).toEqual({ content: refusedAsOutside('shared/config'), isError: true });
    expect(await readFile(path.join(bed.outside, 'config'), 'utf8')).toBe('a = 1');
  });

  it('refuses a chain of symlinks that ends outside', async () => {
    const bed = await makeTestbed();
    await writeFile(path.join(bed.outside, 'secret'), 'secret');
    await bed.link('first', 'second');
    await bed.link('second', 'third');
    await bed.link('third', path.join(bed.outside, 'secret'));
    expect(await bed.run('read_file', { path: 'first' })).toEqual({ content: refusedAsOutside('first'), isError: true });
  });

  it('refuses to write through a dangling symlink whose target is outside, and does not create the target', async () => {
    const bed = await makeTestbed();
    const target = path.join(bed.outside, 'planted');
    await bed.link('innocent.txt', target);
    expect(await bed.run('write_file', { path: 'innocent.txt', content: 'x' })).toEqual({ content: refusedAsOutside('innocent.txt'), isError: true });
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a dangling symlink with a relative target that climbs out', async () => {
    const bed = await makeTestbed();
    await bed.link('dir/link', '../../outside/planted');
    expect(await bed.run('write_file', { path: 'dir/link/file', content: 'x' })).toEqual({ content: refusedAsOutside('dir/link/file'), isError: true });
    expect(existsSync(path.join(bed.outside, 'planted'))).toBe(false);
  });

  it('refuses to write through a symlink even when it points inside, leaving the target as it was', async () => {
    const bed = await makeTestbed();
    await bed.write('real.txt', 'original');
    await bed.link('alias.txt', 'real.txt');
    expect(await bed.run('write_file', { path: 'alias.txt', content: 'x' })).toEqual({ content: expect.stringContaining('path "alias.txt" is a symbolic link; refusing to write through it'), isError: true });
    expect(await bed.read('real.txt')).toBe('original');
  });

  it('reads through a symlink that stays inside the workspace', async () => {
    const bed = await makeTestbed();
    await bed.write('docs/real.md', 'hello\n');
    await bed.link('alias', 'docs');
    expect(await bed.run('read_file', { path: 'alias/real.md' })).toEqual({ content: '     1\thello', isError: false });
  });

  it('writes below a symlinked directory that stays inside the workspace', async () => {
    const bed = await makeTestbed();
    await bed.write('docs/keep', '');
    await bed.link('alias', 'docs');
    expect((await bed.run('write_file', { path: 'alias/new/x.txt', content: 'x' })).isError).toBe(false);
    expect(await bed.read('docs/new/x.txt')).toBe('x');
  });

  it('works when the workspace root is itself reached through a symlink', async () => {
    const bed = await makeTestbed();
    const linkedRoot = path.join(bed.outside, 'root-link');
    await symlink(bed.root, linkedRoot);
    await bed.write('a.txt', 'a\n');
    expect(await bed.run('read_file', { path: 'a.txt' }, { root: linkedRoot })).toEqual({ content: '     1\ta', isError: false });
    expect((await bed.run('write_file', { path: 'b.txt', content: 'b' }, { root: linkedRoot })).isError).toBe(false);
    expect(await bed.read('b.txt')).toBe('b');
  });

  it('refuses a symlink loop with a message rather than hanging', async () => {
    const bed = await makeTestbed();
    await bed.link('loop-a', 'loop-b');
    await bed.link('loop-b', 'loop-a');
    const outcome = await bed.run('write_file', { path: 'loop-a/x', content: 'x' });
    expect(outcome).toEqual({ content: expect.stringMatching(/^write_file: .*too many symbolic links/), isError: true });
  });

  it('lists a symlink as a link and does not descend into it', async () => {
    const bed = await makeTestbed();
    await writeFile(path.join(bed.outside, 'secret.txt'), 'secret');
    await bed.link('shared', bed.outside);
    await bed.write('own.txt', '');
    expect(await bed.run('list_files', { recursive: true })).toEqual({ content: `own.txt\nshared -> ${bed.outside}`, isError: false });
  });

  it('does not follow symlinks out of the workspace when searching', async () => {
    const bed = await makeTestbed();
    await writeFile(path.join(bed.outside, 'secret.txt'), 'needle outside');
    await bed.link('shared', bed.outside);
    await bed.link('secret-file.txt', path.join(bed.outside, 'secret.txt'));
    await bed.write('own.txt', 'needle inside\n');
    expect(await bed.run('grep', { pattern: 'needle' })).toEqual({ content: 'own.txt:1: needle inside', isError: false });
  });
});
