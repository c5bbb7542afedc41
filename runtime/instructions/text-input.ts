/**
 * Reading an operator's text from a file or standard input without trusting its size: at
 * most `maxBytes` are kept, and one more byte read means the text is too long (so a pipe
 * from /dev/zero fails fast instead of filling memory).
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { InstructionsTooLongError } from './record-instructions.js';

/** The text could not be read from where it was asked for. */
export class TextSourceError extends Error {
  override readonly name = 'TextSourceError';
}

export async function readBoundedText(stream: NodeJS.ReadableStream, maxBytes: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    size += bytes.length;
    if (size > maxBytes) {
      if ('destroy' in stream && typeof stream.destroy === 'function') stream.destroy();
      throw new InstructionsTooLongError(`${what} is longer than ${maxBytes} bytes; instructions are at most ${maxBytes} bytes (UTF-8)`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The text of `source`: a path (relative to `cwd`), or `-` for `stdin`. */
export async function readTextSource(source: string, options: { readonly cwd: string; readonly stdin: NodeJS.ReadableStream | undefined; readonly maxBytes: number }): Promise<string> {
  if (source === '-') {
    if (options.stdin === undefined) throw new TextSourceError('there is no standard input to read the text from');
    return readBoundedText(options.stdin, options.maxBytes, 'standard input');
  }
  const path = resolve(options.cwd, source);
  try {
    return await readBoundedText(createReadStream(path), options.maxBytes, source);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TextSourceError(`${source}: no such file`);
    if (code === 'EISDIR') throw new TextSourceError(`${source} is a directory, not a file`);
    if (code === 'EACCES') throw new TextSourceError(`${source}: permission denied`);
    throw error;
  }
}
