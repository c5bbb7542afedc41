/**
 * The event catalogue: every event type ledgerclaw may store, each a chain of versioned
 * zod schemas with an upcaster between neighbours. Appends are validated against the
 * newest version; reads of older versions are upcast on the way out. Stored events are
 * never rewritten.
 */
import { v4 as uuidv4 } from 'uuid';
import type { z } from 'zod';
import {
  eventIdSchema,
  eventMetadataSchema,
  eventTypeSchema,
  type EventMetadata,
  type NewEvent,
  type PreparedEvent,
  type RawStoredEvent,
  type StoredEvent,
} from './envelope.js';
import { canonicalJson } from './canonical-json.js';
import { InvalidEventError, UnknownEventTypeError, type FieldIssue } from './errors.js';

interface VersionStep {
  readonly version: number;
  readonly schema: z.ZodType;
  /** Turns data of the previous version into data of this one. */
  readonly upcast?: (previous: unknown) => unknown;
}

/**
 * One event type with its versions. Build with `defineEvent(type, 1, schema)` and add a
 * version with `.evolve(2, schemaV2, (v1) => v2)`; `TData` is always the newest shape.
 */
export class EventDefinition<TType extends string = string, TData = unknown> {
  private constructor(
    readonly type: TType,
    readonly steps: readonly VersionStep[],
  ) {}

  static create<TType extends string, TSchema extends z.ZodType>(
    type: TType,
    version: number,
    schema: TSchema,
  ): EventDefinition<TType, z.output<TSchema>> {
    eventTypeSchema.parse(type);
    return new EventDefinition(type, [{ version, schema }]);
  }

  get version(): number {
    return this.steps[this.steps.length - 1]!.version;
  }

  evolve<TSchema extends z.ZodType>(
    version: number,
    schema: TSchema,
    upcast: (previous: TData) => z.input<TSchema>,
  ): EventDefinition<TType, z.output<TSchema>> {
    if (version <= this.version) {
      throw new Error(`${this.type}: version ${version} must be above ${this.version}`);
    }
    return new EventDefinition(this.type, [...this.steps, { version, schema, upcast: upcast as (p: unknown) => unknown }]);
  }

  /** A NewEvent of this type, typed by the newest schema. */
  create(data: TData, options: { id?: string; metadata?: Partial<EventMetadata> } = {}): NewEvent<TType, TData> {
    return { type: this.type, data, ...options };
  }

  is(event: StoredEvent): event is StoredEvent<TType, TData> {
    return event.type === this.type && event.version === this.version;
  }
}

export const defineEvent = EventDefinition.create;

export interface PrepareContext {
  /** Fills `metadata.actor` when the producer did not name one. */
  readonly defaultActor: string;
  readonly now: () => Date;
}

function toFieldIssues(error: z.ZodError, prefix: string): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((part) => part !== '').join('.') || prefix,
    message: issue.message,
  }));
}

export interface PreparedWithValues {
  readonly prepared: PreparedEvent;
  /** The newest version's parsed data: what a read of the stored text gives back. */
  readonly data: unknown;
  readonly metadata: EventMetadata;
}

/** A stored event as consumers see it: its place and chain from storage, its values decoded. */
export function storedEventOf(raw: RawStoredEvent, values: { data: unknown; metadata: EventMetadata; version: number }): StoredEvent {
  return {
    id: raw.id,
    streamId: raw.streamId,
    revision: raw.revision,
    position: raw.position,
    type: raw.type,
    version: values.version,
    storedVersion: raw.version,
    data: values.data,
    metadata: values.metadata,
    recordedAt: raw.recordedAt,
    prevHash: raw.prevHash,
    hashVersion: raw.hashVersion,
    hash: raw.hash,
  };
}

export class EventCatalogue {
  private readonly definitions = new Map<string, EventDefinition>();

  constructor(definitions: readonly EventDefinition[]) {
    for (const definition of definitions) {
      if (this.definitions.has(definition.type)) throw new Error(`event type ${definition.type} is defined twice`);
      this.definitions.set(definition.type, definition);
    }
  }

  get types(): string[] {
    return [...this.definitions.keys()].sort();
  }

  definition(type: string): EventDefinition | undefined {
    return this.definitions.get(type);
  }

  /**
   * Validates a NewEvent against the newest version of its type and serializes it to the
   * canonical JSON that is stored and hashed. Throws naming the type and the field.
   */
  prepare(event: NewEvent, context: PrepareContext, where: string): PreparedEvent {
    return this.prepareWithValues(event, context, where).prepared;
  }

  /** `prepare`, also handing back the validated values, so the appender need not parse its own events again. */
  prepareWithValues(event: NewEvent, context: PrepareContext, where: string): PreparedWithValues {
    const definition = this.definitions.get(event.type);
    if (!definition) throw new UnknownEventTypeError(String(event.type), where);
    const step = definition.steps[definition.steps.length - 1]!;

    const id = event.id ?? uuidv4();
    const idCheck = eventIdSchema.safeParse(id);
    const data = step.schema.safeParse(event.data);
    const metadata = eventMetadataSchema.safeParse({
      correlationId: id,
      causationId: null,
      actor: context.defaultActor,
      occurredAt: context.now().toISOString(),
      ...event.metadata,
    });
    const issues = [
      ...(idCheck.success ? [] : toFieldIssues(idCheck.error, 'id')),
      ...(data.success ? [] : toFieldIssues(data.error, 'data')),
      ...(metadata.success ? [] : toFieldIssues(metadata.error, 'metadata')),
    ];
    if (issues.length > 0 || !data.success || !metadata.success) {
      throw new InvalidEventError(definition.type, step.version, issues, where);
    }
    return {
      prepared: {
        id,
        type: definition.type,
        version: step.version,
        dataJson: canonicalJson(data.data),
        metadataJson: canonicalJson(metadata.data),
      },
      data: data.data,
      metadata: metadata.data,
    };
  }

  /**
   * Turns a stored event into the form consumers see: JSON parsed and checked against the
   * schema of the version it was written with, then upcast to the newest version.
   */
  decode(raw: RawStoredEvent, upcast: boolean): StoredEvent {
    const where = `${raw.streamId}@${raw.revision}`;
    const dataValue: unknown = JSON.parse(raw.dataJson);
    const metadata = eventMetadataSchema.safeParse(JSON.parse(raw.metadataJson));
    if (!metadata.success) {
      throw new InvalidEventError(raw.type, raw.version, toFieldIssues(metadata.error, 'metadata'), `stored at ${where}`);
    }
    let data = dataValue;
    let version = raw.version;
    if (upcast) {
      const definition = this.definitions.get(raw.type);
      if (!definition) throw new UnknownEventTypeError(raw.type, `stored at ${where}`);
      const storedIndex = definition.steps.findIndex((step) => step.version === raw.version);
      const storedStep = definition.steps[storedIndex];
      if (!storedStep) {
        throw new InvalidEventError(raw.type, raw.version, [{ path: 'version', message: 'no such version in the catalogue' }], `stored at ${where}`);
      }
      const parsed = storedStep.schema.safeParse(dataValue);
      if (!parsed.success) {
        throw new InvalidEventError(raw.type, raw.version, toFieldIssues(parsed.error, 'data'), `stored at ${where}`);
      }
      data = parsed.data;
      for (const step of definition.steps.slice(storedIndex + 1)) {
        data = step.upcast!(data);
        version = step.version;
      }
    }
    return storedEventOf(raw, { data, metadata: metadata.data, version });
  }
}
