/**
 * The tool gateway as the run executor uses it: definitions a model can be given, and
 * calls that never throw whatever they are sent: an unknown tool, an input that does not
 * fit, a read model not built yet, a channel that fails. send_message reaches the channel.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toolDefinitionSchema } from '../../../container/protocol/messages.js';
import { ToolGateway } from '../../../runtime/gateways/tool-gateway.js';
import { openGatewayWorld, permissionsAllowing, runContext, type GatewayWorld } from './gateway-world.js';

const HOST_TOOLS = ['send_message', 'memory_search', 'memory_write', 'search_knowledge', 'schedule_task', 'list_tasks', 'pause_task', 'resume_task', 'cancel_task', 'set_task_delivery', 'post_message', 'http_request', 'web_fetch'];

/** One input each tool accepts, and one field each must refuse. */
const SAMPLES: Record<string, { valid: unknown; invalid: unknown; names: string }> = {
  send_message: { valid: { text: 'hello' }, invalid: { text: 42 }, names: 'text: expected a string' },
  memory_search: { valid: { query: 'acme terms', limit: 5 }, invalid: { query: 'acme', limit: 0 }, names: 'limit: must be at least 1' },
  memory_write: { valid: { key: 'vendor.acme.terms', statement: 'Net 30.' }, invalid: { key: 7, statement: 'x' }, names: 'key: expected a string' },
  search_knowledge: { valid: { query: 'merger', source: 'wiki' }, invalid: { query: 'merger', source: 'Not A Source' }, names: 'source:' },
  schedule_task: {
    valid: { prompt: 'Summarise the week', schedule: { kind: 'cron', expression: '0 9 * * 1' } },
    invalid: { prompt: 'x', schedule: { kind: 'hourly' } },
    names: 'schedule.kind:',
  },
  list_tasks: { valid: {}, invalid: { include_finished: 'yes' }, names: 'include_finished: expected a boolean' },
  pause_task: { valid: { task_id: 't-1', reason: 'holiday' }, invalid: { task_id: '' }, names: 'task_id: must not be empty' },
  resume_task: { valid: { task_id: 't-1' }, invalid: { task_id: 't-1', reason: 'back' }, names: 'unknown field "reason"' },
  cancel_task: { valid: { task_id: 't-1' }, invalid: {}, names: 'task_id: expected a string' },
  set_task_delivery: { valid: { task_id: 't-1', deliver: 'silent' }, invalid: { task_id: 't-1', deliver: 'dm' }, names: 'deliver:' },
  post_message: { valid: { channel: 'C0123ABCD', text: 'hello', reason: 'they asked' }, invalid: { channel: '#general', text: 'hello' }, names: 'channel: expected a Slack channel id' },
  http_request: { valid: { action: 'crm_export', body: { ids: [1, 2] } }, invalid: { action: 'crm_export', url: 'https://evil.example' }, names: 'unknown field "url"' },
  web_fetch: { valid: { url: 'https://docs.example.com/terms', reason: 'the user asked' }, invalid: { url: 42 }, names: 'url: expected a string' },
};

/** What every tool's input schema must be: an object schema with its fields listed, nothing else allowed. */
const objectSchemaShape = z.looseObject({
  type: z.literal('object'),
  properties: z.record(z.string(), z.unknown()),
  required: z.array(z.string()).optional(),
  additionalProperties: z.unknown(),
});

let world: GatewayWorld;
const group = runContext({ groupId: 'T1.C1', userId: 'U1' });

beforeEach(async () => {
  world = await openGatewayWorld();
});

afterEach(async () => {
  await world.stop();
});

