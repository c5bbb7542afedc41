/**
 * `ledgerclaw approvals list | show | vote`: the approvals the assistant asked for, as an
 * operator reads and answers them.
 *
 * - `list` reads the audit log read model's `approvals` table (projections/audit-log.ts);
 *   `show` reads the approval's own stream, so it shows every event, also ones this version
 *   does not know. Neither takes a lock.
 * - `vote` sends the approval actor `vote` for the approver `operator`, signed
 *   `operator:<os user>`, with the request's arguments hash: through the running runtime's
 *   control socket, or an actor host in this process. It counts only where the policy listed
 *   `operator` among the approvers; otherwise the actor refuses (rejects it, or records
 *   `approval.vote_refused`), and its reason is printed (exit 1).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { OPERATOR_APPROVER } from '../../actors/approval.js';
import type { StoredEvent } from '../../events/envelope.js';
import { AUDIT_LOG_PROJECTION } from '../../projections/audit-log.js';
import { listApprovals, type ApprovalSummary } from '../../projections/audit-queries.js';
import { openReadModel } from '../../projections/read-model-files.js';
import { RuntimeUnreachableError } from '../control/actor-commands.js';
import { ControlRequestError } from '../control/client.js';
import { operatorNameSchema } from '../control/protocol.js';
import { withActorCommands } from './actor-commands-session.js';
import { describeApproval, foldApproval } from './approval-view.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import { formatTable, toJsonLine } from './format.js';
import { parseApprovalId, parseGroupOption, parseVoteDecision, parseVoteReason } from './option-values.js';
import { withReader } from './reader.js';

const APPROVAL_KIND = 'approval';

export function registerApprovalsCommands(program: Command, context: CommandContext): void {
  const approvals = program.command('approvals').description('approvals the assistant asked for: list, show in full, vote as the operator');
  approvals
    .command('list')
    .description('approvals, newest first: status, tool and tier, group, votes given of those needed')
    .option('--pending', 'only those still waiting for votes')
    .option('--group <id>', "only this group's", parseGroupOption)
    .option('--json', 'one JSON object an approval')
    .action(action(context, (options: ListOptions, command: Command) => list(context, command, options)));
  approvals
    .command('show')
    .description('one approval in full: the action and its arguments, who asked and why, the policy, every vote, the decision and what came of it')
    .argument('<id>', 'the approval id', parseApprovalId)
    .option('--json', 'one JSON object')
    .action(action(context, (approvalId: string, options: { json?: boolean }, command: Command) => show(context, command, approvalId, options)));
  approvals
    .command('vote')
    .description('vote as the operator (signed operator:<os user>); counts only where the policy lists operator')
    .argument('<id>', 'the approval id', parseApprovalId)
    .argument('<decision>', 'approve | deny', parseVoteDecision)
    .option('--reason <text>', 'why (the requester is told a deny with its reason)', parseVoteReason)
    .action(
      action(context, (approvalId: string, decision: 'approve' | 'deny', options: { reason?: string }, command: Command) =>
        vote(context, command, approvalId, decision, options.reason),
      ),
    );
}

interface ListOptions {
  readonly pending?: boolean;
  readonly group?: string;
  readonly json?: boolean;
}

async function list(context: CommandContext, command: Command, options: ListOptions): Promise<ExitCode> {
  const { io } = context;
  const { config } = loadCommandConfig(command, io);
  const db = await openReadModel(config.dataDir, AUDIT_LOG_PROJECTION);
  if (!db) throw new CommandFailedError(`the audit log read model is not built yet in ${config.dataDir}; \`ledgerclaw start\` builds it`);
  let rows: ApprovalSummary[];
  try {
    rows = await listApprovals(db, { ...(options.pending ? { pending: true } : {}), ...(options.group !== undefined ? { groupId: options.group } : {}) });
  } finally {
    await db.close();
  }
  if (options.json) {
    for (const row of rows) io.stdout.write(toJsonLine(row));
    return ExitCode.ok;
  }
  if (rows.length === 0) {
    io.stdout.write(options.pending ? '(no approval is pending)\n' : '(no approvals)\n');
    return ExitCode.ok;
  }
  io.stdout.write(
    formatTable(
      ['ID', 'STATUS', 'TOOL', 'GROUP', 'VOTES', 'REQUESTER', 'REQUESTED', 'EXPIRES', 'SUMMARY'],
      rows.map((row) => [
        row.approvalId,
        row.status,
        `${row.tool}${row.tier ? ` [${row.tier}]` : ''}`,
        row.groupId ?? '-',
        `${row.approvals}/${row.required} of ${row.approvers.length}${row.denials > 0 ? `, ${row.denials} deny` : ''}`,
        row.requester,
        row.requestedAt,
        row.expiresAt,
        row.summary.replace(/\s+/g, ' ').slice(0, 80),
      ]),
    ),
  );
  return ExitCode.ok;
}

async function approvalEvents(context: CommandContext, command: Command, approvalId: string): Promise<StoredEvent[]> {
  const { config } = loadCommandConfig(command, context.io);
  const events = await withReader(config, async (opened) => (opened ? opened.store.readStream(`approval-${approvalId}`) : []));
  if (events.length === 0) throw new CommandFailedError(`no approval ${approvalId}: \`ledgerclaw approvals list\` shows them`);
  return events;
}

async function show(context: CommandContext, command: Command, approvalId: string, options: { json?: boolean }): Promise<ExitCode> {
  const view = foldApproval(approvalId, await approvalEvents(context, command, approvalId));
  if (!view) throw new CommandFailedError(`approval ${approvalId} has events but no request; \`ledgerclaw events read approval-${approvalId}\` shows them`);
  context.io.stdout.write(options.json ? toJsonLine(view) : describeApproval(view));
  return ExitCode.ok;
}

/** The OS user at the terminal, as a vote is signed: `operator:<name>`. */
function operatorName(): string {
  const name = userInfo().username;
  const parsed = operatorNameSchema.safeParse(name);
  if (!parsed.success) throw new CommandFailedError(`your OS user name ${JSON.stringify(name)} cannot sign a vote: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

function asCommandError(error: unknown): unknown {
  if (error instanceof RuntimeUnreachableError) return new CommandFailedError(error.message);
  if (error instanceof ControlRequestError) return error.code === 'invalid_command' ? new UsageError(error.message) : new CommandFailedError(`the runtime refused the request: ${error.message}`);
  return error;
}

async function vote(context: CommandContext, command: Command, approvalId: string, decision: 'approve' | 'deny', reason: string | undefined): Promise<ExitCode> {
  const operator = operatorName();
  const view = foldApproval(approvalId, await approvalEvents(context, command, approvalId));
  const argumentsHash = (view?.request.action as { argumentsHash?: unknown } | undefined)?.argumentsHash;
  if (!view || typeof argumentsHash !== 'string') throw new CommandFailedError(`approval ${approvalId} has no request to vote on`);
  const readModels = context.readModels.filter((projection) => projection.name === AUDIT_LOG_PROJECTION);
  const result = await withActorCommands(context, command, { group: 'approvals', readModels, explain: asCommandError }, (commands) =>
    commands.send(
      APPROVAL_KIND,
      approvalId,
      { type: 'vote', approver: OPERATOR_APPROVER, decision, argumentsHash, ...(reason !== undefined ? { reason } : {}) },
      { asOperator: operator },
    ),
  );
  if (result.status === 'rejected') throw new CommandFailedError(`the vote of operator:${operator} on approval ${approvalId} was not counted: ${result.reason}`);
  // The actor may record a refused vote (so the audit shows the attempt) instead of rejecting it.
  const refused = result.events.find((event) => event.type === 'approval.vote_refused');
  if (refused) {
    const reason = (refused.data as { reason?: unknown }).reason;
    throw new CommandFailedError(`the vote of operator:${operator} on approval ${approvalId} was not counted: ${typeof reason === 'string' ? reason : 'refused'} (the refusal is recorded)`);
  }
  const decided = result.events.find((event) => event.type === 'approval.granted' || event.type === 'approval.denied');
  const done = decision === 'approve' ? 'approved' : 'denied';
  context.io.stdout.write(
    `operator:${operator} ${done} approval ${approvalId}${result.duplicate ? ' (earlier)' : ''}; it is now ${decided ? decided.type.slice('approval.'.length) : result.state}\n`,
  );
  return ExitCode.ok;
}
