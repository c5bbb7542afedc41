/**
 * memory_search: full-text search over what the assistant remembers that this call may
 * see: the group's facts and daily logs, and the private memory of the user the turn
 * answers. Never another group's, never another user's (`scopesVisibleTo`).
 */
import { z } from 'zod';
import { memoryIndexProjection } from '../../../projections/memory-index.js';
import {
  DEFAULT_SEARCH_LIMIT,
  MAX_QUERY_LENGTH,
  MAX_SEARCH_LIMIT,
  MemoryQueryError,
  scopesVisibleTo,
  searchMemory,
  type MemorySearchHit,
} from '../../../projections/memory-queries.js';
import { answered, defineHostTool, refused } from './host-tool.js';

const memorySearchInput = z.strictObject({
  query: z.string().min(1).max(MAX_QUERY_LENGTH).describe('Words to look for; every word must occur. End a word with * to match its prefix.'),
  limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).optional().describe(`Most results. Default ${DEFAULT_SEARCH_LIMIT}.`),
});

export const memorySearchTool = defineHostTool({
  name: 'memory_search',
  tier: 'read',
  description: (context) =>
    "Search what you remember: this group's facts and daily logs" +
    (context.userId ? ", and the private memory of the person you are answering" : '') +
    '. Best matches first; matched words are in **bold**. Facts in conflict are marked: do not rely on one without saying so.',
  inputSchema: memorySearchInput,
  async run(input, call) {
    const { context, services } = call;
    const scopes = scopesVisibleTo({ groupId: context.groupId, userId: context.userId });
    try {
      const hits = await services.readModels.withReadModel(memoryIndexProjection.name, (db) =>
        searchMemory(db, input.query, { scopes, limit: input.limit ?? DEFAULT_SEARCH_LIMIT }),
      );
      if (hits === undefined) return refused('memory_search: the memory index is not built yet; nothing can be searched until the runtime has indexed memory');
      if (hits.length === 0) return answered(`nothing remembered matches ${JSON.stringify(input.query)}`);
      return answered(hits.map((hit, index) => describeHit(hit, index + 1, context.groupId)).join('\n'));
    } catch (error) {
      if (error instanceof MemoryQueryError) return refused(`memory_search: ${error.message}`);
      throw error;
    }
  },
});

/** `1. [group] fact vendor.acme.terms (agent-observed, IN CONFLICT; id f1): text`. */
function describeHit(hit: MemorySearchHit, rank: number, groupId: string): string {
  const whose = hit.scope === `group.${groupId}` ? 'group' : 'user';
  const text = hit.text.replace(/\s+/g, ' ').trim();
  if (hit.source.kind === 'daily_log') return `${rank}. [${whose}] daily log ${hit.source.day}: ${text}`;
  const notes = [hit.source.confidence, ...(hit.source.inConflict ? ['IN CONFLICT'] : [])].join(', ');
  return `${rank}. [${whose}] fact ${hit.source.key} (${notes}; id ${hit.source.factId}): ${text}`;
}
