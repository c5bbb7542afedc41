/**
 * `ledgerclaw audit [--group G] [--actor P] [--since T] [--until T] [--json]`: what the
 * assistant did and who allowed it, in store order: tool calls with their tier and outcome,
 * approval requests, votes and decisions, messages posted, memory written, tasks created or
 * changed. It reads the audit log read model (projections/audit-log.ts), so it answers from
 * an index however long the store is.
 *
 * Before it prints a row it verifies the hash chains over the span of `$all` the rows come
 * from (events/verify-span.ts) and says so; a broken link is printed instead of the rows,
 * naming the stream and position, and the exit status is 1. A read model behind the store
 * is said on stderr: the rows are what it has applied.
 */
import type { Command } from 'commander';
import { verifySpan, type SpanVerifyResult } from '../../events/verify-span.js';
import { describeBrokenLink } from '../../events/verify.js';
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

export function verificationLine(span: SpanVerifyResult): string {
  if (!span.result.ok) return `hash chain broken ${describeBrokenLink(span.result)}`;
  return `hash chain verified over positions ${span.from}..${span.until} (${span.result.events} event${span.result.events === 1 ? '' : 's'})`;
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
    const span = await verifySpan(opened.backend, first.position, last.position, onProgress ? { onProgress } : {});
    if (onProgress) io.stderr.write('\r\x1b[K');
    return span;
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
