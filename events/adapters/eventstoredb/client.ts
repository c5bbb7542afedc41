/**
 * Every call this adapter makes to EventStoreDB goes through here, so that a switch to
 * another client (@kurrent/kurrentdb-client) touches this file only. It translates the
 * client's errors into ours, applies the request deadline, and keeps the connection string
 * (which can hold a password) out of every message.
 */
import {
  BACKWARDS,
  binaryEvent,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  MaxAppendSizeExceededError,
  NotLeaderError,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type Position,
  type ResolvedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import { redactConnectionString, redactConnectionStringIn } from '../../../runtime/eventstoredb-url.js';
import { InvalidArgumentError } from '../../errors.js';
import { EventStoreUnavailableError } from './errors.js';
import type { EsdbEventToWrite, EsdbRecord } from './stored-form.js';

export type { Position as EsdbPosition } from '@eventstore/db-client';

/** A recorded event with where it sits in EventStoreDB's $all. */
export interface EsdbRecordAt extends EsdbRecord {
  readonly esdbPosition: Position;
}

export type EsdbAppendOutcome =
  | { readonly ok: true; readonly nextExpectedRevision: bigint }
  | { readonly ok: false; readonly actual: bigint | 'no_stream' };

/** A plain JSON event, as the lease writes them. */
export interface JsonEventToWrite {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

export interface EsdbGatewayOptions {
  readonly connectionString: string;
  /** The deadline of each call, in milliseconds. */
  readonly requestTimeoutMs: number;
}

export class EsdbGateway {
  /** The connection string without credentials: for messages and `EventBackend.location`. */
  readonly location: string;
  private readonly client: EventStoreDBClient;
  private readonly connectionString: string;
  private readonly deadline: number;

  constructor(options: EsdbGatewayOptions) {
    this.connectionString = options.connectionString;
    this.location = redactConnectionString(options.connectionString);
    this.deadline = options.requestTimeoutMs;
    try {
      this.client = EventStoreDBClient.connectionString(options.connectionString);
    } catch (error) {
      // The parser's message may quote the string it could not parse.
      throw new InvalidArgumentError(`the EventStoreDB connection string ${this.location} is not valid: ${this.redact(messageOf(error))}`);
    }
  }

  async appendBinary(operation: string, streamId: string, events: readonly EsdbEventToWrite[], expected: AppendExpectedRevision): Promise<EsdbAppendOutcome> {
    const data = events.map((event) => binaryEvent({ id: event.id, type: event.type, data: event.data, metadata: event.metadata }));
    return this.append(operation, streamId, data, expected);
  }

  async appendJson(operation: string, streamId: string, events: readonly JsonEventToWrite[], expected: AppendExpectedRevision): Promise<EsdbAppendOutcome> {
    const data = events.map((event) => jsonEvent({ id: event.id, type: event.type, data: event.data }));
    return this.append(operation, streamId, data, expected);
  }

  private async append(
    operation: string,
    streamId: string,
    events: Parameters<EventStoreDBClient['appendToStream']>[1],
    expected: AppendExpectedRevision,
  ): Promise<EsdbAppendOutcome> {
    try {
      const result = await this.withLeader(() =>
        this.client.appendToStream(streamId, events, { expectedRevision: expected, deadline: this.deadline, requiresLeader: true }),
      );
      return { ok: true, nextExpectedRevision: result.nextExpectedRevision };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return { ok: false, actual: error.actualVersion };
      if (error instanceof MaxAppendSizeExceededError) {
        throw new InvalidArgumentError(
          `${operation}: the append is larger than the EventStoreDB server accepts in one append (${error.maxAppendSize} bytes); raise the server's MaxAppendSize`,
        );
      }
      throw this.failure(operation, error);
    }
  }

  /** A stream's events from a revision; empty when the stream does not exist. */
  async readStream(
    operation: string,
    streamId: string,
    options: { readonly from: bigint | 'start' | 'end'; readonly direction: 'forwards' | 'backwards'; readonly maxCount: number },
  ): Promise<EsdbRecord[]> {
    const fromRevision = options.from === 'start' ? START : options.from === 'end' ? END : options.from;
    try {
      return await this.withLeader(async () => {
        const read = this.client.readStream(streamId, {
          fromRevision,
          direction: options.direction === 'forwards' ? FORWARDS : BACKWARDS,
          maxCount: options.maxCount,
        });
        return this.collect(read, recordOf);
      });
    } catch (error) {
      if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError) return [];
      throw this.failure(operation, error);
    }
  }

  /** Events of EventStoreDB's $all from a position (inclusive forwards), system events included. */
  async readAll(
    operation: string,
    options: { readonly from: Position | 'start' | 'end'; readonly direction: 'forwards' | 'backwards'; readonly maxCount: number },
  ): Promise<EsdbRecordAt[]> {
    const fromPosition = options.from === 'start' ? START : options.from === 'end' ? END : options.from;
    try {
      return await this.withLeader(async () => {
        const read = this.client.readAll({
          fromPosition,
          direction: options.direction === 'forwards' ? FORWARDS : BACKWARDS,
          maxCount: options.maxCount,
        });
        return this.collect(read, recordAtOf);
      });
    } catch (error) {
      throw this.failure(operation, error);
    }
  }

  /**
   * A live subscription to $all from its end, without system events. `onEvent` is told of
   * each event; `onDrop` once, when the subscription ends for any reason but `stop()`.
   */
  subscribeToAllFromEnd(onEvent: () => void, onDrop: (error: Error) => void): { stop(): void } {
    let stopped = false;
    const subscription = this.client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
    let dropped = false;
    const drop = (error: Error) => {
      if (stopped || dropped) return;
      dropped = true;
      onDrop(new EventStoreUnavailableError('the live subscription to $all', this.location, this.redact(messageOf(error))));
    };
    subscription.on('data', () => {
      if (!stopped) onEvent();
    });
    subscription.on('error', drop);
    subscription.on('end', () => drop(new Error('the server ended the subscription')));
    return {
      stop: () => {
        stopped = true;
        void subscription.unsubscribe().catch(() => undefined);
      },
    };
  }

  /** The custom properties of a stream's metadata, or {} when it has none. */
  async getStreamMetadata(operation: string, streamId: string): Promise<Record<string, unknown>> {
    try {
      const result = await this.withLeader(() => this.client.getStreamMetadata(streamId, { deadline: this.deadline }));
      return (result.metadata ?? {}) as Record<string, unknown>;
    } catch (error) {
      throw this.failure(operation, error);
    }
  }

  async setStreamMetadata(operation: string, streamId: string, metadata: Record<string, unknown>): Promise<void> {
    try {
      await this.withLeader(() => this.client.setStreamMetadata(streamId, metadata, { deadline: this.deadline, requiresLeader: true }));
    } catch (error) {
      throw this.failure(operation, error);
    }
  }

  async close(): Promise<void> {
    await this.client.dispose().catch(() => undefined);
  }

  /**
   * Reads a streaming read to its end. Client 6.2.1 opens reads with no deadline at all, so
   * a server that stops answering would hang the read for ever: the read is cancelled when
   * nothing arrives for the request timeout (an idle limit, so a long read that keeps
   * arriving is not cut short).
   */
  private collect<T, R>(read: StreamingRead<T>, convert: (item: T) => R | undefined): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      const items: R[] = [];
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error === undefined) resolve(items);
        else reject(error);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          void read.cancel().catch(() => undefined);
          finish(new ReadIdleError(this.deadline));
        }, this.deadline);
      };
      arm();
      read.on('data', (item: T) => {
        arm();
        try {
          const converted = convert(item);
          if (converted !== undefined) items.push(converted);
        } catch (error) {
          void read.cancel().catch(() => undefined);
          finish(error);
        }
      });
      read.on('error', (error: Error) => finish(error));
      read.on('end', () => finish());
    });
  }

  /**
   * The client reconnects to the leader a NotLeader answer names, but fails the call that
   * got it; nothing was written, so the call is made once more.
   */
  private async withLeader<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof NotLeaderError) return call();
      throw error;
    }
  }

  /**
   * The client's error, redacted, becomes the message; it is not kept as the cause, which a
   * logger would print unredacted (and the client's error keeps the raw gRPC one in turn).
   */
  private failure(operation: string, error: unknown): EventStoreUnavailableError {
    return new EventStoreUnavailableError(operation, this.location, this.redact(messageOf(error)));
  }

  private redact(text: string): string {
    return redactConnectionString(redactConnectionStringIn(text, this.connectionString));
  }
}

/** A read that got nothing from the server for the request timeout. */
class ReadIdleError extends Error {
  constructor(idleMs: number) {
    super(`no answer from the server for ${idleMs} ms`);
    this.name = 'ReadIdleError';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}

function recordOf(resolved: ResolvedEvent | AllStreamResolvedEvent): EsdbRecord | undefined {
  const event = resolved.event;
  if (!event) return undefined;
  return { streamId: event.streamId, id: event.id, revision: event.revision, type: event.type, isJson: event.isJson, data: event.data, metadata: event.metadata };
}

function recordAtOf(resolved: AllStreamResolvedEvent): EsdbRecordAt | undefined {
  const record = recordOf(resolved);
  if (!record || !resolved.event) return undefined;
  return { ...record, esdbPosition: resolved.event.position };
}
