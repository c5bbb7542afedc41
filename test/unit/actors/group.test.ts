/**
 * The group actor: configuration, which messages trigger a turn, one run at a time with
 * the rest queued, duplicates refused, and a seen-cursor that only moves forward.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotFrom } from 'xstate';
import { compareSlackTs, groupKind, homeGroupId, RECENT_MESSAGE_WINDOW, retryRunIdFor, runIdForMessage, type groupMachine } from '../../../actors/group.js';
import { spec, type ActorSpec, type GivenEvent } from '../../support/actor-spec.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { GENESIS_HASH } from '../../../events/hash-chain.js';

const CHANNEL = 'T1.C1';
const THREAD_TS = '1712345000.000100';
const THREAD = `${CHANNEL}.${THREAD_TS}`;

const M1 = '1712345678.000100';
const M2 = '1712345679.000200';
const M3 = '1712345680.000300';
const M4 = '1712345681.000400';

function configured(overrides: Record<string, unknown> = {}): GivenEvent {
  return { type: 'group.configured', data: { triggerMode: 'mention', allowedSenders: [], isAdmin: false, rolesAddressingUsers: [], ...overrides } };
}

function received(messageId: string, overrides: Record<string, unknown> = {}): GivenEvent {
  return {
    type: 'group.message_received',
    data: { messageId, sender: 'U1', text: 'hello', threadTs: null, mentionsBot: false, trigger: null, senderName: null, ...overrides },
  };
}

function turnRequested(runId: string, messageIds: string[], trigger = 'mention'): GivenEvent {
  return { type: 'group.turn_requested', data: { runId, trigger, messageIds, retryOf: null } };
}

function message(messageId: string, overrides: Record<string, unknown> = {}) {
  return { type: 'receiveMessage', messageId, sender: 'U1', text: 'hello', mentionsBot: false, ...overrides };
}

/** The effects asked for while folding just these events. */
function effectsOf(actor: ActorSpec, ...events: GivenEvent[]) {
  return actor.given(...events).effects.slice(actor.effects.length);
}

const pendingEffectsOf = (actor: ActorSpec) => groupKind.pendingEffects!(actor.snapshot as SnapshotFrom<typeof groupMachine>);

const RUN_1 = runIdForMessage(CHANNEL, M1);

const idle = () => spec(groupKind, CHANNEL).given(configured());
const awaitingRun = () => idle().given(received(M1, { mentionsBot: true, trigger: 'mention' }), turnRequested(RUN_1, [M1]));
const running = () => awaitingRun().given({ type: 'group.run_started', data: { runId: RUN_1 } });

describe('helpers', () => {
  it('orders Slack timestamps by time, not by text', () => {
    expect(compareSlackTs('999999999.000001', '1000000000.000000')).toBeLessThan(0);
    expect(compareSlackTs('1712345678.0002', '1712345678.000100')).toBeGreaterThan(0);
    expect(compareSlackTs(M1, M1)).toBe(0);
  });

  it('derives a run id that is safe as a stream id and a container label', () => {
    expect(runIdForMessage(CHANNEL, M1)).toBe('T1.C1-1712345678.000100');
    expect(runIdForMessage('T1.C1/x y', M1)).toBe('T1.C1_x_y-1712345678.000100');
  });
});

