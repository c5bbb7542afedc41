/**
 * Commands a host tool sends to an actor on the agent's behalf. They are signed as the
 * run (`agent:run-<id>`), keyed by the call (so a retried tool call is applied once, and
 * the host answers `duplicate`), and carry the run's correlation id, so a trace of the
 * message that started the run also finds the facts it wrote and the tasks it scheduled.
 */
import type { Command } from '../../../actors/actor-kind.js';
import type { SendResult } from '../../actor-host/actor-host.js';
import type { HostToolCall } from './host-tool.js';

/** Who a command from this run's agent comes from. */
export function agentActor(runId: string): string {
  return `agent:run-${runId}`;
}

/** The stream event a tool call is recorded as, for a fact's source: `run-<id>#<call>`. */
export function toolCallRef(call: HostToolCall): string {
  return `run-${call.context.runId}#${call.callKey}`;
}

export async function sendAsAgent(call: HostToolCall, kind: string, id: string, command: Command): Promise<SendResult> {
  const { runId } = call.context;
  const correlationId = await runCorrelationId(call);
  return call.services.actors.send(kind, id, command, {
    actor: agentActor(runId),
    commandId: `tool:${runId}:${call.callKey}:${command.type}`,
    ...(correlationId ? { correlationId } : {}),
  });
}

/** The correlation id of the run's stream (that of what started the run), if the run has events. */
async function runCorrelationId(call: HostToolCall): Promise<string | undefined> {
  const [first] = await call.services.store.readStream(`run-${call.context.runId}`, { maxCount: 1 });
  return first?.metadata.correlationId;
}
