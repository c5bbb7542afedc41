/**
 * The memory actor: the facts of one scope, on the stream `memory-<scope>` where the scope
 * is `user.<id>` or `group.<id>`.
 *
 * A fact has an id, a key (what it is about), a statement, a confidence and a source. At
 * most one fact per key is active, unless facts on the key disagree and a conflict is open.
 *
 * Recording a fact on a key that already has an active fact with another statement:
 * - a user's word replaces an agent's automatically: a `user-stated` or `user-confirmed`
 *   fact records `memory.fact_recorded` and `memory.fact_superseded` for every active
 *   `agent-observed` / `agent-inferred` fact on the key (and closes their conflict, if any,
 *   unless an agent sent it: an agent only ever flags, so its fact joins the conflict);
 * - anything else (agent over agent, agent over user, user over user) records
 *   `memory.fact_recorded` and `memory.conflict_flagged`: all of them stay active and
 *   flagged, and nothing is decided until `resolveConflict` (or `retireFact`) leaves one.
 * The same statement (ignoring surrounding and repeated whitespace) on the same key is
 * rejected as a duplicate, unless the fact stating it is demoted: then it is restored.
 *
 * Capacity (see memory-capacity.ts): a group's MEMORY.md holds 200 lines. Folding a fact
 * that may overflow it asks for `enforceCapacity`, whose workflow sends `demoteFacts` for
 * the lowest-ranked facts; `memory.fact_demoted` takes them out of MEMORY.md, never out of
 * memory. A demoted fact comes back (`memory.fact_restored`) when a user confirms it or a
 * new recordFact states it again.
 *
 * Confidence ranks: agent-inferred < agent-observed < user-stated = user-confirmed. Both
 * user confidences are the user's word, so neither silently overrides the other.
 *
 * States: `consistent` (no open conflict) and `conflicted` (at least one).
 *
 * A flagged conflict is owed a notice to the scope's owner until `memory.conflict_notified`
 * names its facts, so a restart between the flag and the post still tells them, once.
 *
 * A group's scope also keeps its one open consolidation request (actors/memory-consolidation.ts):
 * `memory.consolidation_requested` asks for the `consolidate` effect, owed until the request
 * is consolidated or failed.
 */
import { assign, setup } from 'xstate';
import { z } from 'zod';
import type { EventDefinition } from '../events/catalogue.js';
import {
  DEFAULT_FACT_CATEGORY,
  factCategorySchema,
  factConfidenceSchema,
  factIdSchema,
  factKeySchema,
  factSourceSchema,
  factStatementSchema,
  memoryEvents,
  type memoryConflictFlagged,
  type memoryConflictNotified,
  type memoryConflictResolved,
  type memoryFactConfirmed,
  type memoryFactDemoted,
  type memoryFactRecorded,
  type memoryFactRestored,
  type memoryFactRetired,
  type memoryFactSuperseded,
} from '../events/catalogue/memory.js';
import { dailyLogEvents } from '../events/catalogue/daily-log.js';
import { factsToDemote, mayOverflow, MEMORY_FILE_CAPACITY_LINES } from './memory-capacity.js';
import { defineActorKind, type CommandMeta, type FoldedEvent, type RecordParams, type RejectParams } from './actor-kind.js';
import {
  consolidationCommandSchemas,
  consolidationStepEvents,
  consolidationStepRefusal,
  foldConsolidation,
  isConsolidationCommand,
  isConsolidationEvent,
  type ConsolidationCommand,
  type ConsolidationStoredEvent,
  type OpenConsolidation,
} from './memory-consolidation.js';

const newFactSchema = z
  .object({
    id: factIdSchema,
    key: factKeySchema,
    statement: factStatementSchema,
    confidence: factConfidenceSchema,
    source: factSourceSchema,
    /** Default `project`. */
    category: factCategorySchema.optional(),
  })
  .strict();

export const memoryCommands = z.discriminatedUnion('type', [
  z.object({ type: z.literal('recordFact'), fact: newFactSchema }).strict(),
  z.object({ type: z.literal('supersedeFact'), factId: factIdSchema, newFact: newFactSchema }).strict(),
  /** Must come from a user (`meta.actor` = `user:<id>`): it turns an agent's fact into the user's word. */
  z.object({ type: z.literal('confirmFact'), factId: factIdSchema }).strict(),
  z.object({ type: z.literal('retireFact'), factId: factIdSchema, reason: z.string().min(1).max(1000) }).strict(),
  z.object({ type: z.literal('resolveConflict'), keepFactId: factIdSchema, retireFactId: factIdSchema }).strict(),
  /** Sent by the notifyConflict executor once the scope's owner has been told. */
  z
    .object({
      type: z.literal('conflictNotified'),
      key: factKeySchema,
      factIds: z.array(factIdSchema).min(2),
      refs: z.array(z.string().min(1).max(200)).min(1).max(100),
    })
    .strict(),
  ...consolidationCommandSchemas,
  // ---- capacity (demotion) ----
  /** Sent by the enforceCapacity workflow: these facts leave MEMORY.md, which holds `capacityLines`. */
  z
    .object({
      type: z.literal('demoteFacts'),
      factIds: z.array(factIdSchema).min(1).max(100_000),
      capacityLines: z.number().int().positive(),
    })
    .strict(),
]);