describe('an unconfigured group', () => {
  it('starts unconfigured, knowing whether it is a thread', () => {
    expect(spec(groupKind, CHANNEL).state).toBe('unconfigured');
    expect(spec(groupKind, CHANNEL).context).toMatchObject({ id: CHANNEL, threadTs: null, settings: null });
    expect(spec(groupKind, THREAD).context).toMatchObject({ id: THREAD, threadTs: THREAD_TS });
  });

  it('records its configuration with the allowed senders and roles sorted and without repeats', () => {
    const after = spec(groupKind, CHANNEL)
      .when({ type: 'configure', triggerMode: 'all', allowedSenders: ['U3', 'U1', 'U3'], isAdmin: true, rolesAddressingUsers: ['Reviewer', 'Coder', 'Reviewer'] })
      .thenRecorded([
        { type: 'group.configured', data: { triggerMode: 'all', allowedSenders: ['U1', 'U3'], isAdmin: true, rolesAddressingUsers: ['Coder', 'Reviewer'] } },
      ]);
    expect(after.state).toBe('configured.idle');
    expect(after.context).toMatchObject({
      settings: { triggerMode: 'all', allowedSenders: ['U1', 'U3'], isAdmin: true, rolesAddressingUsers: ['Coder', 'Reviewer'] },
    });
  });

  it('lets no role address people unless the configuration names it', () => {
    spec(groupKind, CHANNEL)
      .when({ type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false })
      .thenRecorded([{ type: 'group.configured', data: { triggerMode: 'mention', allowedSenders: [], isAdmin: false, rolesAddressingUsers: [] } }]);
  });

  it('can be reconfigured, and the new trigger mode applies to the next message', () => {
    const reconfigured = idle()
      .when({ type: 'configure', triggerMode: 'all', allowedSenders: [], isAdmin: false })
      .thenRecorded([{ type: 'group.configured', data: { triggerMode: 'all', allowedSenders: [], isAdmin: false, rolesAddressingUsers: [] } }]);
    expect(reconfigured.state).toBe('configured.idle');
    reconfigured.when(message(M1)).thenRecorded([
      received(M1, { trigger: 'all' }),
      { type: 'group.turn_requested', data: { runId: RUN_1, trigger: 'all', messageIds: [M1], retryOf: null } },
    ]);
  });

  it('rejects a configuration that changes nothing', () => {
    spec(groupKind, CHANNEL)
      .given(configured({ allowedSenders: ['U1', 'U2'] }))
      .when({ type: 'configure', triggerMode: 'mention', allowedSenders: ['U2', 'U1', 'U1'], isAdmin: false })
      .thenRejected(/already configured with exactly these settings/);
  });
});

describe('the duplicate window', () => {
  const many = (count: number): GivenEvent[] =>
    Array.from({ length: count }, (_, index) => received(`${1712300000 + index}.000000`));

  it('remembers the last messages only, so the context stays bounded', () => {
    const full = idle().given(...many(RECENT_MESSAGE_WINDOW + 1));
    const context = full.context as { recentMessageIds: string[]; latestMessageId: string };
    expect(context.recentMessageIds).toHaveLength(RECENT_MESSAGE_WINDOW);
    expect(context.recentMessageIds[0]).toBe('1712300001.000000');
    expect(context.latestMessageId).toBe(`${1712300000 + RECENT_MESSAGE_WINDOW}.000000`);
  });

  it('rejects a message older than every remembered one, since it may be a redelivery', () => {
    const full = idle().given(...many(RECENT_MESSAGE_WINDOW + 1));
    full.when(message('1712300000.000000', { mentionsBot: true })).thenRejected(/older than the last 1000 messages/);
    full.when(message('1712200000.000000')).thenRejected(/cannot be told apart from a redelivery/);
  });

  it('still takes a late message that is newer than the oldest remembered one', () => {
    const full = idle().given(...many(RECENT_MESSAGE_WINDOW + 1));
    full.when(message('1712300500.500000')).thenRecorded([received('1712300500.500000')]);
  });

  it('does not judge age before the window is full', () => {
    idle().given(received(M2)).when(message(M1)).thenRecorded([received(M1)]);
  });
});

describe('threads', () => {
  const thread = () => spec(groupKind, THREAD).given(configured());

  it('does not take a follow-up without a mention before the bot has answered in the thread', () => {
    thread().when(message(M1, { threadTs: THREAD_TS })).thenRecorded([received(M1, { threadTs: THREAD_TS })]);
  });

  it('takes a follow-up in a thread the bot has answered in as a trigger', () => {
    const runId = runIdForMessage(THREAD, M1);
    const answered = thread().given(
      received(M1, { threadTs: THREAD_TS, mentionsBot: true, trigger: 'mention' }),
      turnRequested(runId, [M1]),
      { type: 'group.run_finished', data: { runId, outcome: 'completed' } },
    );
    expect(answered.state).toBe('configured.idle');
    answered.when(message(M2, { threadTs: THREAD_TS })).thenRecorded([
      received(M2, { threadTs: THREAD_TS, trigger: 'thread_follow_up' }),
      { type: 'group.turn_requested', data: { runId: runIdForMessage(THREAD, M2), trigger: 'thread_follow_up', messageIds: [M2], retryOf: null } },
    ]);
  });

  it('does not treat plain messages in an answered channel as follow-ups', () => {
    const answered = idle().given(
      received(M1, { mentionsBot: true, trigger: 'mention' }),
      turnRequested(RUN_1, [M1]),
      { type: 'group.run_finished', data: { runId: RUN_1, outcome: 'completed' } },
    );
    answered.when(message(M2)).thenRecorded([received(M2)]);
  });

  it("rejects a message from another thread than the group's", () => {
    thread().when(message(M1, { threadTs: '1712345999.000000' })).thenRejected(/belongs to thread 1712345999.000000/);
  });
});

