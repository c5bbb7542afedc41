import { describe, expect, it } from 'vitest';
import type { NotifyAdminsParams } from '../../../actors/task.js';
import type { EffectContext } from '../../../runtime/actor-host/effects.js';
import type { OutboundChannel } from '../../../runtime/gateways/host-tools/host-tool.js';
import { adminNoticeEffects } from '../../../runtime/scheduler/admin-notice.js';

const notice: NotifyAdminsParams = { groupId: 'T1.CSALES', taskId: 't-digest', reason: 'suspended_after_failures', consecutiveFailures: 3, lastRunId: 'task-t-digest-20261122T090000000Z' };

function recordingChannel(): { channel: OutboundChannel; posted: Array<Parameters<OutboundChannel['post']>[0]> } {
  const posted: Array<Parameters<OutboundChannel['post']>[0]> = [];
  return { posted, channel: { post: async (message) => (posted.push(message), { ref: `ref-${posted.length}` }), postToChannel: async () => ({ posted: false, reason: 'unused' }) } };
}

const noContext = {} as EffectContext; // the effect uses only its params and the channel

describe('the notice of a task paused after failures', () => {
  it('goes to the admin group, saying why and how to resume, keyed by the run that tipped it over', async () => {
    const { channel, posted } = recordingChannel();
    await adminNoticeEffects(() => channel, 'local.ops')['task.notifyAdmins']!(notice, noContext);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ groupId: 'local.ops', runId: notice.lastRunId, callId: 'task-paused:t-digest' });
    expect(posted[0]!.text).toContain('its last 3 runs failed in a row');
    expect(posted[0]!.text).toContain('ledgerclaw tasks resume t-digest');
    expect(posted[0]!.text).toContain('T1.CSALES');
  });

  it("goes to the task's own group when no admin group is configured", async () => {
    const { channel, posted } = recordingChannel();
    await adminNoticeEffects(() => channel, null)['task.notifyAdmins']!(notice, noContext);
    expect(posted[0]?.groupId).toBe('T1.CSALES');
  });
});
