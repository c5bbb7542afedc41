/**
 * Event ids from natural keys: a pure function of the key, so a redelivered Slack event or
 * a timer that fires twice is the same event and is stored once.
 */
import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { eventIdSchema } from '../../events/envelope.js';
import { eventIdFor } from '../../events/ids.js';

describe('eventIdFor', () => {
  it('gives the same id for the same key every time', () => {
    expect(eventIdFor('slack', 'T123', 'Ev456')).toBe(eventIdFor('slack', 'T123', 'Ev456'));
  });

  it('keeps the ids it has always given (changing the namespace would change every stored id)', () => {
    expect(eventIdFor('slack', 'T123', 'Ev456')).toBe('b5c801c3-85c4-595b-a07a-c6513bb9d03b');
  });

  it('gives a valid version 5 uuid that the envelope accepts', () => {
    const id = eventIdFor('timer', 'task-1', '2025-01-01T00:00:00Z');
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(5);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventIdSchema.safeParse(id).success).toBe(true);
  });

  it('gives distinct ids for distinct keys, including keys that concatenate alike', () => {
    const keys: string[][] = [
      ['a', 'bc'],
      ['ab', 'c'],
      ['abc'],
      ['a', 'b', 'c'],
      ['c', 'b', 'a'],
      ['a,bc'],
      ['a"', 'bc'],
      ['a', 'bc', ''],
      [''],
      ['slack', 'T1', 'E1'],
      ['slack', 'T1', 'E2'],
      ['slack', 'T2', 'E1'],
      ['é'],
      ['e\u0301'],
    ];
    const ids = keys.map((key) => eventIdFor(...key));
    expect(new Set(ids).size).toBe(keys.length);
  });

  it('gives distinct ids across many keys', () => {
    const ids = new Set(Array.from({ length: 5_000 }, (_, index) => eventIdFor('slack', 'T1', `Ev${index}`)));
    expect(ids.size).toBe(5_000);
  });

  it('refuses an empty key', () => {
    expect(() => eventIdFor()).toThrow(/at least one part/);
  });
});
