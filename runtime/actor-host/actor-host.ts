/**
 * The actor host: loads actors from their streams, hands them commands one at a time,
 * appends what they decide, and runs their effects once the events are stored.
 *
 * - load: the newest snapshot made by the same machine definition, then the rest of the
 *   stream folded through the machine's pure transition. Folding never runs an effect.
 * - send: the machine decides on the state it has; a rejection appends nothing; an
 *   acceptance appends with `expectedRevision` = the revision it decided on, and a
 *   conflict (another process, or a stale cache) reloads and decides again, a bounded
 *   number of times. Event ids derive from the command id, so a retried command is
 *   stored once.
 * - Commands to one actor are serialized through its mailbox; different actors run
 *   concurrently. Idle actors are passivated and come back from their stream on demand.
 */
import { randomUUID } from 'node:crypto';
import { Subject, type Observable } from 'rxjs';
import type { SnapshotFrom } from 'xstate';
import { z } from 'zod';
import type { AnyActorKind, Command, CommandMeta, CommandOf, ContextOf, EffectRequest } from '../../actors/actor-kind.js';
import { decide, describeState, evolve, initialSnapshot, type ActorSnapshot } from '../../actors/fold.js';
import type { RuntimeActorKind } from '../../actors/index.js';
import type { StoredEvent } from '../../events/envelope.js';
import { EventIdConflictError, WrongExpectedRevisionError } from '../../events/errors.js';
import { eventIdFor } from '../../events/ids.js';
import type { EventStore } from '../../events/port.js';
import type { Logger } from '../logger.js';
import { machineHash } from '../../snapshots/machine-hash.js';
import type { SnapshotStore } from '../../snapshots/snapshot-store.js';
import {
  MissingEffectExecutorError,
  missingEffectExecutors,
  type ActorAddress,
  type CausingEvent,
  type EffectContext,
  type EffectExecutor,
  type EffectExecutors,
  type KindAddress,
  type KindAt,
  type SendOptions,
} from './effects.js';
import type { InspectionEvent } from './inspection.js';

export type SendResult =
  | {
      readonly status: 'accepted';
      readonly events: readonly StoredEvent[];
      readonly revision: bigint;
      readonly state: string;
      /** True when this command id had been applied before: nothing new was stored. */
      readonly duplicate: boolean;
    }
  | { readonly status: 'rejected'; readonly reason: string; readonly state: string };

export interface ActorView<TKind extends AnyActorKind = AnyActorKind> extends ActorAddress {
  readonly snapshot: SnapshotFrom<TKind['machine']>;
  /** The snapshot's context, typed as the kind's. */
  readonly context: ContextOf<TKind>;
  /** The revision of the last folded event; null for an actor with no events. */
  readonly revision: bigint | null;
  readonly state: string;
}

/** The runtime's one logger type (runtime/logger.ts), re-exported for the modules that import it from here. */
export type { Logger };

export interface ActorHostOptions<TKinds extends AnyActorKind = RuntimeActorKind> {
  readonly store: EventStore;
  readonly kinds: readonly TKinds[];
  readonly snapshots?: SnapshotStore;
  /** Save a snapshot once this many events were folded since the last one. Default 100. */
  readonly snapshotEvery?: number;
  readonly effects?: EffectExecutors<TKinds>;
  /**
   * Refuse to construct a writing host unless every effect its kinds declare has an
   * executor (default true): an effect nobody runs is a message that reaches nobody.
   * A test host that runs only some effects turns this off.
   */
  readonly requireAllEffects?: boolean;
  /** Most actors kept in memory; beyond it the least recently used idle ones are unloaded. Default 20,000. */
  readonly maxLiveActors?: number;
  /** An actor unused this long is unloaded. Default 10 minutes. */
  readonly idleAfterMs?: number;
  /** Reloads and decides again this many times on a revision conflict. Default 5. */
  readonly maxConflictRetries?: number;
  /** A reader host (the CLI) loads and replays, and never appends or runs effects. */
  readonly readOnly?: boolean;
  /** `metadata.actor` for commands sent without one. */
  readonly defaultActor?: string;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

/** By kind: the actors that may owe effects, or undefined when that cannot be told (see resumePendingEffects). */
export type PendingEffectCandidates = Readonly<Record<string, () => Promise<readonly string[] | undefined>>>;

export class UnknownActorKindError extends Error {
  override readonly name = 'UnknownActorKindError';
}

export class InvalidCommandError extends Error {
  override readonly name = 'InvalidCommandError';
}

export class ActorConflictError extends Error {
  override readonly name = 'ActorConflictError';
}

interface LiveActor extends ActorAddress {
  readonly kindDefinition: AnyActorKind;
  snapshot: ActorSnapshot;
  revision: bigint | null;
  /** The revision of the newest saved snapshot (or the one loaded). */
  snapshotRevision: bigint | null;
  lastUsed: number;
  /** Commands queued or running; an actor with any is never passivated. */
  busy: number;
  mailbox: Promise<unknown>;
}

const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export function streamIdOf(kind: string, id: string): string {
  return id === '' ? kind : `${kind}-${id}`;
}

export class ActorHost<TKinds extends AnyActorKind = RuntimeActorKind> {
  private readonly kinds = new Map<string, TKinds>();
  /** Least recently used first. */
  private readonly live = new Map<string, LiveActor>();
  private readonly inFlightEffects = new Set<Promise<void>>();
  private readonly inspections = new Subject<InspectionEvent>();
  private readonly sweeper: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private stopped = false;

