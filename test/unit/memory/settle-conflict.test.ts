import { describe, expect, it } from 'vitest';
import type { MemoryContext, MemoryFact } from '../../../actors/memory.js';
import { applySettlement, describeSettlement, keepByAge, planConfirm, planResolve, planRetire, SettlementRefusedError, type SettlePlan } from '../../../runtime/memory/settle-conflict.js';

const KEY = 'vendor.acme.terms';

function fact(id: string, statement: string, change: Partial<MemoryFact> = {}): MemoryFact {
  return {
    id,
    key: KEY,
    statement,
    confidence: 'agent-observed',
    category: 'project',
    source: { kind: 'message', ref: '1712345678.000100' },
    recordedAt: '2026-12-07T12:00:00.000Z',
    status: 'active',
    supersededBy: null,
    demoted: false,
    freshAt: '2026-12-07T12:00:00.000Z',
    ...change,
  };
}

function memory(facts: MemoryFact[], conflictIds: string[] | null): MemoryContext {
  return { scope: 'group.T1.C1', facts, conflicts: conflictIds ? [{ key: KEY, factIds: conflictIds }] : [], notified: [], consolidation: null };
}

const twoSides = () => memory([fact('f1', 'net 30'), fact('f2', 'net 45')], ['f1', 'f2']);
const threeSides = () => memory([fact('f1', 'net 30'), fact('f2', 'net 45'), fact('f3', 'net 60')], ['f1', 'f2', 'f3']);

function planned(outcome: ReturnType<typeof planResolve>): SettlePlan {
  if (!outcome.ok) throw new Error(`expected a plan, got: ${outcome.reason}`);
  return outcome;
}

describe('keepByAge', () => {
  it('old is the oldest fact of the conflict, new the newest, none neither', () => {
    expect(keepByAge(threeSides(), KEY, 'old')).toBe('f1');
    expect(keepByAge(threeSides(), KEY, 'new')).toBe('f3');
    expect(keepByAge(threeSides(), KEY, 'none')).toBeNull();
  });

  it('names a key with no facts, and a key with no open conflict, as what was wrong', () => {
    expect(keepByAge(twoSides(), 'vendor.other', 'old')).toMatchObject({ ok: false, problem: 'no-such-key', reason: 'no fact on vendor.other is recorded in group.T1.C1' });
    expect(keepByAge(memory([fact('f1', 'net 30')], null), KEY, 'new')).toMatchObject({
      ok: false,
      problem: 'no-open-conflict',
      reason: `${KEY} in group.T1.C1 has no open conflict; it holds "net 30" (f1)`,
    });
  });
});

