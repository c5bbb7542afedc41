/**
 * A fake of the Anthropic Messages API's wire protocol on 127.0.0.1, for tests that drive the
 * real `@anthropic-ai/sdk` client (never a mock of it). It speaks what the SDK (1.12, API
 * version `2026-10-21`) expects:
 *
 * - `POST /v1/messages`: the key (`x-api-key`, or `Authorization: Bearer`, which is how SDK 1.12
 *   sends an `apiKey`) checked when the fake was given one (missing or wrong: 401
 *   `authentication_error`), `anthropic-version` required (400). The body is validated the
 *   way the API does it, with the bad field named in a 400 `invalid_request_error`
 *   (`messages.1.content.0: unexpected \`tool_use_id\` …`), before any scripted reply is spent.
 * - The answer is whatever the test scripted: `enqueue(...)` replies are used in order, then
 *   `respondWith(fn)`; with neither, a loud 500 that the SDK does not retry.
 * - Non-streaming: the Message object as the API returns it, with a `request-id` header.
 *   Streaming (`stream: true`): the SSE sequence `message_start`, `ping`, per block
 *   `content_block_start` / deltas / `content_block_stop`, `message_delta`, `message_stop`.
 *   Text arrives in small `text_delta`s and tool input as `input_json_delta` fragments, so the
 *   SDK really has to reassemble them.
 * - Errors are `{ type: 'error', error: { type, message }, request_id }` with the API's
 *   `x-should-retry` and, when scripted, `retry-after` headers: the SDK's retry policy sees
 *   exactly what it would see in production.
 * - Usage is estimated deterministically (ceil(characters / 4) per prompt block, a fixed
 *   {@link IMAGE_TOKENS} per image) and prompt caching behaves like the service's: the prompt
 *   is the ordered blocks tools → system → messages, each `cache_control` marks a prefix, a
 *   prefix written earlier (within its TTL) is read back, found by looking back up to 20
 *   blocks from each breakpoint, and prefixes shorter than the model minimum are not cached.
 * - `POST /v1/messages/count_tokens` answers `{ input_tokens }` with the same estimate.
 *
 * Every request is recorded (headers without the key, whether the key matched, parsed body,
 * status answered) so a test can check what the client sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

// ---------------------------------------------------------------------------------------
// Public types.

export type ScriptedContentBlock =
  | { readonly type: 'text'; readonly text: string }
  | {
      readonly type: 'tool_use';
      /** Default: a generated `toolu_…` id. */
      readonly id?: string;
      readonly name: string;
      readonly input: Readonly<Record<string, unknown>>;
    };

export type ScriptedStopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';

export interface UsageCounts {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
}

/** What "the model" says. */
export interface ScriptedMessage {
  readonly content: readonly ScriptedContentBlock[];
  /** Default `tool_use` when a tool_use block is present, else `end_turn`. */
  readonly stopReason?: ScriptedStopReason;
  /** With `stop_sequence`: the sequence reported. Default: the request's first `stop_sequences`. */
  readonly stopSequence?: string;
  /** Overrides the estimated numbers (reporting only: the prompt cache still behaves as estimated). */
  readonly usage?: Partial<UsageCounts>;
}

export type ScriptedErrorStatus = 400 | 401 | 403 | 404 | 413 | 429 | 500 | 529;

/** An HTTP error answered instead of a message (before any stream starts). */
export interface ScriptedError {
  readonly error: {
    readonly status: ScriptedErrorStatus;
    /** Default: the API's type for the status (`rate_limit_error` for 429, …). */
    readonly type?: string;
    readonly message: string;
    /** Sent as `retry-after`, which the SDK honours before retrying. */
    readonly retryAfterSeconds?: number;
  };
}

/** Never answers: for client timeout tests. */
export interface ScriptedHang {
  readonly hang: true;
}

export type ScriptedReply = ScriptedMessage | ScriptedError | ScriptedHang;

/** How the request's key compared with the fake's (`unchecked`: the fake has none). */
export type ApiKeyCheck = 'matched' | 'wrong' | 'missing' | 'unchecked';

export interface RecordedRequest {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** Lower-cased names; `x-api-key` and `authorization` removed. */
  readonly headers: Readonly<Record<string, string>>;
  readonly apiKey: ApiKeyCheck;
  /** Which header carried the key. */
  readonly apiKeyVia: 'x-api-key' | 'authorization' | undefined;
  /** The parsed JSON body; `undefined` when there was none or it did not parse. */
  readonly body: unknown;
  /** The HTTP status answered; `undefined` while unanswered (a hang). */
  readonly status: number | undefined;
}

