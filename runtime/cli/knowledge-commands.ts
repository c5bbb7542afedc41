/**
 * `ledgerclaw knowledge sync [--source s]`: runs the configured connectors once, turning
 * what changed in each source into events on `knowledge-<source>`. It writes, so it takes
 * the data directory; the caches index the events when the runtime next runs (or now,
 * with `projections rebuild`).
 */
import type { Command } from 'commander';
import { DataDirectoryInUseError } from '../data-dir-lock.js';
import { KnowledgeSourceError, syncKnowledgeSources } from '../knowledge/sources.js';
import { openEventStore } from '../open-store.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode } from './exit-codes.js';
import { formatTable } from './format.js';

export function registerKnowledgeCommands(program: Command, context: CommandContext): void {
  program
    .command('knowledge')
    .description('knowledge sources: folders, git repositories, Slack channel history')
    .command('sync')
    .description('sync the configured knowledge sources once (needs the runtime stopped)')
    .option('--source <name>', 'only this source')
    .action(action(context, (options: { source?: string }, command: Command) => sync(context, command, options)));
}

async function sync(context: CommandContext, command: Command, options: { source?: string }): Promise<ExitCode> {
  const { io } = context;
  const { config } = loadCommandConfig(command, io);
  if (config.knowledge.sources.length === 0) {
    io.stdout.write('no knowledge sources are configured (knowledge.sources in ledgerclaw.config.json)\n');
    return ExitCode.ok;
  }
  let opened;
  try {
    opened = await openEventStore(config, { mode: 'writer', actor: 'cli', command: 'ledgerclaw knowledge sync', catalogue: context.actors.catalogue });
  } catch (error) {
    if (error instanceof DataDirectoryInUseError) throw new CommandFailedError(`${error.message}; the running runtime syncs its sources itself`);
    throw error;
  }
  try {
    const reports = await syncKnowledgeSources(opened.store, config, { env: io.env, cwd: io.cwd, ...(options.source ? { only: options.source } : {}) });
    io.stdout.write(
      formatTable(
        ['SOURCE', 'ADDED', 'CHANGED', 'REMOVED', 'UNCHANGED'],
        reports.map((report) => [report.source, String(report.added), String(report.changed), String(report.removed), String(report.unchanged)]),
      ),
    );
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof KnowledgeSourceError) throw new CommandFailedError(error.message);
    throw error;
  } finally {
    await opened.close();
  }
}
