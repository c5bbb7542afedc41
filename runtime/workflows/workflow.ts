/**
 * A workflow is one hop between actors, as data: from what the stored event asked for (the
 * effect's params) and the state of the actors it reads, the commands it sends. It is pure,
 * so it is tested without a host (test/unit/workflows/); `run-workflow.ts` executes it.
 */
import type { CommandOf } from '../../actors/actor-kind.js';
import type { RuntimeActorKind } from '../../actors/index.js';
import type { EffectKey, EffectParams, LoadedActor } from '../actor-host/effects.js';

/** The name a kind is registered under: `run`, `group`, ... */
export type KindName = RuntimeActorKind['kind'];

/** The kind registered under a name. */
export type KindNamed<TName extends KindName> = Extract<RuntimeActorKind, { kind: TName }>;

/** One command a workflow sends: the target actor and the command, typed by the target's kind. */
export type WorkflowCommand = {
  readonly [TName in KindName]: { readonly kind: TName; readonly id: string; readonly command: CommandOf<KindNamed<TName>> };
}[KindName];

/** A command the target refused, with the target's state read after the refusal. */
export type RefusedCommand = {
  readonly [TName in KindName]: { readonly kind: TName; readonly id: string; readonly command: CommandOf<KindNamed<TName>>; readonly target: LoadedActor<KindNamed<TName>> };
}[KindName];

/** By the name a workflow gives it, the kind of each actor it reads (optional: read for some params only). */
export type ReadKinds = Readonly<Record<string, KindName | undefined>>;

/** Where each read actor is: its kind and id. */
export type ReadAddresses<TReads extends ReadKinds> = {
  readonly [TRead in keyof TReads]: { readonly kind: NonNullable<TReads[TRead]>; readonly id: string };
};

/** The state of each read actor, by name. */
export type ReadStates<TReads extends ReadKinds> = { readonly [TRead in keyof TReads]: LoadedActor<KindNamed<NonNullable<TReads[TRead]>>> };

export interface Workflow<TEffect extends EffectKey<RuntimeActorKind>, TReads extends ReadKinds = Record<never, KindName>> {
  /** The effect that starts it, `<kind>.<effect>`: the causing event asked for it. */
  readonly effect: TEffect;
  /** The actors it decides on, read fresh before each decision. */
  readonly reads?: (params: EffectParams<TEffect>) => ReadAddresses<TReads>;
  /** The commands to send, in order. Throws when the params cannot be honoured at all. */
  readonly decide: (params: EffectParams<TEffect>, state: ReadStates<TReads>) => readonly WorkflowCommand[];
  /**
   * A refused command whose target shows that the step already happened (a repeated or
   * resumed effect) counts as done; any other refusal is an error.
   */
  readonly alreadyDone: (refused: RefusedCommand, params: EffectParams<TEffect>) => boolean;
}

/** The workflow cannot honour what the event asked for (a refused command, an unknown value). */
export class WorkflowRefusedError extends Error {
  override readonly name = 'WorkflowRefusedError';
}

/** A state machine state `finished.completed`, `finished.failed`, ... */
export function isFinished(state: string): boolean {
  return state.startsWith('finished');
}
