/**
 * Effect executors: the runtime's side of the named effect actions machines ask for.
 * The host calls an executor only after the event that asked for it is stored, never
 * during replay, and again after a restart for effects a kind declares pending. So an
 * executor runs at least once per asking event and must be idempotent: key its work on
 * the business identity in its params (a run id, a Slack event id) or on `context.key`.
 *
 * The executor map is typed from the kinds: its keys are `<kind>.<effect>` for the effects
 * each kind declares, and each executor's params are the ones the machine declares for
 * that effect. A module supplies some of them (`EffectExecutors`); where the runtime
 * assembles the full map, `completeEffectExecutors` makes a missing one a compile error,
 * and the host refuses at start a map that lacks one (`missingEffectExecutors`).
 */
import type { AnyActorKind, CommandOf, ContextOf, EffectNameOf, EffectParamsOf } from '../../actors/actor-kind.js';
import type { RuntimeActorKind } from '../../actors/index.js';
import type { SendResult } from './actor-host.js';

export interface ActorAddress {
  readonly kind: string;
  readonly id: string;
  readonly streamId: string;
}

/** How a caller names a kind: the kind object, or its registered name. */
export type KindAddress<TKinds extends AnyActorKind> = TKinds | TKinds['kind'];

/** The kind an address names. */
export type KindAt<TKinds extends AnyActorKind, TAddress> = TAddress extends AnyActorKind ? TAddress : Extract<TKinds, { kind: TAddress }>;

/** The stored event whose folding asked for the effect. */
export interface CausingEvent {
  readonly id: string;
  readonly type: string;
  readonly revision: bigint;
  readonly correlationId: string;
}

export interface SendOptions {
  /** Makes the command idempotent: the same id is applied once. A uuid by default. */
  readonly commandId?: string;
  /** Shared by everything one outside trigger led to; the command id by default. */
  readonly correlationId?: string;
  /** The event or command that caused this one; the command id by default. */
  readonly causationId?: string;
  /** Who sends it; the host's default actor otherwise. */
  readonly actor?: string;
}

/** An actor's state as an effect reads it. */
export interface LoadedActor<TKind extends AnyActorKind> {
  readonly state: string;
  readonly context: ContextOf<TKind>;
}

export interface EffectContext<TKinds extends AnyActorKind = RuntimeActorKind> {
  /** `<event id>:<index>` for effects of a stored event; `<stream>@<revision>:pending:<index>` when resumed. */
  readonly key: string;
  readonly actor: ActorAddress;
  /** Undefined when the effect was resumed from state after a restart. */
  readonly cause: CausingEvent | undefined;
  /** Reads any actor's current state, to tell work already done from work refused. */
  load<const TAddress extends KindAddress<TKinds>>(kind: TAddress, id: string): Promise<LoadedActor<KindAt<TKinds, TAddress>>>;
  /** Sends a command to any actor, caused by this effect's event and in its correlation. */
  send<const TAddress extends KindAddress<TKinds>>(
    kind: TAddress,
    id: string,
    command: CommandOf<KindAt<TKinds, TAddress>>,
    options?: Omit<SendOptions, 'causationId' | 'correlationId'>,
  ): Promise<SendResult>;
}

export type EffectExecutor<TParams = unknown, TKinds extends AnyActorKind = RuntimeActorKind> = (
  params: TParams,
  context: EffectContext<TKinds>,
) => Promise<void>;

/** `<kind>.<effect>` for every effect the kinds declare. */
export type EffectKey<TKinds extends AnyActorKind> = TKinds extends AnyActorKind ? `${TKinds['kind']}.${EffectNameOf<TKinds>}` : never;

/** The params the machine declares for the effect a key names. */
export type EffectParamsAt<TKinds extends AnyActorKind, TKey extends string> = TKinds extends AnyActorKind
  ? TKey extends `${TKinds['kind']}.${infer TEffect}`
    ? TEffect extends EffectNameOf<TKinds>
      ? EffectParamsOf<TKinds>[TEffect]
      : never
    : never
  : never;

/** The params of one of the runtime's effects, by key: `EffectParams<'run.startContainer'>`. */
export type EffectParams<TKey extends EffectKey<RuntimeActorKind>> = EffectParamsAt<RuntimeActorKind, TKey>;

/** An executor for every effect the kinds declare: what the runtime must be started with. */
export type CompleteEffectExecutors<TKinds extends AnyActorKind = RuntimeActorKind> = {
  readonly [TKey in EffectKey<TKinds>]: EffectExecutor<EffectParamsAt<TKinds, TKey>, TKinds>;
};

/** Some of the executors, as one module supplies them; a misnamed key or mistyped params does not compile. */
export type EffectExecutors<TKinds extends AnyActorKind = RuntimeActorKind> = Partial<CompleteEffectExecutors<TKinds>>;

/**
 * The executors one module supplies, by name: what it returns says exactly which effects it
 * covers, so the maps spread together where the runtime is assembled are checked complete.
 */
export type EffectExecutorsFor<TKey extends EffectKey<RuntimeActorKind>> = Pick<CompleteEffectExecutors, TKey>;

/**
 * Where the full map is assembled: fails to compile unless every declared effect has an
 * executor, e.g. `completeEffectExecutors({ ...actorWiring, ...runExecutor.effects, ... })`.
 */
export function completeEffectExecutors<TKinds extends AnyActorKind = RuntimeActorKind>(
  executors: CompleteEffectExecutors<TKinds>,
): CompleteEffectExecutors<TKinds> {
  return executors;
}

/** The `<kind>.<effect>` names the kinds declare that have no executor in the map. */
export function missingEffectExecutors(kinds: readonly AnyActorKind[], executors: Readonly<Record<string, unknown>> | undefined): string[] {
  return kinds.flatMap((kind) => kind.effects.map((effect) => `${kind.kind}.${effect}`)).filter((name) => typeof executors?.[name] !== 'function');
}

export class MissingEffectExecutorError extends Error {
  override readonly name = 'MissingEffectExecutorError';
  constructor(readonly missing: readonly string[]) {
    super(`no executor is registered for ${missing.length === 1 ? 'the effect' : 'the effects'} ${missing.join(', ')}; every effect a machine declares must have one`);
  }
}
