/**
 * search_knowledge through the gateway, over knowledge caches the real projection host
 * built from folders synced by the real connector: a group sees public documents, its
 * own, and its own private channel's history, never another private channel's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncConnector } from '../../../runtime/knowledge/connector.js';
import { FolderConnector } from '../../../runtime/knowledge/folder-connector.js';
import { openGatewayWorld, runContext, type GatewayWorld } from './gateway-world.js';

let world: GatewayWorld;

const alphaChannel = runContext({ groupId: 'T1.GALPHA' });
const betaChannel = runContext({ groupId: 'T1.GBETA' });
const publicChannel = runContext({ groupId: 'T1.CGENERAL' });

const SOURCES = ['wiki', 'alpha-history', 'beta-history'];

beforeAll(async () => {
  world = await openGatewayWorld({
    knowledgeSources: SOURCES,
    before: async (store, dataDir) => {
      const folder = async (name: string, files: Record<string, string>) => {
        const root = join(dataDir, 'sources', name);
        await mkdir(root, { recursive: true });
        for (const [file, text] of Object.entries(files)) await writeFile(join(root, file), text);
        return root;
      };
      await syncConnector(store, new FolderConnector({ source: 'wiki', root: await folder('wiki', { 'merger-faq.md': '# Merger FAQ\n\nThe merger timeline is public.\n' }) }));
      await syncConnector(
        store,
        new FolderConnector({
          source: 'alpha-history',
          root: await folder('alpha', { 'price.md': 'Alpha merger price is 40 million.\n' }),
          visibility: { kind: 'private_channel', channelId: 'GALPHA' },
        }),
      );
      await syncConnector(
        store,
        new FolderConnector({
          source: 'beta-history',
          root: await folder('beta', { 'board.md': 'Beta merger: the board wants out.\n' }),
          visibility: { kind: 'private_channel', channelId: 'GBETA' },
        }),
      );
    },
  });
  await world.caughtUp();
});

afterAll(async () => {
  await world.stop();
});

/** The sources the results came from, in order. */
async function sourcesSeen(context: typeof alphaChannel, input: Record<string, unknown>): Promise<string[]> {
  const outcome = await world.call('search_knowledge', input, context);
  expect(outcome.isError, outcome.content).toBe(false);
  return [...outcome.content.matchAll(/^\d+\. .* \(([a-z-]+), \d{4}-\d\d-\d\d\) /gm)].map((match) => match[1]!).sort();
}

describe('search_knowledge', () => {
  it("shows a group public documents and its own private channel's history, with snippets and sources", async () => {
    expect(await sourcesSeen(alphaChannel, { query: 'merger' })).toEqual(['alpha-history', 'wiki']);
    const outcome = await world.call('search_knowledge', { query: 'price' }, alphaChannel);
    expect(outcome.content).toMatch(/^1\. .* \(alpha-history, \d{4}-\d\d-\d\d\) price\.md\n {3}Alpha merger \*\*price\*\* is 40 million\.$/);
  });

  it('never shows a group a private channel it is not in, whatever it asks', async () => {
    expect(await sourcesSeen(betaChannel, { query: 'merger' })).toEqual(['beta-history', 'wiki']);
    expect(await sourcesSeen(publicChannel, { query: 'merger' })).toEqual(['wiki']);
    for (const query of ['price', 'alpha*', 'price OR board', '"40 million"']) {
      expect(await sourcesSeen(betaChannel, { query }), query).not.toContain('alpha-history');
    }
    expect(await sourcesSeen(publicChannel, { query: 'merger', source: 'alpha-history' })).toEqual([]);
  });

  it('keeps to one source when asked, and names the sources there are when the one asked for is not', async () => {
    expect(await sourcesSeen(alphaChannel, { query: 'merger', source: 'wiki' })).toEqual(['wiki']);
    expect(await world.call('search_knowledge', { query: 'merger', source: 'notion' }, alphaChannel)).toMatchObject({
      content: "search_knowledge: source: no source 'notion' (sources: alpha-history, beta-history, wiki)",
      isError: true,
    });
  });

  it('says when nothing matches, and explains a query with no words', async () => {
    expect(await world.call('search_knowledge', { query: 'zebra' }, alphaChannel)).toMatchObject({ content: 'nothing in the knowledge sources matches "zebra"', isError: false });
    const wordless = await world.call('search_knowledge', { query: '!!! ???' }, alphaChannel);
    expect(wordless).toMatchObject({ content: 'search_knowledge: the query has no words to search for (letters or digits)', isError: true });
  });
});
