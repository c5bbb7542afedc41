/**
 * The last bytes of a stream, for the stderr tail a SandboxExit reports, kept while the
 * stream is passed on unchanged to whoever reads it.
 */
import { PassThrough, Writable } from 'node:stream';

export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - (this.chunks[0]?.length ?? 0) >= this.maxBytes) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  /** As text; a character cut in half at the start shows as U+FFFD. */
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.maxBytes)).toString('utf8');
  }
}

/**
 * A writable end whose bytes go both into `tail` and out of the returned readable. Ending
 * the writable ends the readable.
 */
export function teeIntoTail(tail: OutputTail): { readonly input: Writable; readonly output: PassThrough } {
  const output = new PassThrough();
  const input = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      tail.push(chunk);
      // No backpressure: the producer (a container's attach stream, a child's pipe) must
      // not stall on a reader that has stopped reading stderr; unread bytes wait here.
      output.write(chunk);
      callback();
    },
    final(callback) {
      output.end();
      callback();
    },
  });
  return { input, output };
}
