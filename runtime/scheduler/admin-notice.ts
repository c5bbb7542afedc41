/**
 * The task actor's `notifyAdmins` effect: a task paused after repeated failures is reported
 * to the admin group (`scheduler.adminGroup`), or to the task's own group when none is set,
 * with why and how to start it again. The post is keyed by the run that tipped it over, so
 * an effect resumed after a restart posts under the same key.
 */
import type { NotifyAdminsParams } from '../../actors/task.js';
import type { EffectExecutorsFor } from '../actor-host/effects.js';
import type { OutboundChannel } from '../gateways/host-tools/host-tool.js';

export function adminNoticeText(notice: NotifyAdminsParams): string {
  return (
    `Task ${notice.taskId} of group ${notice.groupId} is paused: its last ${notice.consecutiveFailures} runs failed in a row ` +
    `(the last was ${notice.lastRunId}). See \`ledgerclaw tasks runs ${notice.taskId}\` for what went wrong, ` +
    `and \`ledgerclaw tasks resume ${notice.taskId}\` to start it again.`
  );
}

export function adminNoticeEffects(channel: () => OutboundChannel, adminGroup: string | null): EffectExecutorsFor<'task.notifyAdmins'> {
  return {
    'task.notifyAdmins': async (notice) => {
      await channel().post({
        groupId: adminGroup ?? notice.groupId,
        runId: notice.lastRunId,
        callId: `task-paused:${notice.taskId}`,
        text: adminNoticeText(notice),
      });
    },
  };
}
