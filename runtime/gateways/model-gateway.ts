/**
 * The model gateway: the only place that holds the Anthropic API key. A run's runner sends
 * its Messages API request over the framed channel; the gateway checks it against policy
 * (the run's model, a cap on max_tokens, a streaming call of known shape), calls the API
 * with the real SDK (which retries 429 and 529 with backoff, honouring `retry-after`),
 * streams the API's events back to the runner as they arrive, and returns what the call
 * cost: tokens, dollars, latency and attempts, for `run.model_called`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { boundedJson } from '../../container/protocol/json-depth.js';
import { MAX_FRAME_JSON_DEPTH } from '../../container/protocol/messages.js';
import type { TokenTotals } from '../../events/catalogue/run.js';
import { RECORDED_TEXT_LIMIT } from '../../events/catalogue/run.js';
import type { Logger } from '../logger.js';
import { costOf, type ModelPrice } from './pricing.js';

export const MISSING_KEY_MESSAGE =
  'no model API key: set ANTHROPIC_API_KEY in the environment of `ledgerclaw start` (and ANTHROPIC_BASE_URL to use an Anthropic-compatible server)';

/**
 * JSON in a request, checked without recursion: a request carries the model's earlier tool
 * inputs back, and one nested thousands of levels deep would overflow `z.json()`.
 */
const requestJson = boundedJson(MAX_FRAME_JSON_DEPTH);

/** A content block of a request: the API checks each in depth; the gateway checks the envelope. */
const requestBlock = z.object({ type: z.string().min(1).max(100) }).catchall(requestJson);

/** What a runner may ask for. Anything else (another endpoint's fields, a beta header in the body) is refused. */
export const modelRequestBodySchema = z
  .object({
    model: z.string().min(1).max(200),
    max_tokens: z.number().int().positive(),
    messages: z
      .array(z.object({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(requestBlock).min(1)]) }).strict())
      .min(1)
      .max(10_000),
    system: z.union([z.string(), z.array(requestBlock)]).optional(),
    tools: z
      .array(z.object({ name: z.string().min(1).max(64), description: z.string().max(10_000).optional(), input_schema: z.record(z.string(), requestJson) }).catchall(requestJson))
      .max(128)
      .optional(),
    tool_choice: z.object({ type: z.enum(['auto', 'any', 'tool', 'none']) }).catchall(requestJson).optional(),
    temperature: z.number().min(0).max(1).optional(),
    stop_sequences: z.array(z.string().max(500)).max(8).optional(),
    stream: z.literal(true, { error: 'the gateway serves streaming calls only' }),
  })
  .strict();
type ModelRequestBody = z.infer<typeof modelRequestBodySchema>;

export interface ModelGatewayOptions {
  /** Null: no key configured; every call is refused with MISSING_KEY_MESSAGE. */
  readonly apiKey: string | null;
  readonly baseURL?: string | undefined;
  /** Retries of a 429, 529 or connection failure, with the SDK's backoff. */
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly prices: Readonly<Record<string, ModelPrice>>;
  readonly logger?: Logger;
}

/** The policy a run's calls are held to. */
export interface ModelCallPolicy {
  readonly model: string;
  readonly maxTokens: number;
}

export type ModelOutputBlock =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: z.core.util.JSONType };

export interface ModelCallRecord {
  readonly callId: string;
  readonly model: string;
  readonly tokens: TokenTotals;
  readonly costUsd: number | null;
  readonly latencyMs: number;
  readonly attempts: number;
  readonly stopReason: string | null;
  readonly output: readonly ModelOutputBlock[];
}

export type ModelCallResult =
  | { readonly status: 'answered'; readonly record: ModelCallRecord }
  /** The API said no (after retries): the runner's client sees this status and error. */
  | { readonly status: 'api_error'; readonly httpStatus: number; readonly error: { type: string; message: string }; readonly attempts: number }
  /** The gateway said no: a request outside policy, or no key. The run should end. */
  | { readonly status: 'refused'; readonly reason: string };

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
}

function recordedOutput(content: readonly Anthropic.ContentBlock[]): ModelOutputBlock[] {
  const blocks: ModelOutputBlock[] = [];
  for (const block of content) {
    if (block.type === 'text') blocks.push({ type: 'text', text: block.text.slice(0, RECORDED_TEXT_LIMIT) });
    else if (block.type === 'tool_use') blocks.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input as z.core.util.JSONType });
  }
  return blocks;
}

