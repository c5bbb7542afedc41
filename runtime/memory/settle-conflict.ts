/**
 * How a person settles what memory holds on a key: which memory-actor commands a choice
 * becomes. Pure: the Slack buttons (runtime/channels/slack/conflict-buttons.ts) and the CLI
 * (`ledgerclaw memory resolve | confirm | retire`) both plan here, on the actor's state,
 * and send what is planned signed as the person. The memory actor still decides each
 * command, so a plan made on a state that moved since is refused there, never half-guessed.
 *
 * - Keep one fact of a conflict: `resolveConflict` keeping it, once per other fact (the
 *   last one closes the conflict).
 * - Keep neither: `retireFact` for every fact in the conflict.
 * - Confirm the one active fact on a key (an agent's, made the user's word): `confirmFact`.
 * - Retire the one active fact on a key: `retireFact`.
 *
 * A plan is bound to what the person saw: given the facts a notice showed, a conflict that
 * has gained a fact since is refused as stale (a newer notice asks about it), and a kept
 * fact that is no longer in the conflict is refused too. Facts settled meanwhile by
 * someone else only shrink the conflict; what is left is settled as chosen.
 */
import { createHash } from 'node:crypto';
import type { MemoryCommand, MemoryContext, MemoryFact } from '../../actors/memory.js';

/** Who settles: the `meta.actor` the commands are signed with (`user:U123`, `cli`). */
export type Settler = string;

/** A fact id to keep, or null for neither. */
export type KeepChoice = string | null;

export type SettleProblem = 'no-such-key' | 'no-open-conflict' | 'stale' | 'not-in-conflict' | 'ambiguous' | 'in-conflict';

/** Why nothing can be planned, in words for the person, and which facts stand on the key now. */
export interface SettleRefusal {
  readonly ok: false;
  readonly problem: SettleProblem;
  readonly reason: string;
  readonly standing: readonly MemoryFact[];
}

export interface PlannedCommand {
  readonly command: MemoryCommand;
  /** Keys the command: the same decision sent twice (a double click, a retried CLI call) is applied once. */
  readonly commandId: string;
}

export interface SettlePlan {
  readonly ok: true;
  readonly key: string;
  readonly kept: MemoryFact | null;
  readonly retired: readonly MemoryFact[];
  readonly confirmed: MemoryFact | null;
  readonly commands: readonly PlannedCommand[];
}

export type SettleOutcome = SettlePlan | SettleRefusal;

const factOf = (memory: MemoryContext, id: string) => memory.facts.find((fact) => fact.id === id);
const activeOn = (memory: MemoryContext, key: string) => memory.facts.filter((fact) => fact.key === key && fact.status === 'active');
const openConflictOn = (memory: MemoryContext, key: string) => memory.conflicts.find((conflict) => conflict.key === key && conflict.factIds.length >= 2);

function refusal(memory: MemoryContext, key: string, problem: SettleProblem, reason: string): SettleRefusal {
  return { ok: false, problem, reason, standing: activeOn(memory, key) };
}

function commandId(memory: MemoryContext, parts: readonly string[]): string {
  const digest = createHash('sha256').update(JSON.stringify([memory.scope, ...parts])).digest('hex');
  return `memory-settle:${digest.slice(0, 40)}`;
}

/** The facts of the open conflict on `key`, oldest first; a refusal when there is none. */
export function conflictFacts(memory: MemoryContext, key: string): { readonly ok: true; readonly facts: readonly MemoryFact[] } | SettleRefusal {
  if (!memory.facts.some((fact) => fact.key === key)) return refusal(memory, key, 'no-such-key', `no fact on ${key} is recorded in ${memory.scope}`);
  const conflict = openConflictOn(memory, key);
  if (!conflict) return refusal(memory, key, 'no-open-conflict', `${key} in ${memory.scope} has no open conflict; ${describeStanding(activeOn(memory, key))}`);
  return { ok: true, facts: conflict.factIds.map((id) => factOf(memory, id)).filter((fact): fact is MemoryFact => fact !== undefined) };
}

/** `old` is the oldest fact of the open conflict on `key`, `new` the newest, `none` neither. */
export function keepByAge(memory: MemoryContext, key: string, keep: 'old' | 'new' | 'none'): KeepChoice | SettleRefusal {
  const conflict = conflictFacts(memory, key);
  if (!conflict.ok) return conflict;
  if (keep === 'none') return null;
  const { facts } = conflict;
  const chosen = keep === 'old' ? facts[0] : facts[facts.length - 1];
  return chosen!.id;
}

/**
 * Settles the open conflict on `key`: keeps `keep` (a fact id) and retires the rest, or
 * with `keep` null retires them all. `shown` are the facts the settler was shown (a
 * notice's); without it, the conflict as it stands now is settled.
 */