describe('a group awaiting its run', () => {
  it('asks again for its run after a restart', () => {
    const actor = awaitingRun();
    expect(actor.state).toBe('configured.awaitingRun');
    expect(pendingEffectsOf(actor)).toEqual([
      { type: 'requestRun', params: { runId: RUN_1, groupId: CHANNEL, trigger: 'mention', messageIds: [M1] } },
      { type: 'reconcileRun', params: { groupId: CHANNEL, runId: RUN_1 } },
    ]);
  });

  it('records that its run started', () => {
    const after = awaitingRun().when({ type: 'runStarted', runId: RUN_1 }).thenRecorded([{ type: 'group.run_started', data: { runId: RUN_1 } }]);
    expect(after.state).toBe('configured.running');
  });

  it('rejects the start of another run', () => {
    awaitingRun().when({ type: 'runStarted', runId: 'run-other' }).thenRejected(`waiting for run ${RUN_1}, not run-other`);
  });

  it('queues a triggering message instead of asking for a second run, and acknowledges it', () => {
    const before = awaitingRun();
    const events = [received(M2, { mentionsBot: true, trigger: 'mention' })];
    before.when(message(M2, { mentionsBot: true })).thenRecorded(events);
    expect(effectsOf(before, ...events)).toEqual([{ type: 'acknowledgeMessage', params: { groupId: CHANNEL, messageId: M2 } }]);
    const after = before.given(...events);
    expect(after.state).toBe('configured.awaitingRun');
    expect(after.context).toMatchObject({ pendingMessageIds: [M2], currentRun: { runId: RUN_1 } });
  });

  it('does not queue a message that does not trigger', () => {
    const after = awaitingRun().given(received(M2));
    expect(after.context).toMatchObject({ pendingMessageIds: [] });
  });

  it('records a run that finished without starting, and becomes idle', () => {
    const after = awaitingRun()
      .when({ type: 'runFinished', runId: RUN_1, outcome: 'failed' })
      .thenRecorded([{ type: 'group.run_finished', data: { runId: RUN_1, outcome: 'failed' } }]);
    expect(after.state).toBe('configured.idle');
    expect(after.context).toMatchObject({ currentRun: null });
    expect(pendingEffectsOf(after)).toEqual([]);
  });

  it('can be reconfigured without losing its run', () => {
    const after = awaitingRun().given(configured({ triggerMode: 'all' }));
    expect(after.state).toBe('configured.awaitingRun');
    expect(after.context).toMatchObject({ currentRun: { runId: RUN_1 }, settings: { triggerMode: 'all' } });
  });
});

