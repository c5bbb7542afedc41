/**
 * One end of the framed channel: typed, validated messages over a byte stream pair (the
 * runner's stdin/stdout, or the host's side of them). Every incoming frame is checked
 * against the schema of what this end may receive; a frame that fails is an error naming
 * the field, and ends the channel, because after a bad frame nothing more can be trusted.
 */
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { encodeFrame, FrameDecoder, OversizedFrameError, oversizedAnnouncement } from './framing.js';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export interface ChannelEvents<TIn> {
  message: [TIn];
  /** The channel broke: a bad frame, an invalid message, or a stream error. Emitted once. */
  error: [Error];
  /** The other end closed its side. Emitted once, after any remaining messages. */
  end: [];
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(message)'}: ${issue.message}`).join('; ');
}

export class FramedChannel<TIn, TOut> extends EventEmitter<ChannelEvents<TIn>> {
  private broken = false;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
    private readonly incoming: z.ZodType<TIn>,
    /** Which end this is, for error messages: 'host' or 'runner'. */
    private readonly peer: string,
  ) {
    super();
    const decoder = new FrameDecoder();
    input.on('error', (error) => this.fail(error));
    decoder.on('error', (error) => this.fail(error));
    decoder.on('data', (frame: unknown) => this.receive(frame));
    decoder.on('end', () => {
      if (!this.broken) this.emit('end');
    });
    input.pipe(decoder);
  }

  /**
   * Writes one frame. A message over the frame limit throws OversizedFrameError, and only
   * its length goes out: the other end's reader refuses a frame by its announced length,
   * so it learns why the channel ended instead of waiting for a frame that never comes.
   * The channel is broken after that.
   */
  send(message: TOut): void {
    if (this.broken) return;
    let frame: Buffer;
    try {
      frame = encodeFrame(message);
    } catch (error) {
      if (error instanceof OversizedFrameError) {
        this.output.write(oversizedAnnouncement(error.bytes));
        this.broken = true;
      }
      throw error;
    }
    this.output.write(frame);
  }

  private receive(frame: unknown): void {
    if (this.broken) return;
    let parsed: z.ZodSafeParseResult<TIn>;
    try {
      parsed = this.incoming.safeParse(frame);
    } catch (error) {
      // A schema that recurses (z.json()) can overflow the stack on a deep value; the
      // protocol's own schemas do not, but whatever throws, the frame is refused, not the process.
      this.fail(new ProtocolError(`a message from the ${this.peer} could not be checked: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    if (!parsed.success) {
      const type = typeof frame === 'object' && frame !== null && 'type' in frame ? String((frame as { type: unknown }).type) : 'unknown';
      this.fail(new ProtocolError(`invalid '${type}' message from the ${this.peer}: ${describeIssues(parsed.error)}`));
      return;
    }
    this.emit('message', parsed.data);
  }

  private fail(error: Error): void {
    if (this.broken) return;
    this.broken = true;
    this.emit('error', error);
  }
}
