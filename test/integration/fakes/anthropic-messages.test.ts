/**
 * The Anthropic Messages fake, driven by the real `@anthropic-ai/sdk`: if the SDK can talk to
 * it (parse its messages, reassemble its streams, retry and classify its errors), tests that
 * point the runtime at it exercise the same wire protocol as production.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';

const KEY = 'sk-ant-test-key';
const MODEL = 'claude-sonnet-5-5';

let fake: FakeAnthropic;

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
});

afterEach(async () => {
  await fake.close();
});

function client(options: { maxRetries?: number; apiKey?: string; timeout?: number } = {}): Anthropic {
  return new Anthropic({ apiKey: options.apiKey ?? KEY, baseURL: fake.url, maxRetries: options.maxRetries ?? 0, timeout: options.timeout });
}

/** Resolves to what the promise rejected with (failing the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<InstanceType<typeof Anthropic.APIError>> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.resolved)}`);
  expect(outcome.error).toBeInstanceOf(Anthropic.APIError);
  return outcome.error as InstanceType<typeof Anthropic.APIError>;
}

/** A system prompt long enough to pass the API's minimum cacheable prefix (1024 tokens). */
const LONG_SYSTEM = Array.from({ length: 120 }, (_, index) => `Rule ${index}: answer from the company's ledger, cite the event.`).join('\n');

describe('non-streaming messages', () => {
  it('returns the scripted text as an API Message, with ids, usage and request-id', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'Hello from the fake.' }] });

    const message = await client().messages.create({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });

    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [{ type: 'text', text: 'Hello from the fake.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    expect(message.id).toMatch(/^msg_01\w{22}$/);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBe(Math.ceil('Hello from the fake.'.length / 4));
    expect(message.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(message._request_id).toMatch(/^req_/);

    const [request] = fake.requests;
    // SDK 1.12 sends an apiKey as a bearer token; the fake records neither header's value.
    expect(request).toMatchObject({ method: 'POST', path: '/v1/messages', apiKey: 'matched', apiKeyVia: 'authorization', status: 200 });
    expect(request!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(request)).not.toContain(KEY);
    expect(request!.headers['anthropic-version']).toBeTruthy();
    expect(request!.body).toEqual({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });
    expect(fake.pendingReplies).toBe(0);
  });

  it('reports the scripted stop sequence and usage overrides', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'one, two' }], stopReason: 'stop_sequence', usage: { output_tokens: 99 } });

    const message = await client().messages.create({
      model: MODEL,
      max_tokens: 64,
      stop_sequences: ['three'],
      messages: [{ role: 'user', content: 'Count' }],
    });

    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe('three');
    expect(message.usage.output_tokens).toBe(99);
  });
});

describe('streaming', () => {
  it('streams text in several deltas that the SDK assembles into the scripted final message', async () => {
    const text = 'The ledger balances: every event is accounted for.';
    fake.enqueue({ content: [{ type: 'text', text }] });

    const stream = client().messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: 'user', content: 'Status?' }] });
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const eventTypes: string[] = [];
    for await (const event of stream) eventTypes.push(event.type);
    const final = await stream.finalMessage();

    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(text);
    expect(final.content).toEqual([{ type: 'text', text, citations: null }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(Math.ceil(text.length / 4));
    expect(eventTypes[0]).toBe('message_start');
    expect(eventTypes.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(fake.requests[0]!.body).toMatchObject({ stream: true });
  });

  it('streams tool input as JSON fragments the SDK reassembles, and accepts the tool_result that answers it', async () => {
    const input = { path: 'notes/today.md', lines: [1, 2, 3], options: { follow: true, note: 'ünïcode ✓' } };
    fake.enqueue({ content: [{ type: 'text', text: 'Reading it.' }, { type: 'tool_use', name: 'read_file', input }] });
    fake.enqueue({ content: [{ type: 'text', text: 'The file says hello.' }] });
    const tools = [
      {
        name: 'read_file',
        description: 'Reads a file from the workspace',
        input_schema: { type: 'object' as const, properties: { path: { type: 'string' } }, required: ['path'] },
      },
    ];
    const sdk = client();
    const question = { role: 'user' as const, content: 'What does today.md say?' };

    const stream = sdk.messages.stream({ model: MODEL, max_tokens: 256, tools, messages: [question] });
    const fragments: string[] = [];
    stream.on('inputJson', (fragment) => fragments.push(fragment));
    const first = await stream.finalMessage();

    expect(fragments.filter((fragment) => fragment !== '').length).toBeGreaterThan(1);
    expect(first.stop_reason).toBe('tool_use');
    const toolUse = first.content[1];
    expect(toolUse).toMatchObject({ type: 'tool_use', name: 'read_file', input });
    if (toolUse?.type !== 'tool_use') throw new Error('expected a tool_use block');
    expect(toolUse.id).toMatch(/^toolu_01\w{22}$/);

    // The SDK's own response blocks go back verbatim, as a runtime would send them.
    const second = await sdk.messages.create({
      model: MODEL,
      max_tokens: 256,
      tools,
      messages: [
        question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'hello' }] },
      ],
    });

    expect(second.content).toEqual([{ type: 'text', text: 'The file says hello.', citations: null }]);
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.body).toMatchObject({
      messages: [{}, { role: 'assistant' }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id }] }],
    });
  });
});