export type Responder = (request: RecordedRequest) => ScriptedReply | Promise<ScriptedReply>;

export interface FakeAnthropicOptions {
  /** When set, the key sent (`x-api-key` or `Authorization: Bearer`) must equal it. */
  readonly apiKey?: string;
  /**
   * Prefixes shorter than this are not cached, as the API does (1024 tokens for Sonnet and
   * Opus models). Default 1024.
   */
  readonly minCacheableTokens?: number;
  /** The clock cache TTLs run on, in ms. Default `Date.now`. */
  readonly now?: () => number;
}

export interface FakeAnthropic {
  /** Give this to the SDK as `baseURL`. */
  readonly url: string;
  /** Every request received, in order of arrival. */
  readonly requests: readonly RecordedRequest[];
  /** Scripted replies not yet used. */
  readonly pendingReplies: number;
  /** Scripts the next replies, used in order by valid `/v1/messages` requests. */
  enqueue(...replies: ScriptedReply[]): void;
  /** Answers valid requests once the queue is empty. */
  respondWith(responder: Responder): void;
  close(): Promise<void>;
}

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  return FakeAnthropicServer.start(options);
}

// ---------------------------------------------------------------------------------------
// Constants.

/** Each image counts as this many input tokens (its base64 length would be meaningless). */
export const IMAGE_TOKENS = 1_600;
const DEFAULT_MIN_CACHEABLE_TOKENS = 1_024;
/** The API looks for cache hits at most this many blocks back from each breakpoint. */
const CACHE_LOOKBACK_BLOCKS = 20;
const MAX_CACHE_BREAKPOINTS = 4;
const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
type Ttl = keyof typeof TTL_MS;
/** Stream deltas carry at most this many characters, so every real reply spans several. */
const TEXT_DELTA_CHARS = 8;
const JSON_DELTA_CHARS = 12;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const ERROR_TYPE_FOR_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

// ---------------------------------------------------------------------------------------
// The request body, as the API validates it. Objects are strict: the API rejects unknown
// fields ("Extra inputs are not permitted"), which catches a client sending a misspelt one.

const CacheControl = z.strictObject({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() }).nullish();

const TextBlock = z.strictObject({
  type: z.literal('text'),
  text: z.string(),
  cache_control: CacheControl,
  // The SDK hands back response blocks with `citations: null`; passing them back is legal.
  citations: z.array(z.unknown()).nullish(),
});

const ImageBlock = z.strictObject({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('base64'),
      media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp']),
      data: z.string(),
    }),
    z.strictObject({ type: z.literal('url'), url: z.string() }),
    z.strictObject({ type: z.literal('file'), file_id: z.string() }),
  ]),
  cache_control: CacheControl,
});

const ToolUseBlock = z.strictObject({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()),
  cache_control: CacheControl,
  // Present on the blocks the API returns (`{ type: 'direct' }`), so accepted back.
  caller: z.unknown().optional(),
  toolset_name: z.string().nullish(),
});

const ToolResultBlock = z.strictObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextBlock, ImageBlock]))]).optional(),
  is_error: z.boolean().optional(),
  cache_control: CacheControl,
  toolset_name: z.string().nullish(),
});

const ContentBlock = z.discriminatedUnion('type', [TextBlock, ImageBlock, ToolUseBlock, ToolResultBlock]);

const MessageParam = z.strictObject({
  // `system` is in the SDK's MessageParam; accepted here so the conversation rules can say
  // plainly that the fake does not model it.
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(ContentBlock)]),
});

const CustomTool = z.strictObject({
  name: z.string().regex(TOOL_NAME),
  description: z.string().optional(),
  input_schema: z.looseObject({
    type: z.literal('object'),
    properties: z.record(z.string(), z.unknown()).nullish(),
    required: z.array(z.string()).nullish(),
  }),
  cache_control: CacheControl,
  type: z.literal('custom').nullish(),
  // Accepted, not modelled.
  strict: z.boolean().optional(),
  allowed_callers: z.array(z.string()).optional(),
  defer_loading: z.boolean().optional(),
  eager_input_streaming: z.boolean().nullish(),
  input_examples: z.array(z.record(z.string(), z.unknown())).optional(),
});

const ToolChoice = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('tool'), name: z.string(), disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('none') }),
]);

const promptFields = {
  model: z.string(),
  messages: z.array(MessageParam).min(1),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  tools: z.array(CustomTool).optional(),
  tool_choice: ToolChoice.optional(),
  // Top-level `cache_control`: automatic caching, a breakpoint on the last block.
  cache_control: CacheControl,
  // In the SDK's params; accepted, not modelled by the fake.
  thinking: z.unknown().optional(),
  output_config: z.unknown().optional(),
  speed: z.unknown().optional(),
};

