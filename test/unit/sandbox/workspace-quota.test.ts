/**
 * Measuring a workspace for its quota (defect 9 of issue 16): what counts, what is never
 * followed, the bounds of the walk, and when a run is over.
 */
import { link, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { measureWorkspace, WorkspaceQuota } from '../../../runtime/sandbox/workspace-quota.js';

const MiB = 1024 * 1024;
const created: string[] = [];
afterEach(async () => {
  for (const dir of created.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function workspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'workspace-quota-'));
  created.push(dir);
  return dir;
}

describe('measureWorkspace (defect 9 of issue 16)', () => {
  it('counts every file below the workspace, a hard-linked file once', async () => {
    const dir = await workspace();
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await writeFile(join(dir, 'a', 'b', 'one'), Buffer.alloc(MiB));
    await link(join(dir, 'a', 'b', 'one'), join(dir, 'same-one'));
    const usage = await measureWorkspace(dir);
    expect(usage.incomplete).toBeNull();
    expect(usage.entries).toBe(4);
    expect(usage.bytes).toBeGreaterThanOrEqual(MiB);
    expect(usage.bytes).toBeLessThan(MiB + 64 * 1024);
  });

  it('never follows a symlink, however much lies behind it', async () => {
    const dir = await workspace();
    const elsewhere = await workspace();
    await writeFile(join(elsewhere, 'big'), Buffer.alloc(4 * MiB));
    await symlink(elsewhere, join(dir, 'to-dir'));
    await symlink(join(elsewhere, 'big'), join(dir, 'to-file'));
    await symlink('/', join(dir, 'to-root'));
    const usage = await measureWorkspace(dir);
    expect(usage).toMatchObject({ entries: 3, incomplete: null });
    expect(usage.bytes).toBeLessThan(4096);
  });

  it('counts a sparse file at its length, so truncate cannot hide bytes', async () => {
    const dir = await workspace();
    await writeFile(join(dir, 'sparse'), '');
    await truncate(join(dir, 'sparse'), 64 * MiB);
    expect((await measureWorkspace(dir)).bytes).toBeGreaterThanOrEqual(64 * MiB);
  });

  it('stops at its entry bound and says so', async () => {
    const dir = await workspace();
    for (let index = 0; index < 50; index += 1) await writeFile(join(dir, `f${index}`), 'x');
    expect((await measureWorkspace(dir, { maxEntries: 20 })).incomplete).toBe('entries');
    expect((await measureWorkspace(dir, { maxEntries: 50 })).incomplete).toBeNull();
  });
});

describe('WorkspaceQuota (defect 9 of issue 16)', () => {
  it('is within quota until a tool call fills the workspace past it, then names the sizes and the setting', async () => {
    const dir = await workspace();
    const quota = await WorkspaceQuota.begin(dir, 2 * MiB);
    await writeFile(join(dir, 'half'), Buffer.alloc(MiB));
    expect(await quota.overQuota()).toBeNull();
    await writeFile(join(dir, 'more'), Buffer.alloc(2 * MiB));
    expect(await quota.overQuota()).toMatch(/^the workspace holds 3\.\d\d MiB in 2 entries, over its quota of 2\.00 MiB \(runs\.workspaceMb\)$/);
  });

  it('lets a run that began over quota look around and clean up, and fails it only when it adds more', async () => {
    const dir = await workspace();
    await writeFile(join(dir, 'leftover'), Buffer.alloc(3 * MiB));
    const quota = await WorkspaceQuota.begin(dir, 2 * MiB);
    expect(await quota.overQuota()).toBeNull(); // the same as at the start: nothing added
    await writeFile(join(dir, 'new'), 'x'.repeat(8192));
    expect(await quota.overQuota()).toMatch(/over its quota/);
    await rm(join(dir, 'leftover'));
    expect(await quota.overQuota()).toBeNull();
  });

  it('counts a workspace past the entry bound as over, since its size cannot be known', async () => {
    const dir = await workspace();
    const quota = await WorkspaceQuota.begin(dir, 100 * MiB, { maxEntries: 10 });
    for (let index = 0; index < 20; index += 1) await writeFile(join(dir, `f${index}`), '');
    expect(await quota.overQuota()).toBe('the workspace holds more than 10 entries, so it cannot be kept within its quota of 100 MiB (runs.workspaceMb)');
  });
});