  /** By `<kind>.<effect>`; each executor is called only with the params its effect declares. */
  private readonly executors: Readonly<Record<string, EffectExecutor<never, TKinds> | undefined>>;

  constructor(private readonly options: ActorHostOptions<TKinds>) {
    for (const kind of options.kinds) this.kinds.set(kind.kind, kind);
    // The typed map keyed by `<kind>.<effect>` read by a name built at run time.
    this.executors = (options.effects ?? {}) as Readonly<Record<string, EffectExecutor<never, TKinds> | undefined>>;
    if (!options.readOnly && options.requireAllEffects !== false) {
      const missing = missingEffectExecutors(options.kinds, this.executors);
      if (missing.length > 0) throw new MissingEffectExecutorError(missing);
    }
    this.logger = options.logger ?? silentLogger;
    const idleAfterMs = options.idleAfterMs ?? 10 * 60_000;
    if (!options.readOnly) {
      this.sweeper = setInterval(() => this.passivateIdle(idleAfterMs), Math.max(1_000, idleAfterMs / 4));
      this.sweeper.unref();
    }
  }

  /** Every load, command, stored event and snapshot, for the inspector and local consoles. */
  get inspection(): Observable<InspectionEvent> {
    return this.inspections.asObservable();
  }

  kind(name: string): TKinds {
    const kind = this.kinds.get(name);
    if (!kind) throw new UnknownActorKindError(`unknown actor kind '${name}' (known: ${[...this.kinds.keys()].join(', ')})`);
    return kind;
  }

  get kindNames(): string[] {
    return [...this.kinds.keys()];
  }

  /**
   * The actor as it is now: from memory if live, else from its snapshot and stream. Named
   * by its kind (or the kind's registered name), the view is typed as that kind's; a name
   * read at run time (the CLI's listing) gets an untyped view.
   */
  async load<const TAddress extends KindAddress<TKinds>>(kind: TAddress, id: string): Promise<ActorView<KindAt<TKinds, TAddress>>>;
  async load(kindName: string, id: string): Promise<ActorView>;
  async load(kind: string | AnyActorKind, id: string): Promise<ActorView> {
    const actor = await this.liveActor(this.kind(typeof kind === 'string' ? kind : kind.kind), id);
    return this.view(actor);
  }

  /** The actors in memory now. */
  liveActors(): ActorView[] {
    return [...this.live.values()].map((actor) => this.view(actor));
  }

  /** Sends a command, type-checked against the target kind's command schema. */
  async send<const TAddress extends KindAddress<TKinds>>(
    kind: TAddress,
    id: string,
    command: CommandOf<KindAt<TKinds, TAddress>>,
    options: SendOptions = {},
  ): Promise<SendResult> {
    return this.sendUnchecked(typeof kind === 'string' ? kind : (kind as TKinds).kind, id, command, options);
  }