describe('errors and retries', () => {
  it('has the SDK wait for retry-after on a 429 and retry into the success', async () => {
    fake.enqueue(
      { error: { status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', retryAfterSeconds: 1 } },
      { content: [{ type: 'text', text: 'Made it.' }] },
    );

    const started = Date.now();
    const message = await client({ maxRetries: 2 }).messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });

    // The SDK's own first backoff is at most 500 ms: waiting longer shows it read retry-after.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(message.content).toEqual([{ type: 'text', text: 'Made it.', citations: null }]);
    expect(fake.requests.map((request) => request.status)).toEqual([429, 200]);
    expect(fake.requests[1]!.headers['x-stainless-retry-count']).toBe('1');
  });

  it('surfaces a 529 as an overloaded error once retries are exhausted', async () => {
    fake.enqueue({ error: { status: 529, message: 'Overloaded' } });

    const error = await rejection(client({ maxRetries: 0 }).messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] }));

    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(error.status).toBe(529);
    expect(error.type).toBe('overloaded_error');
    expect(error.apiMessage).toBe('Overloaded');
    expect(error.requestID).toMatch(/^req_/);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects a wrong key with an AuthenticationError and spends no scripted reply', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'unused' }] });

    const error = await rejection(client({ apiKey: 'sk-ant-wrong' }).messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] }));

    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(error.type).toBe('authentication_error');
    expect(fake.requests[0]!.apiKey).toBe('wrong');
    expect(fake.pendingReplies).toBe(1);
  });

  it('fails loudly, without retries, when nothing was scripted', async () => {
    const error = await rejection(client({ maxRetries: 2 }).messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] }));

    expect(error.status).toBe(500);
    expect(error.apiMessage).toMatch(/no reply scripted/);
    expect(fake.requests).toHaveLength(1);
  });

  it('answers from respondWith once the queue is empty', async () => {
    fake.respondWith((request) => ({ content: [{ type: 'text', text: `seen ${(request.body as { messages: unknown[] }).messages.length}` }] }));

    const message = await client().messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });

    expect(message.content).toEqual([{ type: 'text', text: 'seen 1', citations: null }]);
  });

  it('lets a hung request run into the client timeout', async () => {
    fake.enqueue({ hang: true });

    const error = await rejection(client({ timeout: 300 }).messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] }));

    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    expect(fake.requests[0]!.status).toBeUndefined();
  });

  it('answers 404 for an unknown path and 405 for a wrong method', async () => {
    const notFound = await rejection(client().post('/v1/complete', { body: {} }));
    expect(notFound).toBeInstanceOf(Anthropic.NotFoundError);
    expect(notFound.type).toBe('not_found_error');

    const response = await fetch(`${fake.url}/v1/messages`, { headers: { 'x-api-key': KEY, 'anthropic-version': '2026-10-21' } });
    expect(response.status).toBe(405);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});

