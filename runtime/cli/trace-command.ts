/**
 * `ledgerclaw trace <correlationId>`: everything one outside trigger led to, in every
 * stream, in $all order. Events are shown as stored (the audit view, as `events read`).
 */
import type { Command } from 'commander';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { eventAsJsonLine, traceTable } from './event-format.js';
import { CommandFailedError, ExitCode } from './exit-codes.js';
import { parseCorrelationId } from './option-values.js';
import { withReader } from './reader.js';

/** More than one trigger ever leads to; the store's own default, said out loud when reached. */
const MAX_TRACE_EVENTS = 10_000;

interface TraceOptions {
  readonly json?: boolean;
}

export function registerTraceCommand(program: Command, context: CommandContext): void {
  program
    .command('trace')
    .description('every event, in every stream, that carries one correlation id, in $all order')
    .argument('<correlationId>', 'the correlation id, as in an event’s metadata', parseCorrelationId)
    .option('--json', 'one JSON object an event (NDJSON), with the full envelope')
    .action(action(context, (correlationId: string, options: TraceOptions, command: Command) => trace(context, command, correlationId, options)));
}

async function trace(context: CommandContext, command: Command, correlationId: string, options: TraceOptions): Promise<ExitCode> {
  const { io } = context;
  const { config } = loadCommandConfig(command, io);
  const events = await withReader(config, async (opened) =>
    opened ? opened.store.readByCorrelation(correlationId, { maxCount: MAX_TRACE_EVENTS, upcast: false }) : [],
  );
  if (events.length === 0) throw new CommandFailedError(`no event carries correlation id ${correlationId}`);
  io.stdout.write(options.json ? events.map(eventAsJsonLine).join('') : traceTable(events));
  if (events.length === MAX_TRACE_EVENTS) {
    io.stderr.write(`ledgerclaw: showing the first ${MAX_TRACE_EVENTS} events of correlation ${correlationId}; there may be more\n`);
  }
  return ExitCode.ok;
}
