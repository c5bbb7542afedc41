/**
 * The CLI only parses arguments and prints: the runtime is assembled in runtime/, and no
 * module outside runtime/cli/ reaches back into it (chat-session.ts once imported start).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/built-dist.js';

const SOURCE_FOLDERS = ['actors', 'container', 'events', 'projections', 'runtime', 'snapshots'];
const CLI_FOLDER = join(REPO_ROOT, 'runtime', 'cli');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return path === CLI_FOLDER ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the CLI boundary', () => {
  it('has no module outside runtime/cli/ importing from runtime/cli/', () => {
    const reachingIn = SOURCE_FOLDERS.flatMap((folder) => sourceFiles(join(REPO_ROOT, folder)))
      .filter((file) => /from '[^']*\/cli\/[^']*'/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(REPO_ROOT, file).split(sep).join('/'));
    expect(reachingIn).toEqual([]);
  });

  it('keeps start-command.ts an entry point (under 150 lines), not the place the runtime is assembled', () => {
    const lines = readFileSync(join(CLI_FOLDER, 'start-command.ts'), 'utf8').split('\n').length;
    expect(lines).toBeLessThan(150);
  });
});
