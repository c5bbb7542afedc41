/**
 * A local folder or git working tree as a knowledge source: every text file under the
 * root is a document (its id the POSIX path relative to the root), except what git would
 * ignore (`.gitignore` files at any depth, `.git/info/exclude`), the `.git` directory
 * itself, symbolic links, binaries (a NUL byte in the first 8,000 bytes, or not UTF-8)
 * and files above the size cap.
 *
 * Incremental: each document carries `sourceVersion` = `<mtimeNs>:<size>`, and a file
 * whose version matches the stored one is not read again. The cursor is a hash of the
 * manifest (every path with its version) and of the connector's settings, so an
 * unchanged tree is recognised from `stat` alone and yields nothing. Files that vanished,
 * became ignored or binary, or grew past the cap are removed. A file that was only
 * touched (new mtime, same content) appends nothing (its stored version stays the old
 * one), so it is read and hashed again on each later sync that finds the tree changed.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { MAX_DOCUMENT_BYTES, type KnowledgeFormat, type KnowledgeVisibility } from '../../events/catalogue/knowledge.js';
import type { Connector, DocumentChange, SyncBatch, SyncContext } from './connector.js';

export interface FolderConnectorOptions {
  /** The source id (`knowledge-<source>`). */
  readonly source: string;
  /** The folder or the working tree's root. */
  readonly root: string;
  /** Who may read its documents; public by default. */
  readonly visibility?: KnowledgeVisibility;
  /** Files larger than this are skipped; at most (and by default) 1 MiB. */
  readonly maxFileBytes?: number;
  /**
   * A URL prefix the relative path is appended to, for links in search results
   * (`https://github.com/acme/app/blob/main/`). No URL without it: a `file://` path of
   * the host means nothing to the people reading results in Slack.
   */
  readonly urlBase?: string;
  /** Extra gitignore-style patterns, applied at the root. */
  readonly exclude?: readonly string[];
  /** Changes per batch (each batch is one append). Default 200. */
  readonly batchSize?: number;
}

interface FolderCursor {
  readonly v: 1;
  /** Hash of the settings that shape documents: a change re-reads everything. */
  readonly settings: string;
  /** Hash of every path with its `mtimeNs:size`, in order. */
  readonly manifest: string;
}

/** One file that passed the ignore rules, with its stat. */
interface Candidate {
  readonly path: string;
  readonly absolute: string;
  readonly size: number;
  readonly mtimeNs: bigint;
}

/** Bytes git looks at to call a file binary. */
const BINARY_PROBE_BYTES = 8000;

const CODE_EXTENSIONS = new Set(
  (
    'ts tsx mts cts js jsx mjs cjs py pyi rb go rs java kt kts scala c h cc cpp cxx hpp hh cs swift m mm ' +
    'php pl pm lua r sh bash zsh fish ps1 sql graphql gql proto thrift json jsonc json5 yaml yml toml ini cfg conf ' +
    'xml xsd html htm css scss sass less vue svelte hs ml mli ex exs erl hrl clj cljs elm dart zig nim ' +
    'daml sol move tf hcl nix gradle cmake mk dockerfile vim el lisp scm rkt f90 jl groovy bat cmd'
  ).split(' '),
);
const CODE_FILE_NAMES = new Set(['makefile', 'dockerfile', 'containerfile', 'jenkinsfile', 'rakefile', 'gemfile', 'justfile', 'vagrantfile', 'procfile']);

/** `code` by extension or well-known name (`Makefile`), else `prose`. */
export function formatOfPath(path: string): KnowledgeFormat {
  const name = basename(path).toLowerCase();
  if (CODE_FILE_NAMES.has(name)) return 'code';
  const extension = extname(name).slice(1);
  return extension !== '' && CODE_EXTENSIONS.has(extension) ? 'code' : 'prose';
}

/** The text of a file, or undefined for a binary: a NUL byte early on, or bytes that are not UTF-8. */
export function decodeText(bytes: Buffer): string | undefined {
  if (bytes.subarray(0, BINARY_PROBE_BYTES).includes(0)) return undefined;
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    return text;
  } catch {
    return undefined;
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function parseCursor(cursor: string | null): FolderCursor | undefined {
  if (cursor === null) return undefined;
  try {
    const value = JSON.parse(cursor) as Partial<FolderCursor>;
    return value.v === 1 && typeof value.settings === 'string' && typeof value.manifest === 'string' ? (value as FolderCursor) : undefined;
  } catch {
    return undefined;
  }
}

/** The gitignore rules of one directory, with the path from the root to it. */
interface RuleLevel {
  /** POSIX path of the directory relative to the root, '' for the root. */
  readonly base: string;
  readonly rules: Ignore;
}

/**
 * Whether git would ignore `path` (relative to the root, with a trailing slash for a
 * directory), given the rule levels from the outermost to the innermost directory that
 * contains it. The innermost level with a rule about the path decides, as in git.
 */
function isIgnored(levels: readonly RuleLevel[], path: string): boolean {
  for (let index = levels.length - 1; index >= 0; index -= 1) {
    const level = levels[index]!;
    const relative = level.base === '' ? path : path.slice(level.base.length + 1);
    const result = level.rules.test(relative);
    if (result.ignored) return true;
    if (result.unignored) return false;
  }
  return false;
}

async function readRules(file: string): Promise<Ignore | undefined> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'EISDIR' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  return text === undefined ? undefined : ignore().add(text);
}

