/**
 * Consolidation end to end, as the runtime will wire it: a group's messages recorded by
 * the group actor go over budget; the request is recorded; a scripted model distills
 * facts and a daily log, recorded through the memory actor and the store; the memory
 * index then finds them and knows where the next window starts. A malformed answer
 * records nothing.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { memoryConsolidated, memoryConsolidationRequested, memoryDailyLogWritten } from '../../../events/catalogue/daily-log.js';
import {
  consolidate,
  ConsolidationError,
  conversationSince,
  decideConsolidation,
  type CompletionModel,
} from '../../../projections/consolidation.js';
import { memoryIndexProjection } from '../../../projections/memory-index.js';
import { consolidationState, scopesVisibleTo, searchMemory } from '../../../projections/memory-queries.js';
import { applyEvents, createWorld, openProjection, temporaryDir, type World } from './fixture.js';

const GROUP = 'T1.C1';
const SCOPE = `group.${GROUP}`;

class ScriptedModel implements CompletionModel {
  constructor(private readonly answers: string[]) {}
  async complete(): Promise<string> {
    const answer = this.answers.shift();
    if (answer === undefined) throw new Error('the script has no more answers');
    return answer;
  }
}

let world: World;
let dir: { path: string; remove: () => Promise<void> };
let db: SqliteConnection;
/** How many of the store's events the read model has seen. */
let applied = 0;

beforeEach(async () => {
  world = createWorld();
  dir = await temporaryDir('consolidation');
  db = await openProjection(join(dir.path, 'memory-index.db'), memoryIndexProjection);
  applied = 0;
  await world.send('group', GROUP, { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
  const chatter = 'We went through the pipeline, the hiring plan and the office move in some detail. '.repeat(5);
  for (let index = 0; index < 30; index += 1) {
    const text = index === 7 ? 'Heads up: Acme confirmed they will pay our invoices net 30 from February.' : chatter;
    await world.send('group', GROUP, { type: 'receiveMessage', messageId: `17123456${String(index).padStart(2, '0')}.000100`, sender: index % 2 ? 'U1' : 'U2', text, mentionsBot: false });
  }
});

afterEach(async () => {
  await db.close();
  await world.stop();
  await dir.remove();
});

async function dueWindow() {
  const events = await world.all();
  await applyEvents(db, memoryIndexProjection, events.slice(applied));
  applied = events.length;
  const state = await consolidationState(db, SCOPE);
  const messages = conversationSince(await world.store.readStream(`group-${GROUP}`), state?.consolidatedThrough ?? null);
  return { messages, decision: decideConsolidation({ scope: SCOPE, messages, budgetTokens: 2_000, pendingRequest: state?.pendingThrough != null }) };
}

it('records the facts and the daily log a model distilled, and starts the next window after them', async () => {
  const { messages, decision } = await dueWindow();
  expect(decision.due).toBe(true);
  if (!decision.due) return;
  const [requested] = await world.append(`memory-${SCOPE}`, [memoryConsolidationRequested.create(decision.request)]);
  const requestId = requested!.id;
  // Requested and not consolidated yet: not due again.
  expect((await dueWindow()).decision).toMatchObject({ due: false, reason: 'already_requested' });

  const source = messages[7]!.messageId;
  const model = new ScriptedModel([
    JSON.stringify({
      facts: [{ key: 'vendor.acme.payment_terms', statement: 'Acme pays invoices net 30 from February.', confidence: 'agent-observed', category: 'project', source }],
      dailyLog: 'The team reviewed the pipeline, the hiring plan and the office move. Acme moves to net 30 in February.',
    }),
  ]);
  const result = await consolidate(model, { scope: SCOPE, requestId, attempt: 1, messages });
  for (const fact of result.facts) await world.send('memory', SCOPE, { type: 'recordFact', fact }, 'agent:consolidation');
  await world.append(`memory-${SCOPE}`, [
    memoryDailyLogWritten.create(result.dailyLog),
    memoryConsolidated.create({ ...result.consolidated, factIds: result.facts.map((fact) => fact.id) }),
  ]);

  const next = await dueWindow();
  expect(next.messages).toEqual([]);
  expect(next.decision).toMatchObject({ due: false, reason: 'no_messages' });
  expect(await consolidationState(db, SCOPE)).toMatchObject({ pendingThrough: null, consolidatedThrough: messages[messages.length - 1]!.messageId });

  const hits = await searchMemory(db, 'acme net 30', { scopes: scopesVisibleTo({ groupId: GROUP }) });
  expect(hits.map((hit) => hit.source.kind).sort()).toEqual(['daily_log', 'fact']);
  expect(hits.find((hit) => hit.source.kind === 'fact')!.source).toMatchObject({
    key: 'vendor.acme.payment_terms',
    confidence: 'agent-observed',
    origin: { kind: 'consolidation', ref: requestId },
  });

  // Recording the same consolidation again stores no fact twice.
  const again = await world.host.send('memory', SCOPE, { type: 'recordFact', fact: result.facts[0]! }, { actor: 'agent:consolidation' });
  expect(again).toMatchObject({ status: 'rejected', reason: expect.stringContaining('a fact id is used once') });
});

it('records nothing from a malformed model answer', async () => {
  const { messages } = await dueWindow();
  const before = (await world.all()).length;
  const model = new ScriptedModel(['{"facts": [{"key": "acme", "statement": "Acme pays net 30", "confidence": "certain", "source": "x"}], "dailyLog": "x"}']);
  const attempt = consolidate(model, { scope: SCOPE, requestId: 'request-1', attempt: 1, messages }).then(async (result) => {
    for (const fact of result.facts) await world.send('memory', SCOPE, { type: 'recordFact', fact });
  });
  await expect(attempt).rejects.toThrow(ConsolidationError);
  await expect(attempt).rejects.toThrow(/facts\.0\.confidence: .*nothing was recorded/);
  expect((await world.all()).length).toBe(before);
});
