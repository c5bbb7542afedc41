/**
 * MEMORY.md capacity on the memory actor: past 200 lines the lowest-ranked facts are
 * demoted (never deleted), a demoted fact still holds its key, and it comes back when a
 * user confirms it or a new fact states it again.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotFrom } from 'xstate';
import { factsToDemote, MEMORY_FILE_CAPACITY_LINES } from '../../../actors/memory-capacity.js';
import { memoryKind, type MemoryContext, type memoryMachine } from '../../../actors/memory.js';
import { enforceMemoryCapacity } from '../../../runtime/workflows/enforce-memory-capacity.js';
import type { WorkflowCommand } from '../../../runtime/workflows/workflow.js';
import { spec, type ActorSpec, type GivenEvent } from '../../support/actor-spec.js';
import { workflowSpec } from '../../support/workflow-spec.js';

const SCOPE = 'group.T1.C1';
const SOURCE = { kind: 'message', ref: 'T1.C1/1712345678.000100' } as const;
// A day before the spec's clock (SPEC_TIME), so a confirmation or a restoration folded in the spec is the freshest.
const BASE = Date.parse('2026-01-04T09:00:00.000Z');
const at = (seconds: number) => new Date(BASE + seconds * 1000).toISOString();

type Confidence = 'user-stated' | 'user-confirmed' | 'agent-observed' | 'agent-inferred';

function recorded(index: number, confidence: Confidence = 'agent-observed', statement = `Statement number ${index}`): GivenEvent {
  return {
    type: 'memory.fact_recorded',
    data: { factId: `f${index}`, key: `topic.k${index}`, statement, confidence, category: index % 2 === 0 ? 'project' : 'reference', source: SOURCE, recordedAt: at(index) },
  };
}

const many = (count: number, confidence: Confidence = 'agent-observed') => Array.from({ length: count }, (_, index) => recorded(index, confidence));
const contextOf = (actor: ActorSpec) => actor.context as MemoryContext;
const factOf = (actor: ActorSpec, id: string) => contextOf(actor).facts.find((fact) => fact.id === id);
const pendingEffectsOf = (actor: ActorSpec) => memoryKind.pendingEffects!(actor.snapshot as SnapshotFrom<typeof memoryMachine>);
const demoted = (factIds: string[]): GivenEvent => ({ type: 'memory.fact_demoted', data: { factIds, reason: 'capacity', capacityLines: 200 } });

describe('the demotion policy (factsToDemote)', () => {
  it('demotes nothing while the file fits', () => {
    expect(factsToDemote(contextOf(spec(memoryKind, SCOPE).given(...many(150))))).toEqual([]);
  });

  it('demotes the oldest agent facts past 200 lines, so the file fits exactly', () => {
    const actor = spec(memoryKind, SCOPE).given(...many(300));
    const out = factsToDemote(contextOf(actor));
    // 3 header lines, 2 category headings and a blank between them, 1 trailer: 193 facts fit.
    expect(out).toHaveLength(300 - (MEMORY_FILE_CAPACITY_LINES - 3 - 3 - 1));
    // The oldest go first: f0 .. f106.
    expect(out).toContain('f0');
    expect(out).not.toContain('f299');
  });

  it("keeps a user's word over newer agent facts: confidence ranks before age", () => {
    const actor = spec(memoryKind, SCOPE).given(recorded(0, 'user-stated'), ...many(300).slice(1));
    expect(factsToDemote(contextOf(actor))).not.toContain('f0');
  });

  it('never demotes a fact in an open conflict', () => {
    const actor = spec(memoryKind, SCOPE).given(
      ...many(250),
      { type: 'memory.fact_recorded', data: { factId: 'x0', key: 'topic.k0', statement: 'Disagrees', confidence: 'agent-inferred', category: 'project', source: SOURCE, recordedAt: at(0) } },
      { type: 'memory.conflict_flagged', data: { key: 'topic.k0', factIds: ['f0', 'x0'] } },
    );
    const out = factsToDemote(contextOf(actor));
    expect(out.length).toBeGreaterThan(0);
    expect(out).not.toContain('f0');
    expect(out).not.toContain('x0');
  });
});

describe('asking for demotion', () => {
  it('asks for enforceCapacity when a group fact may overflow MEMORY.md, and not for a small group', () => {
    expect(spec(memoryKind, SCOPE).given(...many(50)).effects.filter((effect) => effect.type === 'enforceCapacity')).toEqual([]);
    const effects = spec(memoryKind, SCOPE).given(...many(250)).effects.filter((effect) => effect.type === 'enforceCapacity');
    expect(effects.length).toBeGreaterThan(0);
    expect(effects[0]).toEqual({ type: 'enforceCapacity', params: { scope: SCOPE } });
  });

  it("never asks for a user's private scope: it has no MEMORY.md", () => {
    expect(spec(memoryKind, 'user.U1').given(...many(250)).effects.filter((effect) => effect.type === 'enforceCapacity')).toEqual([]);
  });

  it('leaves the demotion pending across a restart until it is recorded', () => {
    const over = spec(memoryKind, SCOPE).given(...many(250));
    expect(pendingEffectsOf(over)).toEqual([{ type: 'enforceCapacity', params: { scope: SCOPE } }]);
    expect(pendingEffectsOf(over.given(demoted(factsToDemote(contextOf(over)))))).toEqual([]);
  });
});

describe('demoteFacts', () => {
  const full = () => spec(memoryKind, SCOPE).given(...many(3));

  it('records memory.fact_demoted; the fact stays active', () => {
    const after = full()
      .when({ type: 'demoteFacts', factIds: ['f0'], capacityLines: 200 }, { actor: 'runtime' })
      .thenRecorded([{ type: 'memory.fact_demoted', data: { factIds: ['f0'], reason: 'capacity', capacityLines: 200 } }]);
    expect(factOf(after, 'f0')).toMatchObject({ status: 'active', demoted: true });
  });

  it('refuses a fact demoted already, an unknown one, a retired one and one in a conflict', () => {
    full().given(demoted(['f0'])).when({ type: 'demoteFacts', factIds: ['f0'], capacityLines: 200 }).thenRejected('fact f0 is demoted already');
    full().when({ type: 'demoteFacts', factIds: ['nope'], capacityLines: 200 }).thenRejected('no fact nope is recorded');
    full()
      .given({ type: 'memory.fact_retired', data: { factId: 'f1', reason: 'wrong' } })
      .when({ type: 'demoteFacts', factIds: ['f1'], capacityLines: 200 })
      .thenRejected('fact f1 is retired');
    full()
      .given(
        { type: 'memory.fact_recorded', data: { factId: 'x0', key: 'topic.k0', statement: 'Other', confidence: 'agent-observed', category: 'project', source: SOURCE, recordedAt: at(9) } },
        { type: 'memory.conflict_flagged', data: { key: 'topic.k0', factIds: ['f0', 'x0'] } },
      )
      .when({ type: 'demoteFacts', factIds: ['f0'], capacityLines: 200 })
      .thenRejected('in the open conflict on topic.k0');
    full().when({ type: 'demoteFacts', factIds: ['f0', 'f0'], capacityLines: 200 }).thenRejected('names a fact twice');
  });

  it('a demoted fact still holds its key: a disagreeing fact flags a conflict with it', () => {
    full()
      .given(demoted(['f0']))
      .when({ type: 'recordFact', fact: { id: 'x0', key: 'topic.k0', statement: 'Something else', confidence: 'agent-observed', source: SOURCE } })
      .thenRecorded([
        { type: 'memory.fact_recorded', data: expect.objectContaining({ factId: 'x0' }) as never },
        { type: 'memory.conflict_flagged', data: { key: 'topic.k0', factIds: ['f0', 'x0'] } },
      ]);
  });

  it("a demoted agent fact is still superseded by a user's word", () => {
    full()
      .given(demoted(['f0']))
      .when({ type: 'recordFact', fact: { id: 'u0', key: 'topic.k0', statement: 'The truth', confidence: 'user-stated', source: SOURCE } })
      .thenRecorded([
        { type: 'memory.fact_recorded', data: expect.objectContaining({ factId: 'u0' }) as never },
        { type: 'memory.fact_superseded', data: { factIds: ['f0'], supersededBy: 'u0', mode: 'automatic' } },
      ]);
  });
});

describe('restoring a demoted fact', () => {
  const withDemoted = () => spec(memoryKind, SCOPE).given(...many(3), demoted(['f0']));

  it('restores it when a new recordFact states it again, instead of refusing a duplicate', () => {
    const after = withDemoted()
      .when({ type: 'recordFact', fact: { id: 'again', key: 'topic.k0', statement: '  Statement   number 0 ', confidence: 'agent-observed', source: SOURCE } }, { issuedAt: at(1000) })
      .thenRecorded([{ type: 'memory.fact_restored', data: { factId: 'f0', cause: 'restated', restatedAs: 'again' } }]);
    expect(factOf(after, 'f0')).toMatchObject({ demoted: false, freshAt: expect.any(String) as never });
    expect(factOf(after, 'again')).toBeUndefined();
  });

  it('still refuses a duplicate of a shown fact', () => {
    withDemoted()
      .when({ type: 'recordFact', fact: { id: 'again', key: 'topic.k1', statement: 'Statement number 1', confidence: 'agent-observed', source: SOURCE } })
      .thenRejected('duplicate');
  });

  it("restores and confirms an agent's demoted fact a user confirms", () => {
    withDemoted()
      .when({ type: 'confirmFact', factId: 'f0' }, { actor: 'user:U7' })
      .thenRecorded([
        { type: 'memory.fact_confirmed', data: { factId: 'f0', confirmedBy: 'user:U7' } },
        { type: 'memory.fact_restored', data: { factId: 'f0', cause: 'confirmed' } },
      ]);
  });

  it("restores a user's demoted fact a user confirms again", () => {
    spec(memoryKind, SCOPE)
      .given(recorded(0, 'user-stated'), demoted(['f0']))
      .when({ type: 'confirmFact', factId: 'f0' }, { actor: 'user:U7' })
      .thenRecorded([{ type: 'memory.fact_restored', data: { factId: 'f0', cause: 'confirmed' } }]);
  });

  it('never lets an agent restore by confirming', () => {
    withDemoted().when({ type: 'confirmFact', factId: 'f0' }, { actor: 'agent:run-1' }).thenRejected('only a user can confirm');
  });

  it('a restored fact ranks as freshly used, so the next demotion does not take it straight back', () => {
    const over = spec(memoryKind, SCOPE).given(...many(300));
    const first = factsToDemote(contextOf(over));
    const restored = over.given(demoted(first), { type: 'memory.fact_restored', data: { factId: 'f0', cause: 'restated' } });
    const next = factsToDemote(contextOf(restored));
    expect(next).toHaveLength(1);
    expect(next).not.toContain('f0');
  });
});

describe('workflow memory.enforceCapacity', () => {
  it('sends one demoteFacts naming every fact over capacity', () => {
    const over = spec(memoryKind, SCOPE).given(...many(300));
    workflowSpec(enforceMemoryCapacity)
      .given({ memory: over })
      .when({ scope: SCOPE })
      .thenSends([{ kind: 'memory', id: SCOPE, command: { type: 'demoteFacts', factIds: factsToDemote(contextOf(over)), capacityLines: 200 } }]);
  });

  it('sends nothing when the file fits', () => {
    workflowSpec(enforceMemoryCapacity).given({ memory: spec(memoryKind, SCOPE).given(...many(10)) }).when({ scope: SCOPE }).thenSends([]);
  });

  it('counts a refusal as done when the facts are demoted already, and not when one is shown', () => {
    const command: WorkflowCommand = { kind: 'memory', id: SCOPE, command: { type: 'demoteFacts', factIds: ['f0', 'f1'], capacityLines: 200 } };
    workflowSpec(enforceMemoryCapacity).refused(command, spec(memoryKind, SCOPE).given(...many(3), demoted(['f0', 'f1']))).when({ scope: SCOPE }).isAlreadyDone();
    workflowSpec(enforceMemoryCapacity).refused(command, spec(memoryKind, SCOPE).given(...many(3), demoted(['f0']))).when({ scope: SCOPE }).isRefused();
  });
});
