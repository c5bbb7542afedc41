/**
 * Chunks of about 400 tokens (ceil(chars / 4)), cut at paragraphs, then sentences, then
 * words, never losing or reordering text.
 */
import { describe, expect, it } from 'vitest';
import { chunkText, DEFAULT_CHUNK_TOKENS, estimateTokens } from '../../../projections/chunking.js';

const words = (text: string) => text.split(/\s+/).filter((word) => word !== '');

describe('estimateTokens', () => {
  it('is ceil(chars / 4)', () => {
    expect([estimateTokens(''), estimateTokens('a'), estimateTokens('abcd'), estimateTokens('abcde')]).toEqual([0, 1, 1, 2]);
  });
});

describe('chunkText', () => {
  it('keeps a short text (a fact) as one chunk, trimmed', () => {
    expect(chunkText('  Acme pays invoices net 30 days.\n')).toEqual(['Acme pays invoices net 30 days.']);
    expect(chunkText('  \n\n ')).toEqual([]);
  });

  it('packs paragraphs into chunks and cuts between them', () => {
    const paragraph = (n: number) => `Paragraph ${n}. ${'word '.repeat(120).trim()}`; // ~620 chars, ~155 tokens
    const text = [1, 2, 3, 4, 5].map(paragraph).join('\n\n');
    const chunks = chunkText(text);
    expect(chunks).toEqual([
      [paragraph(1), paragraph(2)].join('\n\n'),
      [paragraph(3), paragraph(4)].join('\n\n'),
      paragraph(5),
    ]);
  });

  it('cuts a long paragraph at sentences, a long sentence at words, a long word inside', () => {
    const sentence = (n: number) => `Sentence ${n} talks about the vendor review and the renewal of contracts.`;
    const paragraph = Array.from({ length: 60 }, (_, index) => sentence(index)).join(' ');
    const chunks = chunkText(paragraph);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(estimateTokens(chunk)).toBeLessThanOrEqual(DEFAULT_CHUNK_TOKENS);
      expect(chunk).toMatch(/^Sentence \d+ .*contracts\.$/);
    }
    expect(words(chunks.join(' '))).toEqual(words(paragraph));

    const longSentence = 'word '.repeat(1_000).trim();
    const wordChunks = chunkText(longSentence, 100);
    expect(wordChunks.every((chunk) => chunk.length <= 400 && !chunk.startsWith(' '))).toBe(true);
    expect(words(wordChunks.join(' '))).toEqual(words(longSentence));

    const longWord = 'x'.repeat(1_000);
    expect(chunkText(longWord, 100)).toEqual(['x'.repeat(400), 'x'.repeat(400), 'x'.repeat(200)]);
  });

  it('never splits a surrogate pair', () => {
    const text = '😀'.repeat(300); // 600 UTF-16 units
    const chunks = chunkText(text, 100);
    expect(chunks.join('')).toBe(text);
    expect(chunks.every((chunk) => chunk.isWellFormed() && chunk.length <= 400)).toBe(true);
  });

  it('is a pure function of its text', () => {
    const text = Array.from({ length: 40 }, (_, index) => `Line ${index}: something happened.\nAnd then more.`).join('\n\n');
    expect(chunkText(text)).toEqual(chunkText(text));
    expect(() => chunkText(text, 0)).toThrow(RangeError);
  });
});
