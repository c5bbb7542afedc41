import { describe, expect, it } from 'vitest';
import type { RecordParams } from '../../../actors/actor-kind.js';
import { runsToDispatch, SUPERVISOR_ID, supervisorKind, type SupervisorContext } from '../../../actors/supervisor.js';
import { spec, type ActorSpec, type GivenEvent } from '../../support/actor-spec.js';

const T0 = '2026-01-05T09:00:00.000Z';
const T1 = '2026-01-05T09:01:00.000Z';

const supervisor = () => spec(supervisorKind, SUPERVISOR_ID);

const configured = (maxConcurrentRuns: number, maxRunsPerGroup: number): GivenEvent => ({
  type: 'supervisor.configured',
  data: { maxConcurrentRuns, maxRunsPerGroup },
});
const queuedEvent = (runId: string, groupId: string, queuedAt = T0): RecordParams => ({ type: 'supervisor.run_queued', data: { runId, groupId, queuedAt } });
const dispatchedEvent = (runId: string, groupId: string, dispatchedAt = T0): RecordParams => ({
  type: 'supervisor.run_dispatched',
  data: { runId, groupId, dispatchedAt },
});
const releasedEvent = (runId: string, groupId: string, releasedAt = T0): RecordParams => ({
  type: 'supervisor.run_released',
  data: { runId, groupId, releasedAt },
});
/** A run that asked and got a slot straight away. */
const active = (runId: string, groupId: string): GivenEvent[] => [queuedEvent(runId, groupId), dispatchedEvent(runId, groupId)];
const grant = (runId: string, groupId: string) => ({ type: 'grantSlot', params: { runId, groupId } });

const contextOf = (actor: ActorSpec) => actor.context as SupervisorContext;
const activeIds = (actor: ActorSpec) => contextOf(actor).active.map((run) => run.runId);
const queuedIds = (actor: ActorSpec) => contextOf(actor).queue.map((run) => run.runId);

describe('supervisor: configuration', () => {
  it('starts supervising with 4 runs at once and 1 a group, nothing queued or running', () => {
    const fresh = supervisor();
    expect(fresh.state).toBe('supervising');
    expect(fresh.context).toEqual<SupervisorContext>({ maxConcurrentRuns: 4, maxRunsPerGroup: 1, queue: [], active: [] });
  });

  it('configure records the new limits', () => {
    const after = supervisor()
      .when({ type: 'configure', maxConcurrentRuns: 8, maxRunsPerGroup: 2 })
      .thenRecorded([{ type: 'supervisor.configured', data: { maxConcurrentRuns: 8, maxRunsPerGroup: 2 } }]);
    expect(after.context).toMatchObject({ maxConcurrentRuns: 8, maxRunsPerGroup: 2 });
    expect(after.effects).toEqual([]);
  });

  it('refuses limits below one at the boundary', () => {
    expect(() => supervisor().when({ type: 'configure', maxConcurrentRuns: 0, maxRunsPerGroup: 1 })).toThrow(/invalid/);
    expect(() => supervisor().when({ type: 'configure', maxConcurrentRuns: 2, maxRunsPerGroup: 1.5 })).toThrow(/invalid/);
  });

  it('raising the limits dispatches every queued run they allow, in queue order, in the same decision', () => {
    const waiting = supervisor().given(configured(1, 1), ...active('a1', 'A'), queuedEvent('a2', 'A'), queuedEvent('b1', 'B'), queuedEvent('a3', 'A'));
    const after = waiting
      .when({ type: 'configure', maxConcurrentRuns: 4, maxRunsPerGroup: 2 }, { issuedAt: T1 })
      .thenRecorded([
        { type: 'supervisor.configured', data: { maxConcurrentRuns: 4, maxRunsPerGroup: 2 } },
        dispatchedEvent('a2', 'A', T1),
        dispatchedEvent('b1', 'B', T1),
      ]);
    expect(activeIds(after)).toEqual(['a1', 'a2', 'b1']);
    expect(queuedIds(after)).toEqual(['a3']);
    expect(after.effects.slice(-2)).toEqual([grant('a2', 'A'), grant('b1', 'B')]);
  });

  it('lowering the limits takes no slot back, and a release then frees nothing until the runs are under the new limit', () => {
    const busy = supervisor().given(configured(3, 3), ...active('a1', 'A'), ...active('a2', 'A'), ...active('a3', 'A'), queuedEvent('b1', 'B'));
    const lowered = busy
      .when({ type: 'configure', maxConcurrentRuns: 2, maxRunsPerGroup: 1 })
      .thenRecorded([{ type: 'supervisor.configured', data: { maxConcurrentRuns: 2, maxRunsPerGroup: 1 } }]);
    expect(activeIds(lowered)).toEqual(['a1', 'a2', 'a3']);
    const oneReleased = lowered.when({ type: 'releaseRun', runId: 'a1' }).thenRecorded([releasedEvent('a1', 'A')]);
    expect(queuedIds(oneReleased)).toEqual(['b1']);
    oneReleased.when({ type: 'releaseRun', runId: 'a2' }).thenRecorded([releasedEvent('a2', 'A'), dispatchedEvent('b1', 'B')]);
  });
});

