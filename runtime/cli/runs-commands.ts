/**
 * `ledgerclaw runs list | show <runId> | usage`: what agent runs did, and what model calls
 * cost each group per day by kind (runs and consolidations; see usage-by-kind.ts). `show` prints a run from
 * its stream alone: the prompt it was given (every section and message), each model call
 * (tokens, cost, latency, what the model said and asked for), each tool call with its
 * result, and how it ended, with totals.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventStore } from '../../events/port.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import { formatTable, toJson } from './format.js';
import { withReader } from './reader.js';
import { readUsage } from './usage-by-kind.js';

const runIdArgument = z.string().min(1).max(200).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a run id such as T1.C1-1712345678.000100');

function parseRunId(value: string): string {
  const parsed = runIdArgument.safeParse(value.startsWith('run-') ? value.slice(4) : value);
  if (!parsed.success) throw new UsageError(`run id '${value}': ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

export function registerRunsCommands(program: Command, context: CommandContext): void {
  const runs = program.command('runs').description('agent runs: their prompts, model and tool calls, tokens and cost');
  runs
    .command('list')
    .description('every run, newest first: group, trigger, how it ended, tokens and cost')
    .option('--limit <n>', 'most runs shown (default 50)', (value) => {
      const parsed = z.coerce.number().int().min(1).max(10_000).safeParse(value);
      if (!parsed.success) throw new UsageError(`--limit '${value}': expected a whole number from 1 to 10000`);
      return parsed.data;
    })
    .action(action(context, (options: { limit?: number }, command: Command) => list(context, command, options.limit ?? 50)));
  runs
    .command('show')
    .description('one run: the assembled prompt, each model and tool call, tokens and cost')
    .argument('<runId>', 'the run id (with or without the run- prefix)', parseRunId)
    .option('--json', 'the run as one JSON object')
    .action(action(context, (runId: string, options: { json?: boolean }, command: Command) => show(context, command, runId, options)));
  runs
    .command('usage')
    .description("each group's model calls per day by kind (run, consolidation): calls, budgeted tokens, cost")
    .option('--json', 'the rows as JSON')
    .action(action(context, (options: { json?: boolean }, command: Command) => usage(context, command, options)));
}

async function usage(context: CommandContext, command: Command, options: { json?: boolean }): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, context.io);
  const rows = await withReader(config, async (opened) => (opened ? readUsage(opened.store) : []));
  if (options.json) {
    context.io.stdout.write(toJson(rows));
    return ExitCode.ok;
  }
  if (rows.length === 0) {
    context.io.stdout.write('no model calls yet\n');
    return ExitCode.ok;
  }
  const cost = (row: (typeof rows)[number]) => `${row.unknownCost ? '≥ ' : ''}$${row.costUsd.toFixed(4)}`;
  context.io.stdout.write(formatTable(['day', 'group', 'kind', 'calls', 'tokens', 'cost'], rows.map((row) => [row.day, row.groupId, row.kind, String(row.modelCalls), String(row.tokens), cost(row)])));
  return ExitCode.ok;
}

interface TokenTotals {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

const tokensText = (tokens: TokenTotals) => `in ${tokens.input}, out ${tokens.output}, cache read ${tokens.cacheRead}, cache write ${tokens.cacheWrite}`;
const costText = (cost: number | null) => (cost === null ? 'unknown cost' : `$${cost.toFixed(6)}`);
const indent = (text: string, by = '    ') => text.split('\n').map((line) => `${by}${line}`).join('\n');
const excerpt = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`);

/** The printed account of one run, from its events in order. */
export function describeRun(runId: string, events: readonly StoredEvent[]): string {
  const lines: string[] = [`run ${runId}`];
  let cost = 0;
  let unknownCost = false;
  const tokens: TokenTotals = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  for (const event of events) {
    const data = event.data as Record<string, unknown>;
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'run.queued':
        lines.push(`  queued      ${at}  group ${String(data.groupId)}, trigger ${String(data.trigger)}${data.taskId ? `, task ${String(data.taskId)}` : ''}, context ${String(data.contextMode)}`);
        break;
      case 'run.slot_granted':
        lines.push(`  slot        ${at}`);
        break;
      case 'run.context_built': {
        const system = data.system as { name: string; text: string; cached: boolean }[];
        const messages = data.messages as { role: string; text: string }[];
        lines.push(`  prompt      ${at}  model ${String(data.model)}, about ${String(data.tokenEstimate)} tokens (conversation window ${String(data.windowBudgetTokens)})`);
        const instructions = data.instructions as { company: string | null; group: string | null } | undefined;
        if (instructions) lines.push(`    instructions: company ${instructions.company ?? 'none'}, group ${instructions.group ?? 'none'}`);
        for (const section of system) lines.push(`    [system: ${section.name}${section.cached ? ', cached' : ''}]`, indent(section.text, '      '));
        for (const message of messages) lines.push(`    [${message.role}]`, indent(message.text, '      '));
        break;
      }
      case 'run.started':
        lines.push(`  started     ${at}  sandbox ${String(data.containerId)}`);
        break;
      case 'run.model_called': {
        const callTokens = data.tokens as TokenTotals;
        for (const key of Object.keys(tokens) as (keyof TokenTotals)[]) tokens[key] += callTokens[key];
        if (data.costUsd === null) unknownCost = true;
        else cost += data.costUsd as number;
        lines.push(
          `  model call  ${at}  ${String(data.callId)} ${String(data.model)}: ${tokensText(callTokens)}; ${costText(data.costUsd as number | null)}; ${String(data.latencyMs)} ms; ${String(data.attempts)} attempt(s); stop ${String(data.stopReason)}`,
        );
        for (const block of data.output as ({ type: 'text'; text: string } | { type: 'tool_use'; name: string; input: unknown })[]) {
          lines.push(block.type === 'text' ? indent(excerpt(block.text, 2_000), '      ') : `      → ${block.name} ${excerpt(JSON.stringify(block.input), 500)}`);
        }
        break;
      }
      case 'run.tool_called':
        lines.push(
          `  tool call   ${at}  ${String(data.tool)} (${String(data.where)}, ${toolCallJudgement(data)}${String(data.durationMs)} ms)${data.isError ? ' ERROR' : ''}: ${excerpt(JSON.stringify(data.input), 300)}`,
          indent(excerpt(String(data.output), 1_000), '      '),
        );
        break;
      case 'run.completed':
        lines.push(`  completed   ${at}`, indent(excerpt(String(data.summary), 4_000), '      '));
        break;
      case 'run.failed':
        lines.push(`  failed      ${at}  ${String(data.reason)}: ${String(data.detail)}`);
        break;
      case 'run.timed_out':
        lines.push(`  timed out   ${at}  ${String(data.limit)} limit of ${String(data.limitMs)} ms`);
        break;
      case 'run.interrupted':
        lines.push(`  interrupted ${at}  ${String(data.reason)}${data.detail ? `: ${String(data.detail)}` : ''}`);
        break;
      default:
        lines.push(`  ${event.type} ${at}`);
    }
  }
  lines.push(`  total       ${tokensText(tokens)}; ${unknownCost ? `at least ${costText(cost)} (a model had no known price)` : costText(cost)}`);
  return `${lines.join('\n')}\n`;
}

