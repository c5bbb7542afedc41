/**
 * The bench runner's command line: `<suite> [--json] [--dir <path>] [--quick] [--backend <b>]`,
 * checked with zod so that a mistake is a usage error naming it (exit 2), never a crash.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const SUITE_NAMES = ['events', 'actors', 'search', 'runs', 'scheduler', 'slack', 'memory', 'audit'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** The event stores the events suite can measure: SQLite alone, or EventStoreDB beside it. */
export const EVENTS_BACKENDS = ['sqlite', 'eventstoredb'] as const;
export type EventsBackend = (typeof EVENTS_BACKENDS)[number];

export const BENCH_USAGE = `usage: npm run bench -- <suite> [--json] [--dir <path>] [--quick] [--backend sqlite|eventstoredb]

  <suite>       one of: ${SUITE_NAMES.join(', ')}
  --json        also print every figure as one JSON object on the last line of stdout
  --dir <path>  create the temporary working directory inside <path> (default: the OS temp dir);
                put it on the filesystem that holds the data directory
  --quick       about a tenth of the work, for a smoke run
  --backend     events suite only: sqlite (default) measures the SQLite store against the bare
                driver; eventstoredb measures the EventStoreDB adapter on the fake server (and on
                the real one LEDGERCLAW_EVENTSTOREDB_URL names, when set) beside SQLite
  -h, --help    show this help`;

export class BenchUsageError extends Error {}

export interface BenchArgs {
  readonly suite: SuiteName;
  readonly json: boolean;
  readonly quick: boolean;
  readonly dir?: string;
  readonly backend: EventsBackend;
}

const argsSchema = z
  .object({
    positionals: z
      .array(
        z.enum(SUITE_NAMES, {
          error: (issue) => `unknown suite ${JSON.stringify(issue.input)} (known: ${SUITE_NAMES.join(', ')})`,
        }),
      )
      .min(1, { error: 'missing <suite>' })
      .max(1, { error: (issue) => `expected one suite, got ${(issue.input as string[]).map((name) => JSON.stringify(name)).join(' ')}` }),
    json: z.boolean(),
    quick: z.boolean(),
    dir: z.string().min(1, { error: '--dir must not be empty' }).optional(),
    backend: z.enum(EVENTS_BACKENDS, { error: (issue) => `--backend ${JSON.stringify(issue.input)}: expected one of ${EVENTS_BACKENDS.join(', ')}` }).optional(),
  })
  .refine((args) => args.backend === undefined || args.positionals[0] === 'events', {
    error: '--backend applies to the events suite only',
  });

/** The parsed arguments, or 'help'; a BenchUsageError names what is wrong. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        dir: { type: 'string' },
        backend: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // parseArgs names the offending flag: "Unknown option '--jsn'", "Option '--dir <value>' argument missing".
    throw new BenchUsageError((error instanceof Error ? error.message : String(error)).replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.values.help) return 'help';
  const result = argsSchema.safeParse({
    positionals: parsed.positionals,
    json: parsed.values.json,
    quick: parsed.values.quick,
    dir: parsed.values.dir,
    backend: parsed.values.backend,
  });
  if (!result.success) throw new BenchUsageError(result.error.issues.map((issue) => issue.message).join('; '));
  const { positionals, json, quick, dir, backend } = result.data;
  return { suite: positionals[0]!, json, quick, ...(dir !== undefined ? { dir } : {}), backend: backend ?? 'sqlite' };
}
