/**
 * Hands a workspace tree to the agent's uid before a container run: the host creates it as
 * root, and the agent (uid 1000, no capabilities) could not write to it otherwise. Only the
 * tree itself changes owner; its parents and anything a symlink points at do not.
 */
import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function handTreeTo(dir: string, uid: number, gid: number): Promise<void> {
  const top = await lstat(dir);
  if (!top.isDirectory()) throw new Error(`workspace ${dir} is not a directory`);
  await chownIfNeeded(dir, top.uid, top.gid, uid, gid);
  await handChildrenTo(dir, uid, gid);
}

async function handChildrenTo(dir: string, uid: number, gid: number): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const stats = await lstat(path);
    // lchown and no recursion through symlinks: a link to /etc must not hand /etc over.
    await chownIfNeeded(path, stats.uid, stats.gid, uid, gid);
    if (stats.isDirectory()) await handChildrenTo(path, uid, gid);
  }
}

async function chownIfNeeded(path: string, currentUid: number, currentGid: number, uid: number, gid: number): Promise<void> {
  if (currentUid === uid && currentGid === gid) return;
  try {
    await lchown(path, uid, gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') {
      throw new Error(
        `cannot give ${path} to uid ${uid} (the agent's user in its container): run the runtime as root, or chown the workspace to ${uid}:${gid} beforehand`,
      );
    }
    throw error;
  }
}
