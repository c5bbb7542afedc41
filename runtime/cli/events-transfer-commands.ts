/**
 * `ledgerclaw events export | import | migrate`: moving the event store's contents, exactly
 * as stored (ids, revisions, positions, recording times, metadata, hashes), between a file
 * and a store or between two stores. The work is in events/transfer; this module opens the
 * stores, draws the progress bar and prints the outcome.
 *
 * Export reads through a read-only handle (it works while `ledgerclaw start` runs). Import
 * and migrate write, so they take the target's writer: for SQLite the data directory's
 * writer lock, which a running runtime holds.
 */
import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EventBackend } from '../../events/backend.js';
import { StoreNotFoundError } from '../../events/errors.js';
import { TransferRefusedError, type TransferTarget } from '../../events/transfer/copy-verbatim.js';
import { exportEvents } from '../../events/transfer/export-events.js';
import { importExportFile } from '../../events/transfer/import-events.js';
import { migrateEvents } from '../../events/transfer/migrate-events.js';
import { describeBrokenLink, verifyHashChains, type VerifyResult } from '../../events/verify.js';
import type { Config } from '../config.js';
import { eventsDbPath, openEventStore, type OpenedEventStore } from '../open-store.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';
import { transferProgress } from './transfer-progress.js';

const CLI_ACTOR = 'cli';
export const MIGRATION_TARGETS = ['sqlite', 'eventstoredb'] as const;
type MigrationTarget = (typeof MIGRATION_TARGETS)[number];

interface ExportOptions {
  readonly since?: bigint;
  readonly out: string;
}

interface MigrateOptions {
  readonly to: MigrationTarget;
  readonly into?: string;
}

export function registerEventsTransferCommands(events: Command, context: CommandContext): void {
  events
    .command('export')
    .description('write every event, exactly as stored, as JSON Lines (a portable backup; works while `ledgerclaw start` runs)')
    .addOption(new Option('--since <position>', 'only events after this $all position (an incremental export)').argParser(parsePosition))
    .addOption(new Option('--out <file>', "the file to write ('-' for stdout); it must not exist yet").default('-'))
    .action(action(context, (options: ExportOptions, command: Command) => exportCommand(context.io, command, options)));

  events
    .command('import')
    .description('read an export back into the store, verifying every chain first; skips what the store holds already (safe to run again)')
    .argument('<file>', 'a file written by `ledgerclaw events export`')
    .action(action(context, (file: string, _options: unknown, command: Command) => importCommand(context.io, command, file)));

  events
    .command('migrate')
    .description("copy every event to another backend, keeping ids, positions and hashes; resumable; verifies the target's chains at the end")
    .addOption(new Option('--to <backend>', 'the backend to copy to').choices(MIGRATION_TARGETS).makeOptionMandatory())
    .addOption(new Option('--into <dir>', 'for --to sqlite: the data directory to create the store in (default: --data)'))
    .action(action(context, (options: MigrateOptions, command: Command) => migrateCommand(context.io, command, options)));
}

/** A $all position for --since: 0 means from the start. */
function parsePosition(value: string): bigint {
  if (!/^(0|[1-9][0-9]{0,18})$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer (a $all position)');
  return BigInt(value);
}

const plural = (count: number | bigint, noun: string) => `${count} ${noun}${count === 1 || count === 1n ? '' : 's'}`;

async function exportCommand(io: CliIo, command: Command, options: ExportOptions): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, io);
  const toStdout = options.out === '-';
  const path = toStdout ? undefined : resolve(io.cwd, options.out);
  if (path && existsSync(path)) throw new CommandFailedError(`${path} exists already: export to a new file (an export never overwrites one)`);
  const progress = transferProgress(io.stderr);
  const result = await withSource(config, io.env, 'export', async (opened) => {
    const head = await opened.backend.headPosition();
    progress.phase('exporting', Number(head - (options.since ?? 0n)));
    const onProgress = (position: bigint) => progress.update(Number(position - (options.since ?? 0n)));
    const since = options.since === undefined ? {} : { since: options.since };
    if (!path) return exportEvents(opened.backend, { ...since, onProgress, write: (text) => writeTo(io.stdout, text) });
    // Written beside the target name, flushed to disk and renamed at the end: a file with
    // the name is a whole export (a backup that may be all there is left must be complete).
    const partial = `${path}.partial`;
    const file = await open(partial, 'wx', 0o600).catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      throw new CommandFailedError(`${partial} exists: an export to ${path} is under way, or one was cut off (then remove it)`);
    });
    try {
      const exported = await exportEvents(opened.backend, { ...since, onProgress, write: (text) => file.write(text).then(() => undefined) });
      await file.sync();
      await file.close();
      await rename(partial, path);
      return exported;
    } catch (error) {
      await file.close().catch(() => undefined);
      await rm(partial, { force: true });
      throw error;
    }
  });
  progress.stop();
  const span = result.events === 0 ? 'no events' : `${plural(result.events, 'event')} up to position ${result.lastPosition}`;
  const from = result.since ? ` after position ${result.since.position}` : '';
  io.stderr.write(`exported ${span}${from}${path ? ` to ${path}` : ''}\n`);
  return ExitCode.ok;
}

/** process.stdout may buffer without bound when the reader is slow; wait for it to drain. */
async function writeTo(stream: CliIo['stdout'], text: string): Promise<void> {
  const accepted = stream.write(text);
  const emitter = stream as Partial<NodeJS.WritableStream>;
  if (accepted === false && typeof emitter.once === 'function') {
    await new Promise<void>((done) => emitter.once!('drain', () => done()));
  }
}

