/**
 * grep: lines matching a JavaScript regular expression, as `file:line: text`, in one file or
 * in every file below a directory. Skips binary files, `.git`, symlinks (never followed) and
 * files too large to scan.
 *
 * The regex runs on the runner's own thread: a catastrophically backtracking pattern stalls
 * the runner until the turn's own deadline. Accepted for now; the container bounds the damage.
 */
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { joinDisplay, walkDirectory } from './directory-walk.js';
import { BINARY_SNIFF_BYTES, binaryRefusal, looksBinary, openRegularFile } from './file-content.js';
import { compileNameGlob } from './name-glob.js';
import { resolveWorkspacePath } from './paths.js';
import { ToolFailure } from './tool-failure.js';
import { defineWorkspaceTool } from './workspace-tool.js';

export const DEFAULT_MAX_RESULTS = 200;
/** Files larger than this are skipped (and counted in the answer). */
export const MAX_GREP_FILE_BYTES = 5 * 1024 * 1024;
/** A matching line is shown up to this many characters. */
export const MAX_MATCH_LINE_CHARS = 500;

const grepInput = z.strictObject({
  pattern: z.string().min(1).describe('JavaScript regular expression to search for, matched against each line.'),
  path: z.string().min(1).default('.').describe('File or directory to search, relative to the workspace root. Default ".", the whole workspace.'),
  glob: z.string().min(1).optional().describe('Only search files whose name matches, e.g. "*.ts" or "*.{ts,tsx}". Matches the file name only.'),
  ignore_case: z.boolean().default(false).describe('Match case-insensitively. Default false.'),
  max_results: z.number().int().min(1).max(5_000).default(DEFAULT_MAX_RESULTS).describe(`Stop after this many matching lines. Default ${DEFAULT_MAX_RESULTS}.`),
});

export const grepTool = defineWorkspaceTool({
  name: 'grep',
  description:
    'Search file contents in the workspace with a JavaScript regular expression. Answers `file:line: text`, one matching line ' +
    'each, paths relative to the workspace root. Binary files, .git and symbolic links are skipped.',
  inputSchema: grepInput,
  async run(input, context) {
    const regex = compilePattern(input.pattern, input.ignore_case);
    const nameFilter = input.glob === undefined ? undefined : compileNameGlob(input.glob);
    const target = await resolveWorkspacePath(context.root, input.path, 'read');
    const search = new Search(regex, input.max_results);

    if ((await stat(target.real)).isDirectory()) {
      for await (const entry of walkDirectory(target.real, { recursive: true, skipDescending: (name) => name === '.git' })) {
        if (search.full) break;
        if (entry.kind !== 'file' || (nameFilter !== undefined && !nameFilter.test(entry.name))) continue;
        await search.scanFile(entry.absolute, joinDisplay(target.display, entry.relative));
      }
    } else {
      // A file named outright is searched whatever the glob says, and a reason not to is an error.
      await search.scanFile(target.real, target.display, 'explicit');
    }

    const notes: string[] = [];
    if (search.full) notes.push(`[stopped after ${input.max_results} matching lines; narrow the pattern, path or glob, or raise max_results]`);
    if (search.skippedLarge > 0) notes.push(`[skipped ${search.skippedLarge} file(s) larger than ${MAX_GREP_FILE_BYTES} bytes]`);
    if (search.matches.length === 0) {
      return { content: [`No matches for /${input.pattern}/ in ${JSON.stringify(target.display)}`, ...notes].join('\n'), isError: false };
    }
    return { content: [...search.matches, ...notes].join('\n'), isError: false };
  },
});

function compilePattern(pattern: string, ignoreCase: boolean): RegExp {
  try {
    return new RegExp(pattern, ignoreCase ? 'i' : '');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ToolFailure(`pattern ${JSON.stringify(pattern)} is not a valid JavaScript regular expression: ${reason}`);
  }
}

class Search {
  readonly matches: string[] = [];
  skippedLarge = 0;

  constructor(
    private readonly regex: RegExp,
    private readonly maxResults: number,
  ) {}

  get full(): boolean {
    return this.matches.length >= this.maxResults;
  }

  async scanFile(realPath: string, display: string, named: 'explicit' | 'found' = 'found'): Promise<void> {
    const text = await this.readText(realPath, display, named);
    if (text === undefined) return;
    const lines = text.split('\n');
    for (const [index, rawLine] of lines.entries()) {
      if (this.full) return;
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (!this.regex.test(line)) continue;
      const shown = line.length > MAX_MATCH_LINE_CHARS ? `${line.slice(0, MAX_MATCH_LINE_CHARS)}… [${line.length - MAX_MATCH_LINE_CHARS} more characters]` : line;
      this.matches.push(`${display}:${index + 1}: ${shown}`);
    }
  }

  /**
   * The file's text, or undefined for a file found by the walk that is skipped (binary, too
   * large, vanished, unreadable). A file named outright throws instead, saying why.
   */
  private async readText(realPath: string, display: string, named: 'explicit' | 'found'): Promise<string | undefined> {
    let handle;
    try {
      handle = await openRegularFile(realPath, display);
    } catch (error) {
      // Files come and go while a walk runs; one that cannot be opened is simply not searched.
      if (named === 'explicit') throw error;
      return undefined;
    }
    try {
      const { size } = await handle.stat();
      if (size > MAX_GREP_FILE_BYTES) {
        if (named === 'explicit') throw new ToolFailure(`${JSON.stringify(display)} is ${size} bytes, over the ${MAX_GREP_FILE_BYTES}-byte limit for grep; use bash`);
        this.skippedLarge += 1;
        return undefined;
      }
      const bytes = await handle.readFile();
      if (looksBinary(bytes.subarray(0, BINARY_SNIFF_BYTES))) {
        if (named === 'explicit') throw binaryRefusal(display);
        return undefined;
      }
      return bytes.toString('utf8');
    } finally {
      await handle.close();
    }
  }
}

