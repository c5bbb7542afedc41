/**
 * Frames on a byte stream: each frame is a 4-byte big-endian length, then that many bytes
 * of UTF-8 JSON. Length-prefixing (not newlines) lets a message carry any text, and lets
 * the reader refuse an oversized frame before buffering it.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Larger frames are refused: nothing the runner and host exchange comes near it. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > MAX_FRAME_BYTES) throw new FrameError(`a frame of ${body.length} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** Bytes in, one parsed JSON value out per frame (object mode on the readable side). */
export class FrameDecoder extends Transform {
  private pending: Buffer = Buffer.alloc(0);

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      for (;;) {
        if (this.pending.length < 4) break;
        const length = this.pending.readUInt32BE(0);
        if (length > MAX_FRAME_BYTES) throw new FrameError(`a frame announced ${length} bytes, over the ${MAX_FRAME_BYTES}-byte limit`);
        if (this.pending.length < 4 + length) break;
        const body = this.pending.subarray(4, 4 + length).toString('utf8');
        this.pending = this.pending.subarray(4 + length);
        this.push(parseFrameBody(body));
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.pending.length > 0) done(new FrameError(`the stream ended inside a frame (${this.pending.length} bytes left over)`));
    else done();
  }
}

function parseFrameBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new FrameError(`a frame is not JSON: ${(error as Error).message}`);
  }
}
