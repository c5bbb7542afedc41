/**
 * list_files: a directory's entries, `/` after directories and `-> target` after symlinks
 * (listed, never entered), sorted, capped.
 */
import { readlink, stat } from 'node:fs/promises';
import { z } from 'zod';
import { joinDisplay, walkDirectory, type WalkEntry } from './directory-walk.js';
import { resolveWorkspacePath } from './paths.js';
import { ToolFailure } from './tool-failure.js';
import { defineWorkspaceTool } from './workspace-tool.js';

export const DEFAULT_MAX_ENTRIES = 500;

const listFilesInput = z.strictObject({
  path: z.string().min(1).default('.').describe('Directory to list, relative to the workspace root. Default ".", the root.'),
  recursive: z.boolean().default(false).describe('Also list everything below, depth first (.git is shown but not entered). Default false.'),
  max_entries: z.number().int().min(1).max(10_000).default(DEFAULT_MAX_ENTRIES).describe(`Stop after this many entries. Default ${DEFAULT_MAX_ENTRIES}.`),
});

export const listFilesTool = defineWorkspaceTool({
  name: 'list_files',
  description:
    'List a directory in the workspace. Entries are paths relative to the workspace root, sorted, with a trailing "/" on ' +
    'directories and "-> target" on symbolic links (which are never followed).',
  inputSchema: listFilesInput,
  async run(input, context) {
    const target = await resolveWorkspacePath(context.root, input.path, 'read');
    if (!(await stat(target.real)).isDirectory()) {
      throw new ToolFailure(`${JSON.stringify(target.display)} is a file, not a directory; use read_file to read it`);
    }
    const lines: string[] = [];
    let capped = false;
    for await (const entry of walkDirectory(target.real, { recursive: input.recursive, skipDescending: (name) => name === '.git' })) {
      if (lines.length >= input.max_entries) {
        capped = true;
        break;
      }
      lines.push(await describeEntry(entry, joinDisplay(target.display, entry.relative)));
    }
    if (lines.length === 0) return { content: `[${JSON.stringify(target.display)} is empty]`, isError: false };
    if (capped) lines.push(`[listing stopped after ${input.max_entries} entries; list a subdirectory, or raise max_entries]`);
    return { content: lines.join('\n'), isError: false };
  },
});

async function describeEntry(entry: WalkEntry, display: string): Promise<string> {
  switch (entry.kind) {
    case 'directory':
      return `${display}/`;
    case 'unreadable':
      return `${display}/ [unreadable]`;
    case 'symlink':
      return `${display} -> ${await readlink(entry.absolute).catch(() => '?')}`;
    case 'file':
    case 'other':
      return display;
  }
}