const CreateBody = z.strictObject({
  ...promptFields,
  // 0 is legal: it warms the prompt cache without generating anything.
  max_tokens: z.int().min(0),
  stream: z.boolean().optional(),
  stop_sequences: z.array(z.string()).optional(),
  metadata: z.strictObject({ user_id: z.string().nullish() }).optional(),
  // Not in SDK 1.12's types, but long accepted by the API.
  temperature: z.number().min(0).max(1).optional(),
  top_k: z.int().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
  // In the SDK's params; accepted, not modelled by the fake.
  container: z.unknown().optional(),
  diagnostics: z.unknown().optional(),
  inference_geo: z.unknown().optional(),
  service_tier: z.unknown().optional(),
});

const CountTokensBody = z.strictObject(promptFields);

type PromptBody = z.infer<typeof CountTokensBody>;
type CreateBodyT = z.infer<typeof CreateBody>;
type MessageParamT = z.infer<typeof MessageParam>;
type ContentBlockT = z.infer<typeof ContentBlock>;

/** Raised for a request the API would refuse; becomes the error response. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = ERROR_TYPE_FOR_STATUS[status] ?? 'api_error',
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function invalid(message: string): ApiError {
  return new ApiError(400, message);
}

/** Parses a body with `schema`, turning the first issue into the API's 400. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body, { reportInput: true });
  if (result.success) return result.data;
  throw invalid(describeIssue(result.error.issues[0]!));
}

// ---------------------------------------------------------------------------------------
// Validation messages, worded like the API's (`field.path: what is wrong`).

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, prefix: readonly PropertyKey[] = []): string {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // A union's own issue names no field; report the branch that got furthest into the
    // value, which is the one the caller meant (the array branch for a block list).
    const branch = deepestIssue(issue.errors);
    if (branch) return describeIssue(branch, path);
  }
  if (issue.code === 'unrecognized_keys') return `${fieldName([...path, issue.keys[0] ?? ''])}: Extra inputs are not permitted`;
  const what = phrase(issue);
  return path.length === 0 ? what : `${fieldName(path)}: ${what}`;
}

function deepestIssue(branches: readonly (readonly Issue[])[]): Issue | undefined {
  let best: Issue | undefined;
  for (const issues of branches) {
    const first = issues[0];
    if (first && (!best || first.path.length > best.path.length)) best = first;
  }
  return best;
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

const TYPE_NAMES: Record<string, string> = { int: 'integer', object: 'dictionary', record: 'dictionary', array: 'list' };

function phrase(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'Field required' : `Input should be a valid ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'array') return `List should have at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'} after validation`;
      return `Input should be greater than ${issue.inclusive ? 'or equal to ' : ''}${issue.minimum}`;
    case 'too_big':
      return `Input should be less than ${issue.inclusive ? 'or equal to ' : ''}${issue.maximum}`;
    case 'invalid_value':
      return `Input should be ${issue.values.map((value) => `'${String(value)}'`).join(' or ')}`;
    case 'invalid_format':
      return issue.pattern ? `String should match pattern '${issue.pattern.replace(/^\/|\/$/g, '')}'` : issue.message;
    case 'invalid_union': {
      // A discriminated union whose tag matched nothing.
      if (issue.discriminator === undefined) return issue.message;
      const tag = (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator];
      if (tag === undefined) return `Unable to extract tag using discriminator '${issue.discriminator}'`;
      const expected = ('options' in issue ? (issue.options ?? []) : []).map((option) => `'${String(option)}'`).join(', ');
      return `Input tag '${String(tag)}' found using '${issue.discriminator}' does not match any of the expected tags: ${expected}`;
    }
    default:
      return issue.message;
  }
}

// ---------------------------------------------------------------------------------------
// Rules the schema cannot express: turn order, tool_use / tool_result pairing, tools.

function blocksOf(message: MessageParamT): ContentBlockT[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

function isEmptyContent(message: MessageParamT): boolean {
  return typeof message.content === 'string' ? message.content === '' : message.content.length === 0;
}

function checkConversation(messages: readonly MessageParamT[]): void {
  messages.forEach((message, index) => {
    if (message.role === 'system') {
      throw invalid(`messages.${index}.role: the fake does not model "system" messages; use the top-level \`system\` parameter`);
    }
  });
  if (messages[0]!.role !== 'user') throw invalid('messages: first message must use the "user" role');
  for (let index = 1; index < messages.length; index++) {
    const role = messages[index]!.role;
    if (role === messages[index - 1]!.role) {
      throw invalid(`messages: roles must alternate between "user" and "assistant", but found multiple "${role}" roles in a row`);
    }
  }
  messages.forEach((message, index) => {
    const isFinalAssistant = index === messages.length - 1 && message.role === 'assistant';
    if (isEmptyContent(message) && !isFinalAssistant) {
      throw invalid(`messages.${index}: all messages must have non-empty content except for the optional final assistant message`);
    }
    checkBlocks(message, index);
    if (message.role === 'user') checkToolResults(message, index, messages[index - 1]);
    else checkToolUsesAnswered(message, index, messages[index + 1]);
  });
}

/** Which blocks each role may carry, and no empty text. */
function checkBlocks(message: MessageParamT, index: number): void {
  const allowed = message.role === 'user' ? ['text', 'image', 'tool_result'] : ['text', 'tool_use'];
  blocksOf(message).forEach((block, position) => {
    const field = `messages.${index}.content.${position}`;
    if (!allowed.includes(block.type)) throw invalid(`${field}.type: \`${block.type}\` blocks are not allowed in "${message.role}" messages`);
    if (block.type === 'text' && typeof message.content !== 'string' && block.text === '') {
      throw invalid(`${field}.text: text content blocks must be non-empty`);
    }
  });
}

