/**
 * Paths into dist/, for tests that run the built code in real child processes. `npm test`
 * builds first; a bare `npx vitest run` after an edit does not, hence the message.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function builtFile(relativePath: string): string {
  const path = join(REPO_ROOT, 'dist', relativePath);
  if (!existsSync(path)) {
    throw new Error(`${path} does not exist: run \`npm run build\` before this test (\`npm test\` does it for you)`);
  }
  return path;
}
