/**
 * `ledgerclaw projections list | rebuild`: the read models, where each one is in `$all`,
 * and rebuilding them from the events. A rebuild is a writer: it takes the data directory
 * (so it runs while the runtime is stopped; a running runtime rebuilds a projection whose
 * version was raised on its own start).
 */
import { existsSync } from 'node:fs';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import type { Projection } from '../../projections/projection.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { readCheckpoint, ReadModelCatalog, type CatalogEntry } from '../../projections/read-model-files.js';
import { DataDirectoryInUseError } from '../data-dir-lock.js';
import { knowledgeProjections } from '../knowledge/sources.js';
import { openEventStore } from '../open-store.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import { formatTable } from './format.js';
import { withReader } from './reader.js';

interface ProjectionRow {
  readonly name: string;
  readonly version: number;
  readonly activeVersion: number | null;
  readonly position: bigint | null;
  readonly lag: bigint | null;
  readonly status: string;
  readonly failure: CatalogEntry['failure'];
}

export function registerProjectionsCommands(program: Command, context: CommandContext): void {
  const projections = context.readModels;
  const group = program.command('projections').description('read models built from the events: where they are, and rebuilding them');
  group
    .command('list')
    .description('every projection: its version, position in $all, lag behind the head, and status')
    .option('--json', 'one JSON object a projection')
    .action(action(context, (options: { json?: boolean }, command: Command) => list(context, command, projections, options)));
  group
    .command('rebuild')
    .description('build read models again from the events, beside the live ones, and swap them in (needs the runtime stopped)')
    .argument('[name]', 'the projection to rebuild')
    .option('--all', 'rebuild every projection')
    .action(action(context, (name: string | undefined, options: { all?: boolean }, command: Command) => rebuild(context, command, projections, name, options)));
}

async function rowsOf(dataDir: string, projections: readonly Projection[], head: bigint): Promise<ProjectionRow[]> {
  const catalog = await ReadModelCatalog.openForReading(dataDir);
  try {
    const entries = new Map((await catalog?.entries())?.map((entry) => [entry.name, entry]) ?? []);
    const rows: ProjectionRow[] = [];
    for (const projection of projections) {
      const entry = entries.get(projection.name);
      const position = entry && catalog ? await checkpointOf(catalog.path(entry.activeFile)) : null;
      rows.push({
        name: projection.name,
        version: projection.version,
        activeVersion: entry?.activeVersion ?? null,
        position,
        lag: position === null ? (entry ? head : null) : head - position,
        status: !entry ? 'not built' : entry.activeVersion !== projection.version && entry.status !== 'rebuilding' ? 'outdated' : entry.status,
        failure: entry?.failure ?? null,
      });
    }
    return rows;
  } finally {
    await catalog?.close();
  }
}

async function checkpointOf(path: string): Promise<bigint | null> {
  if (!existsSync(path)) return null;
  const db = await SqliteConnection.open(path, { create: false });
  try {
    await db.exec('PRAGMA query_only = ON');
    return await readCheckpoint(db);
  } finally {
    await db.close();
  }
}

async function list(context: CommandContext, command: Command, registered: readonly Projection[], options: { json?: boolean }): Promise<ExitCode> {
  const { io } = context;
  const { config } = loadCommandConfig(command, io);
  const projections = [...registered, ...knowledgeProjections(config)];
  const head = await withReader(config, async (opened) => (opened ? opened.store.headPosition() : 0n));
  const rows = await rowsOf(config.dataDir, projections, head);
  if (options.json) {
    for (const row of rows) {
      io.stdout.write(
        `${JSON.stringify({ ...row, position: row.position === null ? null : Number(row.position), lag: row.lag === null ? null : Number(row.lag) })}\n`,
      );
    }
    return ExitCode.ok;
  }
  if (rows.length === 0) {
    io.stdout.write('(no projections)\n');
    return ExitCode.ok;
  }
  io.stdout.write(
    formatTable(
      ['PROJECTION', 'VERSION', 'POSITION', 'LAG', 'STATUS'],
      rows.map((row) => [
        row.name,
        row.activeVersion === null || row.activeVersion === row.version ? String(row.version) : `${row.activeVersion} → ${row.version}`,
        row.position === null ? '-' : String(row.position),
        row.lag === null ? '-' : String(row.lag),
        row.failure ? `failed at ${row.failure.position} (${row.failure.eventType}): ${row.failure.error}` : row.status,
      ]),
    ),
  );
  return ExitCode.ok;
}

async function rebuild(
  context: CommandContext,
  command: Command,
  registered: readonly Projection[],
  name: string | undefined,
  options: { all?: boolean },
): Promise<ExitCode> {
  const { io } = context;
  const { config } = loadCommandConfig(command, io);
  const projections = [...registered, ...knowledgeProjections(config)];
  if ((name === undefined) === !options.all) throw new UsageError('name one projection to rebuild, or pass --all');
  const names = options.all ? projections.map((projection) => projection.name) : [name!];
  const unknown = names.find((wanted) => !projections.some((projection) => projection.name === wanted));
  if (unknown) throw new UsageError(`unknown projection '${unknown}' (known: ${projections.map((projection) => projection.name).join(', ') || 'none'})`);

  let opened;
  try {
    opened = await openEventStore(config, { mode: 'writer', actor: 'cli', command: 'ledgerclaw projections rebuild', catalogue: context.actors.catalogue });
  } catch (error) {
    if (error instanceof DataDirectoryInUseError) {
      throw new CommandFailedError(`${error.message}; stop it to rebuild, or raise the projection's version so the runtime rebuilds it on its next start`);
    }
    throw error;
  }
  const host = new ProjectionHost({ store: opened.store, projections, dataDir: config.dataDir });
  // A bar with an ETA on a terminal; a plain line at the end otherwise (logs, pipes, tests).
  const bar =
    io.stderr.isTTY === true
      ? new SingleBar({ format: '{name} [{bar}] {percentage}% | {value}/{total} events | ETA {eta_formatted}', stream: process.stderr }, Presets.shades_classic)
      : undefined;
  try {
    await host.start();
    for (const projectionName of names) {
      const head = Number(await opened.store.headPosition());
      bar?.start(Math.max(head, 1), 0, { name: projectionName });
      const stopListening = host.onBuildProgress((progress) => {
        if (progress.name === projectionName) bar?.update(Number(progress.position));
      });
      try {
        await host.rebuild(projectionName);
        bar?.update(Math.max(head, 1));
      } finally {
        stopListening();
        bar?.stop();
      }
      io.stdout.write(`rebuilt ${projectionName} from ${head} events\n`);
    }
  } finally {
    await host.stop();
    await opened.close();
  }
  return ExitCode.ok;
}