/** Every tool_result answers a tool_use of the assistant turn just before, and comes first. */
function checkToolResults(message: MessageParamT, index: number, previous: MessageParamT | undefined): void {
  const offered = new Set(previous ? blocksOf(previous).flatMap((block) => (block.type === 'tool_use' ? [block.id] : [])) : []);
  let seenOther = false;
  blocksOf(message).forEach((block, position) => {
    if (block.type !== 'tool_result') {
      seenOther = true;
      return;
    }
    const field = `messages.${index}.content.${position}`;
    if (!offered.has(block.tool_use_id)) {
      throw invalid(
        `${field}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${block.tool_use_id}. ` +
          'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
      );
    }
    if (seenOther) throw invalid(`${field}: \`tool_result\` blocks must come first in the content array, before any other content`);
  });
}

/** An assistant turn's tool_use blocks are all answered by the next (user) turn. */
function checkToolUsesAnswered(message: MessageParamT, index: number, next: MessageParamT | undefined): void {
  if (!next) return; // the final assistant turn is a prefill: nothing answers it yet
  const answered = new Set(blocksOf(next).flatMap((block) => (block.type === 'tool_result' ? [block.tool_use_id] : [])));
  const unanswered = blocksOf(message).flatMap((block) => (block.type === 'tool_use' && !answered.has(block.id) ? [block.id] : []));
  if (unanswered.length > 0) {
    throw invalid(
      `messages.${index}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${unanswered.join(', ')}. ` +
        'Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    );
  }
}

function checkTools(body: PromptBody): void {
  const names = (body.tools ?? []).map((tool) => tool.name);
  if (new Set(names).size !== names.length) throw invalid('tools: Tool names must be unique.');
  const choice = body.tool_choice;
  if (!choice || choice.type === 'auto' || choice.type === 'none') return;
  if (names.length === 0) throw invalid('tool_choice: tool_choice may only be specified while providing tools.');
  if (choice.type === 'tool' && !names.includes(choice.name)) throw invalid(`tool_choice.name: no tool named '${choice.name}' in tools`);
}

// ---------------------------------------------------------------------------------------
// The prompt as the cache sees it: an ordered list of blocks, tools → system → messages.

interface PromptBlock {
  /** Where the block is in the request, for error messages. */
  readonly field: string;
  /** Its canonical serialisation, without cache_control (moving a breakpoint keeps the prefix). */
  readonly text: string;
  readonly tokens: number;
  /** The TTL of the breakpoint on this block, if there is one. */
  readonly breakpoint: Ttl | undefined;
  /** How many cache_control markers sit on it (a tool_result can hold nested ones). */
  readonly markers: number;
}

type CacheControlT = z.infer<typeof CacheControl>;

function promptBlocks(body: PromptBody): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  const add = (field: string, kind: string, value: unknown, controls: readonly CacheControlT[]): void => {
    const present = controls.filter((control) => control != null);
    blocks.push({
      field,
      text: `${kind}:${canonicalJson(withoutCacheControl(value))}`,
      tokens: estimateTokens(value),
      breakpoint: present.length > 0 ? (present[present.length - 1]!.ttl ?? '5m') : undefined,
      markers: present.length,
    });
  };
  (body.tools ?? []).forEach((tool, index) => add(`tools.${index}`, 'tool', tool, [tool.cache_control]));
  if (typeof body.system === 'string') add('system', 'system', body.system, []);
  else (body.system ?? []).forEach((block, index) => add(`system.${index}`, 'system', block, [block.cache_control]));
  body.messages.forEach((message, index) => {
    blocksOf(message).forEach((block, position) => {
      const nested = block.type === 'tool_result' && Array.isArray(block.content) ? block.content.map((part) => part.cache_control) : [];
      add(`messages.${index}.content.${position}`, message.role, block, [...nested, block.cache_control]);
    });
  });
  // Automatic caching puts its breakpoint on the last block (counted once if already marked).
  const last = blocks[blocks.length - 1];
  if (body.cache_control && last && last.breakpoint === undefined) {
    blocks[blocks.length - 1] = { ...last, breakpoint: body.cache_control.ttl ?? '5m', markers: 1 };
  }
  return blocks;
}

