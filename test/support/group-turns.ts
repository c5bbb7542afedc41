/**
 * Driving a group's turns through an actor host, for tests of runs: say something that asks
 * for a turn, then wait for the run it asked for to end.
 */
import type { ActorHost } from '../../runtime/actor-host/actor-host.js';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventStore } from '../../events/port.js';

export const RUN_ENDINGS = ['run.completed', 'run.failed', 'run.timed_out', 'run.interrupted'];

let messageNumber = 0;

/** A message from `sender` that mentions the bot in `groupId`; the id of the run it asked for. */
export async function sayToGroup(host: Pick<ActorHost, 'send'>, groupId: string, sender: string, text: string): Promise<string> {
  messageNumber += 1;
  const result = await host.send('group', groupId, { type: 'receiveMessage', messageId: `${1_800_000_000 + messageNumber}.000100`, sender, text, mentionsBot: true });
  if (result.status !== 'accepted') throw new Error(`the message was refused: ${result.reason}`);
  const requested = result.events.find((event) => event.type === 'group.turn_requested');
  if (!requested) throw new Error('the message asked for no turn');
  return (requested.data as { runId: string }).runId;
}

/** The run's events once it has ended (or the test's clock runs out). */
export async function runEnded(store: Pick<EventStore, 'readStream'>, runId: string, timeoutMs = 30_000): Promise<StoredEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await store.readStream(`run-${runId}`);
    if (events.some((event) => RUN_ENDINGS.includes(event.type))) return events;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not end: ${events.map((event) => event.type).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