export type MemoryCommand = z.infer<typeof memoryCommands>;
export type NewFact = z.infer<typeof newFactSchema>;
export type FactConfidence = z.infer<typeof factConfidenceSchema>;
export type FactCategory = z.infer<typeof factCategorySchema>;

type Folded<TDefinition> = TDefinition extends EventDefinition<infer TType, infer TData> ? FoldedEvent<TType, TData> : never;

type MemoryStoredEvent =
  | Folded<typeof memoryFactRecorded>
  | Folded<typeof memoryFactSuperseded>
  | Folded<typeof memoryFactConfirmed>
  | Folded<typeof memoryFactRetired>
  | Folded<typeof memoryConflictFlagged>
  | Folded<typeof memoryConflictResolved>
  | Folded<typeof memoryConflictNotified>
  | ConsolidationStoredEvent
  | Folded<typeof memoryFactDemoted>
  | Folded<typeof memoryFactRestored>;

type MemoryMachineEvent = (MemoryCommand & { meta: CommandMeta }) | MemoryStoredEvent;

export interface MemoryFact {
  readonly id: string;
  readonly key: string;
  readonly statement: string;
  readonly confidence: FactConfidence;
  readonly category: FactCategory;
  readonly source: NewFact['source'];
  readonly recordedAt: string;
  readonly status: 'active' | 'superseded' | 'retired';
  readonly supersededBy: string | null;
  /**
   * Out of MEMORY.md for want of room, but still `active`: still the fact on its key, so a
   * disagreeing fact flags a conflict with it and a user's word supersedes it, exactly as if
   * it were shown (demotion is about the file's size, never about whether a fact holds).
   */
  readonly demoted: boolean;
  /** The latest of recorded, confirmed and restored: ranks facts for demotion (memory-capacity.ts). */
  readonly freshAt: string;
}

export interface MemoryConflict {
  readonly key: string;
  /** The active facts that disagree, oldest first. */
  readonly factIds: readonly string[];
}

export interface MemoryContext {
  readonly scope: string;
  /** Every fact ever recorded, in order (arrays, not records: keys and ids are user text). */
  readonly facts: readonly MemoryFact[];
  readonly conflicts: readonly MemoryConflict[];
  /** The facts of each conflict the scope's owner has been told about. */
  readonly notified: readonly MemoryConflict[];
  /** A group's open consolidation request, if any (see actors/memory-consolidation.ts). */
  readonly consolidation: OpenConsolidation | null;
}

// ---- pure rules --------------------------------------------------------------------------

const CONFIDENCE_RANK: Readonly<Record<FactConfidence, number>> = {
  'agent-inferred': 0,
  'agent-observed': 1,
  'user-stated': 2,
  'user-confirmed': 2,
};

const isUsersWord = (confidence: FactConfidence) => confidence === 'user-stated' || confidence === 'user-confirmed';

/** A user's word over an agent's: the one case a new fact replaces an old one unasked. */
export function supersedesAutomatically(newer: FactConfidence, older: FactConfidence): boolean {
  return CONFIDENCE_RANK[newer] > CONFIDENCE_RANK[older] && isUsersWord(newer) && !isUsersWord(older);
}

const normalized = (statement: string) => statement.trim().replace(/\s+/g, ' ');

const factById = (context: MemoryContext, id: string) => context.facts.find((fact) => fact.id === id);
const activeFactsOn = (context: MemoryContext, key: string) => context.facts.filter((fact) => fact.key === key && fact.status === 'active');
const conflictOn = (context: MemoryContext, key: string) => context.conflicts.find((conflict) => conflict.key === key);
const conflictHolding = (context: MemoryContext, factId: string) => context.conflicts.find((conflict) => conflict.factIds.includes(factId));
const isActive = (context: MemoryContext, id: string) => factById(context, id)?.status === 'active';

/** The facts of the conflict its owner has not been told about yet. */
function untoldFactIds(context: MemoryContext, conflict: MemoryConflict): string[] {
  const told = context.notified.find((notice) => notice.key === conflict.key)?.factIds ?? [];
  return conflict.factIds.filter((id) => !told.includes(id));
}

function recordedData(fact: NewFact, recordedAt: string) {
  return {
    factId: fact.id,
    key: fact.key,
    statement: fact.statement,
    confidence: fact.confidence,
    category: fact.category ?? DEFAULT_FACT_CATEGORY,
    source: fact.source,
    recordedAt,
  };
}