function checkCacheControl(blocks: readonly PromptBlock[]): void {
  const found = blocks.reduce((sum, block) => sum + block.markers, 0);
  if (found > MAX_CACHE_BREAKPOINTS) throw invalid(`A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${found}.`);
  // Longer-lived entries must come first: a 1h prefix cannot hang off a 5m one.
  let sawShort = false;
  for (const block of blocks) {
    if (block.breakpoint === '5m') sawShort = true;
    if (block.breakpoint === '1h' && sawShort) {
      throw invalid(`${block.field}.cache_control.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block`);
    }
  }
}

/** JSON with sorted keys, so the same block hashes the same whatever its key order. */
function canonicalJson(value: unknown): string {
  return withDeepFallback(value, () =>
    JSON.stringify(value, (_key, inner: unknown) =>
      inner && typeof inner === 'object' && !Array.isArray(inner)
        ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : inner,
    ),
  );
}

/**
 * A replacer costs JSON.stringify stack on every level, so a value a few thousand levels
 * deep (which the API takes) overflows it: such a value is read as plain JSON instead.
 */
function withDeepFallback(value: unknown, stringify: () => string | undefined): string {
  try {
    return stringify() ?? '';
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return JSON.stringify(value) ?? '';
  }
}

function withoutCacheControl(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const { cache_control: _marker, ...rest } = value as Record<string, unknown>;
  if (rest.type === 'tool_result' && Array.isArray(rest.content)) rest.content = rest.content.map(withoutCacheControl);
  return rest;
}

/** ceil(characters / 4), images at a flat {@link IMAGE_TOKENS}. */
function estimateTokens(value: unknown): number {
  let images = 0;
  const text =
    typeof value === 'string'
      ? value
      : withDeepFallback(withoutCacheControl(value), () =>
          JSON.stringify(withoutCacheControl(value), (_key, inner: unknown) => {
            if (inner && typeof inner === 'object' && (inner as { type?: unknown }).type === 'image') {
              images += 1;
              return undefined;
            }
            return inner;
          }),
        );
  return Math.ceil(text.length / 4) + images * IMAGE_TOKENS;
}

// ---------------------------------------------------------------------------------------
// Prompt caching.

interface CacheAccount {
  readonly total: number;
  readonly read: number;
  readonly created: Readonly<Record<Ttl, number>>;
}

class PromptCache {
  /** Prefix hash → when it expires and how long a hit extends it. */
  private readonly entries = new Map<string, { expiresAt: number; ttlMs: number }>();

  constructor(
    private readonly minTokens: number,
    private readonly now: () => number,
  ) {}

  /** Splits the prompt's tokens into read / created / plain, and records the new prefixes. */
  account(scope: string, blocks: readonly PromptBlock[]): CacheAccount {
    const now = this.now();
    const prefixes = this.prefixes(scope, blocks);
    const breakpoints = blocks.flatMap((block, index) => (block.breakpoint ? [index] : []));
    const hit = this.longestHit(prefixes, breakpoints, now);
    const read = hit >= 0 ? prefixes[hit]!.tokens : 0;
    if (hit >= 0) this.refresh(prefixes[hit]!.hash, now);

    const created: Record<Ttl, number> = { '5m': 0, '1h': 0 };
    let covered = read;
    for (const index of breakpoints) {
      const prefix = prefixes[index]!;
      const ttl = blocks[index]!.breakpoint!;
      if (prefix.tokens < this.minTokens) continue; // too short to cache, as the API does
      if (index > hit) {
        created[ttl] += prefix.tokens - covered;
        covered = prefix.tokens;
      }
      this.write(prefix.hash, ttl, now);
    }
    return { total: prefixes[prefixes.length - 1]?.tokens ?? 0, read, created };
  }

