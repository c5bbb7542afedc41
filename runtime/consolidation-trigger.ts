/**
 * Watches group conversations and asks the group's memory actor for a consolidation
 * (`requestConsolidation`, recorded as `memory.consolidation_requested`) when the
 * conversation since its last consolidation passes the budget. Everything it decides on
 * is read from the events (the group's stream and the memory stream), so it needs no state
 * of its own and a restart misses nothing: on start it checks every group, then each group
 * again whenever a message arrives. The command's id is derived from the window it covers,
 * so checking twice records once. A failed request (`memory.consolidation_failed`) is
 * closed: the next window starts after the last consolidated one, and may ask again. The
 * consolidation executor (runtime/memory/consolidation-executor.ts) answers the request.
 */
import type { Subscription } from 'rxjs';
import { decideConsolidation, conversationSince } from '../projections/consolidation.js';
import { memoryConsolidated, memoryConsolidationFailed, memoryConsolidationRequested } from '../events/catalogue/daily-log.js';
import { groupMessageReceived } from '../events/catalogue/group.js';
import { eventIdFor } from '../events/ids.js';
import type { ActorHost } from './actor-host/actor-host.js';
import type { StoredEvent } from '../events/envelope.js';
import type { EventStore } from '../events/port.js';
import { handleEach } from '../events/subscription.js';
import type { Logger } from './logger.js';

export interface ConsolidationTriggerOptions {
  readonly store: EventStore;
  /** Records the request through the group's memory actor, which keeps one open at a time. */
  readonly actors: Pick<ActorHost, 'send'>;
  /** Tokens of conversation a group may gather before a consolidation is asked for. */
  readonly budgetTokens?: number;
  readonly logger?: Logger;
}

const GROUP_PREFIX = 'group-';
const READ_BACK_PAGE = 200;

export class ConsolidationTrigger {
  private subscription: Subscription | undefined;

  constructor(private readonly options: ConsolidationTriggerOptions) {}

  /** Checks every group once, then follows new messages until stopped. */
  async start(): Promise<void> {
    const from = await this.options.store.headPosition();
    for (let after: string | undefined; ; ) {
      const streams = await this.options.store.listStreams({ prefix: GROUP_PREFIX, ...(after ? { after } : {}), limit: 500 });
      for (const stream of streams) await this.check(stream.streamId.slice(GROUP_PREFIX.length));
      if (streams.length < 500) break;
      after = streams[streams.length - 1]!.streamId;
    }
    this.subscription = this.options.store
      .subscribe({ fromPosition: from, filter: { eventTypes: [groupMessageReceived.type] }, maxInFlight: 64 })
      .pipe(
        handleEach(async (event) => {
          await this.check(event.streamId.slice(GROUP_PREFIX.length));
        }),
      )
      .subscribe({ error: (error: unknown) => this.options.logger?.error({ err: error }, 'the consolidation trigger stopped') });
  }

  stop(): void {
    this.subscription?.unsubscribe();
  }

  /** Asks for a consolidation of the group if its conversation since the last one is over budget. */
  async check(groupId: string): Promise<boolean> {
    const scope = `group.${groupId}`;
    const memoryStream = `memory-${scope}`;
    // Only the newest request or ending matters, and only the messages after the last
    // consolidation: both are read newest first and no further, so a check costs the
    // window, not the group's whole history. A failed request is closed: read on back to
    // the consolidation before it, so its window is asked for again.
    const isRequestOrEnding = (event: StoredEvent) => memoryConsolidationRequested.is(event) || memoryConsolidated.is(event) || memoryConsolidationFailed.is(event);
    const { stop: last } = await this.readBack(memoryStream, isRequestOrEnding);
    const pending = last !== undefined && memoryConsolidationRequested.is(last);
    const consolidated = last && memoryConsolidationFailed.is(last) ? (await this.readBack(memoryStream, (event) => memoryConsolidated.is(event))).stop : last;
    const after = consolidated && memoryConsolidated.is(consolidated) ? consolidated.data.throughMessageId : null;
    const window = pending ? [] : (await this.readBack(`${GROUP_PREFIX}${groupId}`, (event) => groupMessageReceived.is(event) && event.data.messageId === after)).after;
    const messages = conversationSince(window, after);
    const decision = decideConsolidation({
      scope,
      messages,
      pendingRequest: pending,
      ...(this.options.budgetTokens ? { budgetTokens: this.options.budgetTokens } : {}),
    });
    if (!decision.due) return false;
    const sent = await this.options.actors.send(
      'memory',
      scope,
      { type: 'requestConsolidation', request: decision.request },
      // A uuid of the window: the scope may be longer than a command id may be.
      { commandId: `consolidation-request:${eventIdFor('consolidation', scope, decision.request.throughMessageId)}`, actor: 'runtime' },
    );
    // Refused: a request is open already (asked by a check that raced this one); a duplicate: asked already.
    if (sent.status !== 'accepted' || sent.duplicate) return false;
    this.options.logger?.info({ scope, tokens: decision.tokenEstimate, budget: decision.budgetTokens }, 'consolidation requested');
    return true;
  }

  /**
   * Reads a stream from its newest event back to the first one `isStop` matches: that
   * event (if any), and the events after it, in stream order.
   */
  private async readBack(streamId: string, isStop: (event: StoredEvent) => boolean): Promise<{ stop: StoredEvent | undefined; after: StoredEvent[] }> {
    const after: StoredEvent[] = [];
    for (let from: bigint | 'end' = 'end'; ; ) {
      const page = await this.options.store.readStream(streamId, { from, direction: 'backwards', maxCount: READ_BACK_PAGE });
      for (const event of page) {
        if (isStop(event)) return { stop: event, after: after.reverse() };
        after.push(event);
      }
      const oldest = page[page.length - 1];
      if (page.length < READ_BACK_PAGE || !oldest || oldest.revision === 0n) return { stop: undefined, after: after.reverse() };
      from = oldest.revision - 1n;
    }
  }
}
