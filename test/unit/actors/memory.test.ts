/**
 * The memory actor: facts per scope, a user's word replacing an agent's, disagreements
 * flagged and kept until someone resolves them, duplicates refused.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotFrom } from 'xstate';
import { memoryKind, supersedesAutomatically, type memoryMachine } from '../../../actors/memory.js';
import { spec, type ActorSpec, type GivenEvent } from '../../support/actor-spec.js';

const SCOPE = 'group.T1.C1';
const KEY = 'vendor.acme.payment_terms';
const OTHER_KEY = 'vendor.acme.contact';
const SPEC_TIME = '2026-01-05T09:00:00.000Z';
const SOURCE = { kind: 'message', ref: 'T1.C1/1712345678.000100' };

type Confidence = 'user-stated' | 'user-confirmed' | 'agent-observed' | 'agent-inferred';

function newFact(id: string, statement: string, confidence: Confidence = 'agent-observed', key = KEY) {
  return { id, key, statement, confidence, source: SOURCE };
}

function recorded(id: string, statement: string, confidence: Confidence = 'agent-observed', key = KEY): GivenEvent {
  return { type: 'memory.fact_recorded', data: { factId: id, key, statement, confidence, category: 'project', source: SOURCE, recordedAt: SPEC_TIME } };
}

function flagged(factIds: string[], key = KEY): GivenEvent {
  return { type: 'memory.conflict_flagged', data: { key, factIds } };
}

function effectsOf(actor: ActorSpec, ...events: GivenEvent[]) {
  return actor.given(...events).effects.slice(actor.effects.length);
}

interface Ctx {
  facts: { id: string; status: string; confidence: string; category: string; supersededBy: string | null }[];
  conflicts: { key: string; factIds: string[] }[];
}
const factOf = (actor: ActorSpec, id: string) => (actor.context as Ctx).facts.find((fact) => fact.id === id);
const conflictsOf = (actor: ActorSpec) => (actor.context as Ctx).conflicts;

const empty = () => spec(memoryKind, SCOPE);
const pendingEffectsOf = (actor: ActorSpec) => memoryKind.pendingEffects!(actor.snapshot as SnapshotFrom<typeof memoryMachine>);
const notified = (factIds: string[]): GivenEvent => ({ type: 'memory.conflict_notified', data: { key: KEY, factIds, refs: ['1712345678.000200'] } });
const holding = () => empty().given(recorded('f1', 'Net 30'));
const conflicted = () => holding().given(recorded('f2', 'Net 45', 'agent-inferred'), flagged(['f1', 'f2']));

describe('the confidence rule', () => {
  it("lets only a user's word replace an agent's unasked", () => {
    expect(supersedesAutomatically('user-stated', 'agent-observed')).toBe(true);
    expect(supersedesAutomatically('user-confirmed', 'agent-inferred')).toBe(true);
    expect(supersedesAutomatically('agent-observed', 'agent-inferred')).toBe(false);
    expect(supersedesAutomatically('user-confirmed', 'user-stated')).toBe(false);
    expect(supersedesAutomatically('user-stated', 'user-confirmed')).toBe(false);
    expect(supersedesAutomatically('agent-inferred', 'user-stated')).toBe(false);
  });
});

describe('a consistent memory', () => {
  it('starts empty and consistent, named by its scope', () => {
    expect(empty().state).toBe('consistent');
    expect(empty().context).toEqual({ scope: SCOPE, facts: [], conflicts: [], notified: [], consolidation: null });
  });

  it('records a first fact on a key, dated by the command', () => {
    const after = empty()
      .when({ type: 'recordFact', fact: newFact('f1', 'Net 30') }, { issuedAt: '2026-02-01T10:00:00.000Z' })
      .thenRecorded([
        {
          type: 'memory.fact_recorded',
          data: { factId: 'f1', key: KEY, statement: 'Net 30', confidence: 'agent-observed', category: 'project', source: SOURCE, recordedAt: '2026-02-01T10:00:00.000Z' },
        },
      ]);
    expect(after.state).toBe('consistent');
    expect(factOf(after, 'f1')).toMatchObject({ status: 'active', key: KEY, statement: 'Net 30', supersededBy: null });
  });

  it('records the category a fact is given, and project when it is given none', () => {
    empty()
      .when({ type: 'recordFact', fact: { ...newFact('f1', 'Alice runs procurement'), category: 'user' } }, { issuedAt: SPEC_TIME })
      .thenRecorded([
        {
          type: 'memory.fact_recorded',
          data: { factId: 'f1', key: KEY, statement: 'Alice runs procurement', confidence: 'agent-observed', category: 'user', source: SOURCE, recordedAt: SPEC_TIME },
        },
      ]);
    expect(factOf(holding(), 'f1')?.category).toBe('project');
  });

  it('uses a fact id once, even after the fact is gone', () => {
    holding().when({ type: 'recordFact', fact: newFact('f1', 'Net 60', 'user-stated', OTHER_KEY) }).thenRejected('fact f1 is active; a fact id is used once');
    holding()
      .given({ type: 'memory.fact_retired', data: { factId: 'f1', reason: 'wrong' } })
      .when({ type: 'recordFact', fact: newFact('f1', 'Net 60') })
      .thenRejected('fact f1 is retired');
  });

  it('rejects the same statement on the same key as a duplicate, whatever the spacing', () => {
    holding().when({ type: 'recordFact', fact: newFact('f2', '  Net   30 ', 'user-stated') }).thenRejected(/duplicate: fact f1 on vendor.acme.payment_terms already states this/);
  });

  it('records the same statement on another key', () => {
    holding()
      .when({ type: 'recordFact', fact: newFact('f2', 'Net 30', 'agent-observed', OTHER_KEY) })
      .thenRecorded([recorded('f2', 'Net 30', 'agent-observed', OTHER_KEY)]);
  });

  it("replaces an agent's fact with a user's statement, without a conflict", () => {
    const events = [recorded('f2', 'Net 45', 'user-stated'), { type: 'memory.fact_superseded', data: { factIds: ['f1'], supersededBy: 'f2', mode: 'automatic' } }];
    holding().when({ type: 'recordFact', fact: newFact('f2', 'Net 45', 'user-stated') }).thenRecorded(events);
    const after = holding().given(...events);
    expect(after.state).toBe('consistent');
    expect(factOf(after, 'f1')).toMatchObject({ status: 'superseded', supersededBy: 'f2' });
    expect(factOf(after, 'f2')).toMatchObject({ status: 'active' });
    expect(effectsOf(holding(), ...events)).toEqual([]);
  });

  it("replaces an agent's inference with a user-confirmed fact", () => {
    empty()
      .given(recorded('f1', 'Net 30', 'agent-inferred'))
      .when({ type: 'recordFact', fact: newFact('f2', 'Net 45', 'user-confirmed') })
      .thenRecorded([recorded('f2', 'Net 45', 'user-confirmed'), { type: 'memory.fact_superseded', data: { factIds: ['f1'], supersededBy: 'f2', mode: 'automatic' } }]);
  });

  it("flags an agent's observation that contradicts an agent's inference, though it ranks higher", () => {
    const before = empty().given(recorded('f1', 'Net 30', 'agent-inferred'));
    const events = [recorded('f2', 'Net 45', 'agent-observed'), flagged(['f1', 'f2'])];
    before.when({ type: 'recordFact', fact: newFact('f2', 'Net 45', 'agent-observed') }).thenRecorded(events);
    expect(before.given(...events).state).toBe('conflicted');
  });

  it("flags an agent's fact that contradicts a user's, never overriding the user", () => {
    empty()
      .given(recorded('f1', 'Net 30', 'user-stated'))
      .when({ type: 'recordFact', fact: newFact('f2', 'Net 45', 'agent-observed') })
      .thenRecorded([recorded('f2', 'Net 45', 'agent-observed'), flagged(['f1', 'f2'])]);
  });

  it('flags two users who disagree, whichever user confidence is newer', () => {
    empty()
      .given(recorded('f1', 'Net 30', 'user-stated'))
      .when({ type: 'recordFact', fact: newFact('f2', 'Net 45', 'user-confirmed') })
      .thenRecorded([recorded('f2', 'Net 45', 'user-confirmed'), flagged(['f1', 'f2'])]);
    empty()
      .given(recorded('f1', 'Net 30', 'user-confirmed'))
      .when({ type: 'recordFact', fact: newFact('f2', 'Net 45', 'user-stated') })
      .thenRecorded([recorded('f2', 'Net 45', 'user-stated'), flagged(['f1', 'f2'])]);
  });

  it('supersedes a fact on request', () => {
    const after = holding()
      .when({ type: 'supersedeFact', factId: 'f1', newFact: newFact('f2', 'Net 45', 'agent-observed') })
      .thenRecorded([recorded('f2', 'Net 45'), { type: 'memory.fact_superseded', data: { factIds: ['f1'], supersededBy: 'f2', mode: 'requested' } }]);
    expect(factOf(after, 'f1')).toMatchObject({ status: 'superseded', supersededBy: 'f2' });
    expect(after.state).toBe('consistent');
  });

  it("lets a user replace their own word on request", () => {
    empty()
      .given(recorded('f1', 'Net 30', 'user-confirmed'))
      .when({ type: 'supersedeFact', factId: 'f1', newFact: newFact('f2', 'Net 45', 'user-stated') })
      .thenRecorded([recorded('f2', 'Net 45', 'user-stated'), { type: 'memory.fact_superseded', data: { factIds: ['f1'], supersededBy: 'f2', mode: 'requested' } }]);
  });

  it('refuses a supersession that is impossible, saying why', () => {
    holding().when({ type: 'supersedeFact', factId: 'f9', newFact: newFact('f2', 'Net 45') }).thenRejected('no fact f9 is recorded; there is nothing to supersede');
    holding()
      .given({ type: 'memory.fact_retired', data: { factId: 'f1', reason: 'stale' } })
      .when({ type: 'supersedeFact', factId: 'f1', newFact: newFact('f2', 'Net 45') })
      .thenRejected('fact f1 is retired; only an active fact can be superseded');
    holding()
      .given(recorded('f2', 'Someone', 'agent-observed', OTHER_KEY))
      .when({ type: 'supersedeFact', factId: 'f1', newFact: newFact('f2', 'Net 45') })
      .thenRejected('fact f2 is active; a fact id is used once');
    holding()
      .when({ type: 'supersedeFact', factId: 'f1', newFact: newFact('f2', 'Net 45', 'agent-observed', OTHER_KEY) })
      .thenRejected(/superseded by one about the same key/);
    holding().when({ type: 'supersedeFact', factId: 'f1', newFact: newFact('f2', 'Net  30') }).thenRejected('duplicate: the new fact states what fact f1 already states');
    empty()
      .given(recorded('f1', 'Net 30', 'user-stated'))
      .when({ type: 'supersedeFact', factId: 'f1', newFact: newFact('f2', 'Net 45', 'agent-inferred') })
      .thenRejected('an agent-inferred fact cannot supersede the user-stated fact f1');
  });

  it("records a user's confirmation of an agent's fact", () => {
    const after = holding()
      .when({ type: 'confirmFact', factId: 'f1' }, { actor: 'user:U2' })
      .thenRecorded([{ type: 'memory.fact_confirmed', data: { factId: 'f1', confirmedBy: 'user:U2' } }]);
    expect(factOf(after, 'f1')).toMatchObject({ confidence: 'user-confirmed', status: 'active' });
  });

  it('refuses a confirmation that is not a user confirming an active agent fact', () => {
    holding().when({ type: 'confirmFact', factId: 'f1' }, { actor: 'agent:run-42' }).thenRejected('only a user can confirm a fact; agent:run-42 is not a user');
    holding().when({ type: 'confirmFact', factId: 'f9' }).thenRejected('no fact f9 is recorded');
    empty().given(recorded('f1', 'Net 30', 'user-stated')).when({ type: 'confirmFact', factId: 'f1' }).thenRejected('fact f1 is user-stated already');
    holding()
      .given({ type: 'memory.fact_confirmed', data: { factId: 'f1', confirmedBy: 'user:U2' } })
      .when({ type: 'confirmFact', factId: 'f1' })
      .thenRejected('fact f1 is user-confirmed already');
    holding()
      .given(recorded('f2', 'Net 45', 'user-stated'), { type: 'memory.fact_superseded', data: { factIds: ['f1'], supersededBy: 'f2', mode: 'automatic' } })
      .when({ type: 'confirmFact', factId: 'f1' })
      .thenRejected('fact f1 is superseded; only an active fact can be confirmed');
  });

  it('retires a fact, after which the key takes a new fact without conflict', () => {
    const after = holding()
      .when({ type: 'retireFact', factId: 'f1', reason: 'Acme is no longer a vendor' })
      .thenRecorded([{ type: 'memory.fact_retired', data: { factId: 'f1', reason: 'Acme is no longer a vendor' } }]);
    expect(factOf(after, 'f1')).toMatchObject({ status: 'retired' });
    after.when({ type: 'recordFact', fact: newFact('f2', 'Net 45') }).thenRecorded([recorded('f2', 'Net 45')]);
    after.when({ type: 'retireFact', factId: 'f1', reason: 'again' }).thenRejected('fact f1 is retired; only an active fact can be retired');
    after.when({ type: 'retireFact', factId: 'f9', reason: 'x' }).thenRejected('no fact f9 is recorded; there is nothing to retire');
  });

  it('has no conflict to resolve', () => {
    holding()
      .given(recorded('f2', 'Someone', 'agent-observed', OTHER_KEY))
      .when({ type: 'resolveConflict', keepFactId: 'f1', retireFactId: 'f2' })
      .thenRejected('facts f1 and f2 are not in one open conflict');
  });

  it('refuses an invalid fact at the boundary', () => {
    expect(() => empty().when({ type: 'recordFact', fact: newFact('f1', '   ') })).toThrow(/invalid/);
    expect(() => empty().when({ type: 'recordFact', fact: { ...newFact('f1', 'x'), key: 'Not A Key' } })).toThrow(/invalid/);
    expect(() => empty().when({ type: 'recordFact', fact: newFact('f1', 'x', 'certain' as Confidence) })).toThrow(/invalid/);
  });
});

describe('a conflicted memory', () => {
  it('keeps both facts active and flagged, and tells the scope', () => {
    const before = holding().given(recorded('f2', 'Net 45', 'agent-inferred'));
    const after = before.given(flagged(['f1', 'f2']));
    expect(after.state).toBe('conflicted');
    expect(conflictsOf(after)).toEqual([{ key: KEY, factIds: ['f1', 'f2'] }]);
    expect(factOf(after, 'f1')).toMatchObject({ status: 'active' });
    expect(factOf(after, 'f2')).toMatchObject({ status: 'active' });
    expect(effectsOf(before, flagged(['f1', 'f2']))).toEqual([{ type: 'notifyConflict', params: { scope: SCOPE, key: KEY, factIds: ['f1', 'f2'] } }]);
  });

  it('adds a third disagreeing fact to the conflict', () => {
    const events = [recorded('f3', 'Net 60', 'agent-observed'), flagged(['f1', 'f2', 'f3'])];
    conflicted().when({ type: 'recordFact', fact: newFact('f3', 'Net 60', 'agent-observed') }).thenRecorded(events);
    expect(conflictsOf(conflicted().given(...events))).toEqual([{ key: KEY, factIds: ['f1', 'f2', 'f3'] }]);
  });

  it("adds a user's fact to a conflict a user's fact is part of", () => {
    empty()
      .given(recorded('f1', 'Net 30', 'user-stated'), recorded('f2', 'Net 45', 'agent-observed'), flagged(['f1', 'f2']))
      .when({ type: 'recordFact', fact: newFact('f3', 'Net 60', 'user-stated') })
      .thenRecorded([recorded('f3', 'Net 60', 'user-stated'), flagged(['f1', 'f2', 'f3'])]);
  });

  it('rejects restating either side of the conflict', () => {
    conflicted().when({ type: 'recordFact', fact: newFact('f3', 'Net 45', 'user-stated') }).thenRejected(/duplicate: fact f2/);
  });

  it("never lets an agent end a conflict, even reporting a user's word: the fact joins the conflict", () => {
    const after = conflicted()
      .when({ type: 'recordFact', fact: newFact('f3', 'Net 60', 'user-stated') }, { actor: 'agent:run-r1' })
      .thenRecorded([recorded('f3', 'Net 60', 'user-stated'), flagged(['f1', 'f2', 'f3'])]);
    expect(after.state).toBe('conflicted');
    expect(factOf(after, 'f1')).toMatchObject({ status: 'active' });
  });

  it("ends a conflict between agents' facts when a user states the answer", () => {
    const events = [
      recorded('f3', 'Net 60', 'user-stated'),
      { type: 'memory.fact_superseded', data: { factIds: ['f1', 'f2'], supersededBy: 'f3', mode: 'automatic' } },
      { type: 'memory.conflict_resolved', data: { key: KEY, keptFactId: 'f3' } },
    ];
    const after = conflicted().when({ type: 'recordFact', fact: newFact('f3', 'Net 60', 'user-stated') }).thenRecorded(events);
    expect(after.state).toBe('consistent');
    expect(conflictsOf(after)).toEqual([]);
    expect(factOf(after, 'f1')).toMatchObject({ status: 'superseded', supersededBy: 'f3' });
    expect(factOf(after, 'f2')).toMatchObject({ status: 'superseded', supersededBy: 'f3' });
    // A superseded fact leaves its conflict at once, before the conflict is closed.
    expect(conflictsOf(conflicted().given(events[0]!, events[1]!))).toEqual([{ key: KEY, factIds: [] }]);
  });

  it('refuses to supersede a fact on a conflicted key', () => {
    conflicted()
      .when({ type: 'supersedeFact', factId: 'f1', newFact: newFact('f3', 'Net 60', 'user-stated') })
      .thenRejected(`${KEY} has an open conflict between f1, f2; resolve it with resolveConflict first`);
  });

  it('resolves the conflict by keeping one fact and retiring the other', () => {
    const after = conflicted()
      .when({ type: 'resolveConflict', keepFactId: 'f2', retireFactId: 'f1' })
      .thenRecorded([
        { type: 'memory.fact_retired', data: { factId: 'f1', reason: 'conflict resolved in favour of f2' } },
        { type: 'memory.conflict_resolved', data: { key: KEY, keptFactId: 'f2' } },
      ]);
    expect(after.state).toBe('consistent');
    expect(conflictsOf(after)).toEqual([]);
    expect(factOf(after, 'f2')).toMatchObject({ status: 'active' });
    expect(factOf(after, 'f1')).toMatchObject({ status: 'retired' });
  });

  it('refuses a resolution that does not name two active facts of one conflict', () => {
    conflicted().when({ type: 'resolveConflict', keepFactId: 'f1', retireFactId: 'f1' }).thenRejected(/not f1 twice/);
    conflicted().when({ type: 'resolveConflict', keepFactId: 'f1', retireFactId: 'f9' }).thenRejected('no fact f9 is recorded; a conflict is between active facts');
    conflicted()
      .given(recorded('f3', 'Someone', 'agent-observed', OTHER_KEY))
      .when({ type: 'resolveConflict', keepFactId: 'f3', retireFactId: 'f1' })
      .thenRejected('facts f3 and f1 are not in one open conflict');
  });

  it('resolves a three-way conflict one fact at a time', () => {
    const threeWay = conflicted().given(recorded('f3', 'Net 60', 'agent-observed'), flagged(['f1', 'f2', 'f3']));
    const partly = threeWay
      .when({ type: 'resolveConflict', keepFactId: 'f3', retireFactId: 'f1' })
      .thenRecorded([{ type: 'memory.fact_retired', data: { factId: 'f1', reason: 'conflict resolved in favour of f3' } }]);
    expect(partly.state).toBe('conflicted');
    expect(conflictsOf(partly)).toEqual([{ key: KEY, factIds: ['f2', 'f3'] }]);
    const done = partly
      .when({ type: 'resolveConflict', keepFactId: 'f3', retireFactId: 'f2' })
      .thenRecorded([
        { type: 'memory.fact_retired', data: { factId: 'f2', reason: 'conflict resolved in favour of f3' } },
        { type: 'memory.conflict_resolved', data: { key: KEY, keptFactId: 'f3' } },
      ]);
    expect(done.state).toBe('consistent');
  });

  it('ends the conflict when retiring leaves one fact standing', () => {
    const after = conflicted()
      .when({ type: 'retireFact', factId: 'f2', reason: 'the contract says Net 30' })
      .thenRecorded([
        { type: 'memory.fact_retired', data: { factId: 'f2', reason: 'the contract says Net 30' } },
        { type: 'memory.conflict_resolved', data: { key: KEY, keptFactId: 'f1' } },
      ]);
    expect(after.state).toBe('consistent');
  });

  it('stays conflicted while another key is still in conflict', () => {
    const two = conflicted().given(
      recorded('g1', 'Alice', 'agent-observed', OTHER_KEY),
      recorded('g2', 'Bob', 'agent-inferred', OTHER_KEY),
      flagged(['g1', 'g2'], OTHER_KEY),
    );
    const one = two.when({ type: 'resolveConflict', keepFactId: 'f1', retireFactId: 'f2' }).thenRecorded([
      { type: 'memory.fact_retired', data: { factId: 'f2', reason: 'conflict resolved in favour of f1' } },
      { type: 'memory.conflict_resolved', data: { key: KEY, keptFactId: 'f1' } },
    ]);
    expect(one.state).toBe('conflicted');
    expect(conflictsOf(one)).toEqual([{ key: OTHER_KEY, factIds: ['g1', 'g2'] }]);
    const none = one.when({ type: 'retireFact', factId: 'g2', reason: 'Bob left' }).thenRecorded([
      { type: 'memory.fact_retired', data: { factId: 'g2', reason: 'Bob left' } },
      { type: 'memory.conflict_resolved', data: { key: OTHER_KEY, keptFactId: 'g1' } },
    ]);
    expect(none.state).toBe('consistent');
  });

  it('takes a confirmation without resolving the conflict', () => {
    const after = conflicted()
      .when({ type: 'confirmFact', factId: 'f2' })
      .thenRecorded([{ type: 'memory.fact_confirmed', data: { factId: 'f2', confirmedBy: 'user:U1' } }]);
    expect(after.state).toBe('conflicted');
    expect(factOf(after, 'f2')).toMatchObject({ confidence: 'user-confirmed' });
  });

  it('owes the notice of a flagged conflict until it is recorded as notified (a crash between the flag and the post)', () => {
    expect(pendingEffectsOf(conflicted())).toEqual([{ type: 'notifyConflict', params: { scope: SCOPE, key: KEY, factIds: ['f1', 'f2'] } }]);
    const told = conflicted()
      .when({ type: 'conflictNotified', key: KEY, factIds: ['f1', 'f2'], refs: ['1712345678.000200'] })
      .thenRecorded([notified(['f1', 'f2'])]);
    expect(pendingEffectsOf(told)).toEqual([]);
    expect(pendingEffectsOf(holding())).toEqual([]);
  });

  it('refuses to record a notice twice, or for a conflict that is not open', () => {
    const told = conflicted().given(notified(['f1', 'f2']));
    told.when({ type: 'conflictNotified', key: KEY, factIds: ['f2', 'f1'], refs: ['r'] }).thenRejected(/notified already/);
    holding().when({ type: 'conflictNotified', key: KEY, factIds: ['f1', 'f2'], refs: ['r'] }).thenRejected(/no conflict on .* is open/);
  });

  it('owes a notice again when a third fact joins a conflict already told, and for a new conflict after one is resolved', () => {
    const told = conflicted().given(notified(['f1', 'f2']));
    const grown = told.given(recorded('f3', 'Net 60', 'agent-observed'), flagged(['f1', 'f2', 'f3']));
    expect(pendingEffectsOf(grown)).toEqual([{ type: 'notifyConflict', params: { scope: SCOPE, key: KEY, factIds: ['f1', 'f2', 'f3'] } }]);
    const resolved = told.given({ type: 'memory.fact_retired', data: { factId: 'f2', reason: 'wrong' } }, { type: 'memory.conflict_resolved', data: { key: KEY, keptFactId: 'f1' } });
    const again = resolved.given(recorded('f4', 'Net 90', 'agent-inferred'), flagged(['f1', 'f4']));
    expect(pendingEffectsOf(again)).toEqual([{ type: 'notifyConflict', params: { scope: SCOPE, key: KEY, factIds: ['f1', 'f4'] } }]);
  });
});