function automaticSupersession(context: MemoryContext, fact: NewFact) {
  return { factIds: activeFactsOn(context, fact.key).map((old) => old.id), supersededBy: fact.id, mode: 'automatic' as const };
}

function describeFact(context: MemoryContext, id: string): string {
  const fact = factById(context, id);
  return fact ? `fact ${id} is ${fact.status}` : `no fact ${id} is recorded`;
}

function withoutFact(conflicts: readonly MemoryConflict[], factId: string): MemoryConflict[] {
  return conflicts.map((conflict) => ({ ...conflict, factIds: conflict.factIds.filter((id) => id !== factId) }));
}

function updateFact(facts: readonly MemoryFact[], id: string, change: Partial<MemoryFact>): MemoryFact[] {
  return facts.map((fact) => (fact.id === id ? { ...fact, ...change } : fact));
}

/**
 * An agent only flags: even when it reports a user's word, a conflict people were asked to
 * settle is not its to end (the memory_write tool refuses this too; this is the rule).
 */
function agentOnConflictedKey(context: MemoryContext, event: { readonly fact: NewFact; readonly meta: CommandMeta }): boolean {
  return event.meta.actor.startsWith('agent:') && conflictOn(context, event.fact.key) !== undefined;
}

/** The one fact left on a conflict once `factId` goes, when exactly one is left. */
function lastFactStandingWithout(context: MemoryContext, factId: string): string | null {
  const rest = conflictHolding(context, factId)?.factIds.filter((id) => id !== factId) ?? [];
  return rest.length === 1 ? (rest[0] ?? null) : null;
}

// ---- consolidation (actors/memory-consolidation.ts) ---------------------------------------

const consolidationRefusal = (context: MemoryContext, event: MemoryMachineEvent): string | null =>
  isConsolidationCommand(event) ? consolidationStepRefusal(context.scope, context.consolidation, event as ConsolidationCommand) : null;

/** The `index`th event the consolidation command records. */
function consolidationStep(context: MemoryContext, event: MemoryMachineEvent, index: number): RecordParams {
  const recorded = consolidationStepEvents(context.scope, context.consolidation, event as ConsolidationCommand, (event as { meta: CommandMeta }).meta.issuedAt);
  return recorded[index]!;
}

const consolidationCommand = (recordedEvents: 1 | 2) => [
  {
    guard: 'refusesConsolidationStep' as const,
    actions: { type: 'reject' as const, params: ({ context, event }: { context: MemoryContext; event: MemoryMachineEvent }) => ({ reason: consolidationRefusal(context, event)! }) },
  },
  {
    actions: Array.from({ length: recordedEvents }, (_, index) => ({
      type: 'record' as const,
      params: ({ context, event }: { context: MemoryContext; event: MemoryMachineEvent }) => consolidationStep(context, event, index),
    })),
  },
];

// ---- capacity (demotion): pure rules ------------------------------------------------------

const isDemoted = (context: MemoryContext, id: string) => factById(context, id)?.demoted === true;

/** The demoted active fact on the key that states this, if any. */
function demotedRestatement(context: MemoryContext, fact: NewFact): MemoryFact | undefined {
  return activeFactsOn(context, fact.key).find((old) => old.demoted && normalized(old.statement) === normalized(fact.statement));
}

/** The facts a demoteFacts may not demote, and why; empty when it may demote them all. */
function undemotable(context: MemoryContext, factIds: readonly string[]): string[] {
  return factIds.flatMap((id) => {
    const fact = factById(context, id);
    if (!fact || fact.status !== 'active') return [describeFact(context, id)];
    if (fact.demoted) return [`fact ${id} is demoted already`];
    if (conflictHolding(context, id)) return [`fact ${id} is in the open conflict on ${fact.key}`];
    return [];
  });
}

/** A group's facts shown or in conflict: what one more shown fact may overflow (see mayOverflow). */
function mayOverflowMemoryFile(context: MemoryContext): boolean {
  if (!context.scope.startsWith('group.')) return false;
  const shown = context.facts.filter((fact) => fact.status === 'active' && !fact.demoted).length;
  return mayOverflow(shown, context.conflicts.length);
}

// ---- the machine -------------------------------------------------------------------------

