/**
 * Issue 16, defect 2: every run ends with exactly one terminal event, and its group then
 * answers the next message. The real runtime in-process (the SQLite store, the actor host
 * with its wiring, the supervisor, the run executor, both gateways), the compiled runner in
 * the process sandbox, the Anthropic fake as the model; the runs that used to be left
 * `running`: a tool input nested thousands of levels deep, a runner sending a frame over
 * the size limit, and a store that refuses writes in the middle of a run.
 */
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
import { ProjectionHost } from '../../../projections/projection-host.js';
import { readModelProjections } from '../../../projections/index.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { actorWiring } from '../../../runtime/actor-wiring.js';
import { conversationEffects, loggedChannel } from '../../../runtime/channels/conversation-channel.js';
import { loadConfig } from '../../../runtime/config.js';
import { createLogger } from '../../../runtime/logger.js';
import { openAgentRuns, type AgentRuns } from '../../../runtime/runs/agent-runs.js';
import { ProcessSandbox } from '../../../runtime/sandbox/process-sandbox.js';
import type { Sandbox } from '../../../runtime/sandbox/sandbox.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-messages.js';
import { builtFile } from '../../support/built-dist.js';
import { RUN_ENDINGS, runEnded, sayToGroup } from '../../support/group-turns.js';

const KEY = 'sk-endings';
const GROUP = 'T1.C1';

/** A store whose appends can be refused for a while, as a full disk refuses them. */
interface RefusingStore {
  readonly store: EventStore;
  /** Refuse every append from the first one `when` matches, until `freed()`; resolves at that first refusal. */
  refuseFrom(when: (streamId: string, types: readonly string[]) => boolean): Promise<void>;
  freed(): void;
  refusals(): number;
}

function refusing(inner: EventStore): RefusingStore {
  let trigger: ((streamId: string, types: readonly string[]) => boolean) | null = null;
  let refusing = false;
  let refused = 0;
  let started: () => void = () => undefined;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property !== 'append') {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: Parameters<EventStore['append']>) => {
        const [streamId, events] = args;
        if (!refusing && trigger?.(streamId, events.map((event) => event.type))) {
          refusing = true;
          started();
        }
        if (refusing) {
          refused += 1;
          throw new Error('SQLITE_FULL: database or disk is full');
        }
        return target.append(...args);
      };
    },
  });
  return {
    store,
    refuseFrom: (when) =>
      new Promise<void>((resolve) => {
        trigger = when;
        started = resolve;
      }),
    freed: () => {
      refusing = false;
      trigger = null;
    },
    refusals: () => refused,
  };
}

let fake: FakeAnthropic;
let root: string;
let host: ActorHost;
let runs: AgentRuns;
let projections: ProjectionHost;
let refusal: RefusingStore;
let closeStore: () => Promise<void>;
/** The next run's sandbox command instead of the runner, when set (then cleared). */
let nextCommand: string[] | null = null;

beforeEach(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
  root = await mkdtemp(join(tmpdir(), 'ledgerclaw-run-endings-'));
  const { config } = loadConfig({ env: { LEDGERCLAW_DATA: join(root, 'data'), ANTHROPIC_BASE_URL: fake.url, LEDGERCLAW_SANDBOX: 'process' }, cwd: root });
  const backend = await openSqliteBackend({ path: join(root, 'events.db'), mode: 'writer' });
  const inner = createEventStore(backend, catalogue);
  closeStore = () => inner.close();
  refusal = refusing(inner);
  const logger = createLogger({ level: 'silent' });
  projections = new ProjectionHost({ store: refusal.store, projections: readModelProjections, dataDir: config.dataDir, logger });
  const processes = new ProcessSandbox({ runsDir: join(root, 'runs'), runnerMain: builtFile('container/runner/main.js') });
  const sandbox: Sandbox = {
    kind: processes.kind,
    isolation: processes.isolation,
    highRiskToolsAllowed: processes.highRiskToolsAllowed,
    findLeftovers: () => processes.findLeftovers(),
    removeLeftover: (id) => processes.removeLeftover(id),
    start: (spec) => {
      const command = nextCommand;
      nextCommand = null;
      return processes.start(command ? { ...spec, command } : spec);
    },
  };
  runs = await openAgentRuns({
    config,
    store: refusal.store,
    actors: () => host,
    env: { ANTHROPIC_API_KEY: KEY },
    channel: { post: async (message) => ({ ref: message.callId }), postToChannel: async (post) => ({ posted: true, ref: post.key }) },
    caughtUp: (name, position) => projections.waitFor(name, position),
    logger,
    sandbox,
  });
  host = new ActorHost({ requireAllEffects: false, store: refusal.store, kinds: actorKinds, effects: { ...actorWiring, ...runs.effects, ...conversationEffects(() => loggedChannel(logger)) }, logger });
  await projections.start();
  await host.send('supervisor', SUPERVISOR_ID, { type: 'configure', maxConcurrentRuns: 2, maxRunsPerGroup: 1 });
  await host.send('group', GROUP, { type: 'configure', triggerMode: 'all', allowedSenders: [], isAdmin: false });
});

