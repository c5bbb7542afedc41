/**
 * Files that projections keep in the data directory (MEMORY.md, WORK_CONTEXT.md): written
 * atomically, so a reader (an agent container starting) sees the old file or the new one,
 * never half of one; and placed by group under `<dataDir>/groups/<group dir>/`.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

let temporaryCounter = 0;

/**
 * Writes `content` to `path` through a temporary file in the same directory, flushed to
 * disk and renamed over the target. Creates the directory. A file that already holds
 * exactly these bytes is left alone (no new mtime, no rename). Returns whether it wrote.
 */
export async function writeFileAtomic(path: string, content: string): Promise<boolean> {
  const bytes = Buffer.from(content, 'utf8');
  const existing = await readFile(path).catch(() => undefined);
  if (existing?.equals(bytes)) return false;
  await mkdir(dirname(path), { recursive: true });
  temporaryCounter += 1;
  const temporary = `${path}.${process.pid}.${temporaryCounter}.tmp`;
  try {
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return true;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_NAME_LENGTH = 200;

/**
 * The directory name of a group under `<dataDir>/groups/`: the group id itself when it is
 * a safe file name (`T1.C1`, `T1.C1.1712345678.000100`), else the id with every other
 * character percent-encoded (so `/` or `..` can never leave the groups directory). A name
 * longer than 200 characters is shortened to a prefix and a hash of the whole id.
 * A pure function of the id: the runtime's workspaces use the same mapping.
 */
export function groupDirectoryName(groupId: string): string {
  if (groupId === '') throw new Error('a group id cannot be empty');
  let name = SAFE_NAME.test(groupId)
    ? groupId
    : Array.from(groupId, (char, index) =>
        /[A-Za-z0-9_-]/.test(char) || (char === '.' && index > 0)
          ? char
          : Array.from(Buffer.from(char, 'utf8'), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
      ).join('');
  if (name.length > MAX_NAME_LENGTH) {
    const digest = createHash('sha256').update(groupId, 'utf8').digest('hex').slice(0, 16);
    name = `${name.slice(0, MAX_NAME_LENGTH - 17)}~${digest}`;
  }
  return name;
}

/** `<dataDir>/groups/<group dir>/<fileName>`. */
export function groupFilePath(dataDir: string, groupId: string, fileName: string): string {
  return join(dataDir, 'groups', groupDirectoryName(groupId), fileName);
}