  /**
   * Sends a command whose kind and shape were read at run time (the control socket): the
   * kind's schema validates it here, and an invalid one is an InvalidCommandError.
   */
  async sendUnchecked(kindName: string, id: string, command: Command, options: SendOptions = {}): Promise<SendResult> {
    if (this.options.readOnly) throw new Error('this actor host is read-only; commands go to the running runtime');
    if (this.stopped) throw new Error('the actor host is stopped');
    const kind = this.kind(kindName);
    const parsed = kind.commands.safeParse(command);
    if (!parsed.success) {
      throw new InvalidCommandError(`invalid ${kind.kind} command '${String(command?.type)}': ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`);
    }
    const entry = await this.liveActor(kind, id, { acquire: true });
    const work = entry.mailbox.then(() => this.handle(entry, parsed.data, options));
    entry.mailbox = work.catch(() => undefined);
    try {
      return await work;
    } finally {
      entry.busy -= 1;
      entry.lastUsed = Date.now();
      this.touch(entry.streamId);
    }
  }

  /**
   * Runs the effects every actor's state says are still owed (after a restart). Every actor
   * of a kind with pending effects is loaded to ask, unless `candidates` names, for that
   * kind, a superset of the actors that may owe one (from a read model, say: thousands of
   * idle tasks need not be loaded to find the few with a run in flight). A candidates
   * function that answers undefined could not tell: the kind is scanned.
   */
  async resumePendingEffects(candidates: PendingEffectCandidates = {}): Promise<number> {
    let resumed = 0;
    const resume = async (kind: AnyActorKind, id: string) => {
      const actor = await this.liveActor(kind, id);
      const pending = kind.pendingEffects!(actor.snapshot);
      pending.forEach((effect, index) => this.runEffect(actor, effect, `${actor.streamId}@${actor.revision}:pending:${index}`, undefined));
      resumed += pending.length;
    };
    for (const kind of this.kinds.values()) {
      if (!kind.pendingEffects) continue;
      const ids = await candidates[kind.kind]?.();
      if (ids !== undefined) {
        for (const id of ids) await resume(kind, id);
        continue;
      }
      for (let after: string | undefined; ; ) {
        const streams = await this.options.store.listStreams({ prefix: kind.kind, ...(after ? { after } : {}), limit: 500 });
        for (const stream of streams) {
          const id = this.idFromStream(kind, stream.streamId);
          if (id !== undefined) await resume(kind, id);
        }
        if (streams.length < 500) break;
        after = streams[streams.length - 1]!.streamId;
      }
    }
    return resumed;
  }

  /** Resolves when every effect started so far has finished. */
  async idle(): Promise<void> {
    while (this.inFlightEffects.size > 0) await Promise.allSettled([...this.inFlightEffects]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.allSettled([...this.live.values()].map((actor) => actor.mailbox));
    await this.idle();
    this.inspections.complete();
  }

  // ---- one command ----------------------------------------------------------------------

  private async handle(actor: LiveActor, command: Command, options: SendOptions): Promise<SendResult> {
    const kind = actor.kindDefinition;
    const commandId = options.commandId ?? randomUUID();
    const meta: CommandMeta = {
      commandId,
      issuedAt: (this.options.now?.() ?? new Date()).toISOString(),
      actor: options.actor ?? this.options.defaultActor ?? 'runtime',
    };
    const retries = this.options.maxConflictRetries ?? 5;
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      this.inspect({ type: 'command', streamId: actor.streamId, command: { ...command, meta } });
      const decision = decide(kind, actor.snapshot, command, meta);
      if (!decision.accepted) return { status: 'rejected', reason: decision.reason, state: describeState(actor.snapshot) };

      const events = decision.events.map((event, index) => ({
        id: eventIdFor('command', commandId, String(index)),
        type: event.type,
        data: event.data,
        metadata: {
          correlationId: options.correlationId ?? commandId,
          causationId: options.causationId ?? commandId,
          actor: meta.actor,
          occurredAt: meta.issuedAt,
        },
      }));
      const firstRevision = actor.revision === null ? 0n : actor.revision + 1n;
      let stored: readonly StoredEvent[];
      try {
        ({ events: stored } = await this.options.store.append(actor.streamId, events, { expectedRevision: actor.revision ?? 'no_stream' }));
      } catch (error) {
        if (error instanceof EventIdConflictError) return this.alreadyApplied(actor, events.map((event) => event.id), error);
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        const decidedOn = actor.revision;
        await this.reload(actor);
        // The stream did not move, so the refusal is about the ids: this command id was
        // stored earlier, at a revision the retry no longer names.
        if (actor.revision === decidedOn) return this.alreadyApplied(actor, events.map((event) => event.id), error);
        this.logger.warn({ streamId: actor.streamId, attempt, expected: String(error.expected), actual: String(error.actual) }, 'actor was behind its stream; reloading');
        continue;
      }
      // The store hands back what it stored, exactly as a replay reads it: live state is
      // folded from the same events. Stored earlier means a retried command.
      if (stored[0]?.revision !== firstRevision) return this.alreadyApplied(actor, events.map((event) => event.id));
      this.foldNew(actor, stored);
      return { status: 'accepted', events: stored, revision: actor.revision!, state: describeState(actor.snapshot), duplicate: false };
    }
    throw new ActorConflictError(
      `${actor.streamId}: the stream kept moving while a '${command.type}' was decided; gave up after ${retries + 1} attempts`,
    );
  }