describe('supervisor: requesting a slot', () => {
  it('a run that asks while a slot is free is queued and dispatched in one decision, and granted its slot', () => {
    const after = supervisor()
      .when({ type: 'requestRun', runId: 'r1', groupId: 'T1.C1' }, { issuedAt: T1 })
      .thenRecorded([queuedEvent('r1', 'T1.C1', T1), dispatchedEvent('r1', 'T1.C1', T1)]);
    expect(after.context).toEqual<SupervisorContext>({
      maxConcurrentRuns: 4,
      maxRunsPerGroup: 1,
      queue: [],
      active: [{ runId: 'r1', groupId: 'T1.C1', dispatchedAt: T1 }],
    });
    expect(after.effects).toEqual([grant('r1', 'T1.C1')]);
  });

  it('a run of a group at its limit waits, while a run of another group behind it is dispatched', () => {
    const after = supervisor()
      .given(...active('a1', 'A'))
      .when({ type: 'requestRun', runId: 'a2', groupId: 'A' })
      .thenRecorded([queuedEvent('a2', 'A')]);
    expect(queuedIds(after)).toEqual(['a2']);
    expect(after.effects).toEqual([grant('a1', 'A')]);
    const next = after.when({ type: 'requestRun', runId: 'b1', groupId: 'B' }).thenRecorded([queuedEvent('b1', 'B'), dispatchedEvent('b1', 'B')]);
    expect(activeIds(next)).toEqual(['a1', 'b1']);
    expect(queuedIds(next)).toEqual(['a2']);
  });

  it('the global limit holds runs of every group', () => {
    const full = supervisor().given(configured(2, 5), ...active('a1', 'A'), ...active('b1', 'B'));
    const after = full.when({ type: 'requestRun', runId: 'c1', groupId: 'C' }).thenRecorded([queuedEvent('c1', 'C')]);
    expect(activeIds(after)).toEqual(['a1', 'b1']);
    expect(queuedIds(after)).toEqual(['c1']);
  });

  it('a group may hold several slots when its limit allows', () => {
    supervisor()
      .given(configured(4, 2), ...active('a1', 'A'))
      .when({ type: 'requestRun', runId: 'a2', groupId: 'A' })
      .thenRecorded([queuedEvent('a2', 'A'), dispatchedEvent('a2', 'A')]);
  });

  it('a run that is already queued cannot ask again', () => {
    supervisor()
      .given(...active('a1', 'A'), queuedEvent('a2', 'A'))
      .when({ type: 'requestRun', runId: 'a2', groupId: 'A' })
      .thenRejected('run a2 is already queued for a slot');
  });

  it('a run that holds a slot cannot ask again', () => {
    supervisor().given(...active('a1', 'A')).when({ type: 'requestRun', runId: 'a1', groupId: 'A' }).thenRejected('run a1 already holds a slot');
  });
});

