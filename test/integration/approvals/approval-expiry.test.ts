/**
 * An approval's expiry is a durable timer on the scheduler's clock: armed while the approval
 * is pending (`awaitExpiry`), it sends `expire` at the deadline; a runtime killed before the
 * deadline arms it again at the next start (and one whose deadline passed while it was down
 * expires at once); a stopped runtime sends nothing; an approval decided in time is left be.
 * Real SQLite store, real actor hosts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command } from '../../../actors/actor-kind.js';
import { actorKinds } from '../../../actors/index.js';
import { openSqliteBackend } from '../../../events/adapters/sqlite/sqlite-backend.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import { ApprovalExpiryTimers } from '../../../runtime/approvals/expiry-timers.js';

const HASH = 'e'.repeat(64);
const silent = { info: () => {}, warn: () => {}, error: () => {} };

let dataDir: string;
let store: EventStore;
const running: { host: ActorHost; timers: ApprovalExpiryTimers }[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-approval-expiry-'));
  store = createEventStore(await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' }), catalogue);
});

afterEach(async () => {
  for (const { host, timers } of running.splice(0)) {
    timers.stop();
    await host.stop();
  }
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A runtime with only the expiry timers among its effects. */
function openRuntime(): { host: ActorHost; timers: ApprovalExpiryTimers } {
  const timers = new ApprovalExpiryTimers({ logger: silent, retryDelayMs: 50 });
  const host = new ActorHost({ store, kinds: actorKinds, defaultActor: 'runtime', requireAllEffects: false, logger: silent, effects: timers.effects });
  const runtime = { host, timers };
  running.push(runtime);
  return runtime;
}

/** Stops it as a kill would leave it: its timers gone with the process. */
async function kill(runtime: { host: ActorHost; timers: ApprovalExpiryTimers }): Promise<void> {
  runtime.timers.stop();
  await runtime.host.idle();
  await runtime.host.stop();
  running.splice(running.indexOf(runtime), 1);
}

async function request(host: ActorHost, approvalId: string, expiresInMs: number): Promise<void> {
  const command: Command = {
    type: 'request',
    requester: 'U0DAVE',
    action: { tool: 'send_payment', summary: 'Pay Acme', argumentsHash: HASH },
    approvers: ['U0ALICE'],
    required: 1,
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  };
  const result = await host.sendUnchecked('approval', approvalId, command, { actor: 'user:U0DAVE' });
  expect(result.status === 'rejected' ? result.reason : result.status).toBe('accepted');
  await host.idle();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const eventTypes = async (approvalId: string) => (await store.readStream(`approval-${approvalId}`)).map((event) => event.type);

async function waitForExpiry(approvalId: string, withinMs = 3_000): Promise<void> {
  const until = Date.now() + withinMs;
  while (!(await eventTypes(approvalId)).includes('approval.expired')) {
    if (Date.now() > until) throw new Error(`approval ${approvalId} did not expire within ${withinMs} ms`);
    await sleep(20);
  }
}

describe("an approval's expiry", () => {
  it('is sent by the timer at the deadline, as the runtime, and recorded once', async () => {
    const { host, timers } = openRuntime();
    await request(host, 'ap-1', 300);
    expect(timers.armed).toBe(1);
    expect(await eventTypes('ap-1')).toEqual(['approval.requested']);
    await waitForExpiry('ap-1');
    await host.idle();
    const events = await store.readStream('approval-ap-1');
    expect(events.map((event) => event.type)).toEqual(['approval.requested', 'approval.expired']);
    expect(events[1]!.metadata.actor).toBe('runtime');
    expect(Date.parse((events[1]!.data as { expiredAt: string }).expiredAt)).toBeGreaterThanOrEqual(Date.parse((events[0]!.data as { expiresAt: string }).expiresAt));
    expect(timers.armed).toBe(0);
  });

  it('survives a kill before the deadline: the next start arms it again from the stream', async () => {
    const first = openRuntime();
    await request(first.host, 'ap-2', 400);
    await kill(first);
    const second = openRuntime();
    await second.host.resumePendingEffects();
    expect(second.timers.armed).toBe(1);
    await waitForExpiry('ap-2');
    expect(await eventTypes('ap-2')).toEqual(['approval.requested', 'approval.expired']);
  });

  it('expires at the next start when its deadline passed while the runtime was down', async () => {
    const first = openRuntime();
    await request(first.host, 'ap-3', 150);
    await kill(first);
    await sleep(300);
    expect(await eventTypes('ap-3')).toEqual(['approval.requested']);
    const second = openRuntime();
    await second.host.resumePendingEffects();
    await waitForExpiry('ap-3', 1_000);
  });

  it('sends nothing once the timers are stopped (shutdown)', async () => {
    const { host, timers } = openRuntime();
    await request(host, 'ap-4', 150);
    timers.stop();
    await sleep(400);
    expect(await eventTypes('ap-4')).toEqual(['approval.requested']);
  });

  it('leaves an approval decided in time as it is', async () => {
    const { host, timers } = openRuntime();
    await request(host, 'ap-5', 200);
    const vote = await host.sendUnchecked('approval', 'ap-5', { type: 'vote', approver: 'U0ALICE', decision: 'approve', argumentsHash: HASH }, { actor: 'user:U0ALICE' });
    expect(vote.status).toBe('accepted');
    await sleep(400);
    expect(await eventTypes('ap-5')).toEqual(['approval.requested', 'approval.vote_cast', 'approval.granted']);
    expect(timers.armed).toBe(0);
  });
});
