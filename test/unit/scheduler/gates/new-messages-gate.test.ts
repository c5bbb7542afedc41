/**
 * The new_messages decision, and evaluateGate around it: which group it asks about, and a
 * wake (fail open) when the question cannot be answered or the input is malformed.
 */
import { describe, expect, it } from 'vitest';
import { evaluateGate } from '../../../../runtime/scheduler/gates/evaluate-gate.js';
import type { GateDeps } from '../../../../runtime/scheduler/gates/gate.js';
import type { GroupActivityReader } from '../../../../runtime/scheduler/gates/group-activity-reader.js';
import { newMessagesVerdict } from '../../../../runtime/scheduler/gates/new-messages-gate.js';
import type { Sandbox } from '../../../../runtime/sandbox/sandbox.js';

describe('newMessagesVerdict', () => {
  it('wakes for a message after the last decision', () => {
    expect(newMessagesVerdict('T1.C1', '2026-01-05T09:00:01.000Z', '2026-01-05T09:00:00.000Z')).toEqual({
      wake: true,
      detail: 'group T1.C1 received a message at 2026-01-05T09:00:01.000Z, after 2026-01-05T09:00:00.000Z',
    });
  });

  it('sleeps when the last message is at or before the last decision', () => {
    expect(newMessagesVerdict('T1.C1', '2026-01-05T09:00:00.000Z', '2026-01-05T09:00:00.000Z')).toEqual({
      wake: false,
      detail: 'no message in group T1.C1 since 2026-01-05T09:00:00.000Z (the last at 2026-01-05T09:00:00.000Z)',
    });
    expect(newMessagesVerdict('T1.C1', '2026-01-04T23:59:59.999Z', '2026-01-05T00:00:00.000Z').wake).toBe(false);
  });

  it('sleeps when the group never received a message', () => {
    expect(newMessagesVerdict('T1.C1', null, '2026-01-05T09:00:00.000Z')).toEqual({ wake: false, detail: 'group T1.C1 has received no message yet' });
    expect(newMessagesVerdict('T1.C1', null, null).wake).toBe(false);
  });

  it('wakes for any message when the task never decided', () => {
    expect(newMessagesVerdict('T1.C1', '2020-01-01T00:00:00.000Z', null).wake).toBe(true);
  });

  it('compares instants, not strings of different precision', () => {
    expect(newMessagesVerdict('T1.C1', '2026-01-05T09:00:00.5Z', '2026-01-05T09:00:00.400Z').wake).toBe(true);
    expect(newMessagesVerdict('T1.C1', '2026-01-05T09:00:00Z', '2026-01-05T09:00:00.001Z').wake).toBe(false);
  });
});

function depsWith(reader: GroupActivityReader): { deps: GateDeps; warnings: string[] } {
  const warnings: string[] = [];
  // The new_messages gate never starts anything: a start would fail the test.
  const unusedSandbox: Sandbox = {
    kind: 'docker',
    isolation: 'container',
    highRiskToolsAllowed: true,
    start: () => Promise.reject(new Error('the new_messages gate started a sandbox')),
    findLeftovers: async () => [],
    removeLeftover: async () => undefined,
  };
  return {
    warnings,
    deps: {
      groupActivity: reader,
      dataDir: '/nonexistent',
      sandbox: unusedSandbox,
      limits: { memoryBytes: 64 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 1024 * 1024 },
      logger: { warn: (_fields, message) => warnings.push(message) },
    },
  };
}

describe('evaluateGate with a new_messages gate', () => {
  const task = { taskId: 'digest', groupId: 'T1.D1', lastDecidedAt: '2026-01-05T09:00:00.000Z' };

  it("asks about the gate's group, not the task's", async () => {
    const asked: string[] = [];
    const { deps } = depsWith({ lastMessageAt: async (groupId) => (asked.push(groupId), '2026-01-05T10:00:00.000Z') });
    const verdict = await evaluateGate({ kind: 'new_messages', groupId: 'T1.C7' }, task, deps);
    expect(asked).toEqual(['T1.C7']);
    expect(verdict.wake).toBe(true);
  });

  it('wakes, and warns, when the read model cannot answer', async () => {
    const { deps, warnings } = depsWith({ lastMessageAt: async () => Promise.reject(new Error('projection group-activity failed')) });
    const verdict = await evaluateGate({ kind: 'new_messages', groupId: 'T1.C7' }, task, deps);
    expect(verdict).toEqual({ wake: true, detail: 'the new_messages gate could not be evaluated (projection group-activity failed), so the agent is woken (fail open)' });
    expect(warnings).toEqual(['wake gate of task digest failed open: projection group-activity failed']);
  });

  it('wakes, naming the field, when the task it is given is malformed', async () => {
    const { deps } = depsWith({ lastMessageAt: async () => null });
    const verdict = await evaluateGate({ kind: 'new_messages', groupId: 'T1.C7' }, { ...task, lastDecidedAt: 'yesterday' }, deps);
    expect(verdict.wake).toBe(true);
    expect(verdict.detail).toMatch(/^the new_messages gate could not be evaluated \(lastDecidedAt: .*\)/);
  });
});