describe('a running group', () => {
  it('does not ask again for a run that started, but checks after a restart whether it ended unreported', () => {
    expect(running().state).toBe('configured.running');
    expect(pendingEffectsOf(running())).toEqual([{ type: 'reconcileRun', params: { groupId: CHANNEL, runId: RUN_1 } }]);
  });

  it('owes nothing when idle', () => {
    expect(pendingEffectsOf(idle())).toEqual([]);
  });

  it('rejects a second start', () => {
    running().when({ type: 'runStarted', runId: RUN_1 }).thenRejected(`run ${RUN_1} has already started`);
    running().when({ type: 'runStarted', runId: 'run-other' }).thenRejected(`run ${RUN_1} is running in this group, not run-other`);
  });

  it('rejects the end of another run', () => {
    running().when({ type: 'runFinished', runId: 'run-other', outcome: 'completed' }).thenRejected(`current run is ${RUN_1}, not run-other`);
  });

  it('becomes idle when its run finishes with nothing queued', () => {
    const after = running()
      .when({ type: 'runFinished', runId: RUN_1, outcome: 'completed' })
      .thenRecorded([{ type: 'group.run_finished', data: { runId: RUN_1, outcome: 'completed' } }]);
    expect(after.state).toBe('configured.idle');
    expect(after.context).toMatchObject({ currentRun: null, pendingMessageIds: [] });
  });

  it('asks for one turn answering every queued message when its run finishes', () => {
    const queued = running().given(
      received(M2, { mentionsBot: true, trigger: 'mention' }),
      received(M3),
      received(M4, { mentionsBot: true, trigger: 'mention' }),
    );
    expect(queued.context).toMatchObject({ pendingMessageIds: [M2, M4] });
    const next = runIdForMessage(CHANNEL, M2);
    const events = [
      { type: 'group.run_finished', data: { runId: RUN_1, outcome: 'timed_out' } },
      { type: 'group.turn_requested', data: { runId: next, trigger: 'queued', messageIds: [M2, M4], retryOf: null } },
    ];
    queued.when({ type: 'runFinished', runId: RUN_1, outcome: 'timed_out' }).thenRecorded(events);
    expect(effectsOf(queued, ...events)).toEqual([
      { type: 'requestRun', params: { runId: next, groupId: CHANNEL, trigger: 'queued', messageIds: [M2, M4] } },
    ]);
    const after = queued.given(...events);
    expect(after.state).toBe('configured.awaitingRun');
    expect(after.context).toMatchObject({ currentRun: { runId: next, trigger: 'queued', messageIds: [M2, M4] }, pendingMessageIds: [] });
  });

  it('asks once more for a turn a restart interrupted, with the messages queued meanwhile, when told to retry', () => {
    const queued = running().given(received(M2, { mentionsBot: true, trigger: 'mention' }));
    const retry = retryRunIdFor(RUN_1);
    const events = [
      { type: 'group.run_finished', data: { runId: RUN_1, outcome: 'interrupted' } },
      { type: 'group.turn_requested', data: { runId: retry, trigger: 'mention', messageIds: [M1, M2], retryOf: RUN_1 } },
    ];
    queued.when({ type: 'runFinished', runId: RUN_1, outcome: 'interrupted', retry: true }).thenRecorded(events);
    expect(effectsOf(queued, ...events)).toEqual([{ type: 'requestRun', params: { runId: retry, groupId: CHANNEL, trigger: 'mention', messageIds: [M1, M2] } }]);
    expect(queued.given(...events).context).toMatchObject({ currentRun: { runId: retry, retryOf: RUN_1 }, pendingMessageIds: [] });
  });

  it('does not retry a retried turn, nor a run that failed rather than was interrupted', () => {
    const retry = retryRunIdFor(RUN_1);
    const retried = running().given(
      { type: 'group.run_finished', data: { runId: RUN_1, outcome: 'interrupted' } },
      { type: 'group.turn_requested', data: { runId: retry, trigger: 'mention', messageIds: [M1], retryOf: RUN_1 } },
    );
    retried
      .when({ type: 'runFinished', runId: retry, outcome: 'interrupted', retry: true })
      .thenRecorded([{ type: 'group.run_finished', data: { runId: retry, outcome: 'interrupted' } }]);
    running()
      .when({ type: 'runFinished', runId: RUN_1, outcome: 'failed', retry: true })
      .thenRecorded([{ type: 'group.run_finished', data: { runId: RUN_1, outcome: 'failed' } }]);
  });

  it('reads a v1 turn request (stored before retries existed) as a first attempt', () => {
    const stored = catalogue.decode(
      {
        id: '6f0c2a43-7d1e-4f57-9a1b-2c3d4e5f6a7b',
        type: 'group.turn_requested',
        version: 1,
        dataJson: JSON.stringify({ runId: RUN_1, trigger: 'mention', messageIds: [M1] }),
        metadataJson: JSON.stringify({ actor: 'runtime', causationId: null, correlationId: 'c-1', occurredAt: '2026-01-01T00:00:00.000Z' }),
        streamId: `group-${CHANNEL}`,
        revision: 3n,
        position: 9n,
        recordedAt: '2026-01-01T00:00:00.000Z',
        prevHash: GENESIS_HASH,
        hashVersion: 2,
        hash: 'f'.repeat(64),
      },
      true,
    );
    expect(stored.data).toEqual({ runId: RUN_1, trigger: 'mention', messageIds: [M1], retryOf: null });
  });

  it('reads a v1 configuration (stored before roles existed) as allowing no role to address people', () => {
    const stored = catalogue.decode(
      {
        id: '6f0c2a43-7d1e-4f57-9a1b-2c3d4e5f6a70',
        type: 'group.configured',
        version: 1,
        dataJson: JSON.stringify({ triggerMode: 'dm', allowedSenders: [], isAdmin: false }),
        metadataJson: JSON.stringify({ actor: 'runtime', causationId: null, correlationId: 'c-1', occurredAt: '2026-01-01T00:00:00.000Z' }),
        streamId: `group-${CHANNEL}`,
        revision: 0n,
        position: 1n,
        recordedAt: '2026-01-01T00:00:00.000Z',
        prevHash: GENESIS_HASH,
        hashVersion: 2,
        hash: 'f'.repeat(64),
      },
      true,
    );
    expect(stored.data).toEqual({ triggerMode: 'dm', allowedSenders: [], isAdmin: false, rolesAddressingUsers: [] });
  });

  it('reads a v1 message (stored before sender names) as one whose sender was not named', () => {
    const stored = catalogue.decode(
      {
        id: '6f0c2a43-7d1e-4f57-9a1b-2c3d4e5f6a71',
        type: 'group.message_received',
        version: 1,
        dataJson: JSON.stringify({ messageId: M1, sender: 'U1', text: 'hi', threadTs: null, mentionsBot: false, trigger: null }),
        metadataJson: JSON.stringify({ actor: 'runtime', causationId: null, correlationId: 'c-1', occurredAt: '2026-01-01T00:00:00.000Z' }),
        streamId: `group-${CHANNEL}`,
        revision: 1n,
        position: 2n,
        recordedAt: '2026-01-01T00:00:00.000Z',
        prevHash: GENESIS_HASH,
        hashVersion: 2,
        hash: 'f'.repeat(64),
      },
      true,
    );
    expect(stored.data).toEqual({ messageId: M1, sender: 'U1', text: 'hi', threadTs: null, mentionsBot: false, trigger: null, senderName: null });
  });

  it('still rejects duplicates while running', () => {
    running().when(message(M1, { mentionsBot: true })).thenRejected(/already recorded/);
  });
});

