/**
 * search_knowledge: full-text search over the knowledge caches (Slack history, folders,
 * repositories), as this group may see them (`groupAccess`): public documents, the group's
 * own, and its own channel's history; never a private channel it is not in.
 */
import { z } from 'zod';
import { knowledgeSourceSchema } from '../../../events/catalogue/knowledge.js';
import {
  DEFAULT_LIMIT,
  groupAccess,
  KnowledgeQueryError,
  MAX_LIMIT,
  MAX_QUERY_LENGTH,
  searchKnowledge,
  type KnowledgeSearchResult,
} from '../../../projections/knowledge-search.js';
import { answered, defineHostTool, refused } from './host-tool.js';

/** Results shown to the model: more costs context and rarely helps. */
const MOST_RESULTS = Math.min(MAX_LIMIT, 25);

const searchKnowledgeInput = z.strictObject({
  query: z.string().min(1).max(MAX_QUERY_LENGTH).describe('Words to look for; every word must occur. End a word with * to match its prefix.'),
  source: knowledgeSourceSchema.optional().describe("Only this source (such as 'slack'); every source when left out."),
  limit: z.number().int().min(1).max(MOST_RESULTS).optional().describe(`Most results, one per document. Default ${DEFAULT_LIMIT}.`),
});

export const searchKnowledgeTool = defineHostTool({
  name: 'search_knowledge',
  tier: 'read',
  description:
    "Search the company's knowledge: Slack history and synced documents, as far as this conversation may see them. " +
    'Best matches first, one per document, with a snippet (matched words in **bold**) and where it comes from. Read the source before quoting it as settled.',
  inputSchema: searchKnowledgeInput,
  async run(input, call) {
    const { context, services } = call;
    try {
      return await services.readModels.withKnowledgeCaches(async (caches) => {
        if (caches.length === 0) return refused('search_knowledge: no knowledge source has been synced and indexed yet; there is nothing to search');
        if (input.source !== undefined && !caches.some((cache) => cache.source === input.source)) {
          return refused(`search_knowledge: source: no source '${input.source}' (sources: ${caches.map((cache) => cache.source).join(', ')})`);
        }
        const results = await searchKnowledge(caches, input.query, {
          visibleTo: groupAccess(context.groupId),
          ...(input.source !== undefined ? { sources: [input.source] } : {}),
          limit: input.limit ?? DEFAULT_LIMIT,
        });
        if (results.length === 0) return answered(`nothing in the knowledge sources matches ${JSON.stringify(input.query)}`);
        return answered(results.map((result, index) => describeResult(result, index + 1)).join('\n'));
      });
    } catch (error) {
      if (error instanceof KnowledgeQueryError) return refused(`search_knowledge: ${error.message}`);
      throw error;
    }
  },
});

/** `1. Title (slack, 2026-01-05) <url or document id>` then the snippet, indented. */
function describeResult(result: KnowledgeSearchResult, rank: number): string {
  const snippet = result.snippet.replace(/\s+/g, ' ').trim();
  const head = `${rank}. ${result.title} (${result.source}, ${result.updatedAt.slice(0, 10)}) ${result.url ?? result.documentId}`;
  return snippet === '' ? head : `${head}\n   ${snippet}`;
}
