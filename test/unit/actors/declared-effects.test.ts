/**
 * A kind's `effects` list is what the host checks executors against, so it must name every
 * effect its machine can ask for: a no-op action with typed params in `setup({ actions })`
 * that is neither `record`, `reject` nor one of xstate's own (assign, enqueueActions).
 *
 * The type-level half (a misnamed or mistyped executor, a missing one, a command the target
 * kind does not accept) is checked by `npm run build`: the `@ts-expect-error` lines below
 * fail the build when they stop being errors.
 */
import { describe, expect, it } from 'vitest';
import type { AnyActorKind } from '../../../actors/actor-kind.js';
import { actorKinds } from '../../../actors/index.js';
import type { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { completeEffectExecutors, type EffectExecutors } from '../../../runtime/actor-host/effects.js';
import { counterKind } from '../../support/counter-kind.js';

/** The named actions of a machine that are plain functions: its effects (and record/reject). */
function effectActionsOf(kind: AnyActorKind): string[] {
  const actions: Record<string, unknown> = kind.machine.implementations.actions;
  return Object.entries(actions)
    .filter(([name, action]) => typeof action === 'function' && !('type' in action && action.type !== undefined) && name !== 'record' && name !== 'reject')
    .map(([name]) => name);
}

describe('declared effects', () => {
  it.each([...actorKinds, counterKind].map((kind) => [kind.kind, kind] as const))(
    'the %s kind declares exactly the effect actions its machine has',
    (_name, kind) => {
      expect([...kind.effects].sort()).toEqual(effectActionsOf(kind).sort());
    },
  );
});

// ---- checked by tsc only: never called ----------------------------------------------------

export function typeChecks(host: ActorHost): void {
  const partial: EffectExecutors = {
    'run.startContainer': async ({ runId }) => void runId,
    // @ts-expect-error an executor for an effect no kind declares
    'run.startContainers': async () => {},
  };
  const mistyped: EffectExecutors = {
    // @ts-expect-error approval.notifyApprovers params have no runId
    'approval.notifyApprovers': async ({ runId }: { runId: string }) => void runId,
  };
  // @ts-expect-error the assembled map must have an executor for every declared effect
  completeEffectExecutors({ ...partial });
  // @ts-expect-error a group does not accept a run's command
  void host.send('group', 'g', { type: 'grantSlot' });
  // @ts-expect-error no kind is named 'gruop'
  void host.send('gruop', 'g', { type: 'configure' });
  void host.load('supervisor', '').then((view) => {
    // the view is typed as the supervisor's: its context has a queue
    const queued: number = view.context.queue.length;
    return queued;
  });
  void mistyped;
}
