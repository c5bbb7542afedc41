/**
 * The benchmark runner: `npm run bench -- <suite> [--json] [--dir <path>] [--quick] [--backend <b>]`.
 *
 * Each suite measures ledgerclaw beside a baseline run in the same process, so the ratio
 * means something on a noisy machine. The readable table goes to stdout, progress to
 * stderr, and with --json one JSON object with every figure is the last line of stdout.
 * A missed target is reported, never turned into a failing exit code; a usage error exits
 * with 2, a crash with 1.
 */
import { stat } from 'node:fs/promises';
import { runActorsSuite } from './actors.js';
import { runAuditSuite } from './audit.js';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs, type BenchArgs, type SuiteName } from './bench-args.js';
import { runEventStoreDbEventsSuite } from './events-eventstoredb.js';
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
} satisfies Record<SuiteName, Suite>;

/** The suite the arguments name: `events --backend eventstoredb` is the EventStoreDB comparison. */
function suiteFor(args: BenchArgs): Suite {
  if (args.suite === 'events' && args.backend === 'eventstoredb') return runEventStoreDbEventsSuite;
  return SUITES[args.suite];
}

async function requireDirectory(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new BenchUsageError(`--dir ${path}: no such directory`);
  if (!info.isDirectory()) throw new BenchUsageError(`--dir ${path}: not a directory`);
}

async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    const parsed = parseBenchArgs(argv);
    if (parsed === 'help') {
      process.stdout.write(`${BENCH_USAGE}\n`);
      return 0;
    }
    args = parsed;
    if (args.dir !== undefined) await requireDirectory(args.dir);
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${BENCH_USAGE}\n`);
    return 2;
  }

  // A closed stderr (`| head`) must not kill the run before it removes its temporary files.
  process.stderr.on('error', () => undefined);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const report = await suiteFor(args)({ quick: args.quick, log, ...(args.dir !== undefined ? { dir: args.dir } : {}) });
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
