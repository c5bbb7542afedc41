/**
 * Parsers for option and argument values, each a zod schema behind commander's
 * `argParser`. A bad value becomes commander's InvalidArgumentError, which commander
 * reports naming the option (`option '--from <revision>' argument 'abc' is invalid`).
 */
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { eventTypeSchema, streamIdSchema } from '../../events/envelope.js';

function parserFor<T>(schema: z.ZodType<T, string>, expectation: string): (value: string) => T {
  return (value) => {
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidArgumentError(expectation);
    return result.data;
  };
}

export const parseRevision = parserFor(
  z.string().regex(/^[0-9]+$/).transform((digits) => BigInt(digits)),
  'expected a non-negative integer (a stream revision; the first event is 0)',
);

export const parseCount = parserFor(
  z
    .string()
    .regex(/^[0-9]+$/)
    .transform(Number)
    .pipe(z.number().int().min(1)),
  'expected a positive integer',
);

export const parseEventType = parserFor(eventTypeSchema, "expected an event type '<kind>.<past_tense>', for example runtime.started");

export const parseStreamId = parserFor(streamIdSchema, "expected a stream name '<kind>' or '<kind>-<id>', for example runtime or task-42");

export const parseStreamPrefix = parserFor(z.string().min(1), 'expected a non-empty stream name prefix');

export const parsePort = parserFor(
  z
    .string()
    .regex(/^[0-9]+$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(65_535)),
  'expected a TCP port number from 1 to 65535',
);

/** As the envelope allows it: see events/envelope.ts. */
export const parseCorrelationId = parserFor(z.string().min(1).max(200), 'expected a correlation id (1 to 200 characters)');

export const parseStateName = parserFor(
  z.string().regex(/^[^\s,]+$/),
  "expected a state name such as 'open' or 'running.waiting' (no spaces or commas)",
);

/** An actor kind name, one of `known`; the message lists them. */
export function kindNameParser(known: readonly string[]): (value: string) => string {
  return (value) => {
    if (known.includes(value)) return value;
    throw new InvalidArgumentError(
      known.length === 0 ? 'no actor kinds are registered' : `expected one of the actor kinds: ${known.join(', ')}`,
    );
  };
}

/** For a repeatable option: each occurrence is parsed and added to the list. */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** A group id as the runtime names groups (`T1.C1`, a thread's `T1.C1.1712345678.000100`). */
export const parseGroupOption = parserFor(
  z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/),
  'expected a group id such as T1.C1 (printable, no spaces, at most 256 characters)',
);

/** A file to read text from, or `-` for standard input. */
export const parseTextSource = parserFor(z.string().min(1).max(4_096).refine((value) => !value.includes('\0')), "expected a file path, or '-' for standard input");