export const memoryMachine = setup({
  types: {} as { context: MemoryContext; events: MemoryMachineEvent; input: { id: string } },
  guards: {
    // recordFact
    isTakenFactId: ({ context, event }) =>
      (event.type === 'recordFact' && factById(context, event.fact.id) !== undefined) ||
      (event.type === 'supersedeFact' && factById(context, event.newFact.id) !== undefined),
    restatesAnActiveFact: ({ context, event }) =>
      event.type === 'recordFact' &&
      activeFactsOn(context, event.fact.key).some((fact) => normalized(fact.statement) === normalized(event.fact.statement)),
    isFirstActiveFactOnKey: ({ context, event }) => event.type === 'recordFact' && activeFactsOn(context, event.fact.key).length === 0,
    // Neither supersession guard lets an agent end a conflict (see agentOnConflictedKey): its fact is flagged.
    supersedesEveryActiveFactOnKey: ({ context, event }) =>
      event.type === 'recordFact' &&
      !agentOnConflictedKey(context, event) &&
      activeFactsOn(context, event.fact.key).every((fact) => supersedesAutomatically(event.fact.confidence, fact.confidence)),
    supersedesEveryFactInConflict: ({ context, event }) =>
      event.type === 'recordFact' &&
      !agentOnConflictedKey(context, event) &&
      conflictOn(context, event.fact.key) !== undefined &&
      activeFactsOn(context, event.fact.key).every((fact) => supersedesAutomatically(event.fact.confidence, fact.confidence)),

    // commands naming an existing fact
    namesUnknownFact: ({ context, event }) =>
      (event.type === 'supersedeFact' || event.type === 'confirmFact' || event.type === 'retireFact') &&
      factById(context, event.factId) === undefined,
    namesInactiveFact: ({ context, event }) =>
      (event.type === 'supersedeFact' || event.type === 'confirmFact' || event.type === 'retireFact') && !isActive(context, event.factId),

    // supersedeFact
    changesKey: ({ context, event }) => event.type === 'supersedeFact' && factById(context, event.factId)?.key !== event.newFact.key,
    isOnConflictedKey: ({ context, event }) => event.type === 'supersedeFact' && conflictOn(context, event.newFact.key) !== undefined,
    restatesSupersededFact: ({ context, event }) =>
      event.type === 'supersedeFact' && normalized(factById(context, event.factId)?.statement ?? '') === normalized(event.newFact.statement),
    ranksBelowSupersededFact: ({ context, event }) => {
      if (event.type !== 'supersedeFact') return false;
      const old = factById(context, event.factId);
      return old !== undefined && CONFIDENCE_RANK[event.newFact.confidence] < CONFIDENCE_RANK[old.confidence];
    },

    // confirmFact
    isNotFromUser: ({ event }) => event.type === 'confirmFact' && !event.meta.actor.startsWith('user:'),
    isUsersWordAlready: ({ context, event }) => {
      const fact = event.type === 'confirmFact' ? factById(context, event.factId) : undefined;
      return fact !== undefined && isUsersWord(fact.confidence);
    },

    // retireFact
    leavesOneFactInConflict: ({ context, event }) => event.type === 'retireFact' && lastFactStandingWithout(context, event.factId) !== null,

    // resolveConflict
    keepsWhatItRetires: ({ event }) => event.type === 'resolveConflict' && event.keepFactId === event.retireFactId,
    namesUnknownOrInactiveConflictFact: ({ context, event }) =>
      event.type === 'resolveConflict' && (!isActive(context, event.keepFactId) || !isActive(context, event.retireFactId)),
    namesFactsNotInOneConflict: ({ context, event }) =>
      event.type === 'resolveConflict' && !conflictHolding(context, event.retireFactId)?.factIds.includes(event.keepFactId),
    endsConflict: ({ context, event }) =>
      event.type === 'resolveConflict' && lastFactStandingWithout(context, event.retireFactId) === event.keepFactId,

    // conflictNotified
    notifiesNoOpenConflict: ({ context, event }) => event.type === 'conflictNotified' && conflictOn(context, event.key) === undefined,
    notifiesNothingNew: ({ context, event }) => {
      if (event.type !== 'conflictNotified') return false;
      const told = context.notified.find((notice) => notice.key === event.key)?.factIds ?? [];
      return event.factIds.every((id) => told.includes(id));
    },

    // consolidation
    refusesConsolidationStep: ({ context, event }) => consolidationRefusal(context, event) !== null,

    // ---- capacity (demotion) ----
    restatesADemotedFact: ({ context, event }) => event.type === 'recordFact' && demotedRestatement(context, event.fact) !== undefined,
    confirmsDemotedUsersWord: ({ context, event }) =>
      event.type === 'confirmFact' && isDemoted(context, event.factId) && isUsersWord(factById(context, event.factId)!.confidence),
    confirmsDemotedFact: ({ context, event }) => event.type === 'confirmFact' && isDemoted(context, event.factId),
    namesUndemotableFact: ({ context, event }) => event.type === 'demoteFacts' && undemotable(context, event.factIds).length > 0,
    namesAFactTwice: ({ event }) => event.type === 'demoteFacts' && new Set(event.factIds).size !== event.factIds.length,
    mayOverflowMemoryFile: ({ context }) => mayOverflowMemoryFile(context),

    // folding
    resolvesLastOpenConflict: ({ context, event }) =>
      event.type === 'memory.conflict_resolved' && context.conflicts.every((conflict) => conflict.key === event.data.key),
  },
  actions: {
    record: (_, _params: RecordParams) => {},
    reject: (_, _params: RejectParams) => {},
    addFact: assign({
      facts: ({ context, event }) =>
        event.type === 'memory.fact_recorded'
          ? [
              ...context.facts,
              {
                id: event.data.factId,
                key: event.data.key,
                statement: event.data.statement,
                confidence: event.data.confidence,
                category: event.data.category,
                source: event.data.source,
                recordedAt: event.data.recordedAt,
                status: 'active' as const,
                supersededBy: null,
                demoted: false,
                freshAt: event.data.recordedAt,
              },
            ]
          : context.facts,
    }),
    markSuperseded: assign(({ context, event }) => {
      if (event.type !== 'memory.fact_superseded') return {};
      let { facts, conflicts } = context;
      for (const factId of event.data.factIds) {
        facts = updateFact(facts, factId, { status: 'superseded', supersededBy: event.data.supersededBy });
        conflicts = withoutFact(conflicts, factId);
      }
      return { facts, conflicts };
    }),
    markConfirmed: assign({
      facts: ({ context, event }) =>
        event.type === 'memory.fact_confirmed'
          ? updateFact(context.facts, event.data.factId, { confidence: 'user-confirmed', freshAt: event.meta.occurredAt })
          : context.facts,
    }),
    markRetired: assign(({ context, event }) =>
      event.type === 'memory.fact_retired'
        ? { facts: updateFact(context.facts, event.data.factId, { status: 'retired' }), conflicts: withoutFact(context.conflicts, event.data.factId) }
        : {},
    ),
    openConflict: assign({
      conflicts: ({ context, event }) => {
        if (event.type !== 'memory.conflict_flagged') return context.conflicts;
        const existing = conflictOn(context, event.data.key);
        const factIds = [...new Set([...(existing?.factIds ?? []), ...event.data.factIds])];
        return [...context.conflicts.filter((conflict) => conflict.key !== event.data.key), { key: event.data.key, factIds }];
      },
    }),
    markNotified: assign({
      notified: ({ context, event }) => {
        if (event.type !== 'memory.conflict_notified') return context.notified;
        const told = context.notified.find((notice) => notice.key === event.data.key)?.factIds ?? [];
        const factIds = [...new Set([...told, ...event.data.factIds])];
        return [...context.notified.filter((notice) => notice.key !== event.data.key), { key: event.data.key, factIds }];
      },
    }),
    closeConflict: assign({
      conflicts: ({ context, event }) =>
        event.type === 'memory.conflict_resolved' ? context.conflicts.filter((conflict) => conflict.key !== event.data.key) : context.conflicts,
      // A later conflict on the key is a new one, told afresh.
      notified: ({ context, event }) =>
        event.type === 'memory.conflict_resolved' ? context.notified.filter((notice) => notice.key !== event.data.key) : context.notified,
    }),

    /**
     * Tells the scope's owner (the user, or the group's channel) that facts on `key`
     * disagree and asks which holds. The executor posts once per (scope, key, factIds):
     * asking twice posts nothing new. It then sends `conflictNotified`; until then the
     * notice is owed (see pendingEffects).
     */
    notifyConflict: (_, _params: { scope: string; key: string; factIds: readonly string[] }) => {},

    // consolidation
    foldConsolidation: assign({
      consolidation: ({ context, event }) =>
        isConsolidationEvent(event) ? foldConsolidation(context.consolidation, event) : context.consolidation,
    }),
    /**
     * Answers the open consolidation request with one model call and records the facts,
     * the daily log and `memory.consolidated` (runtime/memory/consolidation-executor.ts).
     * Owed until the request is closed (see pendingEffects).
     */
    consolidate: (_, _params: { scope: string; requestId: string }) => {},

    // ---- capacity (demotion) ----
    markDemoted: assign({
      facts: ({ context, event }) => {
        if (event.type !== 'memory.fact_demoted') return context.facts;
        const demoted = new Set(event.data.factIds);
        return context.facts.map((fact) => (demoted.has(fact.id) ? { ...fact, demoted: true } : fact));
      },
    }),
    markRestored: assign({
      facts: ({ context, event }) =>
        event.type === 'memory.fact_restored'
          ? updateFact(context.facts, event.data.factId, { demoted: false, freshAt: event.meta.occurredAt })
          : context.facts,
    }),
    /**
     * The scope's MEMORY.md may be over capacity: the enforce-memory-capacity workflow
     * works out which facts to demote (factsToDemote) and sends `demoteFacts`, or nothing.
     */
    enforceCapacity: (_, _params: { scope: string }) => {},
  },
}).createMachine({
  id: 'memory',
  context: ({ input }) => ({ scope: input.id, facts: [], conflicts: [], notified: [], consolidation: null }),
  initial: 'consistent',
  on: {
    recordFact: [
      {
        guard: 'isTakenFactId',
        actions: { type: 'reject', params: ({ context, event }) => ({ reason: `${describeFact(context, event.fact.id)}; a fact id is used once` }) },
      },
      {
        // Stating a demoted fact again uses it: it comes back to MEMORY.md (the new id is not recorded).
        guard: 'restatesADemotedFact',
        actions: {
          type: 'record',
          params: ({ context, event }) => ({
            type: 'memory.fact_restored',
            data: { factId: demotedRestatement(context, event.fact)?.id ?? '', cause: 'restated' as const, restatedAs: event.fact.id },
          }),
        },
      },
      {
        guard: 'restatesAnActiveFact',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({
            reason: `duplicate: ${activeFactsOn(context, event.fact.key)
              .filter((fact) => normalized(fact.statement) === normalized(event.fact.statement))
              .map((fact) => `fact ${fact.id}`)
              .join(', ')} on ${event.fact.key} already states this; nothing to record`,
          }),
        },
      },
      {
        guard: 'isFirstActiveFactOnKey',
        actions: { type: 'record', params: ({ event }) => ({ type: 'memory.fact_recorded', data: recordedData(event.fact, event.meta.issuedAt) }) },
      },
      {
        // A user's word over agents' facts that were in conflict: it replaces them all and ends the conflict.
        guard: 'supersedesEveryFactInConflict',
        actions: [
          { type: 'record', params: ({ event }) => ({ type: 'memory.fact_recorded', data: recordedData(event.fact, event.meta.issuedAt) }) },
          { type: 'record', params: ({ context, event }) => ({ type: 'memory.fact_superseded', data: automaticSupersession(context, event.fact) }) },
          { type: 'record', params: ({ event }) => ({ type: 'memory.conflict_resolved', data: { key: event.fact.key, keptFactId: event.fact.id } }) },
        ],
      },
      {
        guard: 'supersedesEveryActiveFactOnKey',
        actions: [
          { type: 'record', params: ({ event }) => ({ type: 'memory.fact_recorded', data: recordedData(event.fact, event.meta.issuedAt) }) },
          { type: 'record', params: ({ context, event }) => ({ type: 'memory.fact_superseded', data: automaticSupersession(context, event.fact) }) },
        ],
      },
      {
        actions: [
          { type: 'record', params: ({ event }) => ({ type: 'memory.fact_recorded', data: recordedData(event.fact, event.meta.issuedAt) }) },
          {
            type: 'record',
            params: ({ context, event }) => ({
              type: 'memory.conflict_flagged',
              data: { key: event.fact.key, factIds: [...activeFactsOn(context, event.fact.key).map((fact) => fact.id), event.fact.id] },
            }),
          },
        ],
      },
    ],
    supersedeFact: [
      {
        guard: 'namesUnknownFact',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `no fact ${event.factId} is recorded; there is nothing to supersede` }) },
      },
      {
        guard: 'namesInactiveFact',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({ reason: `${describeFact(context, event.factId)}; only an active fact can be superseded` }),
        },
      },
      {
        guard: 'isTakenFactId',
        actions: { type: 'reject', params: ({ context, event }) => ({ reason: `${describeFact(context, event.newFact.id)}; a fact id is used once` }) },
      },
      {
        guard: 'changesKey',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({
            reason: `fact ${event.factId} is about ${factById(context, event.factId)?.key}, the new fact about ${event.newFact.key}; a fact is superseded by one about the same key`,
          }),
        },
      },
      {
        guard: 'isOnConflictedKey',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({
            reason: `${event.newFact.key} has an open conflict between ${conflictOn(context, event.newFact.key)?.factIds.join(', ')}; resolve it with resolveConflict first`,
          }),
        },
      },
      {
        guard: 'restatesSupersededFact',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `duplicate: the new fact states what fact ${event.factId} already states` }) },
      },
      {
        guard: 'ranksBelowSupersededFact',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({
            reason: `an ${event.newFact.confidence} fact cannot supersede the ${factById(context, event.factId)?.confidence} fact ${event.factId}; record it instead, so the disagreement is flagged`,
          }),
        },
      },
      {
        actions: [
          { type: 'record', params: ({ event }) => ({ type: 'memory.fact_recorded', data: recordedData(event.newFact, event.meta.issuedAt) }) },
          {
            type: 'record',
            params: ({ event }) => ({
              type: 'memory.fact_superseded',
              data: { factIds: [event.factId], supersededBy: event.newFact.id, mode: 'requested' },
            }),
          },
        ],
      },
    ],
    confirmFact: [
      {
        guard: 'namesUnknownFact',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `no fact ${event.factId} is recorded; there is nothing to confirm` }) },
      },
      {
        guard: 'namesInactiveFact',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({ reason: `${describeFact(context, event.factId)}; only an active fact can be confirmed` }),
        },
      },
      {
        guard: 'isNotFromUser',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `only a user can confirm a fact; ${event.meta.actor} is not a user` }) },
      },
      {
        // The user's word already: confirming it again brings it back to MEMORY.md.
        guard: 'confirmsDemotedUsersWord',
        actions: { type: 'record', params: ({ event }) => ({ type: 'memory.fact_restored', data: { factId: event.factId, cause: 'confirmed' as const } }) },
      },
      {
        guard: 'confirmsDemotedFact',
        actions: [
          { type: 'record', params: ({ event }) => ({ type: 'memory.fact_confirmed', data: { factId: event.factId, confirmedBy: event.meta.actor } }) },
          { type: 'record', params: ({ event }) => ({ type: 'memory.fact_restored', data: { factId: event.factId, cause: 'confirmed' as const } }) },
        ],
      },
      {
        guard: 'isUsersWordAlready',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({
            reason: `fact ${event.factId} is ${factById(context, event.factId)?.confidence} already; only an agent's fact can be confirmed`,
          }),
        },
      },
      {
        actions: {
          type: 'record',
          params: ({ event }) => ({ type: 'memory.fact_confirmed', data: { factId: event.factId, confirmedBy: event.meta.actor } }),
        },
      },
    ],
    retireFact: [
      {
        guard: 'namesUnknownFact',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `no fact ${event.factId} is recorded; there is nothing to retire` }) },
      },
      {
        guard: 'namesInactiveFact',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({ reason: `${describeFact(context, event.factId)}; only an active fact can be retired` }),
        },
      },
      {
        guard: 'leavesOneFactInConflict',
        actions: [
          { type: 'record', params: ({ event }) => ({ type: 'memory.fact_retired', data: { factId: event.factId, reason: event.reason } }) },
          {
            type: 'record',
            params: ({ context, event }) => ({
              type: 'memory.conflict_resolved',
              data: { key: factById(context, event.factId)?.key ?? '', keptFactId: lastFactStandingWithout(context, event.factId) ?? '' },
            }),
          },
        ],
      },
      { actions: { type: 'record', params: ({ event }) => ({ type: 'memory.fact_retired', data: { factId: event.factId, reason: event.reason } }) } },
    ],
    resolveConflict: [
      {
        guard: 'keepsWhatItRetires',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `a conflict is resolved by keeping one fact and retiring another, not ${event.keepFactId} twice` }) },
      },
      {
        guard: 'namesUnknownOrInactiveConflictFact',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({
            reason: `${describeFact(context, isActive(context, event.keepFactId) ? event.retireFactId : event.keepFactId)}; a conflict is between active facts`,
          }),
        },
      },
      {
        guard: 'namesFactsNotInOneConflict',
        actions: {
          type: 'reject',
          params: ({ event }) => ({ reason: `facts ${event.keepFactId} and ${event.retireFactId} are not in one open conflict` }),
        },
      },
      {
        guard: 'endsConflict',
        actions: [
          {
            type: 'record',
            params: ({ event }) => ({
              type: 'memory.fact_retired',
              data: { factId: event.retireFactId, reason: `conflict resolved in favour of ${event.keepFactId}` },
            }),
          },
          {
            type: 'record',
            params: ({ context, event }) => ({
              type: 'memory.conflict_resolved',
              data: { key: factById(context, event.keepFactId)?.key ?? '', keptFactId: event.keepFactId },
            }),
          },
        ],
      },
      {
        // A conflict among three or more: this retires one, the rest stay in conflict.
        actions: {
          type: 'record',
          params: ({ event }) => ({
            type: 'memory.fact_retired',
            data: { factId: event.retireFactId, reason: `conflict resolved in favour of ${event.keepFactId}` },
          }),
        },
      },
    ],
    conflictNotified: [
      {
        guard: 'notifiesNoOpenConflict',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `no conflict on ${event.key} is open; there is nothing to have notified` }) },
      },
      {
        guard: 'notifiesNothingNew',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `the conflict on ${event.key} between ${event.factIds.join(', ')} was notified already` }) },
      },
      {
        actions: {
          type: 'record',
          params: ({ event }) => ({ type: 'memory.conflict_notified', data: { key: event.key, factIds: event.factIds, refs: event.refs } }),
        },
      },
    ],
    // ---- capacity (demotion) ----
    demoteFacts: [
      {
        guard: 'namesAFactTwice',
        actions: { type: 'reject', params: ({ event }) => ({ reason: `demoteFacts names a fact twice in ${event.factIds.join(', ')}` }) },
      },
      {
        guard: 'namesUndemotableFact',
        actions: {
          type: 'reject',
          params: ({ context, event }) => ({ reason: `${undemotable(context, event.factIds).join('; ')}; only a shown active fact can be demoted` }),
        },
      },
      {
        actions: {
          type: 'record',
          params: ({ event }) => ({
            type: 'memory.fact_demoted',
            data: { factIds: event.factIds, reason: 'capacity' as const, capacityLines: event.capacityLines },
          }),
        },
      },
    ],
    'memory.fact_demoted': { actions: 'markDemoted' },
    'memory.fact_restored': [
      { guard: 'mayOverflowMemoryFile', actions: ['markRestored', { type: 'enforceCapacity', params: ({ context }) => ({ scope: context.scope }) }] },
      { actions: 'markRestored' },
    ],
    'memory.fact_recorded': [
      { guard: 'mayOverflowMemoryFile', actions: ['addFact', { type: 'enforceCapacity', params: ({ context }) => ({ scope: context.scope }) }] },
      { actions: 'addFact' },
    ],

    'memory.conflict_notified': { actions: 'markNotified' },

    // consolidation
    requestConsolidation: consolidationCommand(1),
    startConsolidationAttempt: consolidationCommand(1),
    noteConsolidationAnswer: consolidationCommand(1),
    failConsolidationAttempt: consolidationCommand(1),
    failConsolidation: consolidationCommand(1),
    completeConsolidation: consolidationCommand(2),
    'memory.consolidation_requested': {
      actions: ['foldConsolidation', { type: 'consolidate', params: ({ context, event }) => ({ scope: context.scope, requestId: event.meta.eventId }) }],
    },
    'memory.consolidation_attempt_started': { actions: 'foldConsolidation' },
    'memory.consolidation_model_called': { actions: 'foldConsolidation' },
    'memory.consolidation_attempt_failed': { actions: 'foldConsolidation' },
    'memory.consolidation_failed': { actions: 'foldConsolidation' },
    'memory.consolidated': { actions: 'foldConsolidation' },
    'memory.fact_superseded': { actions: 'markSuperseded' },
    'memory.fact_confirmed': { actions: 'markConfirmed' },
    'memory.fact_retired': { actions: 'markRetired' },
    'memory.conflict_flagged': {
      target: '.conflicted',
      actions: [
        'openConflict',
        { type: 'notifyConflict', params: ({ context, event }) => ({ scope: context.scope, key: event.data.key, factIds: event.data.factIds }) },
      ],
    },
  },
  states: {
    consistent: {},
    conflicted: {
      on: {
        'memory.conflict_resolved': [
          { guard: 'resolvesLastOpenConflict', target: 'consistent', actions: 'closeConflict' },
          { actions: 'closeConflict' },
        ],
      },
    },
  },
});

