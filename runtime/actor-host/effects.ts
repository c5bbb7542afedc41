/**
 * Effect executors: the runtime's side of the named effect actions machines ask for.
 * The host calls an executor only after the event that asked for it is stored, never
 * during replay, and again after a restart for effects a kind declares pending. So an
 * executor runs at least once per asking event and must be idempotent: key its work on
 * the business identity in its params (a run id, a Slack event id) or on `context.key`.
 */
import type { Command } from '../../actors/actor-kind.js';

export interface ActorAddress {
  readonly kind: string;
  readonly id: string;
  readonly streamId: string;
}

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

export interface EffectContext {
  /** `<event id>:<index>` for effects of a stored event; `<stream>@<revision>:pending:<index>` when resumed. */
  readonly key: string;
  readonly actor: ActorAddress;
  /** Undefined when the effect was resumed from state after a restart. */
  readonly cause: CausingEvent | undefined;
  /** Reads any actor's current state, to tell work already done from work refused. */
  load(kind: string, id: string): Promise<{ readonly state: string; readonly context: unknown }>;
  /** Sends a command to any actor, caused by this effect's event and in its correlation. */
  send(kind: string, id: string, command: Command, options?: Omit<SendOptions, 'causationId' | 'correlationId'>): Promise<unknown>;
}

export type EffectExecutor = (params: unknown, context: EffectContext) => Promise<void>;

/** Keyed `<kind>.<effect>`, for example `run.startContainer`. */
export type EffectExecutors = Readonly<Record<string, EffectExecutor>>;