async function show(context: CommandContext, command: Command, runId: string, options: { json?: boolean }): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, context.io);
  const events = await withReader(config, async (opened) => (opened ? opened.store.readStream(`run-${runId}`) : []));
  if (events.length === 0) throw new CommandFailedError(`no run ${runId}: the stream run-${runId} is empty or missing`);
  context.io.stdout.write(options.json ? toJson({ runId, events: events.map((event) => ({ type: event.type, at: event.metadata.occurredAt, data: event.data })) }) : describeRun(runId, events));
  return ExitCode.ok;
}

/**
 * The `limit` newest run streams, newest first: by when each run began (its first event,
 * `run.queued`), then by that event's position. Never by stream id: run ids are not in
 * time order (a Slack thread's timestamp, a task's id).
 */
async function newestRuns(store: EventStore, limit: number): Promise<string[]> {
  const begun: { streamId: string; at: number; position: bigint }[] = [];
  for (const stream of await store.listStreams({ prefix: 'run-' })) {
    const [first] = await store.readStream(stream.streamId, { maxCount: 1, upcast: false });
    if (first) begun.push({ streamId: stream.streamId, at: Date.parse(first.metadata.occurredAt), position: first.position });
  }
  begun.sort((a, b) => b.at - a.at || (b.position > a.position ? 1 : b.position < a.position ? -1 : 0));
  return begun.slice(0, limit).map((run) => run.streamId);
}

async function list(context: CommandContext, command: Command, limit: number): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, context.io);
  const rows = await withReader(config, async (opened) => {
    if (!opened) return [];
    const result: string[][] = [];
    for (const streamId of await newestRuns(opened.store, limit)) {
      const events = await opened.store.readStream(streamId);
      const queued = events.find((event) => event.type === 'run.queued')?.data as { groupId: string; trigger: string } | undefined;
      const last = events[events.length - 1];
      let tokens = 0;
      let cost = 0;
      for (const event of events) {
        if (event.type !== 'run.model_called') continue;
        const data = event.data as { tokens: TokenTotals; costUsd: number | null };
        tokens += data.tokens.input + data.tokens.output + data.tokens.cacheWrite;
        cost += data.costUsd ?? 0;
      }
      result.push([streamId.slice(4), queued?.groupId ?? '?', queued?.trigger ?? '?', last?.type.replace('run.', '') ?? '?', last?.metadata.occurredAt ?? '', String(tokens), `$${cost.toFixed(4)}`]);
    }
    return result;
  });
  if (rows.length === 0) {
    context.io.stdout.write('no runs yet\n');
    return ExitCode.ok;
  }
  context.io.stdout.write(formatTable(['run', 'group', 'trigger', 'last event', 'at', 'tokens', 'cost'], rows));
  return ExitCode.ok;
}

/** `tier write, approval_requested ap-…, ` for a call recorded with them (run.tool_called v2); nothing for a v1 call read as stored. */
function toolCallJudgement(data: Record<string, unknown>): string {
  if (typeof data.outcome !== 'string') return '';
  const tier = typeof data.tier === 'string' ? `tier ${data.tier}` : 'no tier';
  const approval = typeof data.approvalId === 'string' ? ` ${data.approvalId}` : '';
  return `${tier}, ${data.outcome}${approval}, `;
}