  /** The command's events were stored earlier (a retried command id): report them, store nothing. */
  private async alreadyApplied(actor: LiveActor, eventIds: readonly string[], refusal?: Error): Promise<SendResult> {
    await this.reload(actor);
    const wanted = new Set(eventIds);
    const stored = (await this.options.store.readStream(actor.streamId)).filter((event) => wanted.has(event.id));
    if (stored.length === 0) throw refusal ?? new Error(`${actor.streamId}: the store refused events it does not hold`);
    return { status: 'accepted', events: stored, revision: actor.revision ?? -1n, state: describeState(actor.snapshot), duplicate: true };
  }

  private foldNew(actor: LiveActor, events: readonly StoredEvent[]): void {
    for (const event of events) {
      const evolved = evolve(actor.kindDefinition, actor.snapshot, event);
      actor.snapshot = evolved.snapshot;
      actor.revision = event.revision;
      this.inspect({ type: 'event', streamId: actor.streamId, event, state: describeState(actor.snapshot), value: actor.snapshot.value, context: actor.snapshot.context });
      const cause: CausingEvent = { id: event.id, type: event.type, revision: event.revision, correlationId: event.metadata.correlationId };
      evolved.effects.forEach((effect, index) => this.runEffect(actor, effect, `${event.id}:${index}`, cause));
    }
    this.maybeSnapshot(actor);
  }

  // ---- effects --------------------------------------------------------------------------

  private runEffect(actor: LiveActor, effect: EffectRequest, key: string, cause: CausingEvent | undefined): void {
    if (this.options.readOnly) return;
    // Executors are registered as `<kind>.<effect>`: effect names are a machine's own, so
    // two kinds may use one name for different things.
    const name = `${actor.kind}.${effect.type}`;
    const executor = this.executors[name];
    if (!executor) {
      this.logger.error({ streamId: actor.streamId, effect: name, key }, 'no executor is registered for this effect; it did not run');
      return;
    }
    const context: EffectContext<TKinds> = {
      key,
      actor: { kind: actor.kind, id: actor.id, streamId: actor.streamId },
      cause,
      load: async (kind, id) => {
        const view = await this.load(kind, id);
        return { state: view.state, context: view.context };
      },
      send: (kind, id, command, options = {}) =>
        this.send(kind, id, command, {
          ...options,
          ...(cause ? { causationId: cause.id, correlationId: cause.correlationId } : {}),
        }),
    };
    this.inspect({ type: 'effect', streamId: actor.streamId, effect, key });
    // The params are what the machine's action produced for this effect: its declared type.
    const running = executor(effect.params as never, context)
      .catch((error: unknown) => {
        this.logger.error({ streamId: actor.streamId, effect: effect.type, key, err: error }, 'effect failed');
      })
      .finally(() => this.inFlightEffects.delete(running));
    this.inFlightEffects.add(running);
  }

  // ---- loading, snapshots, passivation ------------------------------------------------------

  /**
   * The live entry for an actor, loading it if needed. With `acquire`, the entry is marked
   * busy before this returns (no await in between), so it cannot be passivated under the caller.
   */
  private async liveActor(kind: AnyActorKind, id: string, options: { acquire?: boolean } = {}): Promise<LiveActor> {
    const streamId = streamIdOf(kind.kind, id);
    let actor = this.live.get(streamId);
    if (!actor) {
      const loaded = await this.loadFromStore(kind, id, streamId);
      // Two callers may load the same actor at once; the first to finish wins, so
      // commands queue on one mailbox.
      actor = this.live.get(streamId);
      if (!actor) {
        actor = loaded;
        this.live.set(streamId, actor);
        this.inspect({ type: 'actor', streamId, state: describeState(actor.snapshot), value: actor.snapshot.value, context: actor.snapshot.context });
        this.evictOverflow();
      }
    }
    actor.lastUsed = Date.now();
    if (options.acquire) actor.busy += 1;
    return actor;
  }

