/**
 * Consolidation overhead per request, excluding model time: what the host spends
 * answering one `memory.consolidation_requested` (the trigger reading the window and
 * recording the request, the executor reading the window and known facts, building the
 * prompt, validating the answer, recording the attempt, the answer, each fact, the daily
 * log and memory.consolidated), beside a bare model-gateway call with the same prompt to
 * the same scripted fake model in the same run. The model's share inside a consolidation
 * is timed around the gateway call and subtracted.
 *
 * Each request is a fresh group with a 20-message conversation over the trigger's budget;
 * the fake answers every call with five valid facts and a daily log.
 */
import { ConsolidationWorld } from '../integration/memory/consolidation-world.js';
import type { RecordedRequest } from '../fakes/anthropic-messages.js';
import { formatMs, formatTable, summarize, type Summary } from './stats.js';

const MESSAGES_PER_WINDOW = 20;
const FACTS_PER_ANSWER = 5;
const CATEGORIES = ['user', 'feedback', 'project', 'reference'] as const;

/** A valid answer to a consolidation prompt: facts sourced from its transcript's message ids. */
function answerTo(request: RecordedRequest): string {
  const body = request.body as { messages?: { content?: unknown }[] } | undefined;
  const prompt = typeof body?.messages?.[0]?.content === 'string' ? body.messages[0].content : '';
  const ids = [...prompt.matchAll(/^\[(\d+\.\d+)\]/gm)].map((match) => match[1]!);
  const facts = Array.from({ length: Math.min(FACTS_PER_ANSWER, ids.length) }, (_, index) => ({
    key: `bench.topic_${index}.detail`,
    statement: `Topic ${index} was settled in message ${ids[index]}.`,
    confidence: 'agent-observed',
    category: CATEGORIES[index % CATEGORIES.length],
    source: ids[index],
  }));
  return JSON.stringify({ facts, dailyLog: 'The team settled five topics and moved on.' });
}

function row(name: string, summary: Summary): string[] {
  return [name, formatMs(summary.p50), formatMs(summary.p90), formatMs(summary.max)];
}

export async function measureConsolidationOverhead(options: {
  dir?: string;
  quick: boolean;
  log: (line: string) => void;
}): Promise<{ table: string; figures: Record<string, unknown> }> {
  let modelMs = 0;
  const world = await ConsolidationWorld.open({
    ...(options.dir !== undefined ? { dir: options.dir } : {}),
    model: (gateway) => ({
      get unavailableReason() {
        return gateway.unavailableReason;
      },
      call: async (...args: Parameters<typeof gateway.call>) => {
        const began = performance.now();
        try {
          return await gateway.call(...args);
        } finally {
          modelMs += performance.now() - began;
        }
      },
    }),
  });
  try {
    world.fake.respondWith((request) => ({ content: [{ type: 'text', text: answerTo(request) }], usage: { input_tokens: 2_000, output_tokens: 300 } }));
    const requests = options.quick ? 10 : 50;
    const warmup = 2;
    options.log(`consolidation overhead: ${warmup} warm-up and ${requests} timed requests of ${MESSAGES_PER_WINDOW} messages, ${FACTS_PER_ANSWER} facts each`);
    const overheads: number[] = [];
    const modelShares: number[] = [];
    const bare: number[] = [];
    let lastPrompt = '';
    for (let index = 0; index < warmup + requests; index += 1) {
      const groupId = `B.C${index}`;
      await world.configureGroup(groupId);
      for (let message = 0; message < MESSAGES_PER_WINDOW; message += 1) {
        await world.say(groupId, `Message ${message}: we went through the pipeline, the hiring plan and topic ${message % FACTS_PER_ANSWER} in some detail.`);
      }
      modelMs = 0;
      const began = performance.now();
      if (!(await world.trigger.check(groupId))) throw new Error(`group ${groupId} did not ask for a consolidation`);
      await world.host.idle();
      const total = performance.now() - began;
      const consolidated = await world.memoryEvents(groupId, 'memory.consolidated');
      if (consolidated.length !== 1) throw new Error(`group ${groupId} was not consolidated: ${JSON.stringify(await world.memoryEvents(groupId, 'memory.consolidation_attempt_failed'))}`);
      const called = world.fake.requests[world.fake.requests.length - 1]!.body as { messages: { content: string }[] };
      lastPrompt = called.messages[0]!.content;

      // The same prompt, straight through the gateway: what a call costs with no consolidation around it.
      const bareBegan = performance.now();
      const result = await world.gateway.call(`bare-${index}`, { model: 'claude-sonnet-5-5', max_tokens: 1_024, messages: [{ role: 'user', content: lastPrompt }], stream: true }, { model: 'claude-sonnet-5-5', maxTokens: 1_024 }, () => {});
      const bareMs = performance.now() - bareBegan;
      if (result.status !== 'answered') throw new Error(`the bare gateway call was not answered: ${JSON.stringify(result)}`);
      if (index < warmup) continue;
      overheads.push(total - modelMs);
      modelShares.push(modelMs);
      bare.push(bareMs);
    }
    const overhead = summarize(overheads);
    const model = summarize(modelShares);
    const bareCall = summarize(bare);
    const table = formatTable(
      ['per request', 'p50', 'p90', 'max'],
      [row('consolidation overhead (excl. model)', overhead), row('model call inside consolidation', model), row('bare model-gateway call', bareCall)],
    );
    return {
      table,
      figures: {
        requests,
        messagesPerWindow: MESSAGES_PER_WINDOW,
        factsPerAnswer: FACTS_PER_ANSWER,
        promptChars: lastPrompt.length,
        overheadMs: overhead,
        modelCallInsideMs: model,
        bareGatewayCallMs: bareCall,
        overheadToBareCallRatio: overhead.p50 / bareCall.p50,
      },
    };
  } finally {
    await world.close();
  }
}
