/**
 * What `ledgerclaw instructions show` reports for a scope: the file as it is now, and the
 * last change recorded on `instructions-<scope>` (its hash, when, by whom), so an operator
 * sees whether runs have been given this text yet.
 */
import { instructionsChanged, type InstructionsScope } from '../../events/catalogue/instructions.js';
import type { EventStore } from '../../events/port.js';
import { instructionsLocation, readInstructionsFile, type InstructionsText } from './instructions-file.js';

export interface RecordedInstructions {
  readonly hash: string;
  readonly truncated: boolean;
  readonly recordedAt: string;
  /** `runtime` (noticed before a run) or `cli` (an edit). */
  readonly recordedBy: string;
}

export interface InstructionsStatus {
  readonly scope: InstructionsScope;
  /** The file's absolute path. */
  readonly path: string;
  /** The file now (the empty text when there is none). */
  readonly current: InstructionsText;
  /** The last recorded change; null when none was ever recorded (or there is no store yet). */
  readonly recorded: RecordedInstructions | null;
}

export function instructionsStreamId(scope: InstructionsScope): string {
  return `instructions-${scope}`;
}

/** Whether the next run will record a change before it is given the file. */
export function isRecorded(status: InstructionsStatus): boolean {
  return status.recorded === null ? status.current.text === '' : status.recorded.hash === status.current.hash;
}

export async function instructionsStatus(store: EventStore | null, dataDir: string, scope: InstructionsScope): Promise<InstructionsStatus> {
  const current = await readInstructionsFile(dataDir, scope);
  const [last] = store === null ? [] : await store.readStream(instructionsStreamId(scope), { direction: 'backwards', maxCount: 1 });
  const recorded =
    last !== undefined && instructionsChanged.is(last)
      ? { hash: last.data.hash, truncated: last.data.truncated, recordedAt: last.metadata.occurredAt, recordedBy: last.metadata.actor }
      : null;
  return { scope, path: instructionsLocation(dataDir, scope).path, current, recorded };
}
