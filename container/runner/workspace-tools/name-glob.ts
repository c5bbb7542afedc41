/**
 * The simple globs grep filters file names with: `*` and `?` within a name, and `{ts,tsx}`
 * alternatives. A leading `**\/` is dropped, since models often write `**\/*.ts` meaning "any .ts
 * file"; any other `/` is refused, because the glob sees only the name.
 */
import { ToolFailure } from './tool-failure.js';

export function compileNameGlob(glob: string): RegExp {
  const pattern = glob.replace(/^(\*\*\/)+/, '');
  if (pattern.includes('/')) {
    throw new ToolFailure(`glob ${JSON.stringify(glob)} contains "/"; it matches file names only (use path to choose a directory)`);
  }
  let source = '';
  let braceDepth = 0;
  for (const character of pattern) {
    if (character === '*') source += '.*';
    else if (character === '?') source += '.';
    else if (character === '{') {
      braceDepth += 1;
      source += '(?:';
    } else if (character === '}' && braceDepth > 0) {
      braceDepth -= 1;
      source += ')';
    } else if (character === ',' && braceDepth > 0) source += '|';
    else source += character.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  if (braceDepth > 0) throw new ToolFailure(`glob ${JSON.stringify(glob)} has an unclosed "{"`);
  return new RegExp(`^${source}$`, 's');
}
