import { describe, expect, it } from 'vitest';
import { NO_USAGE, runKind, type RunContext } from '../../../actors/run.js';
import { spec, type GivenEvent, type WhenCommand } from '../../support/actor-spec.js';

const T0 = '2026-01-05T09:00:00.000Z';
const T1 = '2026-01-05T09:00:05.000Z';
const RUN = 'r-7';
const TOKENS = { input: 1200, output: 340, cacheRead: 800, cacheWrite: 0 };

const run = () => spec(runKind, RUN);

const COMMANDS: Record<string, WhenCommand> = {
  queue: { type: 'queue', groupId: 'T1.C1', trigger: 'mention', turnRef: 'slack:T1:C1:1712345678.000100', contextMode: 'group' },
  grantSlot: { type: 'grantSlot' },
  reportStarted: { type: 'reportStarted', containerId: 'c0ffee' },
  complete: { type: 'complete', summary: 'Posted the summary.', tokens: TOKENS },
  fail: { type: 'fail', reason: 'exit_code', detail: 'exit code 1' },
  timeOut: { type: 'timeOut', limit: 'hard', limitMs: 600_000 },
  interrupt: { type: 'interrupt', reason: 'runtime_restarted' },
};
const ALL_COMMANDS = Object.keys(COMMANDS);

const queued = (overrides: Record<string, unknown> = {}): GivenEvent => ({
  type: 'run.queued',
  data: {
    groupId: 'T1.C1',
    conversationId: 'T1.C1',
    taskId: null,
    trigger: 'mention',
    turnRef: 'slack:T1:C1:1712345678.000100',
    contextMode: 'group',
    queuedAt: T0,
    ...overrides,
  },
});
const slotGranted: GivenEvent = { type: 'run.slot_granted', data: { grantedAt: T0 } };
const started: GivenEvent = { type: 'run.started', data: { containerId: 'c0ffee', startedAt: T0 } };
const completed: GivenEvent = { type: 'run.completed', data: { summary: 'Posted the summary.', tokens: TOKENS, completedAt: T1 } };
const failed: GivenEvent = { type: 'run.failed', data: { reason: 'oom', detail: 'killed at 512 MiB', failedAt: T1 } };
const timedOut: GivenEvent = { type: 'run.timed_out', data: { limit: 'idle', limitMs: 120_000, timedOutAt: T1 } };
const interrupted: GivenEvent = { type: 'run.interrupted', data: { reason: 'runtime_restarted', detail: null, interruptedAt: T1 } };

const slot = { runId: RUN, groupId: 'T1.C1' };

