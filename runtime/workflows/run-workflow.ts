/**
 * The runner: executes a workflow as the effect executor of its causing effect.
 *
 * It reads what the workflow reads, asks it for its commands and sends them in order. Each
 * command is keyed (its command id) by the causing event, the effect, its target and its
 * type, so a repeated or resumed effect stores nothing twice: the host answers a command id
 * it has stored with the events it stored then. A refused command is checked against its
 * target's state: if the step already happened it counts as done. Otherwise the state moved
 * under the decision (a run ended between being read and being granted its slot), so the
 * workflow decides once more on fresh state; a command refused again is an error.
 */
import type { RuntimeActorKind } from '../../actors/index.js';
import { eventIdFor } from '../../events/ids.js';
import type { EffectContext, EffectExecutor, EffectKey, EffectParams } from '../actor-host/effects.js';
import { WorkflowRefusedError, type ReadKinds, type ReadStates, type RefusedCommand, type Workflow, type WorkflowCommand } from './workflow.js';

/** How many times a workflow decides before a refusal counts: once, and once more on fresh state. */
const DECISIONS = 2;

/**
 * The command id of a command a workflow sends for one effect. `context.cause` is the stored
 * event that asked for it; an effect resumed after a restart has none, and its key names the
 * stream revision that left it pending instead. Keyed by what the command is rather than its
 * place in the list, so a second decision that sends something else cannot reuse an id. The
 * parts are hashed: a resumed command's id is also its correlation id, which the envelope
 * caps at 200 characters, and a run id alone may take 200.
 */
export function workflowCommandId(effect: string, context: Pick<EffectContext, 'cause' | 'key'>, sent: WorkflowCommand): string {
  return `workflow:${effect}:${eventIdFor(context.cause?.id ?? context.key, sent.kind, sent.id, sent.command.type)}`;
}

async function readState<TEffect extends EffectKey<RuntimeActorKind>, TReads extends ReadKinds>(
  workflow: Workflow<TEffect, TReads>,
  params: EffectParams<TEffect>,
  context: EffectContext,
): Promise<ReadStates<TReads>> {
  const addresses = workflow.reads?.(params);
  if (!addresses) return {} as ReadStates<TReads>;
  const entries = await Promise.all(
    Object.entries(addresses)
      .filter(([, address]) => address !== undefined)
      .map(async ([name, address]) => [name, await context.load(address.kind, address.id)] as const),
  );
  // Each entry was loaded from the kind its address names, which is the kind TReads gives that name.
  return Object.fromEntries(entries) as ReadStates<TReads>;
}

/** Sends the commands in order; the first refusal that is not already done, or none. */
async function sendAll(
  effect: string,
  alreadyDone: (refused: RefusedCommand) => boolean,
  commands: readonly WorkflowCommand[],
  context: EffectContext,
): Promise<WorkflowRefusedError | undefined> {
  for (const sent of commands) {
    const result = await context.send(sent.kind, sent.id, sent.command, { commandId: workflowCommandId(effect, context, sent) });
    if (result.status === 'accepted') continue;
    const target = await context.load(sent.kind, sent.id);
    // The target was loaded from the kind the command names.
    if (alreadyDone({ ...sent, target } as RefusedCommand)) continue;
    return new WorkflowRefusedError(`${effect}: '${sent.command.type}' to ${sent.kind} ${sent.id} was refused: ${result.reason}`);
  }
  return undefined;
}

/** The effect executor that runs a workflow. */
export function runWorkflow<TEffect extends EffectKey<RuntimeActorKind>, TReads extends ReadKinds>(
  workflow: Workflow<TEffect, TReads>,
): EffectExecutor<EffectParams<TEffect>> {
  return async (params, context) => {
    let refusal: WorkflowRefusedError | undefined;
    for (let decision = 0; decision < DECISIONS; decision += 1) {
      const state = await readState(workflow, params, context);
      refusal = await sendAll(workflow.effect, (refused) => workflow.alreadyDone(refused, params), workflow.decide(params, state), context);
      if (!refusal) return;
    }
    throw refusal;
  };
}
