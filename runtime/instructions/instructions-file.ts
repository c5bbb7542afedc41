/**
 * Where standing instructions live and how they are read:
 *
 * - the company's: `COMPANY.md` in the shared directory (`<dataDir>/shared/COMPANY.md`),
 *   read by every run (and readable, not writable, by agents at `/shared/COMPANY.md`);
 * - a group's: `INSTRUCTIONS.md` in the group's folder (`<dataDir>/groups/<group dir>/`,
 *   beside MEMORY.md and WORK_CONTEXT.md, outside the workspace the agent can write).
 *
 * Each is read through readWorkspaceFile, confined to its own folder: a symlink that leads
 * out of it, or something that is not a regular file, is refused with a message that says
 * so. At most INSTRUCTIONS_MAX_BYTES are used; a longer file is cut there and marked
 * `truncated`. A missing file is the empty text: no instructions.
 */
import { dirname, join } from 'node:path';
import { instructionsHash, INSTRUCTIONS_MAX_BYTES, type InstructionsScope } from '../../events/catalogue/instructions.js';
import { groupFilePath } from '../../projections/atomic-file.js';
import { readWorkspaceFile, textOrThrow, type WorkspaceRoot } from '../sandbox/workspace-file.js';

export const COMPANY_INSTRUCTIONS_FILE = 'COMPANY.md';
export const GROUP_INSTRUCTIONS_FILE = 'INSTRUCTIONS.md';

const GROUP_SCOPE_PREFIX = 'group.';

/** `company` for null, else the group's scope `group.<groupId>`. */
export function instructionsScope(groupId: string | null): InstructionsScope {
  return groupId === null ? 'company' : `${GROUP_SCOPE_PREFIX}${groupId}`;
}

/** The group a scope is for; null for the company. */
export function groupOfScope(scope: InstructionsScope): string | null {
  return scope === 'company' ? null : scope.slice(GROUP_SCOPE_PREFIX.length);
}

export interface InstructionsLocation {
  /** The folder a read is confined to. */
  readonly root: WorkspaceRoot;
  readonly fileName: string;
  /** The file's absolute path. */
  readonly path: string;
}

export function instructionsLocation(dataDir: string, scope: InstructionsScope): InstructionsLocation {
  const groupId = groupOfScope(scope);
  if (groupId === null) {
    const dir = join(dataDir, 'shared');
    return { root: { dir, label: 'the shared directory' }, fileName: COMPANY_INSTRUCTIONS_FILE, path: join(dir, COMPANY_INSTRUCTIONS_FILE) };
  }
  const path = groupFilePath(dataDir, groupId, GROUP_INSTRUCTIONS_FILE);
  return { root: { dir: dirname(path), label: `the folder of group ${groupId}` }, fileName: GROUP_INSTRUCTIONS_FILE, path };
}

/** Instructions as a run uses them, and the hash they are recorded by. */
export interface InstructionsText {
  readonly scope: InstructionsScope;
  /** The file's first INSTRUCTIONS_MAX_BYTES bytes as UTF-8; '' when there is no file. */
  readonly text: string;
  readonly hash: string;
  /** The file was longer than INSTRUCTIONS_MAX_BYTES. */
  readonly truncated: boolean;
}

export function instructionsText(scope: InstructionsScope, text: string, truncated: boolean): InstructionsText {
  return { scope, text, hash: instructionsHash(text), truncated };
}

/**
 * The scope's file as it is now. Throws WorkspaceFileRefusedError for a symlink out of its
 * folder or a file that is not a regular one.
 */
export async function readInstructionsFile(dataDir: string, scope: InstructionsScope): Promise<InstructionsText> {
  const location = instructionsLocation(dataDir, scope);
  const read = await readWorkspaceFile(location.root, location.fileName, { maxBytes: INSTRUCTIONS_MAX_BYTES });
  const text = textOrThrow(read) ?? '';
  return instructionsText(scope, text, read.kind === 'read' && read.truncated);
}