describe('run: queued, starting, running', () => {
  it('a new run is queued and asks the supervisor for a slot', () => {
    const after = run()
      .when(COMMANDS.queue!)
      .thenRecorded([
        {
          type: 'run.queued',
          data: { groupId: 'T1.C1', conversationId: 'T1.C1', taskId: null, trigger: 'mention', turnRef: 'slack:T1:C1:1712345678.000100', contextMode: 'group', queuedAt: T0 },
        },
      ]);
    expect(after.state).toBe('queued');
    expect(after.context).toEqual<RunContext>({
      id: RUN,
      request: { groupId: 'T1.C1', conversationId: 'T1.C1', taskId: null, trigger: 'mention', turnRef: 'slack:T1:C1:1712345678.000100', contextMode: 'group' },
      containerId: null,
      outcome: null,
      usage: NO_USAGE,
    });
    expect(after.effects).toEqual([{ type: 'requestSlot', params: slot }]);
  });

  it('a run fired by a task carries the task id', () => {
    run()
      .when({ type: 'queue', groupId: 'T1.C1', taskId: '42', trigger: 'task', turnRef: 'task-42@2026-01-05T10:00:00.000Z', contextMode: 'isolated' })
      .thenRecorded([
        {
          type: 'run.queued',
          data: { groupId: 'T1.C1', conversationId: 'T1.C1', taskId: '42', trigger: 'task', turnRef: 'task-42@2026-01-05T10:00:00.000Z', contextMode: 'isolated', queuedAt: T0 },
        },
      ]);
  });

  it("a thread's run belongs to its channel and reports to the thread", () => {
    const thread = 'T1.C1.1712345678.000100';
    const after = run()
      .when({ type: 'queue', groupId: 'T1.C1', conversationId: thread, trigger: 'mention', turnRef: `group-${thread}@1712345678.000100`, contextMode: 'group' })
      .thenRecorded([
        {
          type: 'run.queued',
          data: { groupId: 'T1.C1', conversationId: thread, taskId: null, trigger: 'mention', turnRef: `group-${thread}@1712345678.000100`, contextMode: 'group', queuedAt: T0 },
        },
      ]);
    expect(after.effects).toEqual([{ type: 'requestSlot', params: slot }]);
    const ended = run()
      .given(queued({ conversationId: thread }), slotGranted, { type: 'run.started', data: { containerId: 'c1', startedAt: T0 } })
      .given({ type: 'run.completed', data: { summary: 'done', tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, completedAt: T0 } });
    expect(ended.effects.at(-1)).toMatchObject({ type: 'reportOutcome', params: { groupId: 'T1.C1', conversationId: thread } });
  });

  it('refuses an unknown trigger, failure reason or time limit at the boundary', () => {
    expect(() => run().when({ ...COMMANDS.queue!, trigger: 'email' })).toThrow(/invalid/);
    expect(() => run().when({ type: 'fail', reason: 'cosmic_ray', detail: 'x' })).toThrow(/invalid/);
    expect(() => run().when({ type: 'timeOut', limit: 'soft', limitMs: 1 })).toThrow(/invalid/);
    expect(() => run().when({ type: 'complete', summary: '', tokens: { input: -1, output: 0, cacheRead: 0, cacheWrite: 0 } })).toThrow(/invalid/);
  });

  it('a queued run granted a slot is starting and asks for its container', () => {
    const after = run()
      .given(queued())
      .when({ type: 'grantSlot' }, { issuedAt: T1 })
      .thenRecorded([{ type: 'run.slot_granted', data: { grantedAt: T1 } }]);
    expect(after.state).toBe('starting');
    expect(after.effects).toEqual([
      { type: 'requestSlot', params: slot },
      { type: 'startContainer', params: slot },
    ]);
  });

  it('a starting run whose container started is running', () => {
    const after = run()
      .given(queued(), slotGranted)
      .when({ type: 'reportStarted', containerId: 'c0ffee' }, { issuedAt: T1 })
      .thenRecorded([{ type: 'run.started', data: { containerId: 'c0ffee', startedAt: T1 } }]);
    expect(after.state).toBe('running');
    expect(after.context).toMatchObject({ containerId: 'c0ffee', outcome: null });
    expect(after.effects.map((effect) => effect.type)).toEqual(['requestSlot', 'startContainer']);
  });

  it.each(['grantSlot', 'reportStarted', 'complete', 'fail', 'timeOut', 'interrupt'])('a run that was never queued rejects %s', (type) => {
    run().when(COMMANDS[type]!).thenRejected(/the run is not queued/);
  });

  it.each([
    ['queue', /already queued/],
    ['reportStarted', /no slot yet/],
    ['complete', /it has not run, so it cannot complete/],
    ['fail', /it has not run, so it cannot fail/],
    ['timeOut', /cannot time out/],
    ['interrupt', /nothing to interrupt/],
  ] as const)('a queued run rejects %s', (type, reason) => {
    run().given(queued()).when(COMMANDS[type]!).thenRejected(reason);
  });

  it.each([
    ['queue', /queued already/],
    ['grantSlot', /holds a slot already/],
    ['complete', /container has not started, so it cannot complete/],
    ['timeOut', /a time limit applies once its container runs/],
  ] as const)('a starting run rejects %s', (type, reason) => {
    run().given(queued(), slotGranted).when(COMMANDS[type]!).thenRejected(reason);
  });

  it.each([
    ['queue', /queued already/],
    ['grantSlot', /holds a slot already/],
    ['reportStarted', /its container c0ffee started already/],
  ] as const)('a running run rejects %s', (type, reason) => {
    run().given(queued(), slotGranted, started).when(COMMANDS[type]!).thenRejected(reason);
  });
});