export function planResolve(
  memory: MemoryContext,
  request: { readonly key: string; readonly keep: KeepChoice; readonly shown?: readonly string[]; readonly by: Settler },
): SettleOutcome {
  const { key, keep, shown } = request;
  const conflict = conflictFacts(memory, key);
  if (!conflict.ok) {
    // The notice's own conflict was settled before this click: say so, and how it stands.
    if (shown && conflict.problem === 'no-open-conflict') return { ...conflict, reason: `this conflict on ${key} is settled already; ${describeStanding(conflict.standing)}` };
    return conflict;
  }
  const { facts } = conflict;
  const ids = facts.map((fact) => fact.id);
  if (shown) {
    const added = ids.filter((id) => !shown.includes(id));
    if (added.length > 0) {
      return refusal(memory, key, 'stale', `the conflict on ${key} has gained fact ${added.join(', ')} since this notice was posted; settle it from the newer notice`);
    }
  }
  if (keep !== null && !ids.includes(keep)) {
    const fact = factOf(memory, keep);
    const why = fact ? `fact ${keep} is ${fact.status}` : `no fact ${keep} is recorded`;
    return refusal(memory, key, 'not-in-conflict', `${why}, so it cannot be kept in the conflict on ${key} (it is between ${ids.join(', ')})`);
  }
  const kept = keep === null ? null : facts.find((fact) => fact.id === keep)!;
  const retired = facts.filter((fact) => fact.id !== keep);
  const commands: PlannedCommand[] = retired.map((fact) =>
    kept
      ? { command: { type: 'resolveConflict', keepFactId: kept.id, retireFactId: fact.id }, commandId: commandId(memory, ['resolve', kept.id, fact.id]) }
      : {
          command: { type: 'retireFact', factId: fact.id, reason: `conflict on ${key} settled by ${request.by}: neither fact kept` },
          commandId: commandId(memory, ['retire-neither', fact.id]),
        },
  );
  return { ok: true, key, kept, retired, confirmed: null, commands };
}

/** Confirms the one active fact on `key`, as the user `by` (`user:<id>`): it becomes their word. */
export function planConfirm(memory: MemoryContext, request: { readonly key: string; readonly by: Settler }): SettleOutcome {
  const sole = soleActiveFact(memory, request.key, 'confirm');
  if (!sole.ok) return sole;
  const { fact } = sole;
  return { ok: true, key: request.key, kept: null, retired: [], confirmed: fact, commands: [{ command: { type: 'confirmFact', factId: fact.id }, commandId: commandId(memory, ['confirm', fact.id, request.by]) }] };
}

/** Retires the one active fact on `key`. */
export function planRetire(memory: MemoryContext, request: { readonly key: string; readonly reason: string; readonly by: Settler }): SettleOutcome {
  const sole = soleActiveFact(memory, request.key, 'retire');
  if (!sole.ok) return sole;
  const { fact } = sole;
  return {
    ok: true,
    key: request.key,
    kept: null,
    retired: [fact],
    confirmed: null,
    commands: [{ command: { type: 'retireFact', factId: fact.id, reason: request.reason }, commandId: commandId(memory, ['retire', fact.id]) }],
  };
}

function soleActiveFact(memory: MemoryContext, key: string, verb: 'confirm' | 'retire'): { ok: true; fact: MemoryFact } | SettleRefusal {
  if (!memory.facts.some((fact) => fact.key === key)) return refusal(memory, key, 'no-such-key', `no fact on ${key} is recorded in ${memory.scope}`);
  const active = activeOn(memory, key);
  if (active.length === 0) return refusal(memory, key, 'no-such-key', `${key} in ${memory.scope} has no active fact (every fact on it is superseded or retired); nothing to ${verb}`);
  if (openConflictOn(memory, key)) {
    return refusal(memory, key, 'in-conflict', `${key} in ${memory.scope} has an open conflict between facts ${active.map((fact) => fact.id).join(', ')}; settle it with \`memory resolve\` first`);
  }
  if (active.length > 1) return refusal(memory, key, 'ambiguous', `${key} in ${memory.scope} has ${active.length} active facts (${active.map((fact) => fact.id).join(', ')}); which one to ${verb} is ambiguous`);
  return { ok: true, fact: active[0]! };
}

/** Why a command of a plan was not applied: the actor's reason, and what went before it. */
export class SettlementRefusedError extends Error {
  override readonly name = 'SettlementRefusedError';
  constructor(
    readonly reason: string,
    readonly applied: number,
  ) {
    super(reason);
  }
}

export type SendSettleCommand = (planned: PlannedCommand) => Promise<{ readonly status: 'accepted' } | { readonly status: 'rejected'; readonly reason: string }>;

/**
 * Sends a plan's commands in order, through `send` (which signs them as the settler). The
 * first refusal stops it: the actor decided on a state that moved since the plan.
 */
export async function applySettlement(plan: SettlePlan, send: SendSettleCommand): Promise<void> {
  for (const [index, planned] of plan.commands.entries()) {
    const result = await send(planned);
    if (result.status === 'rejected') throw new SettlementRefusedError(result.reason, index);
  }
}

function describeStanding(standing: readonly MemoryFact[]): string {
  if (standing.length === 0) return 'no fact on it is active';
  return `it holds ${standing.map((fact) => `"${oneLine(fact.statement)}" (${fact.id})`).join(' and ')}`;
}

/** What a settlement did, in one line for a person: the Slack notice's update, the CLI's output. */
export function describeSettlement(plan: SettlePlan, by: string): string {
  if (plan.confirmed) return `${by} confirmed "${oneLine(plan.confirmed.statement)}" (${plan.confirmed.id}) on ${plan.key}`;
  const retired = plan.retired.map((fact) => `"${oneLine(fact.statement)}" (${fact.id})`).join(', ');
  if (plan.kept) return `${by} kept "${oneLine(plan.kept.statement)}" (${plan.kept.id}) on ${plan.key}; retired ${retired}`;
  return `${by} retired ${retired} on ${plan.key}${plan.retired.length > 1 ? ': neither is kept' : ''}`;
}

function oneLine(text: string): string {
  const line = text.trim().replace(/\s+/g, ' ');
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}
