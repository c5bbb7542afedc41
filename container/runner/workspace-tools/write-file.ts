/**
 * write_file: creates or replaces a whole file, creating its parent directories inside the
 * workspace, atomically.
 */
import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomically } from './atomic-write.js';
import { resolveWorkspacePath } from './paths.js';
import { ToolFailure } from './tool-failure.js';
import { defineWorkspaceTool } from './workspace-tool.js';

const writeFileInput = z.strictObject({
  path: z.string().min(1).describe('File to write, relative to the workspace root. Missing parent directories are created.'),
  content: z.string().describe('The complete new content of the file.'),
});

export const writeFileTool = defineWorkspaceTool({
  name: 'write_file',
  description:
    'Create a file in the workspace, or replace its whole content. Parent directories are created as needed. ' +
    'To change part of an existing file, prefer edit_file.',
  inputSchema: writeFileInput,
  async run(input, context) {
    const target = await resolveWorkspacePath(context.root, input.path, 'write');
    await refuseDirectory(target.real, target.display);
    await mkdir(path.dirname(target.real), { recursive: true });
    const { existed } = await writeFileAtomically(target.real, input.content);
    const bytes = Buffer.byteLength(input.content, 'utf8');
    return { content: `${existed ? 'Replaced' : 'Created'} ${JSON.stringify(target.display)} (${bytes} bytes)`, isError: false };
  },
});

async function refuseDirectory(realPath: string, display: string): Promise<void> {
  try {
    if ((await lstat(realPath)).isDirectory()) throw new ToolFailure(`${JSON.stringify(display)} is a directory; cannot write a file over it`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