describe('run: endings', () => {
  const ended = (history: GivenEvent[]) => run().given(queued({ taskId: '42', trigger: 'task' }), ...history);
  const endEffects = (outcome: unknown) => [
    { type: 'releaseSlot', params: slot },
    { type: 'reportOutcome', params: { runId: RUN, groupId: 'T1.C1', conversationId: 'T1.C1', taskId: '42', trigger: 'task', outcome } },
  ];

  it('a running run completes with its summary and token totals, gives its slot back and reports', () => {
    const after = ended([slotGranted, started])
      .when(COMMANDS.complete!, { issuedAt: T1 })
      .thenRecorded([{ type: 'run.completed', data: { summary: 'Posted the summary.', tokens: TOKENS, completedAt: T1 } }]);
    expect(after.state).toBe('finished.completed');
    expect(after.context).toMatchObject({ outcome: { status: 'completed', summary: 'Posted the summary.' } });
    expect(after.effects.slice(2)).toEqual(endEffects({ status: 'completed', summary: 'Posted the summary.' }));
  });

  it('a running run fails with a reason and detail', () => {
    const after = ended([slotGranted, started])
      .when({ type: 'fail', reason: 'model_error', detail: 'overloaded' }, { issuedAt: T1 })
      .thenRecorded([{ type: 'run.failed', data: { reason: 'model_error', detail: 'overloaded', failedAt: T1 } }]);
    expect(after.state).toBe('finished.failed');
    expect(after.effects.slice(2)).toEqual(endEffects({ status: 'failed', reason: 'model_error', detail: 'overloaded' }));
  });

  it('a run whose container could not start fails from starting and still gives its slot back', () => {
    const after = ended([slotGranted])
      .when({ type: 'fail', reason: 'start_failed', detail: 'image not found' }, { issuedAt: T1 })
      .thenRecorded([{ type: 'run.failed', data: { reason: 'start_failed', detail: 'image not found', failedAt: T1 } }]);
    expect(after.state).toBe('finished.failed');
    expect(after.effects.slice(2)).toEqual(endEffects({ status: 'failed', reason: 'start_failed', detail: 'image not found' }));
  });

  it.each(['hard', 'idle'] as const)('a running run times out on its %s limit', (limit) => {
    const after = ended([slotGranted, started])
      .when({ type: 'timeOut', limit, limitMs: 300_000 }, { issuedAt: T1 })
      .thenRecorded([{ type: 'run.timed_out', data: { limit, limitMs: 300_000, timedOutAt: T1 } }]);
    expect(after.state).toBe('finished.timed_out');
    expect(after.effects.slice(2)).toEqual(endEffects({ status: 'timed_out', limit, limitMs: 300_000 }));
  });

  it('a running run is interrupted by a restart', () => {
    const after = ended([slotGranted, started])
      .when({ type: 'interrupt', reason: 'container_lost', detail: 'no container labelled r-7' }, { issuedAt: T1 })
      .thenRecorded([{ type: 'run.interrupted', data: { reason: 'container_lost', detail: 'no container labelled r-7', interruptedAt: T1 } }]);
    expect(after.state).toBe('finished.interrupted');
    expect(after.effects.slice(2)).toEqual(endEffects({ status: 'interrupted', reason: 'container_lost', detail: 'no container labelled r-7' }));
  });

  it('a starting run is interrupted by a shutdown, with no detail', () => {
    const after = ended([slotGranted])
      .when({ type: 'interrupt', reason: 'runtime_shutdown' }, { issuedAt: T1 })
      .thenRecorded([{ type: 'run.interrupted', data: { reason: 'runtime_shutdown', detail: null, interruptedAt: T1 } }]);
    expect(after.state).toBe('finished.interrupted');
    expect(after.effects.slice(2)).toEqual(endEffects({ status: 'interrupted', reason: 'runtime_shutdown', detail: null }));
  });

  it('a run with no task reports a null task id', () => {
    const after = run().given(queued(), slotGranted, started, completed);
    expect(after.effects.at(-1)).toEqual({
      type: 'reportOutcome',
      params: { runId: RUN, groupId: 'T1.C1', conversationId: 'T1.C1', taskId: null, trigger: 'mention', outcome: { status: 'completed', summary: 'Posted the summary.' } },
    });
  });

  describe.each([
    ['completed', [slotGranted, started, completed], /the run completed; a finished run cannot be/],
    ['failed', [slotGranted, started, failed], /the run failed \(oom\); a finished run cannot be/],
    ['failed while starting', [slotGranted, failed], /the run failed \(oom\); a finished run cannot be/],
    ['timed out', [slotGranted, started, timedOut], /the run timed out \(idle\); a finished run cannot be/],
    ['interrupted', [slotGranted, started, interrupted], /the run was interrupted \(runtime_restarted\); a finished run cannot be/],
  ] as const)('a %s run is final', (_, history, reason) => {
    it.each(ALL_COMMANDS)('and rejects %s', (type) => {
      ended([...history]).when(COMMANDS[type]!).thenRejected(reason);
    });

    it('and owes no effect after a restart', () => {
      expect(runKind.pendingEffects!(ended([...history]).snapshot as never)).toEqual([]);
    });
  });
});

