/**
 * The EventStore: the catalogue in front of a storage backend. Everything that reaches a
 * backend has been validated here, and everything read back is checked and upcast here,
 * so adapters stay small and behave alike.
 */
import type { Observable } from 'rxjs';
import { z } from 'zod';
import type { EventBackend } from './backend.js';
import { storedEventOf, type EventCatalogue, type PrepareContext, type PreparedWithValues } from './catalogue.js';
import { streamIdSchema, type NewEvent, type RawStoredEvent, type StoredEvent } from './envelope.js';
import { EventIdConflictError, InvalidArgumentError } from './errors.js';
import type {
  AppendOptions,
  AppendResult,
  Delivery,
  EventStore,
  ListStreamsOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StreamInfo,
  StreamMetadata,
  SubscribeOptions,
} from './port.js';
import { subscribeToBackend } from './subscription.js';

export interface EventStoreOptions {
  /** `metadata.actor` for events whose producer names none. */
  readonly defaultActor?: string;
  readonly now?: () => Date;
}

const DEFAULT_READ_ALL_PAGE = 1_000;

const expectedRevisionSchema = z.union([
  z.literal('no_stream'),
  z.literal('stream_exists'),
  z.literal('any'),
  z.bigint().nonnegative(),
]);
const countSchema = z.number().int().positive();
const positionSchema = z.union([z.literal('start'), z.literal('end'), z.bigint().nonnegative()]);
const streamMetadataSchema = z
  .object({ truncateBefore: z.bigint().nonnegative().optional(), maxCount: countSchema.optional() })
  .strict();

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
    throw new InvalidArgumentError(`${what}${path}: ${issue.message} (got ${describe(value)})`);
  }
  return result.data;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  try {
    return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? `${inner}n` : inner)) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The stored event built from the values just validated, when what is stored is byte for
 * byte what was prepared (always, but for a retry whose original differed): parsing the
 * stored text again would give the same values, at a cost on every append.
 */
function storedFromValues(raw: RawStoredEvent, values: PreparedWithValues | undefined): StoredEvent | undefined {
  if (!values) return undefined;
  const { prepared } = values;
  if (prepared.id !== raw.id || prepared.version !== raw.version || prepared.dataJson !== raw.dataJson || prepared.metadataJson !== raw.metadataJson) {
    return undefined;
  }
  return storedEventOf(raw, { data: values.data, metadata: values.metadata, version: raw.version });
}

class CataloguedEventStore implements EventStore {
  private readonly context: PrepareContext;

  constructor(
    private readonly backend: EventBackend,
    private readonly catalogue: EventCatalogue,
    options: EventStoreOptions,
  ) {
    this.context = { defaultActor: options.defaultActor ?? 'system', now: options.now ?? (() => new Date()) };
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    check(streamIdSchema, streamId, 'append: stream id');
    const expectedRevision = check(expectedRevisionSchema, options?.expectedRevision, `append to ${streamId}: expectedRevision`);
    if (!Array.isArray(events) || events.length === 0) {
      throw new InvalidArgumentError(`append to ${streamId}: expected a non-empty array of events`);
    }
    // Validate the whole batch before anything reaches storage: nothing partial is written.
    const values = events.map((event, index) =>
      this.catalogue.prepareWithValues(event, this.context, `append to ${streamId}, event ${index}`),
    );
    const prepared = values.map((value) => value.prepared);
    const seen = new Set<string>();
    for (const event of prepared) {
      if (seen.has(event.id)) throw new EventIdConflictError(streamId, event.id, 'same_append');
      seen.add(event.id);
    }
    const result = await this.backend.append(streamId, prepared, expectedRevision);
    return { ...result, events: result.events.map((raw, index) => storedFromValues(raw, values[index]) ?? this.catalogue.decode(raw, true)) };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    check(streamIdSchema, streamId, 'readStream: stream id');
    const direction = options.direction ?? 'forwards';
    const from = check(positionSchema, options.from ?? (direction === 'forwards' ? 'start' : 'end'), 'readStream: from');
    const maxCount = check(countSchema, options.maxCount ?? Number.MAX_SAFE_INTEGER, 'readStream: maxCount');
    const raws = await this.backend.readStream(streamId, {
      from: from === 'start' ? 0n : from,
      direction,
      maxCount,
    });
    const upcast = options.upcast ?? true;
    return raws.map((raw) => this.catalogue.decode(raw, upcast));
  }

  async readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    const direction = options.direction ?? 'forwards';
    const from = check(positionSchema, options.fromPosition ?? (direction === 'forwards' ? 'start' : 'end'), 'readAll: fromPosition');
    const maxCount = check(countSchema, options.maxCount ?? DEFAULT_READ_ALL_PAGE, 'readAll: maxCount');
    const raws = await this.backend.readAll({
      from: from === 'start' ? 0n : from,
      direction,
      maxCount,
      ...(options.filter ? { filter: options.filter } : {}),
    });
    const upcast = options.upcast ?? true;
    return raws.map((raw) => this.catalogue.decode(raw, upcast));
  }

  async readByCorrelation(correlationId: string, options: { maxCount?: number; upcast?: boolean } = {}): Promise<StoredEvent[]> {
    check(z.string().min(1).max(200), correlationId, 'readByCorrelation: correlation id');
    const maxCount = check(countSchema, options.maxCount ?? 10_000, 'readByCorrelation: maxCount');
    const raws = await this.backend.readByCorrelation(correlationId, maxCount);
    const upcast = options.upcast ?? true;
    return raws.map((raw) => this.catalogue.decode(raw, upcast));
  }

  subscribe(options: SubscribeOptions = {}): Observable<Delivery> {
    check(positionSchema, options.fromPosition ?? 'start', 'subscribe: fromPosition');
    const upcast = options.upcast ?? true;
    return subscribeToBackend(this.backend, (raw) => this.catalogue.decode(raw, upcast), options);
  }

  async streamRevision(streamId: string): Promise<bigint | null> {
    check(streamIdSchema, streamId, 'streamRevision: stream id');
    return this.backend.streamRevision(streamId);
  }

  listStreams(options: ListStreamsOptions = {}): Promise<StreamInfo[]> {
    return this.backend.listStreams(options);
  }

  headPosition(): Promise<bigint> {
    return this.backend.headPosition();
  }

  async getStreamMetadata(streamId: string): Promise<StreamMetadata> {
    check(streamIdSchema, streamId, 'getStreamMetadata: stream id');
    return this.backend.getStreamMetadata(streamId);
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    check(streamIdSchema, streamId, 'setStreamMetadata: stream id');
    await this.backend.setStreamMetadata(streamId, check(streamMetadataSchema, metadata, `setStreamMetadata on ${streamId}`));
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

export function createEventStore(backend: EventBackend, catalogue: EventCatalogue, options: EventStoreOptions = {}): EventStore {
  return new CataloguedEventStore(backend, catalogue, options);
}
