/**
 * The pure append rule: write, recognise a retry, or refuse. Every adapter calls it, so
 * every branch is pinned here without a database.
 */
import { describe, expect, it } from 'vitest';
import { decideAppend, type AppendFacts, type StoredIdLocation } from '../../events/append-decision.js';
import { EventIdConflictError, WrongExpectedRevisionError } from '../../events/errors.js';
import type { ExpectedRevision } from '../../events/port.js';

function facts(overrides: Partial<AppendFacts> & { stored?: Record<string, StoredIdLocation> }): AppendFacts {
  const stored = overrides.stored ?? {};
  return {
    streamId: 'order-1',
    expectedRevision: 'any',
    currentRevision: null,
    eventIds: ['e1', 'e2'],
    storedAt: (id) => stored[id],
    ...overrides,
  };
}

function refusal(decision: ReturnType<typeof decideAppend>): Error {
  if (decision.kind !== 'refused') throw new Error(`expected a refusal, got ${decision.kind}`);
  return decision.error;
}

describe('decideAppend: new events', () => {
  it.each<[string, ExpectedRevision, bigint | null, bigint]>([
    ["'no_stream' on a stream without events", 'no_stream', null, 0n],
    ["'any' on a stream without events", 'any', null, 0n],
    ["'any' on a stream with events", 'any', 4n, 5n],
    ["'stream_exists' on a stream with events", 'stream_exists', 0n, 1n],
    ['the head revision', 7n, 7n, 8n],
    ['revision 0 on a one-event stream', 0n, 0n, 1n],
  ])('writes with %s, from the revision after the head', (_label, expectedRevision, currentRevision, firstRevision) => {
    expect(decideAppend(facts({ expectedRevision, currentRevision }))).toEqual({ kind: 'write', firstRevision });
  });

  it.each<[string, ExpectedRevision, bigint | null, bigint | 'no_stream']>([
    ["'no_stream' on a stream with events", 'no_stream', 0n, 0n],
    ["'stream_exists' on a stream without events", 'stream_exists', null, 'no_stream'],
    ['a revision on a stream without events', 0n, null, 'no_stream'],
    ['a revision behind the head', 2n, 3n, 3n],
    ['a revision ahead of the head', 4n, 3n, 3n],
  ])('refuses %s with the expected and actual revision', (_label, expectedRevision, currentRevision, actual) => {
    const error = refusal(decideAppend(facts({ streamId: 'order-9', expectedRevision, currentRevision })));
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    const wrong = error as WrongExpectedRevisionError;
    expect(wrong.streamId).toBe('order-9');
    expect(wrong.expected).toBe(expectedRevision);
    expect(wrong.actual).toBe(actual);
    expect(wrong.message).toContain('order-9');
  });

  it('writes an empty list of ids like any other new append', () => {
    expect(decideAppend(facts({ eventIds: [], currentRevision: 2n, expectedRevision: 2n }))).toEqual({ kind: 'write', firstRevision: 3n });
  });
});

describe('decideAppend: event ids already stored', () => {
  const original: Record<string, StoredIdLocation> = {
    e1: { streamId: 'order-1', revision: 3n, position: 40n },
    e2: { streamId: 'order-1', revision: 4n, position: 41n },
  };

  it.each<[string, ExpectedRevision]>([
    ["'any'", 'any'],
    ["'stream_exists'", 'stream_exists'],
    ['the revision before the original append', 2n],
  ])('recognises a retry with %s and returns the original result', (_label, expectedRevision) => {
    expect(decideAppend(facts({ stored: original, expectedRevision, currentRevision: 9n }))).toEqual({
      kind: 'already_appended',
      result: { nextExpectedRevision: 4n, position: 41n },
    });
  });

  it("recognises a retry with 'no_stream' of the append that created the stream", () => {
    const created = {
      e1: { streamId: 'order-1', revision: 0n, position: 1n },
      e2: { streamId: 'order-1', revision: 1n, position: 5n },
    };
    expect(decideAppend(facts({ stored: created, expectedRevision: 'no_stream', currentRevision: 6n }))).toEqual({
      kind: 'already_appended',
      result: { nextExpectedRevision: 1n, position: 5n },
    });
  });

  it("refuses a retry with 'no_stream' of an append that did not create the stream", () => {
    const error = refusal(decideAppend(facts({ stored: original, expectedRevision: 'no_stream', currentRevision: 9n })));
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect((error as WrongExpectedRevisionError).actual).toBe(9n);
  });

  it('refuses a retry whose revision is not the one before the original append', () => {
    for (const expectedRevision of [3n, 4n, 9n, 0n]) {
      const error = refusal(decideAppend(facts({ stored: original, expectedRevision, currentRevision: 9n })));
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect((error as WrongExpectedRevisionError).expected).toBe(expectedRevision);
      expect((error as WrongExpectedRevisionError).actual).toBe(9n);
    }
  });

  it('refuses ids stored in another stream, naming where', () => {
    const error = refusal(decideAppend(facts({ streamId: 'order-2', stored: original, currentRevision: null })));
    expect(error).toBeInstanceOf(EventIdConflictError);
    expect((error as EventIdConflictError).eventId).toBe('e1');
    expect((error as EventIdConflictError).storedAt).toEqual({ streamId: 'order-1', revision: 3n });
    expect(error.message).toContain('order-1@3');
  });

  it('refuses a mix of stored and new ids, naming the first stored one', () => {
    const error = refusal(decideAppend(facts({ eventIds: ['new', 'e2'], stored: original, currentRevision: 4n })));
    expect(error).toBeInstanceOf(EventIdConflictError);
    expect((error as EventIdConflictError).eventId).toBe('e2');
    expect((error as EventIdConflictError).storedAt).toEqual({ streamId: 'order-1', revision: 4n });
  });

  it('refuses stored ids in another order', () => {
    const error = refusal(decideAppend(facts({ eventIds: ['e2', 'e1'], stored: original, currentRevision: 4n })));
    expect(error).toBeInstanceOf(EventIdConflictError);
    expect((error as EventIdConflictError).eventId).toBe('e2');
  });

  it('refuses stored ids that are not at consecutive revisions', () => {
    const scattered = {
      e1: { streamId: 'order-1', revision: 3n, position: 40n },
      e2: { streamId: 'order-1', revision: 5n, position: 45n },
    };
    expect(refusal(decideAppend(facts({ stored: scattered, currentRevision: 5n })))).toBeInstanceOf(EventIdConflictError);
  });

  it('refuses stored ids split over two streams', () => {
    const split = {
      e1: { streamId: 'order-1', revision: 3n, position: 40n },
      e2: { streamId: 'order-2', revision: 4n, position: 41n },
    };
    const error = refusal(decideAppend(facts({ stored: split, currentRevision: 4n })));
    expect(error).toBeInstanceOf(EventIdConflictError);
    expect((error as EventIdConflictError).eventId).toBe('e1');
  });

  it('accepts a retry of a single stored event', () => {
    expect(decideAppend(facts({ eventIds: ['e2'], stored: original, currentRevision: 4n, expectedRevision: 3n }))).toEqual({
      kind: 'already_appended',
      result: { nextExpectedRevision: 4n, position: 41n },
    });
  });

  it('looks up where every id is stored', () => {
    const asked: string[] = [];
    decideAppend(facts({ eventIds: ['a', 'b', 'c'], storedAt: (id) => (asked.push(id), undefined) }));
    expect(asked).toEqual(['a', 'b', 'c']);
  });
});
