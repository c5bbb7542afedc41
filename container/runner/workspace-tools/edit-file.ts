/**
 * edit_file: replaces an exact piece of text in a file. The text must occur exactly once unless
 * replace_all is set, so an edit never lands somewhere the model did not mean.
 */
import { z } from 'zod';
import { writeFileAtomically } from './atomic-write.js';
import { binaryRefusal, looksBinary, openRegularFile } from './file-content.js';
import { resolveWorkspacePath } from './paths.js';
import { ToolFailure } from './tool-failure.js';
import { defineWorkspaceTool } from './workspace-tool.js';

/** Edits read the whole file into memory; beyond this, write_file or bash fit better. */
export const MAX_EDIT_BYTES = 10 * 1024 * 1024;

const editFileInput = z.strictObject({
  path: z.string().min(1).describe('File to edit, relative to the workspace root.'),
  old_text: z.string().min(1).describe('Exact text to replace, including whitespace and indentation. Must occur exactly once unless replace_all.'),
  new_text: z.string().describe('Text to put in its place.'),
  replace_all: z.boolean().default(false).describe('Replace every occurrence instead of requiring exactly one. Default false.'),
});

export const editFileTool = defineWorkspaceTool({
  name: 'edit_file',
  description:
    'Replace exact text in an existing file in the workspace. old_text must match the file exactly (whitespace included) and ' +
    'occur exactly once; include surrounding lines to make it unique, or set replace_all to change every occurrence.',
  inputSchema: editFileInput,
  async run(input, context) {
    const target = await resolveWorkspacePath(context.root, input.path, 'write');
    const quoted = JSON.stringify(target.display);
    if (input.old_text === input.new_text) throw new ToolFailure('old_text and new_text are identical; nothing to change');
    const original = await readTextForEdit(target.real, target.display);
    const occurrences = countOccurrences(original, input.old_text);
    if (occurrences === 0) {
      throw new ToolFailure(`old_text was not found in ${quoted} (0 matches); read the file and copy the text exactly, whitespace included`);
    }
    if (occurrences > 1 && !input.replace_all) {
      throw new ToolFailure(
        `old_text occurs ${occurrences} times in ${quoted}; it must occur exactly once: include more surrounding text to make it unique, or set replace_all`,
      );
    }
    // split/join rather than String.replace, whose replacement string would interpret `$&` and friends.
    const edited = original.split(input.old_text).join(input.new_text);
    await writeFileAtomically(target.real, edited);
    return { content: `Edited ${quoted}: replaced ${occurrences} occurrence${occurrences === 1 ? '' : 's'}`, isError: false };
  },
});

async function readTextForEdit(realPath: string, display: string): Promise<string> {
  const handle = await openRegularFile(realPath, display);
  try {
    const { size } = await handle.stat();
    if (size > MAX_EDIT_BYTES) {
      throw new ToolFailure(`${JSON.stringify(display)} is ${size} bytes, over the ${MAX_EDIT_BYTES}-byte limit for edit_file; use write_file or bash`);
    }
    const bytes = await handle.readFile();
    if (looksBinary(bytes)) throw binaryRefusal(display);
    return bytes.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Non-overlapping occurrences, the same ones split/join replaces. */
function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count += 1;
  return count;
}
