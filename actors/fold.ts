/**
 * The pure core of an event-sourced actor: start, fold one stored event, decide one
 * command. No I/O and no effects run here; effects come back as data for the host.
 */
import { initialTransition, transition, type AnyMachineSnapshot } from 'xstate';
import type { StoredEvent } from '../events/envelope.js';
import type { AnyActorKind, CommandMeta, EffectRequest, FoldedEvent, RecordParams, RejectParams } from './actor-kind.js';

export type ActorSnapshot = AnyMachineSnapshot;

/**
 * An action as `transition` returns it. For a machine typed as AnyStateMachine, xstate's
 * types narrow actions to its built-ins; the named actions this module reads are ours.
 */
interface ReturnedAction {
  readonly type: string;
  readonly params?: unknown;
}

function namedActions(actions: readonly unknown[]): readonly ReturnedAction[] {
  return actions as readonly ReturnedAction[];
}

// The kinds are erased to AnyStateMachine here, whose event type xstate narrows to never;
// the events passed below are the ones actor-kind.ts defines, validated at the boundary.

export interface Evolved {
  readonly snapshot: ActorSnapshot;
  /** Effects the transition asked for; the host runs them only for newly stored events. */
  readonly effects: readonly EffectRequest[];
}

export type Decision =
  | { readonly accepted: true; readonly events: readonly RecordParams[] }
  | { readonly accepted: false; readonly reason: string };

/** A machine broke a convention of actors/actor-kind.ts: a bug in the machine, not bad input. */
export class MachineContractError extends Error {
  override readonly name = 'MachineContractError';
}

export function initialSnapshot(kind: AnyActorKind, id: string): ActorSnapshot {
  const [snapshot] = initialTransition(kind.machine, kind.input?.(id));
  return snapshot as ActorSnapshot;
}

export function toFoldedEvent(event: StoredEvent): FoldedEvent {
  return {
    type: event.type,
    data: event.data,
    meta: {
      eventId: event.id,
      revision: Number(event.revision),
      occurredAt: event.metadata.occurredAt,
      actor: event.metadata.actor,
      correlationId: event.metadata.correlationId,
    },
  };
}

export function evolve(kind: AnyActorKind, snapshot: ActorSnapshot, event: StoredEvent): Evolved {
  const [next, actions] = transition(kind.machine, snapshot, toFoldedEvent(event) as never);
  const effects: EffectRequest[] = [];
  for (const action of namedActions(actions)) {
    if (action.type === 'record' || action.type === 'reject') {
      throw new MachineContractError(
        `${kind.kind}: folding ${event.type} produced a '${action.type}' action; only commands record or reject`,
      );
    }
    effects.push({ type: action.type, params: action.params ?? {} });
  }
  return { snapshot: next as ActorSnapshot, effects };
}

/** Folds events without running anything: replay. */
export function foldAll(kind: AnyActorKind, snapshot: ActorSnapshot, events: readonly StoredEvent[]): ActorSnapshot {
  let state = snapshot;
  for (const event of events) state = evolve(kind, state, event).snapshot;
  return state;
}

export function describeState(snapshot: ActorSnapshot): string {
  const value: unknown = snapshot.value;
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (typeof node === 'string') parts.push([...path, node].join('.'));
    else if (node && typeof node === 'object') for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
  };
  walk(value, []);
  return parts.join(', ');
}

export function decide(
  kind: AnyActorKind,
  snapshot: ActorSnapshot,
  command: { readonly type: string },
  meta: CommandMeta,
): Decision {
  const [next, actions] = transition(kind.machine, snapshot, { ...command, meta } as never);
  if (next.context !== snapshot.context || JSON.stringify(next.value) !== JSON.stringify(snapshot.value)) {
    throw new MachineContractError(`${kind.kind}: command '${command.type}' changed the state; only stored events may`);
  }
  const events: RecordParams[] = [];
  for (const action of namedActions(actions)) {
    if (action.type === 'reject') return { accepted: false, reason: (action.params as RejectParams).reason };
    if (action.type !== 'record') {
      throw new MachineContractError(`${kind.kind}: command '${command.type}' produced '${action.type}'; commands only record or reject`);
    }
    events.push(action.params as RecordParams);
  }
  if (events.length === 0) {
    return { accepted: false, reason: `${command.type} is not accepted while the ${kind.kind} is ${describeState(snapshot)}` };
  }
  return { accepted: true, events };
}
