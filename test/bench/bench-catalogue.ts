/**
 * The event type the benchmarks append: a small, realistic payload (about 200 bytes of
 * canonical JSON: two ids, an author, a short text and a number), as a chat message or a
 * tool result an actor records many times a minute.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineEvent, EventCatalogue, type EventDefinition } from '../../events/catalogue.js';
import type { NewEvent } from '../../events/envelope.js';

export const benchRecorded = defineEvent(
  'bench.recorded',
  1,
  z
    .object({
      conversationId: z.uuid(),
      messageId: z.string().min(1).max(64),
      author: z.string().min(1).max(64),
      text: z.string().max(2_000),
      tokens: z.number().int().nonnegative(),
    })
    .strict(),
);

export const benchCatalogue = new EventCatalogue([benchRecorded]);

/** The data of a `bench.recorded` event. */
export type BenchMessage = typeof benchRecorded extends EventDefinition<string, infer TData> ? TData : never;

const TEXTS = [
  'Reminder: send the Q3 invoice summary to finance by Friday noon.',
  'Deploy of billing-api v2.14 finished; error rate back under 0.1%.',
  'Can you draft a reply to the vendor about the delayed shipment?',
  'Standup notes: search index rebuild done, scheduler fix in review.',
];

/** A fixed instant, so the same event prepared twice serializes to the same bytes. */
const OCCURRED_AT = '2025-01-15T09:30:00.000Z';

/**
 * The `seq`-th event of one appender. Id and metadata are given in full, so the catalogue
 * prepares exactly the same stored bytes whether the store or the baseline does it.
 */
export function benchEvent(appender: number, seq: number, conversationId: string): NewEvent<'bench.recorded', BenchMessage> {
  const id = randomUUID();
  return benchRecorded.create(
    {
      conversationId,
      messageId: `${1_736_933_400 + seq}.${String(appender).padStart(6, '0')}`,
      author: `U0${(appender * 7919 + 100_000).toString(36).toUpperCase()}`,
      text: TEXTS[seq % TEXTS.length]!,
      tokens: 20 + ((seq * 37 + appender) % 400),
    },
    {
      id,
      metadata: { correlationId: id, causationId: null, actor: `agent:bench-${appender}`, occurredAt: OCCURRED_AT },
    },
  );
}
