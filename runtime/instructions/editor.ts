/**
 * Editing a text in the operator's editor: `$VISUAL`, else `$EDITOR`, run through `sh` so
 * it may carry arguments (`code --wait`), on a private temporary copy that is removed after.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class EditorError extends Error {
  override readonly name = 'EditorError';
}

/** The editor command the environment names, or null. */
export function editorCommand(env: NodeJS.ProcessEnv): string | null {
  for (const name of ['VISUAL', 'EDITOR'] as const) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return null;
}

/** Opens `initial` as `fileName` in the editor and returns the text it was saved with. */
export async function editText(initial: string, fileName: string, editor: string, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ledgerclaw-edit-'));
  const path = join(dir, fileName);
  try {
    await writeFile(path, initial, { mode: 0o600 });
    const code = await new Promise<number | null>((resolve, reject) => {
      // `"$@"`: the path is an argument, never part of the command line the shell parses.
      const child = spawn('sh', ['-c', `${editor} "$@"`, 'editor', path], { stdio: 'inherit', env });
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new EditorError(`the editor (${editor}) exited with ${code === null ? 'a signal' : `code ${code}`}; nothing was changed`);
    return await readFile(path, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