  /** Each block's prefix: a hash chained over the blocks so far, and their tokens. */
  private prefixes(scope: string, blocks: readonly PromptBlock[]): { hash: string; tokens: number }[] {
    let hash = sha256(scope);
    let tokens = 0;
    return blocks.map((block) => {
      hash = sha256(`${hash}\n${block.text}`);
      tokens += block.tokens;
      return { hash, tokens };
    });
  }

  /** The furthest prefix still cached, looking back a limited number of blocks from each breakpoint. */
  private longestHit(prefixes: readonly { hash: string }[], breakpoints: readonly number[], now: number): number {
    let hit = -1;
    for (const breakpoint of breakpoints) {
      for (let index = breakpoint; index > breakpoint - CACHE_LOOKBACK_BLOCKS && index > hit; index--) {
        if (this.live(prefixes[index]!.hash, now)) {
          hit = index;
          break;
        }
      }
    }
    return hit;
  }

  private live(hash: string, now: number): boolean {
    const entry = this.entries.get(hash);
    return entry !== undefined && entry.expiresAt > now;
  }

  private refresh(hash: string, now: number): void {
    const entry = this.entries.get(hash);
    if (entry) entry.expiresAt = now + entry.ttlMs;
  }

  private write(hash: string, ttl: Ttl, now: number): void {
    const ttlMs = Math.max(TTL_MS[ttl], this.entries.get(hash)?.ttlMs ?? 0);
    this.entries.set(hash, { expiresAt: now + ttlMs, ttlMs });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---------------------------------------------------------------------------------------
// The response Message.

type ResponseBlock =
  | { type: 'text'; text: string; citations: null }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown>; caller: { type: 'direct' } };

interface ResponseMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ResponseBlock[];
  stop_reason: string | null;
  stop_sequence: string | null;
  stop_details: null;
  container: null;
  diagnostics: null;
  usage: ReturnType<typeof usageObject>;
}

const ID_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** An id shaped like the API's (`msg_01…`, `toolu_01…`, `req_01…`). */
function newId(prefix: string): string {
  const bytes = randomBytes(22);
  return `${prefix}01${Array.from(bytes, (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('')}`;
}

function responseContent(scripted: readonly ScriptedContentBlock[]): ResponseBlock[] {
  return scripted.map((block) =>
    block.type === 'text'
      ? { type: 'text', text: block.text, citations: null }
      : { type: 'tool_use', id: block.id ?? newId('toolu_'), name: block.name, input: { ...block.input }, caller: { type: 'direct' } },
  );
}

function outputTokens(content: readonly ResponseBlock[]): number {
  return content.reduce(
    (sum, block) => sum + Math.ceil((block.type === 'text' ? block.text : block.name + JSON.stringify(block.input)).length / 4),
    0,
  );
}

function usageObject(account: CacheAccount, output: number, override: Partial<UsageCounts> = {}) {
  const createdTotal = account.created['5m'] + account.created['1h'];
  const creation = override.cache_creation_input_tokens ?? createdTotal;
  return {
    input_tokens: override.input_tokens ?? account.total - account.read - createdTotal,
    cache_creation_input_tokens: creation,
    cache_read_input_tokens: override.cache_read_input_tokens ?? account.read,
    cache_creation:
      override.cache_creation_input_tokens === undefined
        ? { ephemeral_5m_input_tokens: account.created['5m'], ephemeral_1h_input_tokens: account.created['1h'] }
        : { ephemeral_5m_input_tokens: creation, ephemeral_1h_input_tokens: 0 },
    output_tokens: override.output_tokens ?? output,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard' as const,
    inference_geo: null,
    speed: 'standard' as const,
  };
}

