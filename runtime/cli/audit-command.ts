/**
 * `ledgerclaw audit [--group G] [--actor P] [--since T] [--until T] [--json]`: what the
 * assistant did and who allowed it, in store order: tool calls with their tier and outcome,
 * approval requests, votes and decisions, messages posted, memory written, tasks created or
 * changed. It reads the audit log read model (projections/audit-log.ts), so it answers from
 * an index however long the store is.
 *
 * Before it prints a row it verifies what it prints and says so: each printed event against
 * its neighbours in `$all`, anchored at the checkpoint `start` last verified the whole chain
 * to (events/verify-printed.ts), the events since that checkpoint walked in full; without a
 * checkpoint, the whole span of `$all` the rows come from is walked (events/verify-span.ts),
 * which takes seconds per million events. A broken link is printed instead of the rows,
 * naming the stream and position, and the exit status is 1. A read model behind the store
 * is said on stderr: the rows are what it has applied.
 */
import type { Command } from 'commander';
import { verifyPrinted } from '../../events/verify-printed.js';
import { verifySpan } from '../../events/verify-span.js';
import { describeBrokenLink, type VerifyResult } from '../../events/verify.js';
import { readChainCheckpoint } from '../chain-checkpoint.js';
import { AUDIT_LOG_PROJECTION } from '../../projections/audit-log.js';
import { queryAuditLog, type AuditFilter, type AuditRow } from '../../projections/audit-queries.js';
import { openReadModel, readCheckpoint } from '../../projections/read-model-files.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import { toJsonLine } from './format.js';
import { parseGroupOption, parsePrincipal, parseTimeBound } from './option-values.js';
import { withReader } from './reader.js';

interface AuditOptions {
  readonly group?: string;
  readonly actor?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly json?: boolean;
}

export function registerAuditCommand(program: Command, context: CommandContext): void {
  program
    .command('audit')
    .description('what the assistant did and who allowed it, in order, after verifying the hash chain over it')
    .option('--group <id>', "only this group's (a run's, an approval's, a task's, a memory's, a reply's channel)", parseGroupOption)
    .option('--actor <principal>', 'only what this principal did: user:U…, agent:run-R, operator:<name>', parsePrincipal)
    .option('--since <time>', 'from this time (ISO 8601, a day, or a duration back such as 7d)', (value: string) => parseTimeBound(value))
    .option('--until <time>', 'before this time (same forms)', (value: string) => parseTimeBound(value))
    .option('--json', 'one JSON object a row; the verification goes to stderr')
    .action(action(context, (options: AuditOptions, command: Command) => audit(context, command, options)));
}

function filterOf(options: AuditOptions): AuditFilter {
  if (options.since && options.until && options.since >= options.until) {
    throw new UsageError(`--since ${options.since.toISOString()} is not before --until ${options.until.toISOString()}`);
  }
  return {
    ...(options.group !== undefined ? { groupId: options.group } : {}),
    ...(options.actor !== undefined ? { actor: options.actor } : {}),
    ...(options.since ? { since: options.since.toISOString() } : {}),
    ...(options.until ? { until: options.until.toISOString() } : {}),
  };
}

/** The rows, and how far the read model has applied `$all`. */
async function readRows(dataDir: string, filter: AuditFilter): Promise<{ rows: AuditRow[]; applied: bigint }> {
  const db = await openReadModel(dataDir, AUDIT_LOG_PROJECTION);
  if (!db) throw new CommandFailedError(`the audit log read model is not built yet in ${dataDir}; \`ledgerclaw start\` builds it`);
  try {
    return { rows: await queryAuditLog(db, filter), applied: (await readCheckpoint(db)) ?? 0n };
  } finally {
    await db.close();
  }
}

/** How the printed rows were verified, and what came of it. */
export interface AuditVerification {
  readonly result: VerifyResult;
  /** What was checked, for the line that says so. */
  readonly scope: string;
}

export function verificationLine(verification: AuditVerification): string {
  if (!verification.result.ok) return `hash chain broken ${describeBrokenLink(verification.result)}`;
  return `hash chain verified: ${verification.scope}`;
}

const plural = (count: number | bigint, noun: string) => `${count} ${noun}${count === 1 || count === 1n ? '' : 's'}`;

/**
 * Each printed event against its neighbours, anchored at `start`'s last verified checkpoint;
 * without one (or for events older than the $all chain) the whole span is walked.
 */
async function verifyRows(dataDir: string, backend: Parameters<typeof verifySpan>[0], rows: readonly AuditRow[], onProgress: ((checked: number, position: bigint) => void) | undefined): Promise<AuditVerification> {
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const remembered = await readChainCheckpoint(dataDir);
  let fallback = 'no chain checkpoint from `ledgerclaw start` to anchor to';
  if (remembered.kind === 'found') {
    const { checkpoint, verifiedAt } = remembered.remembered;
    const printed = await verifyPrinted(backend, rows.map((row) => row.position), checkpoint);
    if (printed.kind === 'anchored') {
      return {
        result: printed.result,
        scope:
          `the ${plural(printed.printed, 'printed event')} at or before position ${checkpoint.position} against their neighbours in $all, ` +
          `anchored at that position (verified by start at ${verifiedAt}), and the ${plural(printed.tail, 'event')} since walked`,
      };
    }
    fallback = printed.reason;
  }
  const span = await verifySpan(backend, first.position, last.position, onProgress ? { onProgress } : {});
  return { result: span.result, scope: `positions ${span.from}..${span.until} walked (${plural(span.result.events, 'event')}; ${fallback})` };
}

function rowLine(row: AuditRow): string {
  return [row.recordedAt, `#${row.position}`, row.groupId ?? '-', row.actor, row.kind, row.summary].join('  ');
}

async function audit(context: CommandContext, command: Command, options: AuditOptions): Promise<ExitCode> {
  const { io } = context;
  const filter = filterOf(options);
  const { config } = loadCommandConfig(command, io);
  const { rows, applied } = await readRows(config.dataDir, filter);
  const first = rows[0];
  const last = rows[rows.length - 1];
  const checked = await withReader(config, async (opened) => {
    if (!opened) throw new CommandFailedError(`there is no event store in ${config.dataDir} (is --data right?)`);
    const head = await opened.store.headPosition();
    if (applied < head) io.stderr.write(`ledgerclaw: the audit log has applied $all up to position ${applied} of ${head}; newer events are not shown until the runtime catches it up\n`);
    if (!first || !last) return null;
    // A year of events takes a while to walk: a person watching sees it move; redirected stderr stays clean.
    const onProgress = io.stderr.isTTY === true ? (checked: number, position: bigint) => io.stderr.write(`\rverifying the hash chain: ${checked} events (position ${position} of ${last.position})`) : undefined;
    const verification = await verifyRows(config.dataDir, opened.backend, rows, onProgress);
    if (onProgress) io.stderr.write('\r\x1b[K');
    return verification;
  });
  if (checked && !checked.result.ok) {
    io.stdout.write(`${verificationLine(checked)}\n`);
    return ExitCode.failure;
  }
  const said = checked ? verificationLine(checked) : 'nothing to verify: no audited event matches';
  if (options.json) {
    io.stderr.write(`${said}\n`);
    for (const row of rows) io.stdout.write(toJsonLine(row));
    return ExitCode.ok;
  }
  io.stdout.write(`${said}\n`);
  for (const row of rows) io.stdout.write(`${rowLine(row)}\n`);
  return ExitCode.ok;
}