type MemoryEffectRequest =
  | { type: 'notifyConflict'; params: { scope: string; key: string; factIds: readonly string[] } }
  | { type: 'consolidate'; params: { scope: string; requestId: string } }
  | { type: 'enforceCapacity'; params: { scope: string } };

export const memoryKind = defineActorKind({
  kind: 'memory',
  machine: memoryMachine,
  commands: memoryCommands,
  events: [...memoryEvents, ...dailyLogEvents],
  effects: ['notifyConflict', 'consolidate', 'enforceCapacity'],
  input: (id: string) => ({ id }),
  // An open conflict whose owner has not been told of every fact in it: a crash between
  // `memory.conflict_flagged` and the post would otherwise leave it told to nobody.
  // notifyConflict is keyed on the conflict and looks for its earlier post, and records
  // `memory.conflict_notified`, so a told conflict is never posted again.
  // An open consolidation request is owed its answer: the executor picks up where the
  // recorded steps left off (see runtime/memory/consolidation-executor.ts).
  // A crash between a fact and its demotion leaves MEMORY.md over capacity: demote on restart.
  pendingEffects: (snapshot): readonly MemoryEffectRequest[] => [
    ...snapshot.context.conflicts
      .filter((conflict) => conflict.factIds.length >= 2 && untoldFactIds(snapshot.context, conflict).length > 0)
      .map((conflict): MemoryEffectRequest => ({ type: 'notifyConflict', params: { scope: snapshot.context.scope, key: conflict.key, factIds: conflict.factIds } })),
    ...(snapshot.context.consolidation
      ? [{ type: 'consolidate' as const, params: { scope: snapshot.context.scope, requestId: snapshot.context.consolidation.requestId } }]
      : []),
    ...(snapshot.context.scope.startsWith('group.') && factsToDemote(snapshot.context, MEMORY_FILE_CAPACITY_LINES).length > 0
      ? [{ type: 'enforceCapacity' as const, params: { scope: snapshot.context.scope } }]
      : []),
  ],
});