export class FolderConnector implements Connector {
  readonly source: string;
  private readonly maxFileBytes: number;
  private readonly batchSize: number;
  private readonly visibility: KnowledgeVisibility;

  constructor(private readonly options: FolderConnectorOptions) {
    this.source = options.source;
    this.maxFileBytes = Math.min(options.maxFileBytes ?? MAX_DOCUMENT_BYTES, MAX_DOCUMENT_BYTES);
    this.batchSize = options.batchSize ?? 200;
    this.visibility = options.visibility ?? { kind: 'public' };
  }

  /** Every file that git would not ignore, in path order, with its size and mtime. */
  async walk(signal?: AbortSignal): Promise<Candidate[]> {
    // A missing root (an unmounted disk, a moved checkout) must fail the sync, not read as
    // an empty tree that removes every document.
    const rootInfo = await stat(this.options.root).catch(() => undefined);
    if (!rootInfo?.isDirectory()) throw new Error(`knowledge source ${this.source}: ${this.options.root} is not a directory`);
    const found: Candidate[] = [];
    const rootLevels: RuleLevel[] = [];
    const excludeFile = await readRules(join(this.options.root, '.git', 'info', 'exclude'));
    if (excludeFile) rootLevels.push({ base: '', rules: excludeFile });
    if (this.options.exclude && this.options.exclude.length > 0) rootLevels.push({ base: '', rules: ignore().add([...this.options.exclude]) });

    const visit = async (directory: string, relative: string, inherited: readonly RuleLevel[]): Promise<void> => {
      signal?.throwIfAborted();
      const own = await readRules(join(directory, '.gitignore'));
      const levels = own ? [...inherited, { base: relative, rules: own }] : inherited;
      let entries: Dirent[];
      try {
        entries = await readdir(directory, { withFileTypes: true });
      } catch (error) {
        // A directory that vanished or cannot be read mid-walk holds nothing we can index.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EACCES') return;
        throw error;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (entry.name === '.git') continue;
        const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
        const absolute = join(directory, entry.name);
        if (entry.isDirectory()) {
          if (!isIgnored(levels, `${path}/`)) await visit(absolute, path, levels);
        } else if (entry.isFile()) {
          if (isIgnored(levels, path)) continue;
          const info = await stat(absolute, { bigint: true }).catch(() => undefined);
          if (!info || !info.isFile()) continue;
          found.push({ path, absolute, size: Number(info.size), mtimeNs: info.mtimeNs });
        }
        // Symbolic links, sockets and devices are left out: a link may leave the tree or loop.
      }
    };
    await visit(this.options.root, '', rootLevels);
    return found;
  }

  private settingsHash(): string {
    return hash(
      JSON.stringify({
        visibility: this.visibility,
        maxFileBytes: this.maxFileBytes,
        urlBase: this.options.urlBase ?? null,
        exclude: this.options.exclude ?? [],
        formats: 1,
      }),
    );
  }

  async *sync(context: SyncContext): AsyncIterable<SyncBatch> {
    const candidates = (await this.walk(context.signal)).filter((candidate) => candidate.size <= this.maxFileBytes);
    const version = (candidate: Candidate): string => `${candidate.mtimeNs}:${candidate.size}`;
    const settings = this.settingsHash();
    const manifest = hash(candidates.map((candidate) => `${candidate.path}\u0000${version(candidate)}`).join('\n'));
    const cursor = JSON.stringify({ v: 1, settings, manifest } satisfies FolderCursor);
    const previous = parseCursor(context.cursor);
    if (previous && previous.settings === settings && previous.manifest === manifest) return;
    const trustVersions = previous?.settings === settings;

    let changes: DocumentChange[] = [];
    const present = new Set<string>();
    for (const candidate of candidates) {
      context.signal?.throwIfAborted();
      const known = context.documents.get(candidate.path);
      const sourceVersion = version(candidate);
      if (trustVersions && known?.sourceVersion === sourceVersion) {
        present.add(candidate.path);
        continue;
      }
      const bytes = await readFile(candidate.absolute).catch(() => undefined);
      const text = bytes && bytes.length <= this.maxFileBytes ? decodeText(bytes) : undefined;
      if (text === undefined) continue;
      present.add(candidate.path);
      changes.push({
        kind: 'upsert',
        document: {
          documentId: candidate.path,
          title: candidate.path,
          content: text,
          updatedAt: new Date(Number(candidate.mtimeNs / 1_000_000n)).toISOString(),
          visibility: this.visibility,
          format: formatOfPath(candidate.path),
          sourceVersion,
          ...(this.options.urlBase !== undefined ? { url: this.options.urlBase + candidate.path.split('/').map(encodeURIComponent).join('/') } : {}),
        },
      });
      if (changes.length >= this.batchSize) {
        yield { changes };
        changes = [];
      }
    }
    for (const documentId of context.documents.keys()) {
      if (!present.has(documentId)) changes.push({ kind: 'remove', documentId });
    }
    yield { changes, cursor };
  }
}