describe('definitions', () => {
  it('offers every host tool in the shape the runner protocol accepts', () => {
    const definitions = world.gateway.definitions(group);
    expect(definitions.map((definition) => definition.name)).toEqual(HOST_TOOLS);
    for (const definition of definitions) expect(toolDefinitionSchema.safeParse(definition).success, definition.name).toBe(true);
  });

  it('gives each tool a JSON schema that accepts what the tool accepts and refuses what it refuses', () => {
    for (const definition of world.gateway.definitions(group)) {
      const sample = SAMPLES[definition.name]!;
      const schema = objectSchemaShape.parse(definition.input_schema);
      expect(schema.additionalProperties, definition.name).toBe(false);
      for (const field of schema.required ?? []) expect(Object.keys(schema.properties), definition.name).toContain(field);
      // Read back as a validator, the JSON schema agrees with the zod schema it came from.
      const fromJson = z.fromJSONSchema(definition.input_schema as Parameters<typeof z.fromJSONSchema>[0]);
      expect(fromJson.safeParse(sample.valid).success, `${definition.name} valid`).toBe(true);
      expect(fromJson.safeParse(sample.invalid).success, `${definition.name} invalid`).toBe(false);
    }
  });

  it('tells the admin group it manages every group, and other groups only their own', () => {
    const listTasksDescription = (isAdminGroup: boolean) =>
      world.gateway.definitions({ ...group, isAdminGroup }).find((definition) => definition.name === 'list_tasks')!.description;
    expect(listTasksDescription(true)).toContain("every group's");
    expect(listTasksDescription(false)).toContain("this conversation's");
  });
});

