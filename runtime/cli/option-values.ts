/**
 * Parsers for option and argument values, each a zod schema behind commander's
 * `argParser`. A bad value becomes commander's InvalidArgumentError, which commander
 * reports naming the option (`option '--from <revision>' argument 'abc' is invalid`).
 */
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { voteDecisionSchema } from '../../events/catalogue/approval.js';
import { slackUserIdSchema } from '../../events/catalogue/group.js';
import { factKeySchema } from '../../events/catalogue/memory.js';
import { eventTypeSchema, streamIdSchema } from '../../events/envelope.js';
import { durationSchema } from './durations.js';

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

/** A memory key as facts are recorded under it. */
export const parseFactKey = parserFor(factKeySchema, "expected a dotted lower-case key such as 'vendor.acme.payment_terms'");

/** Which fact of a conflict `memory resolve` keeps: the oldest, the newest, or neither. */
export const parseKeepChoice = parserFor(z.enum(['old', 'new', 'none']), 'expected old (the oldest fact), new (the newest) or none (retire them all)');

/** A memory scope: a group's (`group.<group id>`) or a person's (`user.<user id>`). */
export const parseMemoryScope = parserFor(
  z.string().max(300).regex(/^(group|user)\.[^\s]+$/),
  'expected a memory scope such as group.T024BE7LH.C0123ABCD or user.U024BE7LH',
);

/** A group id as memory is kept for it (a thread's is its channel's). */
export const parseMemoryGroupId = parserFor(z.string().min(1).max(200).regex(/^[^\s]+$/), 'expected a group id such as T024BE7LH.C0123ABCD (no spaces)');

/** The Slack user an operator acts for (`--as`). */
export const parseSlackUserId = parserFor(slackUserIdSchema, 'expected a Slack user id such as U024BE7LH');

/** Why a fact is retired, as the memory actor keeps it. */
export const parseRetireReason = parserFor(z.string().trim().min(1).max(1000), 'expected a reason of 1 to 1000 characters');

/** A group id as the runtime names groups (`T1.C1`, a thread's `T1.C1.1712345678.000100`). */
export const parseGroupOption = parserFor(
  z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/),
  'expected a group id such as T1.C1 (printable, no spaces, at most 256 characters)',
);

/** A file to read text from, or `-` for standard input. */
export const parseTextSource = parserFor(z.string().min(1).max(4_096).refine((value) => !value.includes('\0')), "expected a file path, or '-' for standard input");

/** An approval id as given (with or without the stream's `approval-` prefix). */
export const parseApprovalId = parserFor(
  z
    .string()
    .max(200)
    .regex(/^[\x21-\x7e]+$/)
    .transform((value) => (value.startsWith('approval-') && value.length > 'approval-'.length ? value.slice('approval-'.length) : value)),
  'expected an approval id (printable, no spaces, at most 200 characters)',
);

/** How the operator votes on an approval. */
export const parseVoteDecision = parserFor(voteDecisionSchema, 'expected approve or deny');

/** Why the operator votes so, as the approval actor keeps it. */
export const parseVoteReason = parserFor(z.string().trim().min(1).max(500), 'expected a reason of 1 to 500 characters');

/** A principal as events sign them: `user:U1`, `agent:run-R`, `operator:alice`, `cli`, `runtime`. */
export const parsePrincipal = parserFor(
  z.string().max(200).regex(/^(user|agent|operator):[\x21-\x7e]+$|^(cli|runtime)$/),
  'expected a principal such as user:U024BE7LH, agent:run-42, operator:alice, cli or runtime',
);

/**
 * A point in time: an ISO 8601 time (`2026-01-05T10:00:00Z`, with a zone), a day
 * (`2026-01-05`, UTC midnight), or a duration back from now (`7d`, `12h`, `90m`).
 */
export function parseTimeBound(value: string, now: () => number = Date.now): Date {
  const duration = durationSchema.safeParse(value);
  if (duration.success) return new Date(now() - duration.data);
  const time = z.union([z.iso.datetime({ offset: true }), z.iso.date()]).safeParse(value);
  if (time.success) return new Date(time.data.length === 10 ? `${time.data}T00:00:00Z` : time.data);
  throw new InvalidArgumentError('expected an ISO time such as 2026-01-05T10:00:00Z, a day such as 2026-01-05, or a duration back from now such as 7d or 12h');
}