describe('the seen cursor', () => {
  it('cannot point at a message before any is recorded', () => {
    idle().when({ type: 'markSeen', cursor: M1 }).thenRejected(/recorded no message yet/);
  });

  it('cannot point past the newest message', () => {
    idle().given(received(M1)).when({ type: 'markSeen', cursor: M2 }).thenRejected(`newest message is ${M1}`);
  });

  it('moves forward, while idle or running', () => {
    const after = idle()
      .given(received(M1), received(M2))
      .when({ type: 'markSeen', cursor: M1 })
      .thenRecorded([{ type: 'group.cursor_advanced', data: { cursor: M1 } }]);
    expect(after.context).toMatchObject({ seenCursor: M1 });
    running().given(received(M2)).when({ type: 'markSeen', cursor: M2 }).thenRecorded([{ type: 'group.cursor_advanced', data: { cursor: M2 } }]);
  });

  it('never moves backwards or stays put', () => {
    const seen = idle().given(received(M1), received(M2), { type: 'group.cursor_advanced', data: { cursor: M2 } });
    seen.when({ type: 'markSeen', cursor: M1 }).thenRejected(`at ${M2} already; it never moves back to ${M1}`);
    seen.when({ type: 'markSeen', cursor: M2 }).thenRejected(/never moves back/);
  });
});

describe('edits and deletions', () => {
  it('records an edit and a deletion without asking for a turn', () => {
    const actor = idle().given(received(M1));
    actor
      .when({ type: 'editMessage', messageId: M1, text: 'hello <@U0BOT>', editedTs: M2 })
      .thenRecorded([{ type: 'group.message_edited', data: { messageId: M1, text: 'hello <@U0BOT>', editedTs: M2 } }]);
    actor.when({ type: 'deleteMessage', messageId: M1 }).thenRecorded([{ type: 'group.message_deleted', data: { messageId: M1 } }]);
    expect(effectsOf(actor, { type: 'group.message_edited', data: { messageId: M1, text: 'x', editedTs: M2 } })).toEqual([]);
    expect(actor.given({ type: 'group.message_deleted', data: { messageId: M1 } }).state).toBe('configured.idle');
  });

  it('records a message taken from the thread\'s history for context, never as a trigger', () => {
    spec(groupKind, THREAD)
      .given(configured({ triggerMode: 'dm' }))
      .when(message(M1, { threadTs: THREAD_TS, mentionsBot: true, fromHistory: true }))
      .thenRecorded([received(M1, { threadTs: THREAD_TS, mentionsBot: true, trigger: null })]);
  });
});