function buildMessage(body: CreateBodyT, scripted: ScriptedMessage | undefined, account: CacheAccount): ResponseMessage {
  const content = responseContent(scripted?.content ?? []);
  const stopReason = scripted?.stopReason ?? (scripted === undefined ? 'max_tokens' : content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn');
  return {
    id: newId('msg_'),
    type: 'message',
    role: 'assistant',
    model: body.model,
    content,
    stop_reason: stopReason,
    stop_sequence: stopReason === 'stop_sequence' ? (scripted?.stopSequence ?? body.stop_sequences?.[0] ?? null) : null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: usageObject(account, outputTokens(content), scripted?.usage),
  };
}

// ---------------------------------------------------------------------------------------
// Streaming: the message as the API's SSE events.

function* streamEvents(message: ResponseMessage): Generator<{ type: string } & Record<string, unknown>> {
  const { usage } = message;
  yield {
    type: 'message_start',
    message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: Math.min(1, usage.output_tokens) } },
  };
  yield { type: 'ping' };
  for (const [index, block] of message.content.entries()) {
    if (block.type === 'text') {
      yield { type: 'content_block_start', index, content_block: { ...block, text: '' } };
      for (const text of chunks(block.text, TEXT_DELTA_CHARS)) yield { type: 'content_block_delta', index, delta: { type: 'text_delta', text } };
    } else {
      yield { type: 'content_block_start', index, content_block: { ...block, input: {} } };
      // The API opens tool input with an empty fragment; clients must cope with it.
      for (const partial_json of ['', ...chunks(JSON.stringify(block.input), JSON_DELTA_CHARS)]) {
        yield { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } };
      }
    }
    yield { type: 'content_block_stop', index };
  }
  yield {
    type: 'message_delta',
    delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence, stop_details: null, container: null },
    // Cumulative totals, as the API now sends them; the SDK overwrites its snapshot with them.
    usage: {
      input_tokens: usage.input_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
      output_tokens: usage.output_tokens,
      server_tool_use: null,
    },
  };
  yield { type: 'message_stop' };
}

/** Splits by code point, so no delta ends in half a surrogate pair. */
function chunks(text: string, size: number): string[] {
  const points = Array.from(text);
  const out: string[] = [];
  for (let start = 0; start < points.length; start += size) out.push(points.slice(start, start + size).join(''));
  return out;
}

function sseFrame(event: { type: string }): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

// ---------------------------------------------------------------------------------------
// HTTP.

type MutableRecordedRequest = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

const ROUTES: Record<string, 'create' | 'count_tokens'> = {
  '/v1/messages': 'create',
  '/v1/messages/count_tokens': 'count_tokens',
};