afterEach(async () => {
  refusal.freed();
  await runs.close();
  await host.stop();
  await projections.stop();
  await closeStore();
  await fake.close();
  await rm(root, { recursive: true, force: true });
});

const say = (text: string) => sayToGroup(host, GROUP, 'U1', text);
const ended = (runId: string, timeoutMs?: number) => runEnded(refusal.store, runId, timeoutMs);

function terminal(events: readonly StoredEvent[]): StoredEvent[] {
  return events.filter((event) => RUN_ENDINGS.includes(event.type));
}

/** The group is not stuck: the next message gets its answer. */
async function answersTheNextMessage(): Promise<void> {
  fake.enqueue({ content: [{ type: 'text', text: 'Still here.' }] });
  const next = await ended(await say('Are you there?'));
  expect(terminal(next).map((event) => [event.type, (event.data as { summary?: string }).summary])).toEqual([['run.completed', 'Still here.']]);
}

describe('defect 2 (issue 16): every run ends with one terminal event, and the group answers the next message', () => {
  it('defect 2: a tool input nested 2,500 levels deep is a tool error for the model, and the run completes', async () => {
    const deep = JSON.parse(`{"query":${'['.repeat(2_500)}${']'.repeat(2_500)}}`) as Record<string, unknown>;
    fake.enqueue({ content: [{ type: 'tool_use', name: 'memory_search', input: deep }] }, { content: [{ type: 'text', text: 'Flatter next time.' }] });
    const events = await ended(await say('Search for something odd.'));
    expect(terminal(events).map((event) => [event.type, event.data])).toEqual([["run.completed", expect.anything()]]);
    const call = events.find((event) => event.type === 'run.tool_called')!.data as { isError: boolean; input: unknown; output: string };
    expect(call).toMatchObject({ isError: true, input: { refused: 'nested deeper than 64 levels' }, output: expect.stringMatching(/nests deeper than 64 levels/) });
    // The model read the refusal.
    expect(JSON.stringify(fake.requests[1]!.body)).toMatch(/nests deeper than 64 levels/);
    await answersTheNextMessage();
  });

  it('defect 2: a runner sending a frame over the size limit ends the run oversized_frame at once', async () => {
    const ready = 'const f=Buffer.from(JSON.stringify({type:"ready",protocol:1}));const h=Buffer.alloc(4);h.writeUInt32BE(f.length);process.stdout.write(Buffer.concat([h,f]));';
    const oversized = 'const o=Buffer.alloc(4);o.writeUInt32BE(64*1024*1024);process.stdout.write(o);setTimeout(()=>{},60000);';
    nextCommand = [process.execPath, '-e', ready + oversized];
    const events = await ended(await say('Hello?'), 10_000);
    expect(terminal(events).map((event) => [event.type, (event.data as { reason?: string }).reason])).toEqual([['run.failed', 'oversized_frame']]);
    expect((terminal(events)[0]!.data as { detail: string }).detail).toMatch(/announced 67108864 bytes, over the 16777216-byte limit/);
    await answersTheNextMessage();
  });

  it('defect 2: a store that refuses writes mid-run: the ending is retried until stored, as recording_failed, once', async () => {
    fake.enqueue({ content: [{ type: 'tool_use', name: 'memory_search', input: { query: 'payment terms' } }] }, { content: [{ type: 'text', text: 'Nothing found.' }] });
    const full = refusal.refuseFrom((streamId, types) => streamId.startsWith('run-') && types.includes('run.tool_called'));
    const runId = await say('What are the payment terms?');
    await full;
    // The disk stays full while the run ends and its ending is tried again, then space is freed.
    while (refusal.refusals() < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    refusal.freed();
    const events = await ended(runId);
    expect(terminal(events)).toHaveLength(1);
    expect(terminal(events)[0]!.type).toBe('run.failed');
    expect(terminal(events)[0]!.data).toMatchObject({ reason: 'recording_failed', detail: expect.stringMatching(/the run completed, but not all of it was recorded: host tool call .*SQLITE_FULL/) });
    await answersTheNextMessage();
  });
});
