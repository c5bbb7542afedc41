/**
 * Splitting text into search chunks of about N tokens, for the FTS5 indexes.
 *
 * Tokens are estimated as ceil(chars / 4), the usual rule of thumb for English text and
 * close enough to decide chunk sizes; it needs no tokenizer, so chunks are a pure
 * function of the text. A text is cut at the weakest boundary that makes its pieces fit:
 * paragraphs (blank lines) first, then sentences (and line breaks), then words, and only
 * a single word longer than a chunk is cut inside. Neighbouring pieces are packed
 * greedily into one chunk while it fits. A short text (a fact, usually) is one chunk.
 */

export const CHARS_PER_TOKEN = 4;
export const DEFAULT_CHUNK_TOKENS = 400;

/** The estimated token count of a text: ceil(chars / 4). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Cuts `text` after each match of `boundary`: the pieces concatenate back to `text`. */
function cutAfter(text: string, boundary: RegExp): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (const match of text.matchAll(boundary)) {
    const end = match.index + match[0].length;
    if (end > start && end < text.length) {
      pieces.push(text.slice(start, end));
      start = end;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

const splitParagraphs = (text: string) => cutAfter(text, /\n[ \t]*\n\s*/g);
const splitSentences = (text: string) => cutAfter(text, /[.!?…]+["'”’)\]]*\s+|\n\s*/g);
const splitWords = (text: string) => cutAfter(text, /\s+/g);

/** The last resort: code points packed into pieces of at most `maxChars` UTF-16 units. */
function splitCodePoints(text: string, maxChars: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const codePoint of text) {
    if (piece.length + codePoint.length > maxChars) {
      pieces.push(piece);
      piece = '';
    }
    piece += codePoint;
  }
  if (piece !== '') pieces.push(piece);
  return pieces;
}

function chunkAt(text: string, level: number, maxChars: number, out: string[]): void {
  const units =
    level === 0 ? splitParagraphs(text) : level === 1 ? splitSentences(text) : level === 2 ? splitWords(text) : splitCodePoints(text, maxChars);
  let buffer = '';
  const flush = () => {
    const chunk = buffer.trim();
    if (chunk !== '') out.push(chunk);
    buffer = '';
  };
  for (const unit of units) {
    if ((buffer + unit).trim().length <= maxChars) {
      buffer += unit;
      continue;
    }
    flush();
    if (unit.trim().length <= maxChars) buffer = unit;
    else chunkAt(unit, level + 1, maxChars, out);
  }
  flush();
}

/**
 * `text` in chunks of at most `targetTokens` estimated tokens each, trimmed, in order,
 * none empty. Whitespace-only text gives no chunk.
 */
export function chunkText(text: string, targetTokens: number = DEFAULT_CHUNK_TOKENS): string[] {
  if (!Number.isInteger(targetTokens) || targetTokens < 1) throw new RangeError(`targetTokens must be a positive integer, not ${targetTokens}`);
  const normalized = text.replace(/\r\n?/g, '\n');
  const maxChars = targetTokens * CHARS_PER_TOKEN;
  const chunks: string[] = [];
  chunkAt(normalized, 0, maxChars, chunks);
  return chunks;
}
