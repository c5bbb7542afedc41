/**
 * How actors look on the terminal and in `--json` output: replay steps and the actor list.
 */
import type { JsonChange } from '../../actors/json-diff.js';
import type { ReplayedActor, ReplayStep } from '../../actors/replay.js';
import { eventAsJson, typeAndVersion } from './event-format.js';
import { formatTable, toJson, toJsonLine } from './format.js';

const ABSENT = '(absent)';

function changeLine(change: JsonChange): string {
  const side = (present: boolean, value: unknown) => (present ? toJson(value) : ABSENT);
  const path = change.path === '' ? '(whole context)' : change.path;
  return `${path}: ${side('before' in change, change.before)} → ${side('after' in change, change.after)}`;
}

/** Labelled lines under an event: the label once, then aligned continuation lines. */
function labelled(label: string, lines: readonly string[]): string {
  return lines.map((line, index) => `  ${(index === 0 ? label : '').padEnd(8)} ${line}\n`).join('');
}

/**
 * One block an event:
 *
 *     counter-a@1  counter.incremented v1  2026-01-05T09:00:00.000Z  user:U1
 *       data     {"by":3}
 *       state    open → open
 *       context  count: 0 → 3
 *       effect   notifyLimit {"id":"a","count":10}
 */
export function replayStepBlock(step: ReplayStep): string {
  const { event } = step;
  return (
    `${event.streamId}@${event.revision}  ${typeAndVersion(event)}  ${event.recordedAt}  ${event.metadata.actor}\n` +
    labelled('data', [toJson(event.data)]) +
    labelled('state', [`${step.stateBefore} → ${step.stateAfter}`]) +
    labelled('context', step.contextChanges.length === 0 ? ['(unchanged)'] : step.contextChanges.map(changeLine)) +
    (step.effects.length === 0 ? '' : labelled('effect', step.effects.map((effect) => `${effect.type} ${toJson(effect.params)}`))) +
    '\n'
  );
}

/** Where the replay ended: `lastRevision` is the stream's, which `--to` may stop short of. */
export function replayFinalBlock(streamId: string, final: ReplayedActor, lastRevision: bigint): string {
  const where =
    final.revision === lastRevision
      ? `at revision ${final.revision} (the last)`
      : `at revision ${final.revision} (the stream goes on to revision ${lastRevision})`;
  return `${streamId} ${where}\n` + labelled('state', [final.state]) + labelled('context', [toJson(final.context)]);
}

export function replayStepAsJsonLine(step: ReplayStep): string {
  return toJsonLine({
    entry: 'step',
    event: eventAsJson(step.event),
    stateBefore: step.stateBefore,
    stateAfter: step.stateAfter,
    // An absent side stays absent: JSON has no undefined, and null is a value a context may hold.
    contextChanges: step.contextChanges,
    effects: step.effects,
  });
}

export function replayFinalAsJsonLine(address: { kind: string; id: string; streamId: string }, final: ReplayedActor, lastRevision: bigint): string {
  return toJsonLine({
    entry: 'final',
    ...address,
    revision: final.revision,
    lastRevision,
    state: final.state,
    value: final.value,
    context: final.context,
  });
}

export interface ListedActor {
  readonly kind: string;
  readonly id: string;
  readonly streamId: string;
  readonly state: string;
  readonly revision: bigint | null;
  readonly lastRecordedAt: string;
  readonly live: boolean;
}

export function actorsTable(actors: readonly ListedActor[]): string {
  if (actors.length === 0) return '(no actors)\n';
  return formatTable(
    ['KIND', 'ID', 'STATE', 'REVISION', 'LAST EVENT', 'LIVE'],
    actors.map((actor) => [
      actor.kind,
      // A singleton (`supervisor`) has no id.
      actor.id === '' ? '-' : actor.id,
      actor.state,
      actor.revision === null ? '-' : String(actor.revision),
      actor.lastRecordedAt,
      actor.live ? 'yes' : 'no',
    ]),
  );
}

export function actorAsJsonLine(actor: ListedActor): string {
  return toJsonLine(actor);
}
