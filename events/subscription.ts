/**
 * Catch-up-then-live subscriptions over any backend. There is one loop, not two phases:
 * the subscriber always reads $all from its own position up to the current head, and when
 * it has caught up it sleeps until the backend ticks. Because live events are read from
 * the store rather than pushed into a buffer, the switch from catch-up to live can neither
 * skip nor repeat an event, and a slow consumer costs at most `maxInFlight` events of memory.
 */
import { concatMap, Observable, type OperatorFunction } from 'rxjs';
import type { EventBackend } from './backend.js';
import type { RawStoredEvent, StoredEvent } from './envelope.js';
import { InvalidArgumentError } from './errors.js';
import type { Delivery, SubscribeOptions } from './port.js';

/** Catch-up reads pages of up to this many events (fewer when `maxInFlight` is smaller). */
const PAGE_SIZE = 1_000;

/**
 * A page is decoded and handed over this many events at a time, with a turn of the event
 * loop between: decoding a whole page holds the thread for milliseconds, and whatever the
 * consumer waits on meanwhile (a projection's SQLite statement that finished, the next to
 * send) would wait as long.
 */
const DELIVERY_SLICE = 100;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves on the next poke after `seen`, or at once if one already happened. */
class Doorbell {
  private rings = 0;
  private waiter: (() => void) | undefined;

  get count(): number {
    return this.rings;
  }

  ring(): void {
    this.rings += 1;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  after(seen: number): Promise<void> {
    if (this.rings !== seen) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

export function subscribeToBackend(
  backend: EventBackend,
  decode: (raw: RawStoredEvent) => StoredEvent,
  options: SubscribeOptions = {},
): Observable<Delivery> {
  const maxInFlight = options.maxInFlight ?? 256;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new InvalidArgumentError(`subscribe: maxInFlight must be a positive integer, got ${String(maxInFlight)}`);
  }

  return new Observable<Delivery>((subscriber) => {
    const doorbell = new Doorbell();
    const changes = backend.changes.subscribe(() => doorbell.ring());
    let inFlight = 0;

    const deliver = (raw: RawStoredEvent) => {
      let acknowledged = false;
      inFlight += 1;
      subscriber.next({
        event: decode(raw),
        ack: () => {
          if (acknowledged) return;
          acknowledged = true;
          inFlight -= 1;
          doorbell.ring();
        },
      });
    };

    const run = async () => {
      const from = options.fromPosition ?? 'start';
      // `after` is the last position this subscriber has seen; -1 is before everything.
      let after = from === 'start' ? -1n : from === 'end' ? await backend.headPosition() : from;
      // The head last asked for: while catching up to it there is no need to ask again
      // (a round trip per page); once there, the store is asked how far it has gone.
      let head = -1n;
      while (!subscriber.closed) {
        const seen = doorbell.count;
        if (inFlight >= maxInFlight) {
          await doorbell.after(seen);
          continue;
        }
        if (head <= after) head = await backend.headPosition();
        if (head <= after) {
          await doorbell.after(seen);
          continue;
        }
        const limit = Math.min(PAGE_SIZE, maxInFlight - inFlight);
        const page = await backend.readAll({
          from: after + 1n,
          until: head,
          direction: 'forwards',
          maxCount: limit,
          ...(options.filter ? { filter: options.filter } : {}),
        });
        for (let index = 0; index < page.length; index += 1) {
          if (index > 0 && index % DELIVERY_SLICE === 0) await nextTurn();
          if (subscriber.closed) return;
          deliver(page[index]!);
        }
        // A short page means everything up to `head` was seen, matched by the filter or not.
        after = page.length < limit ? head : page[page.length - 1]!.position;
      }
    };

    run().catch((error: unknown) => subscriber.error(error));

    return () => {
      changes.unsubscribe();
      doorbell.ring();
    };
  });
}

/**
 * Runs an async handler for each delivery, one at a time and in order, acknowledging each
 * after its handler finished; emits the handled events.
 */
export function handleEach<TEvent extends StoredEvent>(
  handler: (event: TEvent) => Promise<void> | void,
): OperatorFunction<Delivery<TEvent>, TEvent> {
  return (source) =>
    source.pipe(
      concatMap(async (delivery) => {
        await handler(delivery.event);
        delivery.ack();
        return delivery.event;
      }),
    );
}