async function importCommand(io: CliIo, command: Command, file: string): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, io);
  const path = resolve(io.cwd, file);
  if (!existsSync(path)) throw new CommandFailedError(`${path} does not exist`);
  const progress = transferProgress(io.stderr);
  return withWriter(config, io.env, 'events import', async (target) => {
    const start = await target.headPosition();
    const result = await importExportFile(path, target, {
      onChecked: (checked) => progress.phase('importing', Number(checked.position - start)),
      onProgress: (done) => progress.update(Number(done.position - start)),
    });
    progress.phase('verifying', Number(await target.headPosition()));
    const verified = await verifyHashChains(target, { onProgress: (_checked, position) => progress.update(Number(position)) });
    progress.stop();
    io.stdout.write(`imported ${plural(result.copied, 'event')}, skipped ${plural(result.skipped, 'event')} the store held already\n`);
    return reportVerified(io, verified);
  });
}

async function migrateCommand(io: CliIo, command: Command, options: MigrateOptions): Promise<ExitCode> {
  const { config } = loadCommandConfig(command, io);
  if (options.into !== undefined && options.to !== 'sqlite') throw new UsageError('--into names a SQLite data directory: use it with --to sqlite');
  const targetConfig = migrationTargetConfig(config, options, io.cwd);
  const progress = transferProgress(io.stderr);
  const outcome = await withSource(config, io.env, 'migrate', async (source) => {
    return withWriter(targetConfig, io.env, 'events migrate', async (target) => {
      io.stderr.write(`migrating from ${source.backend.location} to ${target.location}\n`);
      let base = 0n;
      const migrated = await migrateEvents(source.backend, target, {
        onStart: (targetHead, sourceHead) => {
          base = targetHead;
          progress.phase('copying', Number(sourceHead - targetHead));
        },
        onProgress: (done) => progress.update(Number(done.position - base)),
        onVerifyStart: (head) => progress.phase('verifying', Number(head)),
        onVerifyProgress: (_checked, position) => progress.update(Number(position)),
      });
      progress.stop();
      const { copy } = migrated;
      io.stdout.write(
        copy.copied === 0
          ? `nothing to copy: the target holds every event up to position ${copy.position} already\n`
          : `copied ${plural(copy.copied, 'event')} (up to position ${copy.position}) to ${target.location}\n`,
      );
      return reportVerified(io, migrated.verified);
    });
  });
  return outcome;
}

function reportVerified(io: CliIo, verified: VerifyResult): ExitCode {
  if (verified.ok) {
    io.stdout.write(`hash chains intact on the target: ${plural(verified.events, 'event')} in ${plural(verified.streams, 'stream')}\n`);
    return ExitCode.ok;
  }
  io.stdout.write(`hash chain broken on the target ${describeBrokenLink(verified)}\n`);
  return ExitCode.failure;
}

/** The configuration the target store is opened with: the same runtime, another backend or directory. */
function migrationTargetConfig(config: Config, options: MigrateOptions, cwd: string): Config {
  const dataDir = options.into === undefined ? config.dataDir : resolve(cwd, options.into);
  const target: Config = { ...config, dataDir, eventStore: { ...config.eventStore, backend: options.to } };
  const sameStore = config.eventStore.backend === options.to && (options.to === 'eventstoredb' || dataDir === config.dataDir);
  if (sameStore) {
    throw new UsageError(
      options.to === 'sqlite'
        ? `the configured store is already the SQLite store in ${config.dataDir}: name another data directory with --into`
        : 'the configured store is already eventstoredb: migrate to sqlite, or change eventStore.backend to the store to copy from',
    );
  }
  return target;
}

function isTransferTarget(backend: EventBackend): backend is TransferTarget {
  return typeof (backend as Partial<TransferTarget>).importVerbatim === 'function';
}

type Env = CliIo['env'];

/** The configured store, read-only (it may be running), for `use`; refuses a store that does not exist. */
async function withSource<T>(config: Config, env: Env, what: string, use: (source: OpenedEventStore) => Promise<T>): Promise<T> {
  let opened: OpenedEventStore;
  try {
    opened = await openEventStore(config, { mode: 'reader', actor: CLI_ACTOR, env });
  } catch (error) {
    if (error instanceof StoreNotFoundError) {
      throw new CommandFailedError(`there is no event store at ${eventsDbPath(config)}: nothing to ${what} (is --data right?)`);
    }
    throw error;
  }
  try {
    return await use(opened);
  } finally {
    await opened.close();
  }
}

/**
 * Opens `config`'s store as its writer, runs `use` on its backend, closes it. SQLite: this
 * takes the data directory's writer lock, which a running runtime holds. EventStoreDB has
 * no file lock; its one-writer rule is the runtime lease (stop the runtime first).
 */
async function withWriter<T>(config: Config, env: Env, command: string, use: (target: TransferTarget) => Promise<T>): Promise<T> {
  const opened: OpenedEventStore = await openEventStore(config, { mode: 'writer', actor: CLI_ACTOR, command: `ledgerclaw ${command}`, env });
  try {
    const backend: EventBackend = opened.backend;
    if (!isTransferTarget(backend)) throw new TransferRefusedError(`the ${config.eventStore.backend} backend cannot take events verbatim`);
    return await use(backend);
  } finally {
    await opened.close();
  }
}
