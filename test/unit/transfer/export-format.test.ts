/** The export file's lines (events/transfer/export-format.ts): a stored event survives the trip exactly, and a bad line is refused naming its number and field. */
import { describe, expect, it } from 'vitest';
import type { RawStoredEvent } from '../../../events/envelope.js';
import { eventLine, ExportLineError, parseExportLine } from '../../../events/transfer/export-format.js';

const event: RawStoredEvent = {
  id: '6f1c3a52-6c0e-4a8e-9c3e-0d6a2f1b9e11',
  streamId: 'task-ä 42',
  revision: 9_007_199_254_740_993n,
  position: 18_446_744_073_709_551n,
  type: 'test.happened',
  version: 2,
  // Not canonical on purpose (a space, key order): the text is kept, not re-serialized.
  dataJson: '{"label": "x\\u00e9", "count":1}',
  metadataJson: '{"actor":"cli","causationId":null,"correlationId":"c","occurredAt":"2026-01-01T00:00:00.000Z"}',
  recordedAt: '2026-01-01T00:00:00.001Z',
  prevHash: 'a'.repeat(64),
  hashVersion: 2,
  hash: 'b'.repeat(64),
};

function refusal(text: string, line = 7): string {
  try {
    parseExportLine(text, 'backup.jsonl', line);
  } catch (error) {
    expect(error).toBeInstanceOf(ExportLineError);
    return (error as Error).message;
  }
  throw new Error('the line was accepted');
}

function withField(field: string, value: unknown): string {
  return JSON.stringify({ ...(JSON.parse(eventLine(event)) as Record<string, unknown>), [field]: value });
}

describe('export lines', () => {
  it('give back the stored event exactly, 64-bit positions and non-canonical JSON text included', () => {
    expect(parseExportLine(eventLine(event).trimEnd(), 'backup.jsonl', 2)).toEqual({ kind: 'event', event });
  });

  it('are refused naming the file, the line and the field', () => {
    expect(refusal(withField('position', 12))).toBe('backup.jsonl, line 7: position: Invalid input: expected string, received number; nothing was imported');
    expect(refusal(withField('revision', '-1'))).toContain('line 7: revision: expected a non-negative integer as a decimal string');
    expect(refusal(withField('hash', 'B'.repeat(64)))).toContain('hash: expected 64 lower-case hex digits');
    expect(refusal(withField('metadataJson', '{"actor":"cli"}'))).toContain('metadataJson: metadata correlationId:');
    expect(refusal(withField('dataJson', '[1]'))).toContain('dataJson: expected the text of a JSON object');
    expect(refusal(withField('extra', 1))).toContain('line 7:');
    expect(refusal('{"kind":"something"}')).toContain("expected an object whose kind is 'ledgerclaw.events' (the header), 'event' or 'end'");
    expect(refusal('not json', 3)).toMatch(/^backup\.jsonl, line 3: not JSON/);
  });
});