describe('run: its prompt, model calls and tool calls', () => {
  const context = {
    type: 'noteContext',
    model: 'claude-sonnet-4-5',
    system: [{ name: 'identity', text: 'You are the assistant.', cached: true }],
    messages: [{ role: 'user', text: 'What are the payment terms?' }],
    tokenEstimate: 40,
    windowBudgetTokens: 8_000,
    instructions: { company: 'c'.repeat(64), group: null },
  } as const;
  const modelCall = {
    type: 'noteModelCall',
    callId: 'm1',
    model: 'claude-sonnet-4-5',
    tokens: { input: 100, output: 20, cacheRead: 50, cacheWrite: 10 },
    costUsd: 0.0012,
    latencyMs: 300,
    attempts: 1,
    stopReason: 'tool_use',
    output: [{ type: 'tool_use', id: 'toolu_1', name: 'memory_search', input: { query: 'payment' } }],
  } as const;
  const toolCall = {
    type: 'noteToolCall',
    callId: 'toolu_1',
    tool: 'memory_search',
    where: 'host',
    input: { query: 'payment' },
    output: 'net 30',
    isError: false,
    durationMs: 4,
    tier: 'read',
    outcome: 'executed',
    approvalId: null,
  } as const;

  it('a starting run records the prompt it was given, and stays starting', () => {
    const after = run()
      .given(queued(), slotGranted)
      .when(context)
      .thenRecorded([
        {
          type: 'run.context_built',
          data: {
            model: 'claude-sonnet-4-5',
            system: context.system,
            messages: context.messages,
            tokenEstimate: 40,
            windowBudgetTokens: 8_000,
            instructions: { company: 'c'.repeat(64), group: null },
            builtAt: T0,
          },
        },
      ]);
    expect(after.state).toBe('starting');
  });

  it('a running run records model calls and sums their tokens and cost', () => {
    const after = run().given(queued(), slotGranted, started).when(modelCall).thenRecorded([
      {
        type: 'run.model_called',
        data: {
          callId: 'm1',
          model: 'claude-sonnet-4-5',
          tokens: modelCall.tokens,
          costUsd: 0.0012,
          latencyMs: 300,
          attempts: 1,
          stopReason: 'tool_use',
          output: modelCall.output,
          calledAt: T0,
        },
      },
    ]);
    expect(after.state).toBe('running');
    const { type: _command, ...recorded } = modelCall;
    const twice = run()
      .given(queued(), slotGranted, started)
      .given({ type: 'run.model_called', data: { ...recorded, calledAt: T0 } })
      .given({ type: 'run.model_called', data: { ...recorded, callId: 'm2', costUsd: null, calledAt: T0 } });
    expect((twice.context as RunContext).usage).toEqual({ tokens: { input: 200, output: 40, cacheRead: 100, cacheWrite: 20 }, costUsd: 0.0012, modelCalls: 2, toolCalls: 0 });
  });

  it('a running run records tool calls, with their tier and outcome, and counts them', () => {
    const after = run().given(queued(), slotGranted, started).when(toolCall).thenRecorded([
      {
        type: 'run.tool_called',
        data: {
          callId: 'toolu_1',
          tool: 'memory_search',
          where: 'host',
          input: { query: 'payment' },
          output: 'net 30',
          isError: false,
          durationMs: 4,
          tier: 'read',
          outcome: 'executed',
          approvalId: null,
          calledAt: T0,
        },
      },
    ]);
    expect(after.state).toBe('running');
  });

  it('a call waiting for approval is recorded as such, naming the approval', () => {
    run()
      .given(queued(), slotGranted, started)
      .when({ ...toolCall, tool: 'post_message', tier: 'external', outcome: 'approval_requested', approvalId: 'ap-0123456789abcdef01234567', output: 'Approval ap-… is pending' })
      .thenRecorded([
        {
          type: 'run.tool_called',
          data: expect.objectContaining({ tier: 'external', outcome: 'approval_requested', approvalId: 'ap-0123456789abcdef01234567' }),
        },
      ]);
  });

  it('a queued run refuses model and tool calls, and a finished run refuses everything', () => {
    run().given(queued()).when(modelCall).thenRejected(/queued/);
    run().given(queued()).when(toolCall).thenRejected(/queued/);
    run().given(queued(), slotGranted, started, completed).when(modelCall).thenRejected(/finished|completed/);
  });
});

describe('run: pending effects after a restart', () => {
  const pending = (...history: GivenEvent[]) => runKind.pendingEffects!(run().given(...history).snapshot as never);

  it('a new run owes nothing', () => {
    expect(pending()).toEqual([]);
  });

  it('a queued run asks for its slot again', () => {
    expect(pending(queued())).toEqual([{ type: 'requestSlot', params: slot }]);
  });

  it('a starting run without run.started asks for its container again', () => {
    expect(pending(queued(), slotGranted)).toEqual([{ type: 'startContainer', params: slot }]);
  });

  it('a running run has its container reconciled', () => {
    expect(pending(queued(), slotGranted, started)).toEqual([{ type: 'reconcileContainer', params: { runId: RUN } }]);
  });
});

describe('run: folding', () => {
  it('replaying a history gives the same state, context and effects, and the context is plain JSON', () => {
    const history = [queued(), slotGranted, started, timedOut];
    const first = run().given(...history);
    const second = run().given(...history);
    expect(second.state).toBe(first.state);
    expect(second.context).toEqual(first.context);
    expect(second.effects).toEqual(first.effects);
    expect(JSON.parse(JSON.stringify(first.context))).toEqual(first.context);
  });
});
