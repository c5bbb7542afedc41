/**
 * The access rule end to end: Slack history (through the fake Web API) and a folder, synced
 * into events, projected into caches by the projection host, searched from the files on
 * disk. A group sees public documents, its own, and its own private channel, and never the
 * history of another private channel, whatever the query.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore } from '../../../events/port.js';
import { groupAccess, KnowledgeQueryError, PUBLIC_ONLY, type KnowledgeAccess } from '../../../projections/knowledge-search.js';
import type { ProjectionHost } from '../../../projections/projection-host.js';
import { syncConnector } from '../../../runtime/knowledge/connector.js';
import { FolderConnector } from '../../../runtime/knowledge/folder-connector.js';
import { SlackHistoryConnector, slackWebApi } from '../../../runtime/knowledge/slack-history-connector.js';
import { FakeSlackWebApi } from '../../fakes/slack-web-api.js';
import { openKnowledgeStore, projectCaches, searchDataDir } from './helpers.js';

let slack: FakeSlackWebApi;
let root: string;
let dataDir: string;
let store: EventStore;
let host: ProjectionHost;

beforeAll(async () => {
  slack = await FakeSlackWebApi.start({ tokens: ['xoxb-t'] });
  slack.addChannel({ id: 'CPUB', name: 'general', messages: [{ ts: '1700000001.000100', user: 'U1', text: 'The merger timeline is public now' }] });
  slack.addChannel({
    id: 'GALPHA',
    name: 'alpha-deal',
    isPrivate: true,
    messages: [
      { ts: '1700000002.000100', user: 'U1', text: 'Alpha merger price is 40 million' },
      { ts: '1700000002.000200', user: 'U2', text: 'merger due diligence thread reply', thread_ts: '1700000002.000100' },
    ],
  });
  slack.addChannel({ id: 'GBETA', name: 'beta-board', isPrivate: true, messages: [{ ts: '1700000003.000100', user: 'U3', text: 'Beta merger: board wants out' }] });
  slack.addChannel({ id: 'DDM', name: 'dm', isIm: true, messages: [{ ts: '1700000004.000100', user: 'U3', text: 'merger gossip in a DM' }] });

  root = await mkdtemp(join(tmpdir(), 'ledgerclaw-access-'));
  dataDir = join(root, 'data');
  const notes = join(root, 'notes');
  await mkdir(dataDir, { recursive: true });
  await mkdir(notes, { recursive: true });
  await writeFile(join(notes, 'alpha-plan.md'), 'Alpha group private merger plan\n');
  store = await openKnowledgeStore(dataDir);

  const api = slackWebApi({ token: 'xoxb-t', slackApiUrl: slack.url });
  await syncConnector(store, new SlackHistoryConnector({ source: 'slack', api, channels: ['CPUB', 'GALPHA', 'GBETA', 'DDM'] }));
  await syncConnector(store, new FolderConnector({ source: 'alpha-notes', root: notes, visibility: { kind: 'group', groupId: 'T1.GALPHA' } }));
  host = await projectCaches(store, dataDir, ['slack', 'alpha-notes']);
});

afterAll(async () => {
  await host.stop();
  await store.close();
  await slack.close();
  await rm(root, { recursive: true, force: true });
});

async function visible(access: KnowledgeAccess, query = 'merger', syntax: 'terms' | 'fts5' = 'terms'): Promise<string[]> {
  return (await searchDataDir(dataDir, query, { visibleTo: access, syntax, limit: 100 })).map((result) => `${result.source}:${result.documentId}`).sort();
}

describe('who sees what', () => {
  it('without a group: public documents only', async () => {
    expect(await visible(PUBLIC_ONLY)).toEqual(['slack:CPUB/1700000001.000100']);
  });

  it("a group sees public documents, its own, and its own private channel's history", async () => {
    expect(await visible(groupAccess('T1.GALPHA'))).toEqual([
      'alpha-notes:alpha-plan.md',
      'slack:CPUB/1700000001.000100',
      'slack:GALPHA/1700000002.000100',
    ]);
  });

  it("a group never sees another private channel's history, or another group's documents", async () => {
    const beta = await visible(groupAccess('T1.GBETA'));
    expect(beta).toEqual(['slack:CPUB/1700000001.000100', 'slack:GBETA/1700000003.000100']);
    for (const access of [groupAccess('T1.GBETA'), groupAccess('T1.CPUB'), groupAccess('T2.GALPHAX'), PUBLIC_ONLY]) {
      const seen = await visible(access);
      expect(seen).not.toContain('slack:GALPHA/1700000002.000100');
      expect(seen).not.toContain('alpha-notes:alpha-plan.md');
      expect(seen).not.toContain('slack:DDM/1700000004.000100');
    }
  });

  it('no query, however written, widens what a group sees', async () => {
    const beta = groupAccess('T1.GBETA');
    const attempts: [string, 'terms' | 'fts5'][] = [
      ['merger OR price OR diligence OR gossip', 'fts5'],
      ['merger) OR (price', 'terms'],
      ['"merger" OR NOT "zzz"', 'fts5'],
      ["merger' OR visibility_kind = 'private_channel' --", 'terms'],
      ['title: merger OR body: merger', 'fts5'],
      ['merg*', 'fts5'],
      ['price', 'terms'],
    ];
    for (const [query, syntax] of attempts) {
      const seen = await visible(beta, query, syntax).catch((error: unknown) => {
        expect(error).toBeInstanceOf(KnowledgeQueryError);
        return [];
      });
      expect(seen.filter((id) => id.includes('GALPHA') || id.includes('DDM') || id.startsWith('alpha-notes')), `${syntax}: ${query}`).toEqual([]);
    }
  });

  it('the private history is there, for those allowed to see it', async () => {
    const alpha = await searchDataDir(dataDir, 'diligence', { visibleTo: groupAccess('T1.GALPHA') });
    expect(alpha.map((result) => result.documentId)).toEqual(['GALPHA/1700000002.000100']);
    expect(alpha[0]!.url).toBe('https://fake-workspace.slack.com/archives/GALPHA/p1700000002000100');
    expect(await searchDataDir(dataDir, 'diligence', { visibleTo: groupAccess('T1.GBETA') })).toEqual([]);
    const dm = await searchDataDir(dataDir, 'gossip', { visibleTo: { groupId: null, channelIds: ['DDM'] } });
    expect(dm.map((result) => result.documentId)).toEqual(['DDM/1700000004.000100']);
  });
});
