/**
 * Given-events / when-command / then-events specs for actor machines, on the pure fold
 * (no store, no host). Given events and recorded events are checked against the kind's
 * event schemas, so a spec cannot pass on data the store would refuse.
 *
 *   spec(taskKind).given(scheduled).when({ type: 'pause' }).thenRecorded([{ type: 'task.paused', data: {...} }]);
 */
import { expect } from 'vitest';
import type { AnyActorKind, CommandMeta, RecordParams } from '../../actors/actor-kind.js';
import { decide, describeState, evolve, initialSnapshot, type ActorSnapshot, type Decision } from '../../actors/fold.js';
import { EventCatalogue } from '../../events/catalogue.js';
import type { StoredEvent } from '../../events/envelope.js';
import { GENESIS_HASH } from '../../events/hash-chain.js';

const SPEC_TIME = '2026-01-05T09:00:00.000Z';

export interface GivenEvent {
  readonly type: string;
  readonly data: unknown;
  /** Who caused it; `user:U1` by default. */
  readonly actor?: string;
}

export interface WhenCommand {
  readonly type: string;
  readonly [field: string]: unknown;
}

function catalogueOf(kind: AnyActorKind): EventCatalogue {
  return new EventCatalogue(kind.events);
}

function storedEvent(catalogue: EventCatalogue, kind: AnyActorKind, id: string, given: GivenEvent, revision: number): StoredEvent {
  const prepared = catalogue.prepare(
    { type: given.type, data: given.data, metadata: { actor: given.actor ?? 'user:U1', occurredAt: SPEC_TIME } },
    { defaultActor: 'user:U1', now: () => new Date(SPEC_TIME) },
    `given event ${revision} of a ${kind.kind} spec`,
  );
  return {
    id: prepared.id,
    streamId: `${kind.kind}-${id}`,
    revision: BigInt(revision),
    position: BigInt(revision + 1),
    type: prepared.type,
    version: prepared.version,
    storedVersion: prepared.version,
    data: JSON.parse(prepared.dataJson) as unknown,
    metadata: JSON.parse(prepared.metadataJson) as StoredEvent['metadata'],
    recordedAt: SPEC_TIME,
    prevHash: GENESIS_HASH,
    hashVersion: 2,
    hash: GENESIS_HASH,
  };
}

export class ActorSpec {
  private constructor(
    private readonly kind: AnyActorKind,
    private readonly id: string,
    private readonly catalogue: EventCatalogue,
    readonly snapshot: ActorSnapshot,
    private readonly revision: number,
    /** Effects asked for while folding the given events, in order. */
    readonly effects: readonly { type: string; params: unknown }[],
  ) {}

  static of(kind: AnyActorKind, id = 'spec'): ActorSpec {
    return new ActorSpec(kind, id, catalogueOf(kind), initialSnapshot(kind, id), 0, []);
  }

  /** Folds these events, as if they were the stream so far. */
  given(...events: readonly GivenEvent[]): ActorSpec {
    let snapshot = this.snapshot;
    let revision = this.revision;
    const effects = [...this.effects];
    for (const given of events) {
      const evolved = evolve(this.kind, snapshot, storedEvent(this.catalogue, this.kind, this.id, given, revision));
      snapshot = evolved.snapshot;
      effects.push(...evolved.effects);
      revision += 1;
    }
    return new ActorSpec(this.kind, this.id, this.catalogue, snapshot, revision, effects);
  }

  when(command: WhenCommand, meta: Partial<CommandMeta> = {}): SpecOutcome {
    const parsed = this.kind.commands.safeParse(command);
    if (!parsed.success) {
      throw new Error(`the spec's command is invalid for ${this.kind.kind}: ${parsed.error.message}`);
    }
    const decision = decide(this.kind, this.snapshot, parsed.data, {
      commandId: meta.commandId ?? '00000000-0000-4000-8000-000000000001',
      issuedAt: meta.issuedAt ?? SPEC_TIME,
      actor: meta.actor ?? 'user:U1',
    });
    return new SpecOutcome(this, decision);
  }

  get state(): string {
    return describeState(this.snapshot);
  }

  get context(): unknown {
    return this.snapshot.context;
  }

  /** The events a decision recorded, folded in, for chaining further steps. */
  apply(events: readonly RecordParams[]): ActorSpec {
    return this.given(...events);
  }

  checkRecordable(events: readonly RecordParams[]): void {
    events.forEach((event, index) =>
      this.catalogue.prepare(event, { defaultActor: 'user:U1', now: () => new Date(SPEC_TIME) }, `recorded event ${index}`),
    );
  }
}

export class SpecOutcome {
  constructor(
    private readonly before: ActorSpec,
    readonly decision: Decision,
  ) {}

  thenRecorded(expected: readonly RecordParams[]): ActorSpec {
    if (!this.decision.accepted) throw new Error(`expected events, but the command was rejected: ${this.decision.reason}`);
    this.before.checkRecordable(this.decision.events);
    expect(this.decision.events).toEqual(expected);
    return this.before.apply(this.decision.events);
  }

  thenRejected(reason: RegExp | string): void {
    if (this.decision.accepted) {
      throw new Error(`expected a rejection, but the command recorded ${JSON.stringify(this.decision.events)}`);
    }
    if (typeof reason === 'string') expect(this.decision.reason).toContain(reason);
    else expect(this.decision.reason).toMatch(reason);
  }
}

export const spec = (kind: AnyActorKind, id?: string): ActorSpec => ActorSpec.of(kind, id);
