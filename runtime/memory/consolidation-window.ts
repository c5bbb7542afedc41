/**
 * The messages a consolidation request names, read from its conversation's stream
 * (`group-<conversationId>`: the scope's group, or one of its threads): from
 * `messagesSince` through `throughMessageId`, both included. The stream is read newest
 * first, a page at a time, and no further back than the window's first message, so the
 * cost is the window's, not the group's whole history.
 */
import { compareMessageIds, conversationSince, type ConversationMessage } from '../../projections/consolidation.js';
import { groupMessageReceived } from '../../events/catalogue/group.js';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventStore } from '../../events/port.js';

const PAGE = 200;

export interface ConsolidationWindow {
  /** The group whose stream holds the window (the request's `conversationId`). */
  readonly conversationId: string;
  readonly messagesSince: string;
  readonly throughMessageId: string;
}

export async function readConsolidationWindow(store: EventStore, window: ConsolidationWindow): Promise<ConversationMessage[]> {
  const newestFirst: StoredEvent[] = [];
  const before = (event: StoredEvent) =>
    groupMessageReceived.is(event) && compareMessageIds(event.data.messageId, window.messagesSince) < 0;
  reading: for (let from: bigint | 'end' = 'end'; ; ) {
    const page = await store.readStream(`group-${window.conversationId}`, { from, direction: 'backwards', maxCount: PAGE });
    for (const event of page) {
      if (before(event)) break reading;
      newestFirst.push(event);
    }
    const oldest = page[page.length - 1];
    if (page.length < PAGE || !oldest || oldest.revision === 0n) break;
    from = oldest.revision - 1n;
  }
  return conversationSince(newestFirst.reverse(), null).filter(
    (message) => compareMessageIds(message.messageId, window.messagesSince) >= 0 && compareMessageIds(message.messageId, window.throughMessageId) <= 0,
  );
}