describe('supervisor: releasing a slot', () => {
  it('a release with nobody waiting only frees the slot', () => {
    const after = supervisor()
      .given(...active('a1', 'A'))
      .when({ type: 'releaseRun', runId: 'a1' }, { issuedAt: T1 })
      .thenRecorded([releasedEvent('a1', 'A', T1)]);
    expect(after.context).toMatchObject({ queue: [], active: [] });
  });

  it('a release dispatches the next waiting run of the same group in the same decision', () => {
    const after = supervisor()
      .given(...active('a1', 'A'), queuedEvent('a2', 'A'))
      .when({ type: 'releaseRun', runId: 'a1' }, { issuedAt: T1 })
      .thenRecorded([releasedEvent('a1', 'A', T1), dispatchedEvent('a2', 'A', T1)]);
    expect(activeIds(after)).toEqual(['a2']);
    expect(queuedIds(after)).toEqual([]);
    expect(after.effects.at(-1)).toEqual(grant('a2', 'A'));
  });

  it('waiting runs are served first come, first served', () => {
    const full = supervisor().given(configured(2, 5), ...active('a1', 'A'), ...active('b1', 'B'), queuedEvent('c1', 'C'), queuedEvent('d1', 'D'));
    const first = full.when({ type: 'releaseRun', runId: 'b1' }).thenRecorded([releasedEvent('b1', 'B'), dispatchedEvent('c1', 'C')]);
    first.when({ type: 'releaseRun', runId: 'a1' }).thenRecorded([releasedEvent('a1', 'A'), dispatchedEvent('d1', 'D')]);
  });

  it('a freed global slot skips a waiting run whose group is still full and goes to the next one', () => {
    const full = supervisor().given(configured(2, 1), ...active('a1', 'A'), ...active('b1', 'B'), queuedEvent('a2', 'A'), queuedEvent('c1', 'C'));
    const after = full.when({ type: 'releaseRun', runId: 'b1' }).thenRecorded([releasedEvent('b1', 'B'), dispatchedEvent('c1', 'C')]);
    expect(queuedIds(after)).toEqual(['a2']);
    after.when({ type: 'releaseRun', runId: 'a1' }).thenRecorded([releasedEvent('a1', 'A'), dispatchedEvent('a2', 'A')]);
  });

  it('a freed slot of a full group goes to the oldest waiting run of that group', () => {
    const after = supervisor()
      .given(...active('a1', 'A'), queuedEvent('a2', 'A'), queuedEvent('a3', 'A'))
      .when({ type: 'releaseRun', runId: 'a1' })
      .thenRecorded([releasedEvent('a1', 'A'), dispatchedEvent('a2', 'A')]);
    expect(queuedIds(after)).toEqual(['a3']);
  });

  it('releasing an unknown run is rejected', () => {
    supervisor().when({ type: 'releaseRun', runId: 'ghost' }).thenRejected('run ghost is unknown to the supervisor');
  });

  it('releasing a run twice is rejected the second time', () => {
    supervisor().given(...active('a1', 'A'), releasedEvent('a1', 'A')).when({ type: 'releaseRun', runId: 'a1' }).thenRejected(/unknown to the supervisor/);
  });

  it('a queued run holds no slot to release', () => {
    supervisor().given(...active('a1', 'A'), queuedEvent('a2', 'A')).when({ type: 'releaseRun', runId: 'a2' }).thenRejected(/still queued/);
  });
});

describe('supervisor: pending effects after a restart', () => {
  it('every run holding a slot is granted it again; waiting runs are not', () => {
    const actor = supervisor().given(...active('a1', 'A'), ...active('b1', 'B'), queuedEvent('a2', 'A'));
    expect(supervisorKind.pendingEffects!(actor.snapshot as never)).toEqual([grant('a1', 'A'), grant('b1', 'B')]);
  });

  it('nothing is pending when no run holds a slot', () => {
    expect(supervisorKind.pendingEffects!(supervisor().snapshot as never)).toEqual([]);
  });
});

describe('supervisor: the dispatch rule', () => {
  it('walks the queue in order, skipping full groups, until the global limit', () => {
    const queue = ['a2:A', 'b1:B', 'a3:A', 'c1:C', 'd1:D'].map((entry) => {
      const [runId, groupId] = entry.split(':') as [string, string];
      return { runId, groupId, queuedAt: T0 };
    });
    expect(runsToDispatch(queue, [{ groupId: 'A' }], { maxConcurrentRuns: 3, maxRunsPerGroup: 1 }).map((run) => run.runId)).toEqual(['b1', 'c1']);
    expect(runsToDispatch(queue, [], { maxConcurrentRuns: 3, maxRunsPerGroup: 2 }).map((run) => run.runId)).toEqual(['a2', 'b1', 'a3']);
    expect(runsToDispatch(queue, [{ groupId: 'A' }, { groupId: 'B' }], { maxConcurrentRuns: 2, maxRunsPerGroup: 9 })).toEqual([]);
  });
});

