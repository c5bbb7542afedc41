/**
 * memory_write: the agent records a fact in the group's memory, or in the private memory
 * of the user the turn answers. The memory actor decides: a first fact on a key is
 * recorded; a user's word replaces agents' facts on the key; any other disagreement is
 * recorded and flagged as a conflict, which the result says plainly.
 *
 * The fact id is derived from the run and the call, and the command is keyed by the call,
 * so a retried call records one fact. Its source points at the call (`run-<id>#<call>`),
 * where the run's `run.tool_called` event records it.
 *
 * An agent can flag a conflict, never settle one: this tool only ever sends `recordFact`,
 * its input is strict (no command type, fact id or ids to keep or retire), and a
 * `user-stated` fact on a key in conflict is refused, because the memory actor would take
 * it as the user's word over the agents' facts and close the conflict. People settle it
 * (the notice's buttons, `ledgerclaw memory resolve`); the agent records what it saw as
 * agent-observed, which joins the conflict for them to decide.
 */
import { z } from 'zod';
import type { MemoryFact } from '../../../actors/memory.js';
import { factKeySchema, factStatementSchema } from '../../../events/catalogue/memory.js';
import { eventIdFor } from '../../../events/ids.js';
import { sendAsAgent, toolCallRef } from './agent-commands.js';
import { answered, defineHostTool, refused, type HostToolCall } from './host-tool.js';

const memoryWriteInput = z.strictObject({
  key: factKeySchema.describe("What the fact is about, as a dotted lower-case path: 'vendor.acme.payment_terms'. Reuse an existing key to update a fact."),
  statement: factStatementSchema.describe('The fact, as one self-contained sentence.'),
  confidence: z
    .enum(['agent-observed', 'agent-inferred', 'user-stated'])
    .default('agent-observed')
    .describe("agent-observed (default): you saw it in a source; agent-inferred: you concluded it; user-stated: the person said it in so many words."),
  scope: z.enum(['group', 'user']).default('group').describe("group (default): this conversation's memory; user: the private memory of the person you are answering."),
});

export const memoryWriteTool = defineHostTool({
  name: 'memory_write',
  tier: 'write',
  description: (context) =>
    'Remember a fact for later turns, under a key. A different statement on a key that already has a fact is flagged as a conflict (both stay until a person decides), ' +
    "except that the person's own word (confidence user-stated) replaces what agents recorded. " +
    (context.userId ? "Use scope 'user' for what concerns only the person you are answering." : "This turn answers no one in particular: only scope 'group' is available."),
  inputSchema: memoryWriteInput,
  async run(input, call) {
    const { context } = call;
    if (input.scope === 'user' && context.userId === null) {
      return refused("memory_write: scope: this turn answers no particular person (a scheduled task's run, say), so there is no user memory; write to scope 'group'");
    }
    const scope = input.scope === 'user' ? `user.${context.userId}` : `group.${context.groupId}`;
    if (input.confidence === 'user-stated') {
      const conflict = await openConflictOn(call, scope, input.key);
      if (conflict !== null) {
        return refused(
          `memory_write: not recorded: ${input.key} has an open conflict between facts ${conflict.join(', ')}, and only a person settles it ` +
            '(the buttons on its notice, or an operator). Ask them to choose there; to add what you were told, write it as agent-observed and it joins the conflict.',
        );
      }
    }
    const factId = memoryFactIdFor(context.runId, call.callKey);
    const result = await sendAsAgent(call, 'memory', scope, {
      type: 'recordFact',
      fact: { id: factId, key: input.key, statement: input.statement, confidence: input.confidence, source: { kind: 'event', ref: toolCallRef(call) } },
    });
    if (result.status === 'rejected') return refused(`memory_write: not recorded: ${result.reason}`);
    const where = input.scope === 'user' ? "the user's memory" : "the group's memory";
    if (result.duplicate) return answered(`already recorded by this call: fact ${factId} on ${input.key} in ${where}`);
    const recorded = `recorded fact ${factId} on ${input.key} in ${where}`;
    const flagged = result.events.find((event) => event.type === 'memory.conflict_flagged');
    const superseded = result.events.find((event) => event.type === 'memory.fact_superseded');
    if (flagged) {
      const others = await otherFactsOn(call, scope, input.key, factId);
      return answered(
        `${recorded}, and flagged a CONFLICT: it disagrees with ${others.map(describeFact).join('; ')}. ` +
          'All stay active until a person says which holds: ask them, and do not rely on either until then.',
      );
    }
    if (superseded) return answered(`${recorded}; as the person's word it replaces the agents' earlier facts on this key`);
    return answered(recorded);
  },
});

/** A pure function of the run and the call: the same call always names the same fact. */
export function memoryFactIdFor(runId: string, callKey: string): string {
  return eventIdFor('memory_write', runId, callKey);
}

/** The facts of the open conflict on `key` in `scope`, or null. */
async function openConflictOn(call: HostToolCall, scope: string, key: string): Promise<readonly string[] | null> {
  const memory = (await call.services.actors.load('memory', scope)).context;
  return memory.conflicts.find((conflict) => conflict.key === key)?.factIds ?? null;
}

async function otherFactsOn(call: HostToolCall, scope: string, key: string, factId: string): Promise<MemoryFact[]> {
  const memory = (await call.services.actors.load('memory', scope)).context;
  return memory.facts.filter((fact) => fact.key === key && fact.status === 'active' && fact.id !== factId);
}

function describeFact(fact: MemoryFact): string {
  return `fact ${fact.id} (${fact.confidence}): ${JSON.stringify(fact.statement)}`;
}
