/**
 * File-system errors in words the model can act on, naming the path as it asked for it rather
 * than the real path underneath (which would leak the sandbox layout and confuse it).
 */

export function describeFsError(error: unknown, displayPath: string): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const quoted = JSON.stringify(displayPath);
  switch (code) {
    case 'ENOENT':
      return `${quoted} does not exist`;
    case 'ENOTDIR':
      return `a parent of ${quoted} is a file, not a directory`;
    case 'EISDIR':
      return `${quoted} is a directory`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${quoted}`;
    case 'ELOOP':
      return `${quoted} goes through too many symbolic links (a loop?)`;
    case 'ENOSPC':
      return `no space left on the device while writing ${quoted}`;
    case 'EROFS':
      return `${quoted} is on a read-only file system`;
    default:
      return undefined;
  }
}
