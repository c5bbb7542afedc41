/**
 * `ledgerclaw memory search | show`: the memory index as an operator reads it. With
 * `--group` (and `--user`), a search sees exactly what that group's agent would see when
 * that user asks; without, the operator sees every scope.
 *
 * `ledgerclaw memory resolve | confirm | retire`: an operator settles what memory holds on a
 * key (runtime/memory/settle-operator.ts does it; this parses and prints). Signed `cli`, or
 * `user:<id>` with `--as <id>`, which `confirm` needs: a confirmed fact is a user's word.
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import type { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import { listScopes, MemoryQueryError, scopesVisibleTo, searchMemory, showMemory, type ScopeMemory } from '../../projections/memory-queries.js';
import { openReadModel } from '../../projections/read-model-files.js';
import { RuntimeUnreachableError } from '../control/actor-commands.js';
import { ControlRequestError } from '../control/client.js';
import { groupScope, SettleError, settleAsOperator, type OperatorSettlement } from '../memory/settle-operator.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import { formatTable } from './format.js';
import { parseFactKey, parseKeepChoice, parseMemoryGroupId, parseMemoryScope, parseRetireReason, parseSlackUserId } from './option-values.js';

const MEMORY_INDEX = 'memory-index';

const idSchema = z.string().min(1).max(200).regex(/^[^\s]+$/, 'expected an id with no spaces');
const limitSchema = z.coerce.number().int().min(1).max(100);

function parseWith<T>(schema: z.ZodType<T>, option: string) {
  return (value: string): T => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new UsageError(`${option} '${value}': ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  };
}

interface ScopeOptions {
  readonly group?: string;
  readonly user?: string;
  readonly json?: boolean;
}

export function registerMemoryCommands(program: Command, context: CommandContext): void {
  const memory = program.command('memory').description('what the assistant remembers: facts and daily logs, per group and per user');
  memory
    .command('search')
    .description("search the memory index (FTS5, best first); --group shows that group's view")
    .argument('<query>', 'plain words; every one must match')
    .option('--group <id>', "only what this group's agent may see", parseWith(idSchema, '--group'))
    .option('--user <id>', "with --group: also this user's own memory, as when they ask", parseWith(idSchema, '--user'))
    .option('--limit <n>', 'most results (1-100, default 10)', parseWith(limitSchema, '--limit'))
    .option('--json', 'one JSON object a result')
    .action(action(context, (query: string, options: ScopeOptions & { limit?: number }, command: Command) => search(context, command, query, options)));
  memory
    .command('show')
    .description('the facts, open conflicts and recent daily logs of a group or a user; every scope without one')
    .option('--group <id>', 'the group', parseWith(idSchema, '--group'))
    .option('--user <id>', 'the user', parseWith(idSchema, '--user'))
    .option('--json', 'JSON')
    .action(action(context, (options: ScopeOptions, command: Command) => show(context, command, options)));

  const scoped = (sub: Command) =>
    sub
      .addOption(new Option('--group <id>', "the group's memory (a thread's is its channel's)").argParser(parseMemoryGroupId).conflicts('scope'))
      .addOption(new Option('--scope <scope>', 'the memory scope: group.<group id> or user.<user id>').argParser(parseMemoryScope))
      .addOption(new Option('--as <user>', 'the Slack user you act for: signed user:<id> instead of cli').argParser(parseSlackUserId));
  scoped(
    memory
      .command('resolve')
      .description('settle an open conflict on a key: keep the oldest fact, the newest, or none; the others are retired')
      .argument('<key>', 'the key in conflict', parseFactKey)
      .addOption(new Option('--keep <which>', 'old | new | none').argParser(parseKeepChoice).makeOptionMandatory()),
  ).action(
    action(context, (key: string, options: SettleOptions & { keep: 'old' | 'new' | 'none' }, command: Command) =>
      settle(context, command, { type: 'resolve', key, keep: options.keep }, options),
    ),
  );
  scoped(
    memory
      .command('confirm')
      .description("confirm the one active fact on a key for a user (--as): an agent's fact becomes their word")
      .argument('<key>', 'the key', parseFactKey),
  ).action(action(context, (key: string, options: SettleOptions, command: Command) => settle(context, command, { type: 'confirm', key }, options)));
  scoped(
    memory
      .command('retire')
      .description('retire the one active fact on a key (it stays in the history, no longer used)')
      .argument('<key>', 'the key', parseFactKey)
      .addOption(new Option('--reason <text>', 'why (kept with the fact)').argParser(parseRetireReason)),
  ).action(
    action(context, (key: string, options: SettleOptions & { reason?: string }, command: Command) =>
      settle(context, command, { type: 'retire', key, reason: options.reason ?? 'retired by the operator' }, options),
    ),
  );
}

interface SettleOptions {
  readonly group?: string;
  readonly scope?: string;
  readonly as?: string;
}

async function settle(context: CommandContext, command: Command, request: OperatorSettlement, options: SettleOptions): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, context.io);
  let changed: string;
  try {
    changed = await settleAsOperator({
      config,
      kinds: context.actors.kinds,
      catalogue: context.actors.catalogue,
      readModels: context.readModels.filter((projection) => projection.name.startsWith('memory-')),
      request,
      scope: options.scope ?? (options.group ? groupScope(options.group) : null),
      onBehalfOf: options.as ?? null,
      commandName: `ledgerclaw memory ${command.name()}`,
    });
  } catch (error) {
    if (error instanceof SettleError) throw error.problem === 'not-a-user' || error.problem === 'ambiguous' ? new UsageError(error.message) : new CommandFailedError(error.message);
    if (error instanceof RuntimeUnreachableError) throw new CommandFailedError(error.message);
    if (error instanceof ControlRequestError) throw new CommandFailedError(`the runtime refused the request: ${error.message}`);
    throw error;
  }
  context.io.stdout.write(`${changed}\n`);
  return ExitCode.ok;
}

async function withMemoryIndex<T>(context: CommandContext, command: Command, use: (db: SqliteConnection) => Promise<T>): Promise<T> {
  const { config } = loadCommandConfig(command, context.io);
  const db = await openReadModel(config.dataDir, MEMORY_INDEX);
  if (!db) throw new CommandFailedError(`the memory index is not built yet in ${config.dataDir}; \`ledgerclaw start\` builds it`);
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

async function search(context: CommandContext, command: Command, query: string, options: ScopeOptions & { limit?: number }): Promise<ExitCode> {
  if (options.user && !options.group) throw new UsageError('--user goes with --group: a user is seen through the group they ask in');
  const { io } = context;
  return withMemoryIndex(context, command, async (db) => {
    const scopes = options.group ? scopesVisibleTo({ groupId: options.group, userId: options.user ?? null }) : await listScopes(db);
    let hits;
    try {
      hits = await searchMemory(db, query, { scopes, ...(options.limit ? { limit: options.limit } : {}) });
    } catch (error) {
      if (error instanceof MemoryQueryError) throw new UsageError(error.message);
      throw error;
    }
    if (options.json) {
      for (const hit of hits) io.stdout.write(`${JSON.stringify(hit)}\n`);
      return ExitCode.ok;
    }
    if (hits.length === 0) {
      io.stdout.write('(nothing found)\n');
      return ExitCode.ok;
    }
    io.stdout.write(
      formatTable(
        ['SCORE', 'SCOPE', 'SOURCE', 'TEXT'],
        hits.map((hit) => [
          hit.score.toFixed(2),
          hit.scope,
          hit.source.kind === 'fact' ? `fact ${hit.source.key} (${hit.source.confidence}${hit.source.inConflict ? ', in conflict' : ''}${hit.source.demoted ? ', demoted' : ''})` : `daily log ${hit.source.day}`,
          hit.text.replace(/\s+/g, ' '),
        ]),
      ),
    );
    return ExitCode.ok;
  });
}

function describeScope(memory: ScopeMemory): string {
  const lines = [`${memory.scope}: ${memory.facts.length} fact${memory.facts.length === 1 ? '' : 's'}, ${memory.conflicts.length} open conflict${memory.conflicts.length === 1 ? '' : 's'}`];
  for (const conflict of memory.conflicts) lines.push(`  CONFLICT ${conflict.key}: facts ${conflict.factIds.join(', ')} disagree (flagged ${conflict.flaggedAt})`);
  for (const fact of memory.facts) lines.push(`  [${fact.confidence}] ${fact.key}: ${fact.statement}${fact.inConflict ? '  (in conflict)' : ''}${fact.demoted ? '  (demoted: not in MEMORY.md)' : ''}`);
  for (const log of memory.dailyLogs) lines.push(`  ${log.day} (${log.writtenBy}): ${log.summary.replace(/\s+/g, ' ')}`);
  return `${lines.join('\n')}\n`;
}

async function show(context: CommandContext, command: Command, options: ScopeOptions): Promise<ExitCode> {
  if (options.group && options.user) throw new UsageError('show one scope: --group or --user, not both');
  const { io } = context;
  return withMemoryIndex(context, command, async (db) => {
    const scopes = options.group ? [`group.${options.group}`] : options.user ? [`user.${options.user}`] : await listScopes(db);
    const memories = [];
    for (const scope of scopes) {
      try {
        memories.push(await showMemory(db, scope));
      } catch (error) {
        if (error instanceof MemoryQueryError) throw new UsageError(error.message);
        throw error;
      }
    }
    if (options.json) io.stdout.write(`${JSON.stringify(memories.length === 1 && (options.group || options.user) ? memories[0] : memories)}\n`);
    else io.stdout.write(memories.length === 0 ? '(no memory yet)\n' : memories.map(describeScope).join('\n'));
    return ExitCode.ok;
  });
}