describe('supervisor: the queue and the slots stay right across any sequence', () => {
  /** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const countIn = (runs: readonly { groupId: string }[], groupId: string) => runs.filter((run) => run.groupId === groupId).length;

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: 300 random commands', (seed) => {
    const next = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    let actor = supervisor();
    let counter = 0;
    /** Run ids in the order they first asked for a slot. */
    const asked: string[] = [];
    let dispatches = 0;
    for (let step = 0; step < 300; step += 1) {
      const before = contextOf(actor);
      const known = [...before.queue, ...before.active];
      const roll = next();
      let command: { type: string; runId?: string; groupId?: string; maxConcurrentRuns?: number; maxRunsPerGroup?: number };
      if (roll < 0.05) {
        command = { type: 'configure', maxConcurrentRuns: 1 + Math.floor(next() * 5), maxRunsPerGroup: 1 + Math.floor(next() * 3) };
      } else if (roll < 0.55 || before.active.length === 0) {
        const runId = known.length > 0 && next() < 0.1 ? pick(known).runId : `r${(counter += 1)}`;
        command = { type: 'requestRun', runId, groupId: pick(['A', 'B', 'C']) };
      } else {
        command = { type: 'releaseRun', runId: next() < 0.1 ? pick([...before.queue.map((run) => run.runId), 'nobody']) : pick(before.active).runId };
      }

      const { decision } = actor.when(command, { issuedAt: T0 });
      if (command.type === 'requestRun') expect(decision.accepted).toBe(!known.some((run) => run.runId === command.runId));
      if (command.type === 'releaseRun') expect(decision.accepted).toBe(before.active.some((run) => run.runId === command.runId));
      if (!decision.accepted) continue;
      if (command.type === 'requestRun') asked.push(command.runId!);

      // Walk the recorded events: a dispatch takes a waiting run and never passes a limit.
      let limits = { maxConcurrentRuns: before.maxConcurrentRuns, maxRunsPerGroup: before.maxRunsPerGroup };
      let waiting = [...before.queue] as { runId: string; groupId: string }[];
      let holding = [...before.active] as { runId: string; groupId: string }[];
      for (const event of decision.events) {
        const data = event.data as { runId: string; groupId: string; maxConcurrentRuns: number; maxRunsPerGroup: number };
        if (event.type === 'supervisor.configured') limits = { maxConcurrentRuns: data.maxConcurrentRuns, maxRunsPerGroup: data.maxRunsPerGroup };
        if (event.type === 'supervisor.run_queued') waiting.push(data);
        if (event.type === 'supervisor.run_released') holding = holding.filter((run) => run.runId !== data.runId);
        if (event.type === 'supervisor.run_dispatched') {
          expect(waiting.map((run) => run.runId)).toContain(data.runId);
          waiting = waiting.filter((run) => run.runId !== data.runId);
          holding.push(data);
          expect(holding.length).toBeLessThanOrEqual(limits.maxConcurrentRuns);
          expect(countIn(holding, data.groupId)).toBeLessThanOrEqual(limits.maxRunsPerGroup);
          dispatches += 1;
        }
      }
      actor.checkRecordable(decision.events);
      actor = actor.apply(decision.events);
      const after = contextOf(actor);

      // The fold agrees with the walk.
      expect(after.queue.map((run) => run.runId)).toEqual(waiting.map((run) => run.runId));
      expect(after.active.map((run) => run.runId)).toEqual(holding.map((run) => run.runId));
      // No run is listed twice.
      const ids = [...after.queue, ...after.active].map((run) => run.runId);
      expect(new Set(ids).size).toBe(ids.length);
      // No waiting run could have had a slot.
      for (const run of after.queue) {
        const full = after.active.length >= after.maxConcurrentRuns || countIn(after.active, run.groupId) >= after.maxRunsPerGroup;
        expect(full, `run ${run.runId} of ${run.groupId} waits although a slot is free`).toBe(true);
      }
      // The queue keeps the order in which runs asked.
      const positions = after.queue.map((run) => asked.indexOf(run.runId));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
    expect(dispatches).toBeGreaterThan(10);
    expect(actor.effects.filter((effect) => effect.type === 'grantSlot')).toHaveLength(dispatches);
  });
});
