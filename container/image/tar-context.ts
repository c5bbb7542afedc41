/**
 * A build context folder as a tar stream, written here rather than by tar-fs (dockerode's
 * packer), which masks every mode with the process umask: under a umask of 077 the agent
 * (uid 1000) could neither read /app nor run node. Here every entry is owned by root and
 * readable by all (see `imageMode`), whatever umask made the folder, and times are zero, so
 * the same folder always makes the same bytes. Regular files, directories and symlinks
 * only: that is all a context holds. The one exception to "readable by all" is asked for by
 * name: files packed execute-only (the runner's node, see agent-image-layout.ts).
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EXECUTE_ONLY_MODE } from './agent-image-layout.js';

const BLOCK = 512;
/** ustar's name field; a longer path (or link target) goes in a PAX header before the entry. */
const NAME_FIELD_BYTES = 100;

export type EntryType = 'file' | 'directory' | 'symlink';

export interface PackOptions {
  /** Regular files, by path relative to the folder (`/`-separated), packed with mode 0711: runnable, not readable. */
  readonly executeOnly?: readonly string[];
}

interface TarEntry {
  readonly path: string;
  readonly type: EntryType;
  readonly mode: number;
  readonly size: number;
  readonly linkTarget: string;
}

const TYPE_FLAGS: Record<EntryType | 'pax', string> = { file: '0', directory: '5', symlink: '2', pax: 'x' };

/**
 * The mode on disk widened, never narrowed: read for everyone, and search/execute for
 * everyone where the owner has it, since in the image the agent is never the owner. Special
 * bits stay (the sticky /tmp keeps 1777).
 */
export function imageMode(mode: number, type: EntryType): number {
  if (type === 'directory') return mode | 0o755;
  if (type === 'symlink') return 0o777;
  return mode | ((mode & 0o100) !== 0 ? 0o755 : 0o644);
}

function octal(value: number, width: number): string {
  // width - 1 digits and the terminating NUL, as every tar reads them.
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(fields: { name: string; mode: number; size: number; type: EntryType | 'pax'; linkTarget: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, NAME_FIELD_BYTES, 'utf8');
  block.write(octal(fields.mode, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii'); // uid: root
  block.write(octal(0, 8), 116, 'ascii'); // gid: root
  block.write(octal(fields.size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii'); // mtime: zero, for reproducible bytes
  block.write(' '.repeat(8), 148, 'ascii'); // the checksum counts its own field as spaces
  block.write(TYPE_FLAGS[fields.type], 156, 'ascii');
  block.write(fields.linkTarget, 157, NAME_FIELD_BYTES, 'utf8');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write('root', 265, 'ascii');
  block.write('root', 297, 'ascii');
  let checksum = 0;
  for (const byte of block) checksum += byte;
  block.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** `<length> <key>=<value>\n`, where the length counts the whole record, its own digits included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  let total = bodyBytes + String(bodyBytes).length;
  // Adding the digits can carry into one more digit (98 + 2 = 100): then count that one too.
  if (String(total).length !== String(bodyBytes).length) total = bodyBytes + String(total).length;
  return `${total}${body}`;
}

function padding(size: number): Buffer {
  const remainder = size % BLOCK;
  return Buffer.alloc(remainder === 0 ? 0 : BLOCK - remainder);
}

function tooLong(text: string): boolean {
  return Buffer.byteLength(text) >= NAME_FIELD_BYTES;
}

function* headersFor(entry: TarEntry, mode: number): Generator<Buffer> {
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const records = [
    ...(tooLong(name) ? [paxRecord('path', name)] : []),
    ...(tooLong(entry.linkTarget) ? [paxRecord('linkpath', entry.linkTarget)] : []),
  ];
  if (records.length > 0) {
    const pax = Buffer.from(records.join(''), 'utf8');
    yield header({ name: 'PaxHeader', mode: 0o644, size: pax.length, type: 'pax', linkTarget: '' });
    yield pax;
    yield padding(pax.length);
  }
  yield header({ name, mode, size: entry.size, type: entry.type, linkTarget: entry.linkTarget });
}

/** Depth first, names sorted, so the order (and the stream) does not depend on the filesystem. */
async function* entriesUnder(root: string, relative: string): AsyncGenerator<TarEntry> {
  const names = (await readdir(join(root, relative))).sort();
  for (const name of names) {
    const path = relative === '' ? name : `${relative}/${name}`;
    const stats = await lstat(join(root, path));
    const mode = stats.mode & 0o7777;
    if (stats.isDirectory()) {
      yield { path, type: 'directory', mode, size: 0, linkTarget: '' };
      yield* entriesUnder(root, path);
    } else if (stats.isSymbolicLink()) {
      yield { path, type: 'symlink', mode, size: 0, linkTarget: await readlink(join(root, path)) };
    } else if (stats.isFile()) {
      yield { path, type: 'file', mode, size: stats.size, linkTarget: '' };
    } else {
      throw new Error(`build context ${root}: ${path} is neither a file, a directory nor a symlink`);
    }
  }
}

async function* tarChunks(root: string, options: PackOptions): AsyncGenerator<Buffer> {
  const executeOnly = new Set(options.executeOnly ?? []);
  const packed = new Set<string>();
  for await (const entry of entriesUnder(root, '')) {
    let mode = imageMode(entry.mode, entry.type);
    if (executeOnly.has(entry.path)) {
      if (entry.type !== 'file') throw new Error(`build context ${root}: ${entry.path} is to be execute-only but is not a regular file`);
      mode = EXECUTE_ONLY_MODE;
      packed.add(entry.path);
    }
    yield* headersFor(entry, mode);
    if (entry.type !== 'file') continue;
    let written = 0;
    for await (const chunk of createReadStream(join(root, entry.path))) {
      const bytes = chunk as Buffer;
      written += bytes.length;
      yield bytes;
    }
    if (written !== entry.size) throw new Error(`build context ${root}: ${entry.path} changed while it was packed`);
    yield padding(entry.size);
  }
  // A protection asked for and silently not given would be worse than a failed build.
  const missing = [...executeOnly].filter((path) => !packed.has(path));
  if (missing.length > 0) throw new Error(`build context ${root}: no file ${missing.join(', ')} to pack execute-only`);
  // The end of an archive: two zero blocks.
  yield Buffer.alloc(BLOCK * 2);
}

/** The folder's contents (not the folder itself) as an uncompressed tar stream. */
export function packDirectory(root: string, options: PackOptions = {}): Readable {
  return Readable.from(tarChunks(root, options), { objectMode: false });
}
