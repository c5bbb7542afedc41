/**
 * Given-state / when-effect / then-commands specs for workflows (runtime/workflows/), on the
 * pure functions (no store, no host). The state of each actor a workflow reads is folded from
 * events with actor-spec.ts, and every command a workflow sends is checked against its target
 * kind's command schema, so a spec cannot pass on a command the target would not parse.
 *
 *   workflowSpec(grantSlot).given({ run: spec(runKind, 'r-7').given(queued) }).when({ runId: 'r-7', groupId: 'G' })
 *     .thenSends([{ kind: 'run', id: 'r-7', command: { type: 'grantSlot' } }]);
 *   workflowSpec(grantSlot).refused({ kind: 'run', id: 'r-7', command: { type: 'grantSlot' } }, spec(runKind, 'r-7').given(queued, granted))
 *     .when(params).isAlreadyDone();
 */
import { expect } from 'vitest';
import { actorKinds, type RuntimeActorKind } from '../../actors/index.js';
import type { EffectKey, EffectParams, LoadedActor } from '../../runtime/actor-host/effects.js';
import type { ReadKinds, ReadStates, RefusedCommand, Workflow, WorkflowCommand } from '../../runtime/workflows/workflow.js';
import type { ActorSpec } from './actor-spec.js';

type Effect = EffectKey<RuntimeActorKind>;

/** An actor's state as a workflow reads it, from a spec's folded events. */
function loaded(actor: ActorSpec): LoadedActor<RuntimeActorKind> {
  // The spec folded the kind's own events, so its context is that kind's context.
  return { state: actor.state, context: actor.context as LoadedActor<RuntimeActorKind>['context'] };
}

function checkParsable(commands: readonly WorkflowCommand[]): void {
  for (const sent of commands) {
    const kind = actorKinds.find((candidate) => candidate.kind === sent.kind);
    if (!kind) throw new Error(`a workflow sent a command to an unknown kind '${sent.kind}'`);
    const parsed = kind.commands.safeParse(sent.command);
    if (!parsed.success) throw new Error(`a workflow sent a '${sent.command.type}' that ${sent.kind} cannot parse: ${parsed.error.message}`);
  }
}

export class WorkflowSpec<TEffect extends Effect, TReads extends ReadKinds> {
  constructor(
    private readonly workflow: Workflow<TEffect, TReads>,
    private readonly state: Readonly<Record<string, ActorSpec>> = {},
  ) {}

  /** The actors the workflow reads, by the names it gives them, as folded specs. */
  given(state: { readonly [TRead in keyof TReads]?: ActorSpec }): WorkflowSpec<TEffect, TReads> {
    return new WorkflowSpec(this.workflow, { ...this.state, ...(state as Record<string, ActorSpec>) });
  }

  when(params: EffectParams<TEffect>): WorkflowOutcome {
    const addresses: Readonly<Record<string, { kind: string; id: string } | undefined>> = this.workflow.reads?.(params) ?? {};
    const read: Record<string, LoadedActor<RuntimeActorKind>> = {};
    for (const [name, address] of Object.entries(addresses)) {
      if (address === undefined) continue;
      const actor = this.state[name];
      if (!actor) throw new Error(`the workflow reads '${name}' (${address.kind} ${address.id}), but the spec gives no state for it`);
      read[name] = loaded(actor);
    }
    return new WorkflowOutcome(() => this.workflow.decide(params, read as ReadStates<TReads>), addresses);
  }

  /** A command of this workflow was refused, and its target is now in this state. */
  refused(command: WorkflowCommand, target: ActorSpec): RefusalOutcome<TEffect> {
    return new RefusalOutcome((params) => this.workflow.alreadyDone({ ...command, target: loaded(target) } as RefusedCommand, params));
  }
}

export class WorkflowOutcome {
  constructor(
    private readonly decide: () => readonly WorkflowCommand[],
    /** Where the workflow read, by name. */
    readonly reads: Readonly<Record<string, { kind: string; id: string } | undefined>>,
  ) {}

  thenSends(expected: readonly WorkflowCommand[]): void {
    const commands = this.decide();
    checkParsable(commands);
    expect(commands).toEqual(expected);
  }

  thenThrows(reason: RegExp | string): void {
    expect(() => this.decide()).toThrow(reason);
  }
}

export class RefusalOutcome<TEffect extends Effect> {
  constructor(private readonly alreadyDone: (params: EffectParams<TEffect>) => boolean) {}

  when(params: EffectParams<TEffect>): { isAlreadyDone(): void; isRefused(): void } {
    const done = this.alreadyDone(params);
    return {
      isAlreadyDone: () => expect(done, 'the refusal should count as done').toBe(true),
      isRefused: () => expect(done, 'the refusal should count as refused').toBe(false),
    };
  }
}

export const workflowSpec = <TEffect extends Effect, TReads extends ReadKinds>(workflow: Workflow<TEffect, TReads>): WorkflowSpec<TEffect, TReads> =>
  new WorkflowSpec(workflow);
