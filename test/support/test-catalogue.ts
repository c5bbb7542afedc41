/**
 * Event types for the event store's own tests. They exercise what the store must get right
 * whatever the domain: a versioned type with an upcaster, a large string payload, and free
 * unicode text (including unicode object keys).
 */
import { z } from 'zod';
import { defineEvent, EventCatalogue } from '../../events/catalogue.js';

/** `test.happened` as first written: a counter and a label. */
export const testHappenedV1 = defineEvent(
  'test.happened',
  1,
  z
    .object({
      count: z.number().int().nonnegative(),
      label: z.string(),
    })
    .strict(),
);

/** `test.happened` v2 adds `tags`; a v1 event reads back with no tags. */
export const testHappened = testHappenedV1.evolve(
  2,
  z
    .object({
      count: z.number().int().nonnegative(),
      label: z.string(),
      tags: z.array(z.string()),
    })
    .strict(),
  (v1) => ({ ...v1, tags: [] }),
);

/** A payload that is one big string: for 1 MiB events. */
export const testBlob = defineEvent('test.blob', 1, z.object({ body: z.string() }).strict());

/** Free text in any script, with optional extra fields whose keys are unicode too. */
export const testNoted = defineEvent(
  'test.noted',
  1,
  z
    .object({
      text: z.string(),
      extra: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
);

export const testDefinitions = [testHappened, testBlob, testNoted] as const;

/** The catalogue every contract test's store is built with. */
export const testCatalogue = new EventCatalogue([...testDefinitions]);

/** The catalogue as it was before `test.happened` v2: appends through it store v1 events. */
export const v1OnlyCatalogue = new EventCatalogue([testHappenedV1, testBlob, testNoted]);

/** A later catalogue with a type the test catalogue does not know. */
export const testExtra = defineEvent('test.extra', 1, z.object({ value: z.number() }).strict());
export const extendedCatalogue = new EventCatalogue([...testDefinitions, testExtra]);

/** A valid `test.happened` (newest version), with an optional explicit id. */
export function happened(count: number, options: { id?: string; label?: string; tags?: string[] } = {}) {
  return testHappened.create(
    { count, label: options.label ?? `event ${count}`, tags: options.tags ?? [] },
    options.id === undefined ? {} : { id: options.id },
  );
}
