/**
 * `ledgerclaw search "<query>"`: every knowledge cache searched at once, as an agent's
 * `search_knowledge` does, with the same access rule: without `--group` only public
 * documents are shown; `--group <team>.<channel>` shows what that group may see (its own
 * documents and its channel's history, plus any `--channel` granted besides). Read-only,
 * and it takes no lock: it reads the caches' active builds while the runtime runs.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import { KNOWLEDGE_CACHE_PREFIX } from '../../projections/knowledge-cache.js';
import {
  groupAccess,
  KnowledgeQueryError,
  MAX_LIMIT,
  PUBLIC_ONLY,
  searchKnowledge,
  type KnowledgeAccess,
  type KnowledgeCache,
  type KnowledgeSearchResult,
} from '../../projections/knowledge-search.js';
import { ReadModelCatalog, readModelsDir } from '../../projections/read-model-files.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import { toJsonLine } from './format.js';
import { collect, parseCount } from './option-values.js';

export interface KnowledgeCacheFile {
  readonly source: string;
  /** The read model's name, `knowledge-<source>`. */
  readonly name: string;
  readonly version: number;
  readonly path: string;
}

const BUILD_FILE = /^knowledge-([a-z0-9]+(?:-[a-z0-9]+)*)\.v(\d+)(?:\.g(\d+))?\.db$/;

/**
 * The active build of every knowledge cache in a data directory, by source. The catalog
 * (`read-models/catalog.db`) names the active build of each read model; without a catalog,
 * the newest file of each cache (`knowledge-<source>.v<version>[.g<generation>].db`) is taken.
 */
export async function listKnowledgeCacheFiles(dataDir: string): Promise<KnowledgeCacheFile[]> {
  const catalog = await ReadModelCatalog.openForReading(dataDir);
  if (catalog) {
    try {
      const files: KnowledgeCacheFile[] = [];
      for (const entry of await catalog.entries()) {
        if (!entry.name.startsWith(KNOWLEDGE_CACHE_PREFIX)) continue;
        const path = catalog.path(entry.activeFile);
        if (!existsSync(path)) continue;
        files.push({ source: entry.name.slice(KNOWLEDGE_CACHE_PREFIX.length), name: entry.name, version: entry.activeVersion, path });
      }
      return files.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
    } finally {
      await catalog.close();
    }
  }
  const dir = readModelsDir(dataDir);
  if (!existsSync(dir)) return [];
  const newest = new Map<string, { version: number; generation: number; file: string }>();
  for (const file of await readdir(dir)) {
    const match = BUILD_FILE.exec(file);
    if (!match) continue;
    const source = match[1]!;
    const version = Number(match[2]);
    const generation = Number(match[3] ?? 0);
    const best = newest.get(source);
    if (!best || version > best.version || (version === best.version && generation > best.generation)) {
      newest.set(source, { version, generation, file });
    }
  }
  return [...newest.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([source, { version, file }]) => ({ source, name: `${KNOWLEDGE_CACHE_PREFIX}${source}`, version, path: join(dir, file) }));
}

export interface OpenedKnowledgeCaches {
  readonly caches: readonly KnowledgeCache[];
  close(): Promise<void>;
}

/** Opens cache files for queries only (`query_only`, WAL readers beside the writer). */
export async function openKnowledgeCaches(files: readonly KnowledgeCacheFile[]): Promise<OpenedKnowledgeCaches> {
  const caches: KnowledgeCache[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(caches.map((cache) => cache.db.close().catch(() => undefined)));
  };
  try {
    for (const file of files) {
      const db = await SqliteConnection.open(file.path, { create: false });
      caches.push({ source: file.source, db });
      await db.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;');
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { caches, close };
}

interface SearchOptions {
  readonly source?: string[];
  readonly group?: string;
  readonly channel?: string[];
  readonly limit?: number;
  readonly any?: boolean;
  readonly fts5?: boolean;
  readonly json?: boolean;
}

export function registerSearchCommand(program: Command, context: CommandContext): void {
  program
    .command('search')
    .description('search every knowledge cache at once (public documents, or what --group may see)')
    .argument('<query>', 'words to look for (all of them must occur; --any for any)')
    .addOption(new Option('--source <source>', 'only this source (repeatable)').argParser(collect((value: string) => value)))
    .option('--group <group>', "search as this group (<team>.<channel>): also its own documents and its channel's private history")
    .addOption(new Option('--channel <channel>', 'also a private channel the caller may see (repeatable)').argParser(collect((value: string) => value)))
    .addOption(new Option('--limit <n>', `most results (1 to ${MAX_LIMIT}; default 10)`).argParser(parseCount))
    .option('--any', 'any of the words instead of all of them')
    .option('--fts5', 'the query is FTS5 syntax (phrases, NEAR, OR, NOT, prefix*)')
    .option('--json', 'one JSON object a result')
    .action(action(context, (query: string, options: SearchOptions, command: Command) => search(context, command, query, options)));
}

async function search(context: CommandContext, command: Command, query: string, options: SearchOptions): Promise<ExitCode> {
  const { io } = context;
  const { config } = loadCommandConfig(command, io);
  if (options.limit !== undefined && options.limit > MAX_LIMIT) throw new UsageError(`--limit must be at most ${MAX_LIMIT}`);
  const files = await listKnowledgeCacheFiles(config.dataDir);
  if (files.length === 0) {
    throw new CommandFailedError(`no knowledge caches in ${readModelsDir(config.dataDir)}: no source has been synced and projected yet`);
  }
  const known = files.map((file) => file.source);
  const unknown = (options.source ?? []).filter((source) => !known.includes(source));
  if (unknown.length > 0) {
    throw new CommandFailedError(`no knowledge cache for source ${unknown.join(', ')} (known: ${known.join(', ')})`);
  }
  const selected = options.source ? files.filter((file) => options.source!.includes(file.source)) : files;
  const access: KnowledgeAccess = options.group
    ? groupAccess(options.group, options.channel ?? [])
    : options.channel
      ? { ...PUBLIC_ONLY, channelIds: options.channel }
      : PUBLIC_ONLY;

  const opened = await openKnowledgeCaches(selected);
  let results: KnowledgeSearchResult[];
  try {
    results = await searchKnowledge(opened.caches, query, {
      visibleTo: access,
      limit: options.limit ?? 10,
      syntax: options.fts5 ? 'fts5' : 'terms',
      match: options.any ? 'any' : 'all',
    });
  } catch (error) {
    if (error instanceof KnowledgeQueryError) throw new UsageError(error.message);
    throw error;
  } finally {
    await opened.close();
  }

  if (options.json) {
    io.stdout.write(results.map((result) => toJsonLine(result)).join(''));
    return ExitCode.ok;
  }
  if (results.length === 0) {
    io.stdout.write(`(no results in ${selected.length === 1 ? '1 cache' : `${selected.length} caches`})\n`);
    return ExitCode.ok;
  }
  io.stdout.write(results.map((result, index) => resultBlock(result, index + 1)).join('\n'));
  return ExitCode.ok;
}

/** `1. title` / `   source · date · score` / `   url or document id` / `   snippet`. */
function resultBlock(result: KnowledgeSearchResult, rank: number): string {
  const snippet = result.snippet.replace(/\s+/g, ' ').trim();
  return (
    `${rank}. ${result.title}\n` +
    `   ${result.source} · ${result.updatedAt.slice(0, 10)} · score ${result.score.toFixed(2)}\n` +
    `   ${result.url ?? result.documentId}\n` +
    (snippet === '' ? '' : `   ${snippet}\n`)
  );
}
