/**
 * Commands a host tool sends to an actor on the agent's behalf. They are signed as the
 * run (`agent:run-<id>`), keyed by the call, and carry the run's correlation id, so a
 * trace of the message that started the run also finds the facts it wrote and the tasks
 * it scheduled.
 *
 * A retried call is applied once and answered as `duplicate`, like any retried command.
 * The host recognises a retry only when the machine accepts it again; a retry the machine
 * now refuses because the first attempt changed its state (a fact id taken, a task
 * already paused) is recognised here, by the events the first attempt stored.
 */
import type { CommandOf } from '../../../actors/actor-kind.js';
import type { RuntimeActorKind } from '../../../actors/index.js';
import type { SendResult } from '../../actor-host/actor-host.js';
import type { KindAddress, KindAt } from '../../actor-host/effects.js';
import type { HostToolCall } from './host-tool.js';

/** Who a command from this run's agent comes from. */
export function agentActor(runId: string): string {
  return `agent:run-${runId}`;
}

/** The stream event a tool call is recorded as, for a fact's source: `run-<id>#<call>`. */
export function toolCallRef(call: HostToolCall): string {
  return `run-${call.context.runId}#${call.callKey}`;
}

export async function sendAsAgent<const TAddress extends KindAddress<RuntimeActorKind>>(
  call: HostToolCall,
  kind: TAddress,
  id: string,
  command: CommandOf<KindAt<RuntimeActorKind, TAddress>>,
): Promise<SendResult> {
  const { runId } = call.context;
  const commandId = `tool:${runId}:${call.callKey}:${command.type}`;
  const correlationId = await runCorrelationId(call);
  const result = await call.services.actors.send(kind, id, command, {
    actor: agentActor(runId),
    commandId,
    ...(correlationId ? { correlationId } : {}),
  });
  if (result.status === 'accepted') return result;
  return (await appliedEarlier(call, kind, id, commandId)) ?? result;
}

/**
 * What this command stored when it was applied before, if it was: the host names the
 * command as the cause of every event it stores for it. Read only after a refusal, which
 * is rare, so reading the stream whole costs little.
 */
async function appliedEarlier(call: HostToolCall, kind: KindAddress<RuntimeActorKind>, id: string, commandId: string): Promise<SendResult | undefined> {
  const view = await call.services.actors.load(kind, id);
  const events = (await call.services.store.readStream(view.streamId)).filter((event) => event.metadata.causationId === commandId);
  if (events.length === 0) return undefined;
  return { status: 'accepted', events, revision: view.revision ?? -1n, state: view.state, duplicate: true };
}

/** The correlation id of the run's stream (that of what started the run), if the run has events. */
async function runCorrelationId(call: HostToolCall): Promise<string | undefined> {
  const [first] = await call.services.store.readStream(`run-${call.context.runId}`, { maxCount: 1 });
  return first?.metadata.correlationId;
}