describe('request validation', () => {
  const cases: Array<[string, Record<string, unknown>, string | RegExp]> = [
    ['a conversation starting with the assistant', { messages: [{ role: 'assistant', content: 'Hi' }] }, 'messages: first message must use the "user" role'],
    [
      'two user turns in a row',
      { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] },
      'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row',
    ],
    [
      'a tool_result answering no tool_use',
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_nope', content: 'x' }] },
        ],
      },
      /^messages\.2\.content\.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_nope\./,
    ],
    [
      'a tool_use left unanswered',
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: {} }] },
          { role: 'user', content: 'never mind' },
        ],
      },
      /^messages\.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1\./,
    ],
    ['a missing max_tokens', { max_tokens: undefined }, 'max_tokens: Field required'],
    ['a fractional max_tokens', { max_tokens: 1.5 }, 'max_tokens: Input should be a valid integer'],
    ['an unknown block type', { messages: [{ role: 'user', content: [{ type: 'video', url: 'x' }] }] }, /^messages\.0\.content\.0\.type: Input tag 'video'/],
    ['an unknown field', { maxTokens: 5 }, 'maxTokens: Extra inputs are not permitted'],
    [
      'a tool name outside the pattern',
      { tools: [{ name: 'read file', input_schema: { type: 'object' } }] },
      "tools.0.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'",
    ],
    [
      'five cache breakpoints',
      {
        system: Array.from({ length: 5 }, (_, index) => ({ type: 'text', text: `part ${index}`, cache_control: { type: 'ephemeral' } })),
      },
      'A maximum of 4 blocks with cache_control may be provided. Found 5.',
    ],
  ];

  it.each(cases)('rejects %s with a 400 naming the field', async (_name, change, expected) => {
    fake.enqueue({ content: [{ type: 'text', text: 'unused' }] });
    const body = { model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }], ...change };

    const error = await rejection(client({ maxRetries: 2 }).messages.create(body as never));

    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error.type).toBe('invalid_request_error');
    if (typeof expected === 'string') expect(error.apiMessage).toBe(expected);
    else expect(error.apiMessage).toMatch(expected);
    expect(fake.requests).toHaveLength(1);
    expect(fake.pendingReplies).toBe(1);
  });

  it('rejects a request without anthropic-version', async () => {
    const response = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] }),
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
  });
});

