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
import type { EventStore } from '../events/port.js';
import { handleEach } from '../events/subscription.js';
import type { Logger } from './actor-host/actor-host.js';

export interface ConsolidationTriggerOptions {
  readonly store: EventStore;
  /** Tokens of conversation a group may gather before a consolidation is asked for. */
  readonly budgetTokens?: number;
  readonly logger?: Logger;
}

const GROUP_PREFIX = 'group-';

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
    let consolidatedThrough: string | null = null;
    let pendingThrough: string | null = null;
    for (const event of await this.options.store.readStream(memoryStream)) {
      if (memoryConsolidationRequested.is(event)) pendingThrough = event.data.throughMessageId;
      if (memoryConsolidated.is(event)) {
        consolidatedThrough = event.data.throughMessageId;
        pendingThrough = null;
      }
    }
    const messages = conversationSince(await this.options.store.readStream(`${GROUP_PREFIX}${groupId}`), pendingThrough ?? consolidatedThrough);
    const decision = decideConsolidation({
      scope,
      messages: pendingThrough === null ? messages : [],
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
}
