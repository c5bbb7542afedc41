/**
 * Watches group conversations and asks the memory actor of the conversation's group for a
 * consolidation (`requestConsolidation`, recorded as `memory.consolidation_requested`) when
 * the conversation since its last consolidation passes the budget. A conversation is a
 * group's stream: a channel's, or one Slack thread's (`group-<team>.<channel>.<thread ts>`);
 * a thread's window is its own, but what it teaches goes to its channel's scope, the memory
 * the channel's runs read. Everything it decides on is read from the events (the
 * conversation's stream and the scope's memory stream), so it needs no state of its own and
 * a restart misses nothing: on start it checks every conversation, then each again whenever
 * a message arrives. The command's id is derived from the window it covers, so checking
 * twice records once. A failed request (`memory.consolidation_failed`) is closed: the next
 * window starts after the last consolidated one, and may ask again. The consolidation
 * executor (runtime/memory/consolidation-executor.ts) answers the request.
 */
import type { Subscription } from 'rxjs';
import { decideConsolidation, conversationSince } from '../projections/consolidation.js';
import { memoryConsolidated, memoryConsolidationFailed, memoryConsolidationRequested } from '../events/catalogue/daily-log.js';
import { groupMessageReceived } from '../events/catalogue/group.js';
import { eventIdFor } from '../events/ids.js';
import { homeGroupId } from '../actors/group.js';
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

/** Where a conversation's next window starts: after a message (null: its first), or not now. */
type WindowStart = { readonly state: 'ready'; readonly afterMessageId: string | null } | { readonly state: 'pending' | 'blocked' };

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

  /**
   * Asks for a consolidation of a conversation (a group, or one of its threads) if its talk
   * since its last consolidation is over budget. The request goes to the memory of the
   * conversation's home group: a thread is remembered where its channel's runs read.
   */
  async check(conversationId: string): Promise<boolean> {
    const scope = `group.${homeGroupId(conversationId)}`;
    const conversationStream = `${GROUP_PREFIX}${conversationId}`;
    const start = await this.windowStart(`memory-${scope}`, conversationStream, conversationId);
    if (start.state !== 'ready') return false;
    // The messages after the last consolidation, read newest first and no further back.
    const after = start.afterMessageId;
    const window = (await this.readBack(conversationStream, (event) => groupMessageReceived.is(event) && event.data.messageId === after)).after;
    const decision = decideConsolidation({
      scope,
      conversationId,
      messages: conversationSince(window, after),
      ...(this.options.budgetTokens ? { budgetTokens: this.options.budgetTokens } : {}),
    });
    if (!decision.due) return false;
    const sent = await this.options.actors.send(
      'memory',
      scope,
      { type: 'requestConsolidation', request: decision.request },
      // A uuid of the window: the scope may be longer than a command id may be.
      { commandId: `consolidation-request:${eventIdFor('consolidation', scope, conversationId, decision.request.throughMessageId)}`, actor: 'runtime' },
    );
    // Refused: a request is open already (asked by a check that raced this one); a duplicate: asked already.
    if (sent.status !== 'accepted' || sent.duplicate) return false;
    this.options.logger?.info({ scope, conversationId, tokens: decision.tokenEstimate, budget: decision.budgetTokens }, 'consolidation requested');
    return true;
  }

  /**
   * Where the conversation's next window starts, from the scope's memory stream read newest
   * first: after the window of its newest consolidated request. Each request's fate is the
   * first ending after it (a scope has one open request at a time). A failed request is
   * closed and its window asked for again, so reading goes on back past it; the newest
   * request still open is this conversation's (`pending`) or another's (`blocked`: the actor
   * would refuse a second; the conversation's next message asks again). No request of this
   * conversation can be older than its stream's first event: reading stops there, so a new
   * thread costs the memory events since it began, not the scope's whole history.
   */
  private async windowStart(memoryStream: string, conversationStream: string, conversationId: string): Promise<WindowStart> {
    const [first] = await this.options.store.readStream(conversationStream, { from: 'start', maxCount: 1 });
    if (!first) return { state: 'ready', afterMessageId: null };
    let ending: StoredEvent | undefined; // the oldest ending seen so far: the one that closed the request read next
    let newestRequest = true;
    for (let from: bigint | 'end' = 'end'; ; ) {
      const page = await this.options.store.readStream(memoryStream, { from, direction: 'backwards', maxCount: READ_BACK_PAGE });
      for (const event of page) {
        if (event.position < first.position) return { state: 'ready', afterMessageId: null };
        if (memoryConsolidated.is(event) || memoryConsolidationFailed.is(event)) ending = event;
        if (!memoryConsolidationRequested.is(event)) continue;
        const closedBy = ending;
        ending = undefined;
        const ours = event.data.conversationId === conversationId;
        if (!closedBy && newestRequest) return { state: ours ? 'pending' : 'blocked' };
        newestRequest = false;
        if (ours && closedBy && memoryConsolidated.is(closedBy)) return { state: 'ready', afterMessageId: event.data.throughMessageId };
      }
      const oldest = page[page.length - 1];
      if (page.length < READ_BACK_PAGE || !oldest || oldest.revision === 0n) return { state: 'ready', afterMessageId: null };
      from = oldest.revision - 1n;
    }
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