class FakeAnthropicServer implements FakeAnthropic {
  readonly requests: MutableRecordedRequest[] = [];
  private readonly queue: ScriptedReply[] = [];
  private responder: Responder | undefined;
  private readonly cache: PromptCache;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: FakeAnthropicOptions,
  ) {
    this.cache = new PromptCache(options.minCacheableTokens ?? DEFAULT_MIN_CACHEABLE_TOKENS, options.now ?? Date.now);
  }

  static async start(options: FakeAnthropicOptions): Promise<FakeAnthropicServer> {
    let fake: FakeAnthropicServer | undefined;
    const server = createServer((request, response) => void fake!.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    fake = new FakeAnthropicServer(server, `http://127.0.0.1:${port}`, options);
    return fake;
  }

  get pendingReplies(): number {
    return this.queue.length;
  }

  enqueue(...replies: ScriptedReply[]): void {
    this.queue.push(...replies);
  }

  respondWith(responder: Responder): void {
    this.responder = responder;
  }

  async close(): Promise<void> {
    // Hanging requests hold their sockets open; close them rather than wait forever.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = newId('req_');
    let raw: string;
    try {
      raw = await readBody(request);
    } catch {
      return; // the client went away mid-upload: nothing to answer
    }
    const recorded = this.record(request, raw);
    try {
      const route = ROUTES[recorded.path];
      if (!route) throw new ApiError(404, `Not Found: ${recorded.method} ${recorded.path}`);
      if (recorded.method !== 'POST') throw new ApiError(405, `Method Not Allowed: ${recorded.path} only accepts POST`, undefined, { allow: 'POST' });
      this.checkHeaders(recorded);
      if (recorded.body === undefined) throw invalid(raw.trim() === '' ? 'Request body is required' : 'There was an error parsing the body: invalid JSON');
      if (route === 'count_tokens') {
        const body = parseBody(CountTokensBody, recorded.body);
        const blocks = checkPrompt(body);
        sendJson(response, recorded, requestId, 200, { input_tokens: blocks.reduce((sum, block) => sum + block.tokens, 0) });
        return;
      }
      await this.createMessage(recorded, requestId, response);
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof ApiError) sendError(response, recorded, requestId, error);
      else sendError(response, recorded, requestId, fakeFailure(`internal error: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  private record(request: IncomingMessage, raw: string): MutableRecordedRequest {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || name === 'x-api-key' || name === 'authorization') continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const { key, via } = sentKey(request);
    const recorded: MutableRecordedRequest = {
      method: request.method ?? '',
      path: new URL(request.url ?? '/', 'http://127.0.0.1').pathname,
      headers,
      apiKey: key === undefined ? 'missing' : this.options.apiKey === undefined ? 'unchecked' : key === this.options.apiKey ? 'matched' : 'wrong',
      apiKeyVia: via,
      body: parseJson(raw),
      status: undefined,
    };
    this.requests.push(recorded);
    return recorded;
  }

  private checkHeaders(recorded: RecordedRequest): void {
    if (this.options.apiKey !== undefined && recorded.apiKey !== 'matched') {
      throw new ApiError(
        401,
        recorded.apiKey === 'missing'
          ? 'x-api-key header is required'
          : recorded.apiKeyVia === 'authorization'
            ? 'Invalid bearer token'
            : 'invalid x-api-key',
      );
    }
    if (!recorded.headers['anthropic-version']) throw invalid('anthropic-version: header is required');
  }

  private async createMessage(recorded: MutableRecordedRequest, requestId: string, response: ServerResponse): Promise<void> {
    const body = parseBody(CreateBody, recorded.body);
    const blocks = checkPrompt(body);
    // max_tokens 0 only warms the cache: no generation, so no scripted reply is spent.
    const reply = body.max_tokens === 0 ? undefined : await this.nextReply(recorded);
    if (reply && 'hang' in reply) return; // never answered; close() or the client's timeout ends it
    if (reply && 'error' in reply) throw scriptedError(reply);
    // The cache is per model (and per organisation: one key here).
    const account = this.cache.account(body.model, blocks);
    const message = buildMessage(body, reply, account);
    if (body.stream) await sendStream(response, recorded, requestId, message);
    else sendJson(response, recorded, requestId, 200, message);
  }

  private async nextReply(recorded: RecordedRequest): Promise<ScriptedReply> {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (!this.responder) {
      const index = this.requests.indexOf(recorded as MutableRecordedRequest);
      throw fakeFailure(`no reply scripted for ${recorded.method} ${recorded.path} (request #${index}); call enqueue() or respondWith() first`);
    }
    try {
      return await this.responder(recorded);
    } catch (error) {
      throw fakeFailure(`respondWith() threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** The conversation, tool and cache rules; returns the prompt's blocks for accounting. */
function checkPrompt(body: PromptBody): PromptBlock[] {
  checkConversation(body.messages);
  checkTools(body);
  const blocks = promptBlocks(body);
  checkCacheControl(blocks);
  return blocks;
}

/** A failure of the test's setup, not of the API: a 500 the SDK is told not to retry. */
function fakeFailure(message: string): ApiError {
  return new ApiError(500, `fake Anthropic: ${message}`, 'api_error', { 'x-should-retry': 'false' });
}

function scriptedError({ error }: ScriptedError): ApiError {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  return new ApiError(error.status, error.message, error.type, headers);
}

/** The API tells clients whether to retry: yes for rate limits and server errors. */
function shouldRetry(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function sendError(response: ServerResponse, recorded: MutableRecordedRequest, requestId: string, error: ApiError): void {
  sendJson(
    response,
    recorded,
    requestId,
    error.status,
    { type: 'error', error: { type: error.type, message: error.message }, request_id: requestId },
    { 'x-should-retry': String(shouldRetry(error.status)), ...error.headers },
  );
}

function sendJson(
  response: ServerResponse,
  recorded: MutableRecordedRequest,
  requestId: string,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  recorded.status = status;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'request-id': requestId,
    ...headers,
  });
  response.end(text);
}

async function sendStream(response: ServerResponse, recorded: MutableRecordedRequest, requestId: string, message: ResponseMessage): Promise<void> {
  recorded.status = 200;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': requestId,
  });
  let closed = false;
  response.on('close', () => (closed = true));
  for (const event of streamEvents(message)) {
    if (closed) return; // the client went away (aborted, or broke out of its loop)
    response.write(sseFrame(event));
    // Yield between frames so they travel as separate writes, as a real stream does.
    await new Promise((resolve) => setImmediate(resolve));
  }
  response.end();
}

/**
 * The key, from `x-api-key` or `Authorization: Bearer …`: SDK 1.12 sends an `apiKey` as a
 * bearer token, older clients and curl as `x-api-key`.
 */
function sentKey(request: IncomingMessage): { key: string | undefined; via: RecordedRequest['apiKeyVia'] } {
  const header = request.headers['x-api-key'];
  const apiKey = Array.isArray(header) ? header[0] : header;
  if (apiKey) return { key: apiKey, via: 'x-api-key' };
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (bearer) return { key: bearer, via: 'authorization' };
  return { key: undefined, via: undefined };
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
