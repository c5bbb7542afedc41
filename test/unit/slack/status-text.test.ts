import { describe, expect, it } from 'vitest';
import type { GroupContext } from '../../../actors/group.js';
import type { SupervisorContext } from '../../../actors/supervisor.js';
import { statusText } from '../../../runtime/channels/slack/status-text.js';

const supervisor: SupervisorContext = {
  maxConcurrentRuns: 4,
  maxRunsPerGroup: 1,
  active: [{ runId: 'r1', groupId: 'T1.C1', dispatchedAt: '2026-12-04T09:00:00.000Z' }],
  queue: [
    { runId: 'r2', groupId: 'T1.C2', queuedAt: '2026-12-04T09:00:01.000Z' },
    { runId: 'r3', groupId: 'T1.C3', queuedAt: '2026-12-04T09:00:02.000Z' },
  ],
} as unknown as SupervisorContext;

function group(overrides: Partial<GroupContext>): GroupContext {
  return {
    id: 'T1.C1',
    threadTs: null,
    settings: { triggerMode: 'mention', allowedSenders: [], isAdmin: true, rolesAddressingUsers: [] },
    recentMessageIds: [],
    latestMessageId: null,
    seenCursor: null,
    engaged: false,
    pendingMessageIds: [],
    currentRun: null,
    pendingReplies: [],
    recentReplyIds: [],
    ...overrides,
  };
}

describe('/ledgerclaw status', () => {
  it('says what runs are going and waiting against their limits, the scheduler, and the channel', () => {
    const text = statusText({
      version: '0.1.0',
      startedAt: 0,
      now: 3 * 3_600_000 + 12 * 60_000,
      sandbox: 'Docker containers',
      scheduler: 'on',
      supervisor,
      group: group({ currentRun: { runId: 'r1', trigger: 'mention', messageIds: ['1.1'], retryOf: null }, pendingMessageIds: ['1.2'] }),
    });
    expect(text.split('\n')).toEqual([
      '*ledgerclaw 0.1.0*, up 3 h 12 min',
      'Runs: 1 going, 2 waiting (at most 4 at once, 1 per group); Docker containers',
      'Scheduler: on',
      'This channel: answering (run `r1`), 1 message(s) queued for the next turn; answers when mentioned; the admin channel.',
    ]);
  });

  it('says when the channel has never asked anything', () => {
    const text = statusText({ version: '0.1.0', startedAt: 0, now: 60_000, sandbox: 's', scheduler: 'off', supervisor, group: group({ settings: null }) });
    expect(text).toContain('has not been asked anything in this channel yet');
  });
});