describe('planResolve', () => {
  it('keeping one of two facts is one resolveConflict retiring the other', () => {
    const plan = planned(planResolve(twoSides(), { key: KEY, keep: 'f2', by: 'user:U1' }));
    expect(plan.commands.map((each) => each.command)).toEqual([{ type: 'resolveConflict', keepFactId: 'f2', retireFactId: 'f1' }]);
    expect(describeSettlement(plan, 'user:U1')).toBe(`user:U1 kept "net 45" (f2) on ${KEY}; retired "net 30" (f1)`);
  });

  it('keeping one of three facts is one resolveConflict for each other fact', () => {
    const plan = planned(planResolve(threeSides(), { key: KEY, keep: 'f2', by: 'user:U1' }));
    expect(plan.commands.map((each) => each.command)).toEqual([
      { type: 'resolveConflict', keepFactId: 'f2', retireFactId: 'f1' },
      { type: 'resolveConflict', keepFactId: 'f2', retireFactId: 'f3' },
    ]);
  });

  it('neither retires every fact of the conflict, saying who decided', () => {
    const plan = planned(planResolve(twoSides(), { key: KEY, keep: null, by: 'user:U1' }));
    expect(plan.commands.map((each) => each.command)).toEqual([
      { type: 'retireFact', factId: 'f1', reason: `conflict on ${KEY} settled by user:U1: neither fact kept` },
      { type: 'retireFact', factId: 'f2', reason: `conflict on ${KEY} settled by user:U1: neither fact kept` },
    ]);
    expect(describeSettlement(plan, 'cli')).toBe(`cli retired "net 30" (f1), "net 45" (f2) on ${KEY}: neither is kept`);
  });

  it('keys each command by the decision, not by who made it, so the same decision twice is applied once', () => {
    const first = planned(planResolve(twoSides(), { key: KEY, keep: 'f1', by: 'user:U1' }));
    const again = planned(planResolve(twoSides(), { key: KEY, keep: 'f1', by: 'user:U2' }));
    const other = planned(planResolve(twoSides(), { key: KEY, keep: 'f2', by: 'user:U1' }));
    expect(first.commands[0]!.commandId).toBe(again.commands[0]!.commandId);
    expect(first.commands[0]!.commandId).not.toBe(other.commands[0]!.commandId);
  });

  it('refuses a notice that no longer shows the whole conflict: a fact joined it since (stale)', () => {
    expect(planResolve(threeSides(), { key: KEY, keep: 'f1', shown: ['f1', 'f2'], by: 'user:U1' })).toMatchObject({
      ok: false,
      problem: 'stale',
      reason: `the conflict on ${KEY} has gained fact f3 since this notice was posted; settle it from the newer notice`,
    });
  });

  it('settles what is left of the conflict a notice showed when someone retired a fact of it meanwhile', () => {
    const shrunk = memory([fact('f1', 'net 30'), fact('f2', 'net 45'), fact('f3', 'net 60', { status: 'retired' })], ['f1', 'f2']);
    const plan = planned(planResolve(shrunk, { key: KEY, keep: 'f1', shown: ['f1', 'f2', 'f3'], by: 'user:U1' }));
    expect(plan.commands.map((each) => each.command)).toEqual([{ type: 'resolveConflict', keepFactId: 'f1', retireFactId: 'f2' }]);
  });

  it('refuses to keep a fact that is not in the conflict (retired meanwhile, or never recorded)', () => {
    const shrunk = memory([fact('f1', 'net 30'), fact('f2', 'net 45'), fact('f3', 'net 60', { status: 'retired' })], ['f1', 'f2']);
    expect(planResolve(shrunk, { key: KEY, keep: 'f3', shown: ['f1', 'f2', 'f3'], by: 'user:U1' })).toMatchObject({ ok: false, problem: 'not-in-conflict', reason: expect.stringMatching(/^fact f3 is retired/) });
    expect(planResolve(twoSides(), { key: KEY, keep: 'f9', by: 'user:U1' })).toMatchObject({ ok: false, problem: 'not-in-conflict', reason: expect.stringMatching(/^no fact f9 is recorded/) });
  });

  it("says a notice's conflict is settled already, and how it stands, rather than that it is unknown", () => {
    const settled = memory([fact('f1', 'net 30'), fact('f2', 'net 45', { status: 'retired' })], null);
    expect(planResolve(settled, { key: KEY, keep: 'f2', shown: ['f1', 'f2'], by: 'user:U1' })).toMatchObject({
      ok: false,
      problem: 'no-open-conflict',
      reason: `this conflict on ${KEY} is settled already; it holds "net 30" (f1)`,
    });
  });
});

describe('planConfirm and planRetire', () => {
  it('confirm and retire act on the one active fact of a key', () => {
    const single = memory([fact('f1', 'net 30', { status: 'superseded' }), fact('f2', 'net 45')], null);
    expect(planned(planConfirm(single, { key: KEY, by: 'user:U1' })).commands.map((each) => each.command)).toEqual([{ type: 'confirmFact', factId: 'f2' }]);
    expect(planned(planRetire(single, { key: KEY, reason: 'moved to net 60', by: 'cli' })).commands.map((each) => each.command)).toEqual([
      { type: 'retireFact', factId: 'f2', reason: 'moved to net 60' },
    ]);
  });

  it('refuses a key in conflict (settle it first), and a key with no active fact', () => {
    expect(planConfirm(twoSides(), { key: KEY, by: 'user:U1' })).toMatchObject({ ok: false, problem: 'in-conflict', reason: expect.stringContaining('settle it with `memory resolve` first') });
    expect(planRetire(twoSides(), { key: KEY, reason: 'x', by: 'cli' })).toMatchObject({ ok: false, problem: 'in-conflict' });
    const gone = memory([fact('f1', 'net 30', { status: 'retired' })], null);
    expect(planRetire(gone, { key: KEY, reason: 'x', by: 'cli' })).toMatchObject({ ok: false, problem: 'no-such-key', reason: expect.stringContaining('has no active fact') });
  });
});

describe('applySettlement', () => {
  it('sends the commands in order and stops at the first the memory actor refuses, saying how many went before', async () => {
    const plan = planned(planResolve(threeSides(), { key: KEY, keep: 'f2', by: 'user:U1' }));
    const sent: string[] = [];
    const refused = applySettlement(plan, async (each) => {
      sent.push(each.commandId);
      return sent.length === 2 ? { status: 'rejected', reason: 'fact f3 is retired' } : { status: 'accepted' };
    });
    await expect(refused).rejects.toThrow(SettlementRefusedError);
    await expect(refused).rejects.toMatchObject({ reason: 'fact f3 is retired', applied: 1 });
    expect(sent).toHaveLength(2);
  });
});
