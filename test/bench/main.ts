/**
 * The benchmark runner: `npm run bench -- <suite> [--json] [--dir <path>] [--quick]`.
 *
 * Each suite measures ledgerclaw beside a baseline run in the same process, so the ratio
 * means something on a noisy machine. The readable table goes to stdout, progress to
 * stderr, and with --json one JSON object with every figure is the last line of stdout.
 * A missed target is reported, never turned into a failing exit code; a usage error exits
 * with 2, a crash with 1.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { runActorsSuite } from './actors.js';
import { runAuditSuite } from './audit.js';
import { runEventsSuite } from './events.js';
import { runMemorySuite } from './memory.js';
import { runRunsSuite } from './runs.js';
import { runSchedulerSuite } from './scheduler.js';
import { runSearchSuite } from './search.js';
import { runSlackSuite } from './slack.js';

export interface SuiteOptions {
  /** Where to create the suite's temporary directory; os.tmpdir() when not given. */
  readonly dir?: string;
  /** About a tenth of the work, for a smoke run. */
  readonly quick: boolean;
  /** One progress line, to stderr. */
  readonly log: (line: string) => void;
}

export interface SuiteReport {
  /** The readable result, printed to stdout. */
  readonly table: string;
  /** Every figure and ratio as numbers, printed as the last line with --json. */
  readonly figures: Record<string, unknown>;
}

export type Suite = (options: SuiteOptions) => Promise<SuiteReport>;

/** Every suite by name. */
const SUITES = {
  events: runEventsSuite,
  actors: runActorsSuite,
  search: runSearchSuite,
  runs: runRunsSuite,
  scheduler: runSchedulerSuite,
  slack: runSlackSuite,
  memory: runMemorySuite,
  audit: runAuditSuite,
} satisfies Record<string, Suite>;

type SuiteName = keyof typeof SUITES;
const SUITE_NAMES = Object.keys(SUITES) as [SuiteName, ...SuiteName[]];

const USAGE = `usage: npm run bench -- <suite> [--json] [--dir <path>] [--quick]

  <suite>       one of: ${SUITE_NAMES.join(', ')}
  --json        also print every figure as one JSON object on the last line of stdout
  --dir <path>  create the temporary working directory inside <path> (default: the OS temp dir);
                put it on the filesystem that holds the data directory
  --quick       about a tenth of the work, for a smoke run
  -h, --help    show this help`;

class UsageError extends Error {}

const argsSchema = z.object({
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
});

interface BenchArgs {
  readonly suite: SuiteName;
  readonly json: boolean;
  readonly quick: boolean;
  readonly dir?: string;
}

function parseCommandLine(argv: readonly string[]): BenchArgs | 'help' {
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
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // parseArgs names the offending flag: "Unknown option '--jsn'", "Option '--dir <value>' argument missing".
    throw new UsageError((error instanceof Error ? error.message : String(error)).replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.values.help) return 'help';
  const result = argsSchema.safeParse({
    positionals: parsed.positionals,
    json: parsed.values.json,
    quick: parsed.values.quick,
    dir: parsed.values.dir,
  });
  if (!result.success) throw new UsageError(result.error.issues.map((issue) => issue.message).join('; '));
  const { positionals, json, quick, dir } = result.data;
  return { suite: positionals[0]!, json, quick, ...(dir !== undefined ? { dir } : {}) };
}

async function requireDirectory(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`--dir ${path}: no such directory`);
  if (!info.isDirectory()) throw new UsageError(`--dir ${path}: not a directory`);
}

async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    args = parsed;
    if (args.dir !== undefined) await requireDirectory(args.dir);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }

  // A closed stderr (`| head`) must not kill the run before it removes its temporary files.
  process.stderr.on('error', () => undefined);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const report = await SUITES[args.suite]({ quick: args.quick, log, ...(args.dir !== undefined ? { dir: args.dir } : {}) });
  process.stdout.write(`${report.table}\n`);
  if (args.json) process.stdout.write(`${JSON.stringify(report.figures)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
