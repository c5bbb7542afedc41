/**
 * Writing a file so that a reader sees either the old content or the new, never half of it:
 * write a temporary file beside it, then rename it over. The rename replaces whatever entry is
 * at the name, so even a symlink swapped in after the path was checked is replaced, not
 * written through.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** Returns whether the file existed before. An existing file keeps its permission bits. */
export async function writeFileAtomically(realPath: string, content: string): Promise<{ readonly existed: boolean }> {
  const previousMode = await existingMode(realPath);
  const temporary = path.join(path.dirname(realPath), `.${path.basename(realPath)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, CREATE_NEW, 0o666);
  try {
    try {
      await handle.writeFile(content, 'utf8');
      // A script edited by the agent stays executable.
      if (previousMode !== undefined) await handle.chmod(previousMode);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, realPath);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  return { existed: previousMode !== undefined };
}

async function existingMode(realPath: string): Promise<number | undefined> {
  try {
    return (await lstat(realPath)).mode & 0o7777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