describe('messages from other bots', () => {
  it('records them without a turn, even in a DM or when they mention the bot', () => {
    spec(groupKind, 'T1.D1')
      .given(configured({ triggerMode: 'dm' }))
      .when(message(M1, { sender: 'B0OTHER', mentionsBot: true, senderIsBot: true }))
      .thenRecorded([received(M1, { sender: 'B0OTHER', mentionsBot: true, trigger: null })]);
  });
});

describe('home groups', () => {
  it('puts a thread in its channel, and leaves a channel, DM or local group as it is', () => {
    expect(homeGroupId(THREAD)).toBe(CHANNEL);
    expect(homeGroupId(CHANNEL)).toBe(CHANNEL);
    expect(homeGroupId('T1.D1')).toBe('T1.D1');
    expect(homeGroupId('local.chat')).toBe('local.chat');
  });
});

describe('replies', () => {
  const ANSWER = 'The invoice was paid on Tuesday.';
  const owed = { replyId: RUN_1, runId: RUN_1, text: ANSWER, threadTs: null, messageIds: [M1] };

  it('records the reply with the end of the run, in the same decision, and asks for it to be posted', () => {
    const after = running()
      .when({ type: 'runFinished', runId: RUN_1, outcome: 'completed', reply: ANSWER })
      .thenRecorded([
        { type: 'group.run_finished', data: { runId: RUN_1, outcome: 'completed' } },
        { type: 'group.reply_requested', data: owed },
      ]);
    expect(after.state).toBe('configured.idle');
    const actor = running().given({ type: 'group.run_finished', data: { runId: RUN_1, outcome: 'completed' } });
    expect(effectsOf(actor, { type: 'group.reply_requested', data: owed })).toEqual([{ type: 'postReply', params: { groupId: CHANNEL, ...owed } }]);
  });

  it('answers in the thread of a thread group', () => {
    const thread = spec(groupKind, THREAD)
      .given(configured(), received(M1, { threadTs: THREAD_TS, mentionsBot: true, trigger: 'mention' }), turnRequested('r-thread', [M1]))
      .given({ type: 'group.run_started', data: { runId: 'r-thread' } });
    thread
      .when({ type: 'runFinished', runId: 'r-thread', outcome: 'completed', reply: ANSWER })
      .thenRecorded([
        { type: 'group.run_finished', data: { runId: 'r-thread', outcome: 'completed' } },
        { type: 'group.reply_requested', data: { replyId: 'r-thread', runId: 'r-thread', text: ANSWER, threadTs: THREAD_TS, messageIds: [M1] } },
      ]);
  });

  it('records the reply before the next turn when messages queued up during the run', () => {
    running()
      .given(received(M2, { mentionsBot: true, trigger: 'mention' }))
      .when({ type: 'runFinished', runId: RUN_1, outcome: 'completed', reply: ANSWER })
      .thenRecorded([
        { type: 'group.run_finished', data: { runId: RUN_1, outcome: 'completed' } },
        { type: 'group.reply_requested', data: owed },
        turnRequested(runIdForMessage(CHANNEL, M2), [M2], 'queued'),
      ]);
  });

  it('posts nothing for a run that finished without a reply', () => {
    running()
      .when({ type: 'runFinished', runId: RUN_1, outcome: 'completed' })
      .thenRecorded([{ type: 'group.run_finished', data: { runId: RUN_1, outcome: 'completed' } }]);
  });

  it('keeps a reply owed until it is posted, so a restart posts it', () => {
    const owing = running().given({ type: 'group.run_finished', data: { runId: RUN_1, outcome: 'completed' } }, { type: 'group.reply_requested', data: owed });
    expect(pendingEffectsOf(owing)).toEqual([{ type: 'postReply', params: { groupId: CHANNEL, ...owed } }]);
    owing
      .when({ type: 'replyPosted', replyId: RUN_1, refs: ['1712345999.000100'] })
      .thenRecorded([{ type: 'group.reply_posted', data: { replyId: RUN_1, refs: ['1712345999.000100'] } }]);
    const posted = owing.given({ type: 'group.reply_posted', data: { replyId: RUN_1, refs: ['1712345999.000100'] } });
    expect(pendingEffectsOf(posted)).toEqual([]);
    posted.when({ type: 'replyPosted', replyId: RUN_1, refs: ['1712345999.000100'] }).thenRejected(/owes no reply/);
  });

  it('refuses a reply that is too long for Slack or empty', () => {
    expect(() => running().when({ type: 'runFinished', runId: RUN_1, outcome: 'completed', reply: '' })).toThrow(/invalid/);
    expect(() => running().when({ type: 'runFinished', runId: RUN_1, outcome: 'completed', reply: 'x'.repeat(40_001) })).toThrow(/invalid/);
  });
});

