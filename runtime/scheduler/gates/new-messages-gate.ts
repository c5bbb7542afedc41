/**
 * The `new_messages` gate: wake only if group `gate.groupId` received a message after the
 * task last decided (its last due time, fired or skipped, or when it was scheduled). One
 * indexed read of the group-activity read model per task; the reader batches them.
 *
 * A message that arrived between a due time and the moment its gate was evaluated is seen
 * by that evaluation and, being after that due time, again by the next: the second wake is
 * the price of never missing one.
 */
import { verdict, type GateAdapter, type GateVerdict } from './gate.js';

/** The decision alone: `lastMessageAt` from the read model, `since` the task's last decision. */
export function newMessagesVerdict(groupId: string, lastMessageAt: string | null, since: string | null): GateVerdict {
  if (lastMessageAt === null) return verdict(false, `group ${groupId} has received no message yet`);
  if (since === null) return verdict(true, `group ${groupId} received a message at ${lastMessageAt}`);
  // Instants, not strings: the two may be written with different precision.
  if (Date.parse(lastMessageAt) > Date.parse(since)) {
    return verdict(true, `group ${groupId} received a message at ${lastMessageAt}, after ${since}`);
  }
  return verdict(false, `no message in group ${groupId} since ${since} (the last at ${lastMessageAt})`);
}

export const evaluateNewMessagesGate: GateAdapter<'new_messages'> = async (gate, task, deps) =>
  newMessagesVerdict(gate.groupId, await deps.groupActivity.lastMessageAt(gate.groupId), task.lastDecidedAt);
