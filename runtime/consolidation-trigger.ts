/**
 * Watches group conversations and records `memory.consolidation_requested` on the
 * group's memory stream when the conversation since its last consolidation passes the
 * budget. Everything it decides on is read from the events (the group's stream and the
 * memory stream), so it needs no state of its own and a restart misses nothing: on
 * start it checks every group, then each group again whenever a message arrives.
 * The request's id is derived from the window it covers, so checking twice records once.
 * The consolidation step that answers a request (a model call) arrives with agent runs.
 */
import type { Subscription } from 'rxjs';
import { decideConsolidation, conversationSince } from '../projections/consolidation.js';
import { memoryConsolidated, memoryConsolidationRequested } from '../events/catalogue/daily-log.js';
import { groupMessageReceived } from '../events/catalogue/group.js';
import { EventIdConflictError } from '../events/errors.js';
import { eventIdFor } from '../events/ids.js';
import type { StoredEvent } from '../events/envelope.js';
import type { EventStore } from '../events/port.js';
import { handleEach } from '../events/subscription.js';
import type { Logger } from './logger.js';

export interface ConsolidationTriggerOptions {
  readonly store: EventStore;
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

  /** Records a request for the group if its conversation since the last one is over budget. */
  async check(groupId: string): Promise<boolean> {
    const scope = `group.${groupId}`;
    const memoryStream = `memory-${scope}`;
    // Only the newest request or consolidation matters, and only the messages after it:
    // both are read newest first and no further, so a check costs the window, not the
    // group's whole history.
    const { stop: last } = await this.readBack(memoryStream, (event) => memoryConsolidationRequested.is(event) || memoryConsolidated.is(event));
    const pendingThrough = last && memoryConsolidationRequested.is(last) ? last.data.throughMessageId : null;
    const consolidatedThrough = last && memoryConsolidated.is(last) ? last.data.throughMessageId : null;
    const after = pendingThrough ?? consolidatedThrough;
    const window =
      pendingThrough !== null
        ? []
        : (await this.readBack(`${GROUP_PREFIX}${groupId}`, (event) => groupMessageReceived.is(event) && event.data.messageId === after)).after;
    const messages = conversationSince(window, after);
    const decision = decideConsolidation({
      scope,
      messages,
      pendingRequest: pendingThrough !== null,
      ...(this.options.budgetTokens ? { budgetTokens: this.options.budgetTokens } : {}),
    });
    if (!decision.due) return false;
    try {
      await this.options.store.append(
        memoryStream,
        [memoryConsolidationRequested.create(decision.request, { id: eventIdFor('consolidation', scope, decision.request.throughMessageId), metadata: { actor: 'runtime' } })],
        { expectedRevision: 'any' },
      );
    } catch (error) {
      if (error instanceof EventIdConflictError) return false; // asked already, by an earlier check
      throw error;
    }
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
