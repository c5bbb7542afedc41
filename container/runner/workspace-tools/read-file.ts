/**
 * read_file: a text file with line numbers like `cat -n`, a page at a time. The file is read in
 * chunks and only the requested page is kept, so a huge log costs time, never memory.
 */
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { binaryRefusal, looksBinary, openRegularFile } from './file-content.js';
import { resolveWorkspacePath } from './paths.js';
import { ToolFailure } from './tool-failure.js';
import { defineWorkspaceTool } from './workspace-tool.js';

export const DEFAULT_LINE_LIMIT = 2000;
/** Longer lines (minified code, data) are cut so one line cannot eat the whole page. */
export const MAX_LINE_CHARS = 2000;
const CHUNK_BYTES = 64 * 1024;
/** Room kept under the output cap for the note saying where the page ends. */
const FOOTER_RESERVE_CHARS = 200;

const readFileInput = z.strictObject({
  path: z.string().min(1).describe('File to read, relative to the workspace root.'),
  offset: z.number().int().min(1).max(1_000_000_000).optional().describe('First line to show, counting from 1. Default 1.'),
  limit: z.number().int().min(1).max(100_000).optional().describe(`How many lines to show. Default ${DEFAULT_LINE_LIMIT}.`),
});

export const readFileTool = defineWorkspaceTool({
  name: 'read_file',
  description:
    'Read a text file in the workspace. Lines come numbered like `cat -n` (number, tab, text). ' +
    `Shows up to ${DEFAULT_LINE_LIMIT} lines from offset; a note at the end says how to read the next page. ` +
    `Lines longer than ${MAX_LINE_CHARS} characters are cut. Directories and binary files are refused.`,
  inputSchema: readFileInput,
  async run(input, context) {
    const target = await resolveWorkspacePath(context.root, input.path, 'read');
    const first = input.offset ?? 1;
    const limit = input.limit ?? DEFAULT_LINE_LIMIT;
    const handle = await openRegularFile(target.real, target.display);
    let page: Page;
    try {
      page = await readPage(handle, target.display, first, limit, Math.max(1, context.maxOutputChars - FOOTER_RESERVE_CHARS));
    } finally {
      await handle.close();
    }
    const quoted = JSON.stringify(target.display);
    if (page.totalLines === 0) return { content: `[${quoted} is empty]`, isError: false };
    if (page.lines.length === 0) {
      throw new ToolFailure(`offset ${first} is past the end of ${quoted}, which has ${page.totalLines} line${page.totalLines === 1 ? '' : 's'}`);
    }
    const last = first + page.lines.length - 1;
    const notes: string[] = [];
    if (last < page.totalLines) {
      notes.push(`[showing lines ${first}-${last} of ${page.totalLines}; to read on, call read_file with offset=${last + 1}]`);
    }
    if (page.cutLongLines) notes.push(`[lines longer than ${MAX_LINE_CHARS} characters were cut where marked]`);
    return { content: [...page.lines, ...notes].join('\n'), isError: false };
  },
});

interface Page {
  readonly lines: readonly string[];
  readonly totalLines: number;
  readonly cutLongLines: boolean;
}

interface ReadableHandle {
  read(buffer: Buffer, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
}

/**
 * Lines `first` to `first + limit - 1` formatted like `cat -n`, stopping early once they would
 * pass `budgetChars`, and the file's total line count (a last line without a newline counts).
 */
async function readPage(handle: ReadableHandle, display: string, first: number, limit: number, budgetChars: number): Promise<Page> {
  const lines: string[] = [];
  let usedChars = 0;
  let budgetSpent = false;
  let cutLongLines = false;
  let lineNumber = 1;
  let partial = '';
  let partialOverflow = 0;
  let lineHasContent = false;

  const collecting = () => !budgetSpent && lineNumber >= first && lineNumber < first + limit;
  const appendToLine = (segment: string) => {
    const room = MAX_LINE_CHARS - partial.length;
    if (segment.length <= room) {
      partial += segment;
    } else {
      partial += segment.slice(0, Math.max(0, room));
      partialOverflow += segment.length - Math.max(0, room);
    }
  };
  const finishLine = () => {
    if (collecting()) {
      const text = partialOverflow > 0 ? `${partial}… [${partialOverflow} more characters]` : partial;
      const formatted = `${String(lineNumber).padStart(6)}\t${text}`;
      // The first line of a page is always shown, so paging always moves forward.
      if (lines.length > 0 && usedChars + formatted.length + 1 > budgetChars) {
        budgetSpent = true;
      } else {
        lines.push(formatted);
        usedChars += formatted.length + 1;
        if (partialOverflow > 0) cutLongLines = true;
      }
    }
    lineNumber += 1;
    partial = '';
    partialOverflow = 0;
    lineHasContent = false;
  };
  const consume = (text: string) => {
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      const end = newline === -1 ? text.length : newline;
      if (end > start) {
        lineHasContent = true;
        if (collecting()) appendToLine(text.slice(start, end));
      }
      if (newline === -1) return;
      finishLine();
      start = newline + 1;
    }
  };

  const decoder = new StringDecoder('utf8');
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let isFirstChunk = true;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    if (isFirstChunk && looksBinary(chunk)) throw binaryRefusal(display);
    isFirstChunk = false;
    consume(decoder.write(chunk));
  }
  consume(decoder.end());
  if (lineHasContent) finishLine();
  return { lines, totalLines: lineNumber - 1, cutLongLines };
}