describe('usage and prompt caching', () => {
  const cachedSystem = [{ type: 'text' as const, text: LONG_SYSTEM, cache_control: { type: 'ephemeral' as const } }];

  it('writes a marked system prompt on the first call and reads it on the second', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'one' }] }, { content: [{ type: 'text', text: 'two' }] });
    const sdk = client();
    const ask = () => sdk.messages.create({ model: MODEL, max_tokens: 64, system: cachedSystem, messages: [{ role: 'user', content: 'Balance?' }] });

    const first = (await ask()).usage;
    const second = (await ask()).usage;

    expect(first.cache_creation_input_tokens).toBeGreaterThanOrEqual(1024);
    expect(first.cache_read_input_tokens).toBe(0);
    expect(first.cache_creation).toEqual({ ephemeral_5m_input_tokens: first.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 });
    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBe(0);
    // The unmarked tail (the user turn) is plain input both times.
    expect(second.input_tokens).toBe(first.input_tokens);
    expect(second.input_tokens).toBeGreaterThan(0);
  });

  it('reads the cache on a streamed call too', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'one' }] }, { content: [{ type: 'text', text: 'two' }] });
    const sdk = client();
    const params = { model: MODEL, max_tokens: 64, system: cachedSystem, messages: [{ role: 'user' as const, content: 'Balance?' }] };

    const first = await sdk.messages.create(params);
    const streamed = await sdk.messages.stream(params).finalMessage();

    expect(streamed.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(streamed.usage.input_tokens).toBe(first.usage.input_tokens);
  });

  it('misses when the cached prefix changed, and does not cache a prefix below the minimum', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'a' }] }, { content: [{ type: 'text', text: 'b' }] }, { content: [{ type: 'text', text: 'c' }] });
    const sdk = client();
    const ask = (system: string) =>
      sdk.messages.create({
        model: MODEL,
        max_tokens: 64,
        system: [{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'Balance?' }],
      });

    await ask(LONG_SYSTEM);
    const changed = (await ask(`${LONG_SYSTEM}\nRule 120: be brief.`)).usage;
    const short = (await ask('Be brief.')).usage;

    expect(changed.cache_read_input_tokens).toBe(0);
    expect(changed.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(short).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
  });

  it('reads the prefix a previous turn cached when the breakpoint moves forward', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'first answer' }] }, { content: [{ type: 'text', text: 'second answer' }] });
    const sdk = client();
    const firstTurn = { role: 'user' as const, content: [{ type: 'text' as const, text: LONG_SYSTEM, cache_control: { type: 'ephemeral' as const } }] };

    const first = (await sdk.messages.create({ model: MODEL, max_tokens: 64, messages: [firstTurn] })).usage;
    const second = (
      await sdk.messages.create({
        model: MODEL,
        max_tokens: 64,
        messages: [
          { role: 'user', content: [{ type: 'text', text: LONG_SYSTEM }] },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: [{ type: 'text', text: 'And now?', cache_control: { type: 'ephemeral' } }] },
        ],
      })
    ).usage;

    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(second.input_tokens).toBe(0);
  });

  it('expires a 5-minute entry after five minutes while a 1-hour entry survives', async () => {
    let clock = 1_000_000;
    const timed = await startFakeAnthropic({ apiKey: KEY, now: () => clock });
    try {
      const sdk = new Anthropic({ apiKey: KEY, baseURL: timed.url, maxRetries: 0 });
      timed.respondWith(() => ({ content: [{ type: 'text', text: 'ok' }] }));
      const ask = (ttl: '5m' | '1h') =>
        sdk.messages.create({
          model: MODEL,
          max_tokens: 64,
          system: [{ type: 'text', text: `${ttl}: ${LONG_SYSTEM}`, cache_control: { type: 'ephemeral', ttl } }],
          messages: [{ role: 'user', content: 'Balance?' }],
        });

      const written = await ask('5m');
      const writtenLong = await ask('1h');
      expect(writtenLong.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: writtenLong.usage.cache_creation_input_tokens });
      clock += 4 * 60_000;
      expect((await ask('5m')).usage.cache_read_input_tokens).toBe(written.usage.cache_creation_input_tokens);
      clock += 5 * 60_000 + 1; // five minutes after that read, which refreshed the entry
      expect((await ask('5m')).usage).toMatchObject({ cache_read_input_tokens: 0, cache_creation_input_tokens: written.usage.cache_creation_input_tokens });
      expect((await ask('1h')).usage.cache_read_input_tokens).toBe(writtenLong.usage.cache_creation_input_tokens);
    } finally {
      await timed.close();
    }
  });

  it('warms the cache with max_tokens 0 without spending a scripted reply', async () => {
    const sdk = client();
    const params = { model: MODEL, system: cachedSystem, messages: [{ role: 'user' as const, content: 'Balance?' }] };

    const warm = await sdk.messages.create({ ...params, max_tokens: 0 });
    fake.enqueue({ content: [{ type: 'text', text: 'Balanced.' }] });
    const answer = await sdk.messages.create({ ...params, max_tokens: 64 });

    expect(warm).toMatchObject({ content: [], stop_reason: 'max_tokens', usage: { output_tokens: 0, cache_read_input_tokens: 0 } });
    expect(warm.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(answer.usage.cache_read_input_tokens).toBe(warm.usage.cache_creation_input_tokens);
    expect(fake.pendingReplies).toBe(0);
  });

  it('counts tokens with the same estimate the messages report', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'ok' }] });
    const sdk = client();
    const prompt = { model: MODEL, system: 'Be brief.', messages: [{ role: 'user' as const, content: 'How many tokens is this?' }] };

    const counted = await sdk.messages.countTokens(prompt);
    const message = await sdk.messages.create({ ...prompt, max_tokens: 64 });

    expect(counted.input_tokens).toBe(message.usage.input_tokens);
    expect(fake.requests[0]!.path).toBe('/v1/messages/count_tokens');
  });
});