describe('calls never throw', () => {
  it('answers an unknown tool with an error naming the tools there are', async () => {
    const outcome = await world.call('delete_everything', {}, group);
    expect(outcome.isError).toBe(true);
    expect(outcome.content).toMatch(/^delete_everything: not a host tool \(host tools: send_message, memory_search/);
  });

  it('names the field of an invalid input, for every tool', async () => {
    for (const [name, sample] of Object.entries(SAMPLES)) {
      const outcome = await world.call(name, sample.invalid, group);
      expect(outcome.isError, name).toBe(true);
      expect(outcome.content, name).toContain(`${name}: `);
      expect(outcome.content, name).toContain(sample.names);
    }
  });

  it('says memory_write: key: expected a string', async () => {
    expect(await world.call('memory_write', { key: 7, statement: 'Net 30.' }, group)).toMatchObject({ content: 'memory_write: key: expected a string', isError: true });
  });

  it('refuses an input that is not an object at all', async () => {
    for (const input of [null, 'text', [1, 2], undefined]) {
      const outcome = await world.call('send_message', input, group);
      expect(outcome.isError).toBe(true);
      expect(outcome.content).toMatch(/^send_message: input: /);
    }
  });

  it('says the memory index is not built yet, before the projection host ever ran', async () => {
    const bare = new ToolGateway({ actors: world.actors, store: world.store, dataDir: `${world.dataDir}/nothing-here`, channel: { post: async () => ({ ref: 'x' }), postToChannel: async () => ({ posted: false, reason: 'unused' }) } });
    try {
      const outcome = await bare.call('memory_search', { query: 'acme' }, group);
      expect(outcome).toEqual({ isError: true, outcome: 'failed', tier: 'read', approvalId: null, content: expect.stringContaining('the memory index is not built yet') });
      const knowledge = await bare.call('search_knowledge', { query: 'acme' }, group);
      expect(knowledge).toEqual({ isError: true, outcome: 'failed', tier: 'read', approvalId: null, content: expect.stringContaining('no knowledge source has been synced') });
    } finally {
      await bare.close();
    }
  });
});

describe('send_message', () => {
  it("reaches the channel with the run's group, run and call, and confirms with the channel's ref", async () => {
    const outcome = await world.call('send_message', { text: 'Halfway through the invoices.' }, group, 'toolu_send1');
    expect(outcome).toMatchObject({ content: `sent (test:${group.runId}:toolu_send1)`, isError: false });
    expect(world.posted).toEqual([{ groupId: 'T1.C1', runId: group.runId, callId: 'toolu_send1', text: 'Halfway through the invoices.' }]);
  });

  it('posts into the conversation the run answers: a thread of the group', async () => {
    const thread = { ...group, conversationId: 'T1.C1.1712345678.000100' };
    await world.call('send_message', { text: 'Looking into it.' }, thread, 'toolu_thread');
    expect(world.posted).toEqual([{ groupId: 'T1.C1.1712345678.000100', runId: group.runId, callId: 'toolu_thread', text: 'Looking into it.' }]);
  });

  it("posts as a named role, under the role's name and icon", async () => {
    const outcome = await world.call('send_message', { text: 'Found three invoices from Acme.', as: 'researcher' }, group, 'toolu_role');
    expect(outcome).toMatchObject({ content: `sent as Researcher (test:${group.runId}:toolu_role)`, isError: false });
    expect(world.posted).toEqual([
      { groupId: 'T1.C1', runId: group.runId, callId: 'toolu_role', text: 'Found three invoices from Acme.', identity: { name: 'Researcher', icon: ':mag:' } },
    ]);
  });

  it('lets only the main agent address people, unless the group allows the role', async () => {
    const refusedOutcome = await world.call('send_message', { text: '<@U024BE7LH> please check', as: 'Reviewer' }, group, 'toolu_r1');
    expect(refusedOutcome.isError).toBe(true);
    expect(refusedOutcome.content).toMatch(/^send_message: Reviewer may not address people in this conversation/);
    expect((await world.call('send_message', { text: 'Heads up <!here>', as: 'Coder' }, group, 'toolu_r2')).isError).toBe(true);
    expect(world.posted).toEqual([]);
    expect((await world.call('send_message', { text: '<@U024BE7LH> please check' }, group, 'toolu_r3')).isError).toBe(false);
    const allowed = { ...group, rolesAddressingUsers: ['Reviewer'] };
    expect((await world.call('send_message', { text: '<@U024BE7LH> please check', as: 'Reviewer' }, allowed, 'toolu_r4')).isError).toBe(false);
    expect(world.posted.map((message) => message.callId)).toEqual(['toolu_r3', 'toolu_r4']);
  });

  it('names the roles there are when asked for one that is not', async () => {
    expect(await world.call('send_message', { text: 'hi', as: 'Accountant' }, group)).toMatchObject({
      content: "send_message: as: no role 'Accountant' (roles: Researcher, Coder, Reviewer)",
      isError: true,
    });
  });

  it('describes the roles and who may address people to the model', () => {
    const definition = world.gateway.definitions(group).find((tool) => tool.name === 'send_message')!;
    expect(definition.description).toContain('Researcher (finds and checks facts');
    expect(definition.description).toContain('Roles may not mention people or the channel here');
  });

  it('refuses a blank or overlong message without posting it', async () => {
    expect((await world.call('send_message', { text: '   ' }, group)).content).toBe('send_message: text: must not be blank');
    expect((await world.call('send_message', { text: 'x'.repeat(40_001) }, group)).content).toBe('send_message: text: must be at most 40000 characters');
    expect(world.posted).toEqual([]);
  });

  it('reports a channel that fails as an error outcome', async () => {
    const failing = new ToolGateway({
      actors: world.actors,
      store: world.store,
      dataDir: world.dataDir,
      permissions: permissionsAllowing('external'),
      channel: {
        post: async () => {
          throw new Error('Slack said channel_not_found');
        },
        postToChannel: async () => {
          throw new Error('Slack said channel_not_found');
        },
      },
    });
    try {
      expect(await failing.call('send_message', { text: 'hi' }, { ...group, callId: 'toolu_x' })).toMatchObject({
        content: 'send_message: the message was not delivered: Slack said channel_not_found',
        isError: true,
      });
      expect(await failing.call('post_message', { channel: 'C0OTHER', text: 'hi' }, { ...group, callId: 'toolu_y' })).toMatchObject({
        content: 'post_message: the message was not delivered: Slack said channel_not_found',
        isError: true,
      });
    } finally {
      await failing.close();
    }
  });

  it('keys a call without a tool_use id by its input, the same input the same key', async () => {
    await world.gateway.call('send_message', { text: 'same' }, group);
    await world.gateway.call('send_message', { text: 'same' }, group);
    await world.gateway.call('send_message', { text: 'other' }, group);
    const [first, second, third] = world.posted.map((message) => message.callId);
    expect(first).toMatch(/^input-[0-9a-f]{32}$/);
    expect(second).toBe(first);
    expect(third).not.toBe(first);
  });
});
