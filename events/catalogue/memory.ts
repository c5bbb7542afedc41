/**
 * Memory: the facts the assistant holds for one scope, on the stream `memory-<scope>`
 * (`memory-user.<id>` or `memory-group.<id>`). A fact is never edited: it is recorded,
 * then perhaps confirmed, superseded by a newer fact, or retired. Two facts that disagree
 * on one key are flagged as a conflict and stay that way until someone resolves it.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';

export const factIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'expected letters, digits, dots, colons, dashes and underscores');

/** What a fact is about, as a dotted lower-case path: `vendor.acme.payment_terms`. */
export const factKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/, "expected a dotted lower-case key such as 'vendor.acme.payment_terms'");

export const factStatementSchema = z
  .string()
  .min(1)
  .max(4000)
  .refine((statement) => statement.trim().length > 0, 'a statement cannot be blank');

/**
 * How much the fact can be trusted: said by a user, an agent's fact a user confirmed, seen
 * by an agent in a source, or inferred by an agent.
 */
export const factConfidenceSchema = z.enum(['user-stated', 'user-confirmed', 'agent-observed', 'agent-inferred']);

/** Where a v1 fact came from: a stored event, a daily log, or a Slack message. */
const factSourceV1Schema = z
  .object({
    kind: z.enum(['event', 'daily_log', 'message']),
    ref: z.string().min(1).max(500),
  })
  .strict();

/**
 * Where the fact comes from: a stored event, a daily log, a Slack message, or a
 * consolidation (`ref` is the id of the `memory.consolidation_requested` it answered).
 */
export const factSourceSchema = z
  .object({
    kind: z.enum(['event', 'daily_log', 'message', 'consolidation']),
    ref: z.string().min(1).max(500),
  })
  .strict();

/**
 * What kind of thing a fact is, so MEMORY.md can group them (seed 004's typed memory):
 * - `user`: about a person (who they are, their role, their preferences);
 * - `feedback`: how the assistant should work (corrections, do and don't);
 * - `project`: the business's work (decisions, deadlines, customers, vendors);
 * - `reference`: where things are (links, documents, systems, ids).
 */
export const factCategorySchema = z.enum(['user', 'feedback', 'project', 'reference']);
export type FactCategory = z.infer<typeof factCategorySchema>;
/** The category of a fact recorded before categories existed, and of one recorded without any. */
export const DEFAULT_FACT_CATEGORY: FactCategory = 'project';

const factRecordedV1 = z
  .object({
    factId: factIdSchema,
    key: factKeySchema,
    statement: factStatementSchema,
    confidence: factConfidenceSchema,
    source: factSourceV1Schema,
    recordedAt: z.iso.datetime(),
  })
  .strict();

/**
 * v2 adds `category` (every v1 fact reads as `project`) and the `consolidation` source kind.
 */
export const memoryFactRecorded = defineEvent('memory.fact_recorded', 1, factRecordedV1).evolve(
  2,
  factRecordedV1.extend({ source: factSourceSchema, category: factCategorySchema }).strict(),
  (v1) => ({ ...v1, category: DEFAULT_FACT_CATEGORY }),
);

export const memoryFactSuperseded = defineEvent(
  'memory.fact_superseded',
  1,
  z
    .object({
      /** The facts replaced: one, or every agent fact on the key when a user's word replaces them. */
      factIds: z.array(factIdSchema).min(1),
      supersededBy: factIdSchema,
      /** `automatic`: a user's word replaced an agent's; `requested`: someone asked for it. */
      mode: z.enum(['automatic', 'requested']),
    })
    .strict(),
);

export const memoryFactConfirmed = defineEvent(
  'memory.fact_confirmed',
  1,
  z
    .object({
      factId: factIdSchema,
      /** The user who confirmed it (`user:U123`). */
      confirmedBy: z.string().min(1).max(200),
    })
    .strict(),
);

export const memoryFactRetired = defineEvent(
  'memory.fact_retired',
  1,
  z.object({ factId: factIdSchema, reason: z.string().min(1).max(1000) }).strict(),
);

export const memoryConflictFlagged = defineEvent(
  'memory.conflict_flagged',
  1,
  z
    .object({
      key: factKeySchema,
      /** Every active fact on the key that disagrees, oldest first. */
      factIds: z.array(factIdSchema).min(2),
    })
    .strict(),
);

export const memoryConflictResolved = defineEvent(
  'memory.conflict_resolved',
  1,
  z.object({ key: factKeySchema, keptFactId: factIdSchema }).strict(),
);

/**
 * The scope's owner was told of the conflict on `key` between `factIds`. Until then the
 * notice is owed, so a restart posts it (once: the post is keyed by the conflict).
 */
export const memoryConflictNotified = defineEvent(
  'memory.conflict_notified',
  1,
  z
    .object({
      key: factKeySchema,
      factIds: z.array(factIdSchema).min(2),
      /** Where the notice landed (Slack message timestamps, or a console or log reference). */
      refs: z.array(z.string().min(1).max(200)).min(1).max(100),
    })
    .strict(),
);

/**
 * MEMORY.md is full (see projections/memory-layout.ts, `MEMORY_CAPACITY_LINES`): these
 * active facts, the lowest ranked, leave it. Demoted is not deleted: a demoted fact stays
 * active (it still holds its key for conflicts and supersession) and searchable; it only
 * is not shown in MEMORY.md until `memory.fact_restored`.
 */
export const memoryFactDemoted = defineEvent(
  'memory.fact_demoted',
  1,
  z
    .object({
      factIds: z.array(factIdSchema).min(1).max(100_000),
      /** Why: `capacity`, MEMORY.md had no room for them. */
      reason: z.enum(['capacity']),
      /** The number of lines MEMORY.md may hold, when they were demoted. */
      capacityLines: z.number().int().positive(),
    })
    .strict(),
);

/**
 * A demoted fact is back in MEMORY.md: a user confirmed it (`confirmed`), or a new
 * `recordFact` stated it again (`restated`), which counts as using it.
 */
export const memoryFactRestored = defineEvent(
  'memory.fact_restored',
  1,
  z
    .object({
      factId: factIdSchema,
      cause: z.enum(['confirmed', 'restated']),
      /** For `restated`: the id the restating recordFact proposed (not recorded: the fact it restates is). */
      restatedAs: factIdSchema.optional(),
    })
    .strict(),
);

export const memoryEvents = [
  memoryFactRecorded,
  memoryFactSuperseded,
  memoryFactConfirmed,
  memoryFactRetired,
  memoryConflictFlagged,
  memoryConflictResolved,
  memoryConflictNotified,
  memoryFactDemoted,
  memoryFactRestored,
];
