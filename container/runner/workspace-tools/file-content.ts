/**
 * Opening files for reading without surprises: never through a symlink swapped in after the
 * path was checked, never blocking on a FIFO or device, and telling text from binary the way
 * git does (a NUL byte near the start).
 */
import { constants, type promises as fsPromises } from 'node:fs';
import { open } from 'node:fs/promises';
import { ToolFailure } from './tool-failure.js';

/** How much of a file's start is looked at to decide whether it is binary. */
export const BINARY_SNIFF_BYTES = 8192;

// O_NOFOLLOW is POSIX-only; elsewhere (never in the container) the path check alone guards.
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
// Opening a FIFO for reading blocks until a writer appears; non-blocking makes it return at once
// so the fstat below can refuse it. It changes nothing for regular files.
const NON_BLOCKING = constants.O_NONBLOCK ?? 0;

export const READ_FLAGS = constants.O_RDONLY | NO_FOLLOW | NON_BLOCKING;

/** Opens `realPath` for reading, refusing directories and anything that is not a regular file. */
export async function openRegularFile(realPath: string, displayPath: string): Promise<fsPromises.FileHandle> {
  const handle = await open(realPath, READ_FLAGS);
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new ToolFailure(`${JSON.stringify(displayPath)} is a directory; use list_files to see what it holds`);
    if (!stats.isFile()) throw new ToolFailure(`${JSON.stringify(displayPath)} is not a regular file`);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export function looksBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

export function binaryRefusal(displayPath: string): ToolFailure {
  return new ToolFailure(`${JSON.stringify(displayPath)} looks like a binary file (it contains NUL bytes); only text files can be read or edited`);
}
