/**
 * What every kind of actor declares, and the conventions its XState machine follows so
 * that the actor host can run it event-sourced. Read this before writing a machine.
 *
 * A machine receives two sorts of XState events:
 *
 * - **Stored events**, which change its state. Their type is the catalogue type
 *   (`task.paused`); they carry `data` (the catalogue's newest shape) and `meta`. Folding a
 *   stream through the machine's transitions gives the actor's state, so these
 *   transitions must be total and pure: no clock, no randomness, no I/O.
 * - **Commands**, which never change state. Their type is an imperative word (`pause`);
 *   they carry their own fields and `meta`. A command transition either *records* events
 *   with the named action `record` (params: `{ type, data }`, one action per event, in
 *   order) or *rejects* the command with the named action `reject` (params: `{ reason }`).
 *   A command that matches no transition is rejected with a reason naming the state.
 *
 * Any other named action returned while a stored event is folded is an **effect**
 * (`startContainer`, `postToSlack`): the host runs it, after the event is stored and
 * never during replay, through the executor registered as `<kind>.<action name>`, with a
 * key derived from the event so the executor can be idempotent. Declare an effect as a
 * no-op action with typed params (`notifyLimit: (_, _params: { id: string }) => {}`) and
 * list it in the kind's `effects`: its executor is then typed by those params, and the
 * host will not start without one. Effect params must be plain JSON. Context must be plain JSON too, because snapshots store it.
 *
 * A command that records a varying number of events uses xstate's `enqueueActions`; it is
 * typed only on a machine's own setup, so build it as
 * `const base = setup({...}); base.extend({ actions: { x: base.enqueueActions(...) } })`.
 */
import type { AnyStateMachine, ContextFrom, SnapshotFrom, StateMachine } from 'xstate';
import type { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';

/** A command as sent to the host: a type and its fields (validated by the kind's schema). */
export interface Command {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** What the host attaches to every command. */
export interface CommandMeta {
  readonly commandId: string;
  /** When the host received the command (ISO 8601): the machine's only clock. */
  readonly issuedAt: string;
  /** Who sent it: `user:U123`, `runtime`, `agent:run-42`. */
  readonly actor: string;
}

/** What the host attaches to every stored event it folds. */
export interface EventMeta {
  readonly eventId: string;
  readonly revision: number;
  readonly occurredAt: string;
  readonly actor: string;
  readonly correlationId: string;
}

/** A stored event as a machine receives it. */
export interface FoldedEvent<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
  readonly meta: EventMeta;
}

/** The params of the `record` action: one event to append. */
export interface RecordParams<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
}

/** The params of the `reject` action. */
export interface RejectParams {
  readonly reason: string;
}

/** An effect as the host receives it from a transition. */
export interface EffectRequest {
  readonly type: string;
  readonly params: unknown;
}

/**
 * One kind of actor, typed end to end (Emmett's `Decider<State, Command, Event>` as one
 * statechart): its name, its machine (whose context is the state), the commands it accepts
 * (`z.infer` of `commands`), and the effects its machine declares. The host, the effect
 * executors and every caller read these types off the kind, so sending a command another
 * kind would refuse, reading a context as the wrong shape, or registering an executor for
 * an effect no machine declares is a compile error.
 */
export interface ActorKind<
  TName extends string = string,
  TMachine extends AnyStateMachine = AnyStateMachine,
  TCommand extends { readonly type: string } = { readonly type: string },
  TEffect extends string = string,
> {
  /** The stream kind: actor `task` with id `42` lives on stream `task-42`. */
  readonly kind: TName;
  readonly machine: TMachine;
  /**
   * Validates a command at the boundary (without `meta`, which the host adds): a
   * discriminated union on `type`. An invalid command is refused before the machine sees it.
   */
  readonly commands: z.ZodType<TCommand>;
  /** Every event type this machine records or folds; all of them are in the catalogue. */
  readonly events: readonly EventDefinition[];
  /**
   * The machine's effect actions by name (the no-op actions with typed params in its
   * `setup({ actions })`). Their params types are read from the machine; the host refuses to
   * start without an executor for each (see runtime/actor-host/effects.ts).
   */
  readonly effects: readonly TEffect[];
  /** The machine's input for a new actor, from its id. */
  readonly input?: (id: string) => unknown;
  /**
   * Effects that must run again after a restart, read from the state alone (a run still
   * `starting` has not started its container). Called on start-up for every actor of the kind.
   */
  readonly pendingEffects?: (snapshot: SnapshotFrom<TMachine>) => readonly EffectRequest[];
}

/** A kind, with its types erased, as a registry of any kinds keeps it. */
export type AnyActorKind = ActorKind<string, AnyStateMachine, { readonly type: string }, string>;

/** The context (state) of a kind's actors. */
export type ContextOf<TKind extends AnyActorKind> = ContextFrom<TKind['machine']>;

/** The commands a kind accepts, as sent (without `meta`): `z.infer` of its `commands`. */
export type CommandOf<TKind extends AnyActorKind> = TKind extends ActorKind<string, AnyStateMachine, infer TCommand, string> ? TCommand : never;

/** The names of a kind's effects. */
export type EffectNameOf<TKind extends AnyActorKind> = TKind['effects'][number];

/**
 * The named actions a machine's `setup({ actions })` declares, as `{ type, params }`.
 * (`any` in the positions not read: inference over xstate's StateMachine needs all of them.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ActionsOf<TMachine> =
  TMachine extends StateMachine<any, any, any, any, infer TAction, any, any, any, any, any, any, any, any, any, any> ? TAction : never;

/** By effect name: the params the machine declares for it. */
export type EffectParamsOf<TKind extends AnyActorKind> = {
  readonly [TEffect in EffectNameOf<TKind>]: Extract<ActionsOf<TKind['machine']>, { type: TEffect }> extends { params: infer TParams }
    ? TParams
    : never;
};

/**
 * `defineActorKind({...})`: keeps every type of the kind (its name as a literal), and checks
 * that each declared effect is one of the machine's named actions.
 */
export function defineActorKind<
  const TName extends string,
  TMachine extends AnyStateMachine,
  TCommand extends { readonly type: string },
  const TEffect extends Exclude<Extract<ActionsOf<TMachine>, { type: string }>['type'], 'record' | 'reject'>,
>(kind: ActorKind<TName, TMachine, TCommand, TEffect>): ActorKind<TName, TMachine, TCommand, TEffect> {
  return kind;
}