export class ModelGateway {
  private readonly client: Anthropic | null;
  /** Counts HTTP attempts per call: the SDK's retries happen inside one `stream()`. */
  private readonly attempts = new AsyncLocalStorage<{ count: number }>();

  constructor(private readonly options: ModelGatewayOptions) {
    this.client =
      options.apiKey === null
        ? null
        : new Anthropic({
            apiKey: options.apiKey,
            ...(options.baseURL ? { baseURL: options.baseURL } : {}),
            maxRetries: options.maxRetries,
            timeout: options.timeoutMs,
            fetch: (input, init) => {
              const counter = this.attempts.getStore();
              if (counter) counter.count += 1;
              return fetch(input, init);
            },
          });
  }

  /** Null when calls can be made; otherwise what the operator must set. */
  get unavailableReason(): string | null {
    return this.client === null ? MISSING_KEY_MESSAGE : null;
  }

  /**
   * Makes one call for a run. Every raw stream event goes to `onEvent` as it arrives, in
   * the API's order, so the runner's SDK can rebuild the message.
   */
  async call(callId: string, body: unknown, policy: ModelCallPolicy, onEvent: (event: Anthropic.RawMessageStreamEvent) => void): Promise<ModelCallResult> {
    if (this.client === null) return { status: 'refused', reason: MISSING_KEY_MESSAGE };
    const parsed = modelRequestBodySchema.safeParse(body);
    if (!parsed.success) return { status: 'refused', reason: `the runner sent a model request the gateway does not accept: ${describeIssues(parsed.error)}` };
    const refusal = this.policyRefusal(parsed.data, policy);
    if (refusal) return { status: 'refused', reason: refusal };

    const began = performance.now();
    const counter = { count: 0 };
    const { stream: _stream, ...request } = parsed.data;
    try {
      const message = await this.attempts.run(counter, async () => {
        const stream = this.client!.messages.stream(request as Anthropic.MessageStreamParams);
        stream.on('streamEvent', (event) => onEvent(event));
        return stream.finalMessage();
      });
      const tokens: TokenTotals = {
        input: message.usage.input_tokens,
        output: message.usage.output_tokens,
        cacheRead: message.usage.cache_read_input_tokens ?? 0,
        cacheWrite: message.usage.cache_creation_input_tokens ?? 0,
      };
      const costUsd = costOf(message.model, tokens, this.options.prices);
      if (costUsd === null) this.options.logger?.warn({ model: message.model }, 'no price known for this model; its cost is recorded as unknown');
      return {
        status: 'answered',
        record: {
          callId,
          model: message.model,
          tokens,
          costUsd,
          latencyMs: Math.round(performance.now() - began),
          attempts: Math.max(1, counter.count),
          stopReason: message.stop_reason ?? null,
          output: recordedOutput(message.content),
        },
      };
    } catch (error) {
      const attempts = Math.max(1, counter.count);
      if (error instanceof Anthropic.APIError && typeof error.status === 'number') {
        const apiError = (error.error as { error?: { type?: string; message?: string } } | undefined)?.error;
        this.options.logger?.warn({ callId, status: error.status, attempts }, 'model call failed');
        return {
          status: 'api_error',
          httpStatus: error.status,
          error: { type: apiError?.type ?? 'api_error', message: (apiError?.message ?? error.message).slice(0, 4_000) },
          attempts,
        };
      }
      const reason = error instanceof Error ? error.message : String(error);
      this.options.logger?.warn({ callId, attempts, reason }, 'model call could not reach the API');
      return { status: 'api_error', httpStatus: 502, error: { type: 'api_connection_error', message: `the model API could not be reached: ${reason}`.slice(0, 4_000) }, attempts };
    }
  }

  private policyRefusal(body: ModelRequestBody, policy: ModelCallPolicy): string | null {
    if (body.model !== policy.model) return `the runner asked for model '${body.model}'; this run may use '${policy.model}' only`;
    if (body.max_tokens > policy.maxTokens) return `the runner asked for max_tokens ${body.max_tokens}; this run may use at most ${policy.maxTokens}`;
    return null;
  }
}
