/**
 * Issue 19, through the real runtime in-process: the SQLite store, the actor host with its
 * wiring, the run executor, both gateways, the compiled runner in the process sandbox and
 * the Anthropic fake as the model. A group whose tier is `read` is offered no tool that
 * writes in its sandbox, and a host tool above its tier asks for an approval instead of
 * running, recorded on the run's stream with its tier and outcome.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actorKinds } from '../../../actors/index.js';
import { SUPERVISOR_ID } from '../../../actors/supervisor.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { StoredEvent } from '../../../events/envelope.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { actorWiring } from '../../../runtime/actor-wiring.js';
import { conversationEffects, loggedChannel } from '../../../runtime/channels/conversation-channel.js';
import { loadConfig, type Config } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { permissionsConfigSchema } from '../../../runtime/permissions/policy-config.js';
import { groupWorkspaceDir } from '../../../runtime/runs/run-executor.js';
import { openAgentRuns, type AgentRuns } from '../../../runtime/runs/agent-runs.js';
import { ProcessSandbox } from '../../../runtime/sandbox/process-sandbox.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';
import { builtFile } from '../../support/built-dist.js';
import { RUN_ENDINGS, runEnded, sayToGroup } from '../../support/group-turns.js';

const KEY = 'sk-tiers';
const GROUP = 'T1.C1';

let fake: FakeAnthropic;
let root: string;
let config: Config;
let store: EventStore;
let host: ActorHost;
let runs: AgentRuns;

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
  root = await mkdtemp(join(tmpdir(), 'ledgerclaw-tool-tiers-'));
  const loaded = loadConfig({ env: { LEDGERCLAW_DATA: join(root, 'data'), ANTHROPIC_BASE_URL: fake.url, LEDGERCLAW_SANDBOX: 'process' }, cwd: root }).config;
  // The channel C1 may only read; U071 approves what goes above.
  config = { ...loaded, permissions: permissionsConfigSchema.parse({ roles: { admin: ['U071'] }, groups: { C1: { maxTier: 'read' } } }) };
  store = createEventStore(await openSqliteBackend({ path: join(root, 'events.db'), mode: 'writer' }), catalogue);
  const logger = createLogger({ level: 'silent' });
  runs = await openAgentRuns({
    config,
    store,
    actors: () => host,
    env: { ANTHROPIC_API_KEY: KEY },
    channel: { post: async (message) => ({ ref: message.callId }), postToChannel: async () => ({ posted: false, reason: 'no other channels in this test' }) },
    caughtUp: async () => undefined,
    logger,
    sandbox: new ProcessSandbox({ runsDir: join(root, 'runs'), runnerMain: builtFile('container/runner/main.js') }),
  });
  host = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds, effects: { ...actorWiring, ...runs.effects, ...conversationEffects(() => loggedChannel(logger)) }, logger });
  await host.send('supervisor', SUPERVISOR_ID, { type: 'configure', maxConcurrentRuns: 2, maxRunsPerGroup: 1 });
  await host.send('group', GROUP, { type: 'configure', triggerMode: 'all', allowedSenders: [], isAdmin: false });
});

afterEach(async () => {
  await runs.close();
  await host.stop();
  await store.close();
  await fake.close();
  await rm(root, { recursive: true, force: true });
});

const say = (text: string) => sayToGroup(host, GROUP, 'U011', text);
const ended = (runId: string, timeoutMs?: number) => runEnded(store, runId, timeoutMs);

const toolCalls = (events: readonly StoredEvent[]) => events.filter((event) => event.type === 'run.tool_called').map((event) => event.data as Record<string, unknown>);
const offeredTools = (request: number) => ((fake.requests[request]!.body as { tools?: { name: string }[] }).tools ?? []).map((tool) => tool.name);

describe('issue 19: a read-only group', () => {
  it("is offered no workspace tool that writes; a write_file the model sends anyway is refused in the sandbox, recorded refused at tier write, and nothing is written", async () => {
    fake.enqueue({ content: [{ type: 'tool_use', name: 'write_file', input: { path: 'notes.md', content: 'written anyway' } }] }, { content: [{ type: 'text', text: 'I may not write here.' }] });
    const events = await ended(await say('Write notes.md for me.'));
    expect(events.filter((event) => RUN_ENDINGS.includes(event.type)).map((event) => event.type)).toEqual(['run.completed']);
    const offered = offeredTools(0);
    expect(offered).toEqual(expect.arrayContaining(['read_file', 'list_files', 'grep']));
    for (const tool of ['write_file', 'edit_file', 'bash']) expect(offered).not.toContain(tool);
    expect(toolCalls(events)).toEqual([expect.objectContaining({ tool: 'write_file', where: 'workspace', isError: true, tier: 'write', outcome: 'refused', approvalId: null })]);
    expect(existsSync(join(groupWorkspaceDir(config.dataDir, GROUP), 'notes.md'))).toBe(false);
  });

  it("asks for an approval before a host tool above its tier: the run records the call as approval_requested, and the approval names the run, group and user", async () => {
    fake.enqueue(
      { content: [{ type: 'tool_use', name: 'memory_write', input: { key: 'vendor.acme.terms', statement: 'Acme pays net 30.' } }] },
      { content: [{ type: 'text', text: 'Waiting for approval.' }] },
    );
    const runId = await say('Remember that Acme pays net 30.');
    const events = await ended(runId);
    const [call] = toolCalls(events);
    expect(call).toMatchObject({ tool: 'memory_write', where: 'host', isError: false, tier: 'write', outcome: 'approval_requested', approvalId: expect.stringMatching(/^ap-[0-9a-f]{24}$/) });
    const approval = await store.readStream(`approval-${call!.approvalId as string}`);
    expect(approval.map((event) => event.type)).toEqual(['approval.requested']);
    expect(approval[0]!.data).toMatchObject({
      requester: `agent:run-${runId}`,
      approvers: ['U071'],
      required: 1,
      origin: { runId, groupId: GROUP, conversationId: expect.stringMatching(/^T1\.C1/), userId: 'U011' },
      policy: { tier: 'write', maxTier: 'read', maxTierFrom: 'permissions.groups.C1', rule: 'permissions.tiers.external' },
    });
    // Nothing ran, and the model was told so.
    expect((await store.readAll()).some((event) => event.type === 'memory.fact_recorded')).toBe(false);
    expect(JSON.stringify(fake.requests[1]!.body)).toContain(`Approval ${call!.approvalId as string} is pending`);
  });
});
