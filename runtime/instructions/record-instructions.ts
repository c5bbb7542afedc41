/**
 * Recording what the instructions files say, through the instructions actor (which decides:
 * the CLI and the runtime never append an event themselves). Whoever notices a change first
 * records it; the actor rejects the same hash again as unchanged, which here is success.
 *
 * - `syncInstructions`: before a run builds its prompt, the file is read and, when it differs
 *   from what was recorded last, recorded; the run is then given exactly that text.
 * - `writeInstructions`: `ledgerclaw instructions edit` writes the file and records it.
 */
import type { InstructionsCommand } from '../../actors/instructions.js';
import { isUnchangedReason } from '../../actors/instructions.js';
import { INSTRUCTIONS_MAX_BYTES, type InstructionsScope } from '../../events/catalogue/instructions.js';
import { writeFileAtomic } from '../../projections/atomic-file.js';
import { instructionsLocation, instructionsText, readInstructionsFile, type InstructionsText } from './instructions-file.js';

/** The instructions actor's answer, as the actor host or the control socket gives it. */
export type RecordAnswer = { readonly status: 'accepted' } | { readonly status: 'rejected'; readonly reason: string };

/** Sends one command to the instructions actor of a scope. */
export type SendInstructionsCommand = (scope: InstructionsScope, command: InstructionsCommand) => Promise<RecordAnswer>;

export type RecordOutcome = 'recorded' | 'unchanged';

/** The instructions actor refused a change for a reason other than having it already. */
export class InstructionsNotRecordedError extends Error {
  override readonly name = 'InstructionsNotRecordedError';
}

/** The text is longer than instructions may be. */
export class InstructionsTooLongError extends Error {
  override readonly name = 'InstructionsTooLongError';
}

export async function recordInstructions(send: SendInstructionsCommand, current: InstructionsText): Promise<RecordOutcome> {
  const answer = await send(current.scope, { type: 'record', hash: current.hash, text: current.text, truncated: current.truncated });
  if (answer.status === 'accepted') return 'recorded';
  if (isUnchangedReason(answer.reason)) return 'unchanged';
  throw new InstructionsNotRecordedError(`the ${current.scope} instructions were not recorded: ${answer.reason}`);
}

/** The scope's instructions as they are now, recorded first if they changed since the last record. */
export async function syncInstructions(dataDir: string, scope: InstructionsScope, send: SendInstructionsCommand): Promise<InstructionsText> {
  const current = await readInstructionsFile(dataDir, scope);
  await recordInstructions(send, current);
  return current;
}

/**
 * Replaces the scope's file with `text` (atomically) and records it. A text over
 * INSTRUCTIONS_MAX_BYTES is refused whole rather than cut: an operator gets to choose what
 * goes. The file as it is must be one the runtime would read (not a symlink out of its
 * folder), so an edit never writes through where a read would refuse.
 */
export async function writeInstructions(dataDir: string, scope: InstructionsScope, text: string, send: SendInstructionsCommand): Promise<{ readonly written: InstructionsText; readonly outcome: RecordOutcome }> {
  const location = instructionsLocation(dataDir, scope);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > INSTRUCTIONS_MAX_BYTES) {
    throw new InstructionsTooLongError(`${location.fileName} would be ${bytes} bytes; instructions are at most ${INSTRUCTIONS_MAX_BYTES} bytes (UTF-8)`);
  }
  await readInstructionsFile(dataDir, scope);
  await writeFileAtomic(location.path, text);
  const written = instructionsText(scope, text, false);
  return { written, outcome: await recordInstructions(send, written) };
}
