/**
 * `ledgerclaw search`, run in-process on a data directory whose knowledge caches the
 * projection host built: output, filters, access, and its errors and exit codes.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore } from '../../../events/port.js';
import type { ProjectionHost } from '../../../projections/projection-host.js';
import { listKnowledgeCacheFiles } from '../../../runtime/cli/search-command.js';
import { syncConnector, type Connector } from '../../../runtime/knowledge/connector.js';
import { FolderConnector } from '../../../runtime/knowledge/folder-connector.js';
import { runCliCaptured } from '../../support/in-process-cli.js';
import { openKnowledgeStore, projectCaches } from './helpers.js';

let root: string;
let dataDir: string;
let store: EventStore;
let host: ProjectionHost;

function scripted(source: string, documents: { id: string; content: string; channel?: string; updatedAt?: string }[]): Connector {
  return {
    source,
    async *sync() {
      yield {
        changes: documents.map((document) => ({
          kind: 'upsert' as const,
          document: {
            documentId: document.id,
            title: `#chat: ${document.content.slice(0, 20)}`,
            content: document.content,
            updatedAt: document.updatedAt ?? '2026-03-01T10:00:00.000Z',
            url: `https://acme.slack.com/archives/${document.id}`,
            visibility: document.channel ? { kind: 'private_channel' as const, channelId: document.channel } : { kind: 'public' as const },
          },
        })),
        cursor: 'c',
      };
    },
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ledgerclaw-search-cli-'));
  dataDir = join(root, 'data');
  const docs = join(root, 'docs');
  await mkdir(dataDir, { recursive: true });
  await mkdir(docs, { recursive: true });
  await writeFile(join(docs, 'payroll.md'), 'Payroll runs on the 25th.\n\nEscalate payroll failures to finance.\n');
  store = await openKnowledgeStore(dataDir);
  await syncConnector(store, new FolderConnector({ source: 'handbook', root: docs }));
  await syncConnector(
    store,
    scripted('slack', [
      { id: 'C1/1.000100', content: 'payroll is late this month, sorry' },
      { id: 'GHR/2.000100', content: 'payroll secrets of the HR channel', channel: 'GHR' },
    ]),
  );
  host = await projectCaches(store, dataDir, ['handbook', 'slack']);
});

afterAll(async () => {
  await host.stop();
  await store.close();
  await rm(root, { recursive: true, force: true });
});

const cli = (args: string[]) => runCliCaptured(['--data', dataDir, ...args], { cwd: root });

describe('ledgerclaw search', () => {
  it('prints the results of every cache, best first, with source, date, link and snippet', async () => {
    const { code, stdout, stderr } = await cli(['search', 'payroll']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('1. ');
    expect(stdout).toContain('payroll.md');
    expect(stdout).toContain('handbook · ');
    expect(stdout).toContain('slack · 2026-03-01 · score ');
    expect(stdout).toContain('https://acme.slack.com/archives/C1/1.000100');
    expect(stdout).toContain('**payroll**');
    expect(stdout).not.toContain('HR channel');
  });

  it('--json prints one object a result', async () => {
    const { code, stdout } = await cli(['search', 'payroll', '--json', '--limit', '1']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      source: expect.any(String),
      documentId: expect.any(String),
      title: expect.any(String),
      snippet: expect.stringContaining('payroll'),
      score: expect.any(Number),
      updatedAt: expect.any(String),
      ...(JSON.parse(lines[0]!).url ? { url: expect.any(String) } : {}),
    });
  });

  it('--source narrows the caches; --group sees its private channel', async () => {
    const handbook = await cli(['search', 'payroll', '--json', '--source', 'handbook']);
    expect(handbook.stdout.trim().split('\n').map((line) => JSON.parse(line).source)).toEqual(['handbook']);
    const hr = await cli(['search', 'secrets', '--group', 'T1.GHR', '--json']);
    expect(hr.stdout.trim().split('\n').map((line) => JSON.parse(line).documentId)).toEqual(['GHR/2.000100']);
    const other = await cli(['search', 'secrets', '--group', 'T1.GOTHER']);
    expect(other).toMatchObject({ code: 0, stdout: '(no results in 2 caches)\n' });
  });

  it('--fts5 takes FTS5 syntax; a malformed query is a usage error, not a crash', async () => {
    const phrase = await cli(['search', '"payroll runs"', '--fts5', '--json']);
    expect(phrase.stdout.trim().split('\n').map((line) => JSON.parse(line).documentId)).toEqual(['payroll.md']);
    const broken = await cli(['search', 'payroll AND (', '--fts5']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^ledgerclaw: the query cannot be searched: fts5: syntax error/);
    const empty = await cli(['search', '?!']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no words to search for');
  });

  it('names the sources it knows for an unknown one, and says when there are no caches', async () => {
    const unknown = await cli(['search', 'payroll', '--source', 'nope']);
    expect(unknown).toMatchObject({ code: 1, stderr: 'ledgerclaw: no knowledge cache for source nope (known: handbook, slack)\n' });
    const empty = await runCliCaptured(['--data', join(root, 'empty'), 'search', 'payroll'], { cwd: root });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no knowledge caches in .*read-models/);
    const usage = await cli(['search', 'payroll', '--limit', '0']);
    expect(usage.code).toBe(2);
  });
});

describe('listKnowledgeCacheFiles', () => {
  it('finds the active build of each cache through the catalog', async () => {
    const files = await listKnowledgeCacheFiles(dataDir);
    expect(files.map((file) => [file.source, file.name, file.version])).toEqual([
      ['handbook', 'knowledge-handbook', 1],
      ['slack', 'knowledge-slack', 1],
    ]);
    for (const file of files) expect(file.path).toMatch(/read-models\/knowledge-[a-z]+\.v1\.g1\.db$/);
  });

  it('without a catalog, takes the newest file of each cache', async () => {
    const bare = join(root, 'bare', 'read-models');
    await mkdir(bare, { recursive: true });
    const source = (await listKnowledgeCacheFiles(dataDir)).find((file) => file.source === 'slack')!;
    // The host keeps the file open in WAL mode: copy it whole, its -wal included.
    const copy = async (name: string) => {
      await copyFile(source.path, join(bare, name));
      await copyFile(`${source.path}-wal`, join(bare, `${name}-wal`)).catch(() => undefined);
    };
    await copy('knowledge-slack.v1.db');
    await copy('knowledge-slack.v2.g3.db');
    await copy('knowledge-slack.v2.g1.db');
    await writeFile(join(bare, 'memory-index.v1.db'), '');
    expect((await readdir(bare)).filter((file) => file.endsWith('.db'))).toHaveLength(4);
    const files = await listKnowledgeCacheFiles(join(root, 'bare'));
    expect(files.map((file) => [file.source, file.version, file.path.split('/').pop()])).toEqual([['slack', 2, 'knowledge-slack.v2.g3.db']]);
    const { code, stdout, stderr } = await runCliCaptured(['--data', join(root, 'bare'), 'search', 'payroll', '--json'], { cwd: root });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').map((line) => JSON.parse(line).documentId)).toEqual(['C1/1.000100']);
  });
});
