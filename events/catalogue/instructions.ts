/**
 * Standing instructions, on stream `instructions-<scope>`: the company's (`COMPANY.md`, scope
 * `company`, read by every run) and each group's (`INSTRUCTIONS.md` in the group's folder,
 * scope `group.<groupId>`). The files are what operators edit; each change the runtime sees
 * (before a run builds its prompt, or through `ledgerclaw instructions edit`) is recorded
 * here with its text and hash, so a replay shows exactly which instructions a run was given
 * (a run's `run.context_built` names the hashes it used).
 *
 * A removed or emptied file is recorded as a change to the empty text.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';

/** Most bytes (UTF-8) of instructions a prompt carries; a longer file is cut and says so. */
export const INSTRUCTIONS_MAX_BYTES = 32 * 1024;

/** `company`, or `group.<groupId>` as in a group's memory scope. */
export const instructionsScopeSchema = z
  .string()
  .min(1)
  .max(262)
  .regex(/^(company|group\.[\x21-\x7e]+)$/, "expected 'company' or a group's scope such as 'group.T1.C1'");
export type InstructionsScope = z.infer<typeof instructionsScopeSchema>;

/** The sha256 (lower-case hex) of the instructions' UTF-8 text. */
export const instructionsHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 in lower-case hex');

export const instructionsTextSchema = z
  .string()
  .max(INSTRUCTIONS_MAX_BYTES)
  .refine((text) => Buffer.byteLength(text, 'utf8') <= INSTRUCTIONS_MAX_BYTES, `instructions are at most ${INSTRUCTIONS_MAX_BYTES} bytes of UTF-8`);

/** The hash an instructions text is recorded and named by. */
export function instructionsHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The hash of no instructions at all: what a scope has before anything is recorded. */
export const NO_INSTRUCTIONS_HASH = instructionsHash('');

export const instructionsChanged = defineEvent(
  'instructions.changed',
  1,
  z
    .object({
      scope: instructionsScopeSchema,
      hash: instructionsHashSchema,
      /** The text as a run uses it: the file's first INSTRUCTIONS_MAX_BYTES bytes. */
      text: instructionsTextSchema,
      /** The file was longer than INSTRUCTIONS_MAX_BYTES and `text` is its beginning. */
      truncated: z.boolean(),
      /** The hash recorded before this one (NO_INSTRUCTIONS_HASH for the first change). */
      previousHash: instructionsHashSchema,
    })
    .strict(),
);

export const instructionsEvents = [instructionsChanged] as const;