describe("a scheduled task's result", () => {
  const TASK_RUN = 'task-t-1a2b-20260105T090000000Z';
  const RESULT = 'Sales yesterday: 42 orders, 3 refunds.';
  const deliver = { type: 'deliverTaskResult', taskId: 't-1a2b', runId: TASK_RUN, text: RESULT } as const;
  const owed = { replyId: TASK_RUN, runId: TASK_RUN, text: RESULT, threadTs: null, messageIds: [] };

  it('is owed as a reply keyed by the task run, answering no message, and asks for it to be posted', () => {
    idle().when(deliver).thenRecorded([{ type: 'group.reply_requested', data: owed }]);
    expect(effectsOf(idle(), { type: 'group.reply_requested', data: owed })).toEqual([{ type: 'postReply', params: { groupId: CHANNEL, ...owed } }]);
  });

  it('is owed while a turn runs, without touching the turn', () => {
    const after = running().when(deliver).thenRecorded([{ type: 'group.reply_requested', data: owed }]);
    expect(after.state).toBe('configured.running');
  });

  it('lands in the thread of a thread group', () => {
    spec(groupKind, THREAD)
      .given(configured())
      .when(deliver)
      .thenRecorded([{ type: 'group.reply_requested', data: { ...owed, threadTs: THREAD_TS } }]);
  });

  it('is refused a second time, while owed and after it was posted, so a result delivered again after a crash is posted once', () => {
    const owing = idle().given({ type: 'group.reply_requested', data: owed });
    owing.when(deliver).thenRejected(/delivered already/);
    const posted = owing.given({ type: 'group.reply_posted', data: { replyId: TASK_RUN, refs: ['1712345999.000100'] } });
    expect(pendingEffectsOf(posted)).toEqual([]);
    posted.when(deliver).thenRejected(/delivered already/);
  });

  it('is refused by a group not configured yet', () => {
    spec(groupKind, CHANNEL).when(deliver).thenRejected(/not configured/);
  });

  it('is refused when empty or too long for Slack', () => {
    expect(() => idle().when({ ...deliver, text: '' })).toThrow(/invalid/);
    expect(() => idle().when({ ...deliver, text: 'x'.repeat(40_001) })).toThrow(/invalid/);
  });
});

describe("an approved action's result", () => {
  const RESULT = 'Approved action `post_message` (ap-9) ran: posted';
  const deliver = { type: 'deliverApprovalResult', approvalId: 'ap-9', runId: 'r-7', text: RESULT } as const;
  const owed = { replyId: 'approval-ap-9', runId: 'r-7', text: RESULT, threadTs: null, messageIds: [] };

  it('is owed as a reply keyed by the approval (approval-<id>), answering no message, and asks for it to be posted', () => {
    idle().when(deliver).thenRecorded([{ type: 'group.reply_requested', data: owed }]);
    expect(effectsOf(idle(), { type: 'group.reply_requested', data: owed })).toEqual([{ type: 'postReply', params: { groupId: CHANNEL, ...owed } }]);
  });

  it('lands in the thread that asked, while a turn runs there or not', () => {
    spec(groupKind, THREAD).given(configured()).when(deliver).thenRecorded([{ type: 'group.reply_requested', data: { ...owed, threadTs: THREAD_TS } }]);
    expect(running().when(deliver).thenRecorded([{ type: 'group.reply_requested', data: owed }]).state).toBe('configured.running');
  });

  it('is refused a second time, so a result delivered again after a crash is posted once', () => {
    const owing = idle().given({ type: 'group.reply_requested', data: owed });
    owing.when(deliver).thenRejected('the result of approval ap-9 was delivered already');
    owing.given({ type: 'group.reply_posted', data: { replyId: 'approval-ap-9', refs: ['1712345999.000100'] } }).when(deliver).thenRejected(/delivered already/);
  });

  it('is refused by a group not configured yet', () => {
    spec(groupKind, CHANNEL).when(deliver).thenRejected(/not configured/);
  });
});