  /** Re-reads an actor from its snapshot and stream, in place, keeping its mailbox. */
  private async reload(actor: LiveActor): Promise<void> {
    const fresh = await this.loadFromStore(actor.kindDefinition, actor.id, actor.streamId);
    actor.snapshot = fresh.snapshot;
    actor.revision = fresh.revision;
    actor.snapshotRevision = fresh.snapshotRevision;
  }

  private async loadFromStore(kind: AnyActorKind, id: string, streamId: string): Promise<LiveActor> {
    const hash = machineHash(kind.machine);
    let snapshot = initialSnapshot(kind, id);
    let revision: bigint | null = null;
    const saved = await this.options.snapshots?.load(streamId, hash);
    if (saved) {
      const persisted = saved.state as { value: unknown; context: unknown };
      // A snapshot is JSON this machine (same hash) wrote; its types were erased with the kind.
      snapshot = kind.machine.resolveState({ value: persisted.value as never, context: persisted.context as never }) as ActorSnapshot;
      revision = saved.revision;
    }
    const tail = await this.options.store.readStream(streamId, { from: revision === null ? 'start' : revision + 1n });
    for (const event of tail) {
      snapshot = evolve(kind, snapshot, event).snapshot;
      revision = event.revision;
    }
    const actor: LiveActor = {
      kind: kind.kind,
      id,
      streamId,
      kindDefinition: kind,
      snapshot,
      revision,
      snapshotRevision: saved ? saved.revision : null,
      lastUsed: Date.now(),
      busy: 0,
      mailbox: Promise.resolve(),
    };
    this.maybeSnapshot(actor);
    return actor;
  }

  private maybeSnapshot(actor: LiveActor): void {
    const store = this.options.snapshots;
    if (!store || this.options.readOnly || actor.revision === null) return;
    const every = BigInt(this.options.snapshotEvery ?? 100);
    const since = actor.revision - (actor.snapshotRevision ?? -1n);
    if (since < every) return;
    const revision = actor.revision;
    actor.snapshotRevision = revision;
    const state = actor.kindDefinition.machine.getPersistedSnapshot(actor.snapshot);
    store.save(actor.streamId, machineHash(actor.kindDefinition.machine), { revision, state }).then(
      () => this.inspect({ type: 'snapshot', streamId: actor.streamId, revision }),
      (error: unknown) => this.logger.warn({ streamId: actor.streamId, err: error }, 'saving a snapshot failed; the actor will replay more next time'),
    );
  }

  private touch(streamId: string): void {
    const actor = this.live.get(streamId);
    if (!actor) return;
    this.live.delete(streamId);
    this.live.set(streamId, actor);
  }

  private evictOverflow(): void {
    const max = this.options.maxLiveActors ?? 20_000;
    if (this.live.size <= max) return;
    for (const [streamId, actor] of this.live) {
      if (this.live.size <= max) break;
      if (actor.busy === 0) this.passivate(streamId);
    }
  }

  private passivateIdle(idleAfterMs: number): void {
    const cutoff = Date.now() - idleAfterMs;
    for (const [streamId, actor] of this.live) {
      if (actor.lastUsed > cutoff) break; // ordered least recently used first
      if (actor.busy === 0) this.passivate(streamId);
    }
  }

  private passivate(streamId: string): void {
    this.live.delete(streamId);
    this.inspect({ type: 'passivated', streamId });
  }

  private idFromStream(kind: AnyActorKind, streamId: string): string | undefined {
    if (streamId === kind.kind) return '';
    return streamId.startsWith(`${kind.kind}-`) ? streamId.slice(kind.kind.length + 1) : undefined;
  }

  private view<TKind extends AnyActorKind>(actor: LiveActor): ActorView<TKind> {
    return {
      kind: actor.kind,
      id: actor.id,
      streamId: actor.streamId,
      // The kind named by the caller is the one the actor was loaded with, so its snapshot is that machine's.
      snapshot: actor.snapshot as SnapshotFrom<TKind['machine']>,
      context: actor.snapshot.context,
      revision: actor.revision,
      state: describeState(actor.snapshot),
    };
  }

  private inspect(event: InspectionEvent): void {
    if (this.inspections.observed) this.inspections.next(event);
  }
}
