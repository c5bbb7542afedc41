/**
 * The folder connector on real temporary folders and a real git repository: what it
 * indexes and leaves out (.gitignore at any depth, .git/, binaries, big files), changes and
 * removals on the next sync, nothing appended for an unchanged tree, and search over the
 * cache the projection host builds from it.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../../events/envelope.js';
import type { EventStore } from '../../../events/port.js';
import { PUBLIC_ONLY } from '../../../projections/knowledge-search.js';
import type { ProjectionHost } from '../../../projections/projection-host.js';
import { syncConnector } from '../../../runtime/knowledge/connector.js';
import { FolderConnector, formatOfPath } from '../../../runtime/knowledge/folder-connector.js';
import { catchUp, openKnowledgeStore, projectCaches, searchDataDir } from './helpers.js';

let root: string;
let tree: string;
let dataDir: string;
let store: EventStore;
let host: ProjectionHost | undefined;

async function put(path: string, content: string | Buffer): Promise<void> {
  const file = join(tree, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
}

function documentIds(events: readonly StoredEvent[], type: string): string[] {
  return events.filter((event) => event.type === type).map((event) => (event.data as { documentId: string }).documentId).sort();
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ledgerclaw-folder-'));
  tree = join(root, 'tree');
  dataDir = join(root, 'data');
  await mkdir(tree, { recursive: true });
  await mkdir(dataDir, { recursive: true });
  store = await openKnowledgeStore(dataDir);
});

afterEach(async () => {
  await host?.stop();
  host = undefined;
  await store.close();
  await rm(root, { recursive: true, force: true });
});

describe('a git working tree', () => {
  beforeEach(async () => {
    execFileSync('git', ['init', '--quiet', tree]);
    await put('.gitignore', 'node_modules/\n*.log\nbuild/\n!build/keep.md\nsecrets.env\n');
    await put('README.md', '# Widget service\n\nThe widget service settles invoices nightly.\n');
    await put('src/settle.ts', 'export function settleInvoices() {\n  return reconcileLedger();\n}\n');
    await put('src/.gitignore', 'generated/\n!important.log\n');
    await put('src/generated/schema.ts', 'export const generatedSchema = 1;\n');
    await put('src/important.log', 'kept because src/.gitignore unignores it\n');
    await put('debug.log', 'ignored log line\n');
    await put('secrets.env', 'TOKEN=abc\n');
    await put('node_modules/dep/index.js', 'module.exports = 1;\n');
    await put('build/out.js', 'compiled output\n');
    await put('docs/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x1a, 0x0a]));
    await put('docs/latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    await put('docs/big.txt', 'x'.repeat(2048));
    await put('docs/guide.md', 'Run the nightly settlement job before the ledger closes.\n');
    execFileSync('git', ['-C', tree, 'add', '-A']);
    execFileSync('git', ['-C', tree, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '--quiet', '-m', 'init']);
    await put('.git/info/exclude', 'local-notes.md\n');
    await put('local-notes.md', 'excluded through .git/info/exclude\n');
  });

  it('indexes the text files git would track, and leaves out the rest', async () => {
    const connector = new FolderConnector({ source: 'repo', root: tree, maxFileBytes: 1024, urlBase: 'https://git.example.com/widget/blob/main/' });
    const report = await syncConnector(store, connector);
    const events = await store.readStream('knowledge-repo');
    expect(documentIds(events, 'knowledge.document_added')).toEqual([
      '.gitignore',
      'README.md',
      'docs/guide.md',
      'src/.gitignore',
      'src/important.log',
      'src/settle.ts',
    ]);
    expect(report).toMatchObject({ added: 6, appends: 1 });
    expect(events.every((event) => !JSON.stringify(event.data).includes('/.git/'))).toBe(true);
    const settle = events.find((event) => (event.data as { documentId?: string }).documentId === 'src/settle.ts')!.data as Record<string, unknown>;
    expect(settle).toMatchObject({
      source: 'repo',
      title: 'src/settle.ts',
      format: 'code',
      visibility: { kind: 'public' },
      url: 'https://git.example.com/widget/blob/main/src/settle.ts',
    });
    expect(settle.sourceVersion).toMatch(/^\d+:\d+$/);
  });

  it('agrees with git about what is ignored', async () => {
    const connector = new FolderConnector({ source: 'repo', root: tree });
    const indexed = (await connector.walk()).map((file) => file.path);
    const tracked = execFileSync('git', ['-C', tree, 'ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line !== '')
      .sort();
    expect(indexed.sort()).toEqual(tracked);
  });
});

describe('syncing again', () => {
  it('appends nothing for an unchanged tree, and the changes, additions and removals otherwise', async () => {
    await put('a.md', 'alpha');
    await put('b.md', 'beta');
    await put('c/d.md', 'delta');
    const connector = new FolderConnector({ source: 'notes', root: tree });
    await syncConnector(store, connector);
    const revision = await store.streamRevision('knowledge-notes');

    const unchanged = await syncConnector(store, connector);
    expect(unchanged).toMatchObject({ added: 0, changed: 0, removed: 0, appends: 0 });
    expect(await store.streamRevision('knowledge-notes')).toBe(revision);

    // Touched but not changed: read again; no document event, only the cursor (the new manifest) moves.
    const later = new Date(Date.now() + 60_000);
    await utimes(join(tree, 'a.md'), later, later);
    expect(await syncConnector(store, connector)).toMatchObject({ changed: 0, unchanged: 1, removed: 0, appends: 1 });

    await put('b.md', 'beta, second edition');
    await unlink(join(tree, 'c/d.md'));
    await put('e.md', 'epsilon');
    await put('.gitignore', 'a.md\n');
    const report = await syncConnector(store, connector);
    expect(report).toMatchObject({ added: 2, changed: 1, removed: 2 });
    const events = (await store.readStream('knowledge-notes')).filter((event) => event.revision > revision!);
    expect(documentIds(events, 'knowledge.document_changed')).toEqual(['b.md']);
    expect(documentIds(events, 'knowledge.document_removed')).toEqual(['a.md', 'c/d.md']);
    expect(documentIds(events, 'knowledge.document_added')).toEqual(['.gitignore', 'e.md']);
  });

  it('re-reads everything when its settings change (a new visibility reaches every document)', async () => {
    await put('a.md', 'alpha');
    await syncConnector(store, new FolderConnector({ source: 'notes', root: tree }));
    const report = await syncConnector(store, new FolderConnector({ source: 'notes', root: tree, visibility: { kind: 'group', groupId: 'T1.C1' } }));
    expect(report).toMatchObject({ changed: 1 });
  });
});

describe('a missing root', () => {
  it('fails the sync instead of removing every document', async () => {
    await put('a.md', 'alpha');
    await syncConnector(store, new FolderConnector({ source: 'notes', root: tree }));
    const revision = await store.streamRevision('knowledge-notes');
    await rm(tree, { recursive: true });
    await expect(syncConnector(store, new FolderConnector({ source: 'notes', root: tree }))).rejects.toThrow(/is not a directory/);
    expect(await store.streamRevision('knowledge-notes')).toBe(revision);
  });
});

describe('search over the folder cache', () => {
  it('finds documents by words in their text or their path, with snippets, and forgets removed ones', async () => {
    await put('docs/runbook.md', 'Restart the reconciliation worker when the ledger drifts.\n\nThen page the on-call engineer.');
    await put('src/reconcile.ts', 'export async function reconcileLedger() {\n  // compare balances\n}\n');
    await put('notes.txt', 'nothing relevant here');
    const connector = new FolderConnector({ source: 'repo', root: tree });
    await syncConnector(store, connector);
    host = await projectCaches(store, dataDir, ['repo']);

    const results = await searchDataDir(dataDir, 'reconciliation ledger', { visibleTo: PUBLIC_ONLY });
    expect(results.map((result) => result.documentId)).toEqual(['docs/runbook.md']);
    expect(results[0]).toMatchObject({ source: 'repo', title: 'docs/runbook.md' });
    expect(results[0]!.snippet).toContain('**reconciliation**');
    // Porter stemming: "reconcile" finds reconcileLedger's file by its path and words.
    expect((await searchDataDir(dataDir, 'reconcile', { visibleTo: PUBLIC_ONLY })).map((result) => result.documentId)).toContain('src/reconcile.ts');

    await unlink(join(tree, 'docs/runbook.md'));
    await syncConnector(store, connector);
    await catchUp(host, store, ['repo']);
    expect(await searchDataDir(dataDir, 'reconciliation', { visibleTo: PUBLIC_ONLY })).toEqual([]);
  });
});

describe('formatOfPath', () => {
  it('calls source files code and the rest prose', () => {
    expect(['a.ts', 'b/c.py', 'Makefile', 'x.yaml', 'Dockerfile'].map(formatOfPath)).toEqual(['code', 'code', 'code', 'code', 'code']);
    expect(['README.md', 'notes.txt', 'LICENSE', 'doc.rst'].map(formatOfPath)).toEqual(['prose', 'prose', 'prose', 'prose']);
  });
});
