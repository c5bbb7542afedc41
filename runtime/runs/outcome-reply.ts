/**
 * What a conversation is told when a run ends: its answer, or, when there is none, a short
 * note saying why, so a person who asked is never left with silence. A run a restart
 * interrupted and that is asked for again says nothing: its retry answers.
 *
 * The note names the kind of failure and the run, never the failure's detail: details can
 * hold a container's stderr or a provider's error text, which belong in `ledgerclaw runs
 * show <run>`, not in a channel.
 */
import type { RunOutcome } from '../../actors/run.js';
import { MAX_REPLY_CHARS } from '../../events/catalogue/group.js';

const FAILURE_TEXT: Record<Extract<RunOutcome, { status: 'failed' }>['reason'], string> = {
  start_failed: 'my sandbox could not be started',
  exit_code: 'my sandbox stopped with an error',
  oom: 'my sandbox ran out of memory',
  crash: 'my sandbox crashed',
  budget_exceeded: "the token budget for today is spent",
  model_error: 'the model could not be reached or refused the request',
  protocol_violation: 'my sandbox broke the rules of its channel to the host',
  oversized_frame: 'my sandbox sent or was sent a message over the size limit',
  recording_failed: 'what I did could not all be recorded',
  workspace_quota: 'my workspace is over its size quota (remove files there, or ask an admin to raise runs.workspaceMb)',
};

const INTERRUPTION_TEXT: Record<Extract<RunOutcome, { status: 'interrupted' }>['reason'], string> = {
  runtime_restarted: 'the assistant was restarted',
  runtime_shutdown: 'the assistant was shut down',
  container_lost: 'my sandbox disappeared',
};

function minutes(ms: number): string {
  const value = ms / 60_000;
  return value >= 1 ? `${Number.isInteger(value) ? value : value.toFixed(1)} min` : `${Math.round(ms / 1000)} s`;
}

/** The text to post for this ending, or null when nothing should be posted. */
export function replyForOutcome(runId: string, outcome: RunOutcome, options: { readonly retrying: boolean }): string | null {
  switch (outcome.status) {
    case 'completed': {
      const answer = outcome.summary.trim();
      if (answer === '') return null;
      return answer.length <= MAX_REPLY_CHARS ? answer : answer.slice(0, MAX_REPLY_CHARS);
    }
    case 'failed':
      return `I could not finish this: ${FAILURE_TEXT[outcome.reason]}. (run ${runId})`;
    case 'timed_out':
      return outcome.limit === 'hard'
        ? `I ran out of time on this: a turn may take ${minutes(outcome.limitMs)}. (run ${runId})`
        : `I stopped: nothing happened for ${minutes(outcome.limitMs)}. (run ${runId})`;
    case 'interrupted':
      return options.retrying ? null : `I was interrupted before I could answer: ${INTERRUPTION_TEXT[outcome.reason]}. Please ask again. (run ${runId})`;
  }
}
