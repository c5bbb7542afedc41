/**
 * Frames on a byte stream: each frame is a 4-byte big-endian length, then that many bytes
 * of UTF-8 JSON. Length-prefixing (not newlines) lets a message carry any text, and lets
 * the reader refuse an oversized frame before buffering it.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Larger frames are refused: nothing the runner and host exchange comes near it. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export class FrameError extends Error {
  override readonly name: string = 'FrameError';
}

/** A frame over MAX_FRAME_BYTES, sent or announced: its own error, so a run can say so. */
export class OversizedFrameError extends FrameError {
  override readonly name = 'OversizedFrameError';

  constructor(
    message: string,
    /** The frame's size in bytes. */
    readonly bytes: number,
  ) {
    super(message);
  }
}

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > MAX_FRAME_BYTES) throw new OversizedFrameError(`a frame of ${body.length} bytes is over the ${MAX_FRAME_BYTES}-byte limit`, body.length);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/** The length header alone of a frame too large to send: the reader refuses it by that length. */
export function oversizedAnnouncement(bytes: number): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(Math.min(bytes, 0xffff_ffff), 0);
  return header;
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
        if (length > MAX_FRAME_BYTES) throw new OversizedFrameError(`a frame announced ${length} bytes, over the ${MAX_FRAME_BYTES}-byte limit`, length);
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
