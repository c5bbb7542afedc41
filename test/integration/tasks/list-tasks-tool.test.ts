/**
 * list_tasks reads the tasks read model: with the projection running (as in the runtime)
 * it answers without scanning a single task stream (the store it is given refuses to list
 * streams), shows a change made a moment before the call, and keeps its rules: a group
 * sees its own tasks, the admin group every group's, with their group.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { EventStore } from '../../../events/port.js';
import { ProjectionHost } from '../../../projections/projection-host.js';
import { tasksProjection } from '../../../projections/tasks.js';
import { taskIdFor } from '../../../runtime/gateways/host-tools/schedule-task.js';
import { ToolGateway, type HostToolOutcome, type ToolCallContext } from '../../../runtime/gateways/tool-gateway.js';
import { nextCallId, openGatewayWorld, runContext, type GatewayWorld } from '../gateways/gateway-world.js';

let world: GatewayWorld;
let tasks: ProjectionHost;
let gateway: ToolGateway;

const sales = runContext({ runId: 'run-sales', groupId: 'T1.CSALES' });
const ops = runContext({ runId: 'run-ops', groupId: 'T1.COPS' });
const admin = runContext({ runId: 'run-admin', groupId: 'T1.CADMIN', isAdminGroup: true });

/** The world's store, except that listing streams fails the call: list_tasks must not scan. */
function withoutStreamListing(store: EventStore): EventStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'listStreams') return () => Promise.reject(new Error('list_tasks listed the task streams'));
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeEach(async () => {
  world = await openGatewayWorld();
  tasks = new ProjectionHost({ store: world.store, projections: [tasksProjection], dataDir: world.dataDir });
  await tasks.start();
  gateway = new ToolGateway({ actors: world.actors, store: withoutStreamListing(world.store), dataDir: world.dataDir, channel: { post: async () => ({ ref: 'unused' }), postToChannel: async () => ({ posted: false, reason: 'unused' }) } });
});

afterEach(async () => {
  await gateway.close();
  await tasks.stop();
  await world.stop();
});

const call = (name: string, input: unknown, context: ToolCallContext, callId = nextCallId()): Promise<HostToolOutcome> => gateway.call(name, input, { ...context, callId });

async function schedule(context: ToolCallContext, prompt: string, everyMs: number): Promise<string> {
  const callId = nextCallId();
  const outcome = await call('schedule_task', { prompt, schedule: { kind: 'interval', everyMs } }, context, callId);
  expect(outcome.isError, outcome.content).toBe(false);
  return taskIdFor(context.runId, callId);
}

const list = async (context: ToolCallContext, input: Record<string, unknown> = {}) => {
  const outcome = await call('list_tasks', input, context);
  expect(outcome.isError, outcome.content).toBe(false);
  return outcome.content;
};

it("lists a group's own tasks and, for the admin group, every group's with its group, right after they change", async () => {
  expect(await list(sales)).toBe('no active tasks (include_finished shows completed and cancelled ones)');
  const digest = await schedule(sales, 'Sales digest', 86_400_000);
  const pipeline = await schedule(sales, 'Pipeline check', 3_600_000);
  const audit = await schedule(ops, 'Ops audit', 60_000);

  // Listed the moment they are scheduled: the call waits for the read model to catch up.
  expect((await list(sales)).split('\n').sort()).toEqual(
    [`${digest} · scheduled.active · every 1 d · deliver group · "Sales digest"`, `${pipeline} · scheduled.active · every 1 h · deliver group · "Pipeline check"`].sort(),
  );
  expect(await list(ops)).toBe(`${audit} · scheduled.active · every 1 min · deliver group · "Ops audit"`);
  expect((await list(admin)).split('\n').sort()).toEqual(
    [
      `${digest} · scheduled.active · every 1 d · deliver group · group T1.CSALES · "Sales digest"`,
      `${pipeline} · scheduled.active · every 1 h · deliver group · group T1.CSALES · "Pipeline check"`,
      `${audit} · scheduled.active · every 1 min · deliver group · group T1.COPS · "Ops audit"`,
    ].sort(),
  );

  expect((await call('pause_task', { task_id: pipeline }, sales)).isError).toBe(false);
  expect(await list(sales)).toContain(`${pipeline} · scheduled.paused · every 1 h`);
  expect((await call('cancel_task', { task_id: digest }, admin)).isError).toBe(false);
  expect(await list(sales)).toBe(`${pipeline} · scheduled.paused · every 1 h · deliver group · "Pipeline check"`);
  expect(await list(sales, { include_finished: true })).toContain(`${digest} · cancelled · every 1 d · deliver group · "Sales digest"`);
  expect(await list(ops, { include_finished: true })).not.toContain(digest);
});
