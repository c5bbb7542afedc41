/**
 * Issue 19: the tool gateway asks the permission policy before a host tool runs. At or
 * below the group's tier a call runs; above it, the call records one approval request for
 * its exact arguments and answers that it is pending, and nothing runs; when nobody could
 * approve it, it is refused and nothing is recorded. Real SQLite, the real actor host.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { canonicalJson } from '../../../events/canonical-json.js';
import { MAX_APPROVAL_ARGUMENTS_CHARS } from '../../../events/catalogue/approval.js';
import type { StoredEvent } from '../../../events/envelope.js';
import { approvalIdFor } from '../../../runtime/gateways/approval-request.js';
import { answered, defineHostTool } from '../../../runtime/gateways/host-tools/host-tool.js';
import { hostTools } from '../../../runtime/gateways/host-tools/index.js';
import { permissionsConfigSchema } from '../../../runtime/permissions/policy-config.js';
import { openGatewayWorld, runContext, type GatewayWorld } from './gateway-world.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What the test's own critical tool was asked to do, had it run. */
let wired: unknown[] = [];

/** A critical tool of the test's own: nothing real moves, but a run would show here. */
const wireMoney = defineHostTool({
  name: 'wire_money',
  tier: 'critical',
  description: 'Wire money to a payee (test tool).',
  inputSchema: z.strictObject({
    amount: z.number().int().positive(),
    to: z.string().min(1),
    currency: z.string().default('EUR'),
    memo: z.string().max(100_000).optional(),
    reason: z.string().max(2_000).optional(),
  }),
  summarize: (input) => `wire ${input.amount} ${input.currency} to ${input.to}`,
  async run(input) {
    wired.push(input);
    return answered(`wired ${input.amount}`);
  },
});

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
const HOUR_MS = 3_600_000;

/** U071, U082 and the operator approve wire_money, two of them; C2's conversations may use anything. */
const policy = permissionsConfigSchema.parse({
  roles: { admin: ['U071'] },
  groups: { C2: { maxTier: 'critical' } },
  tools: { wire_money: { approvers: ['U071', 'U082', 'operator'], required: 2, expiresAfterMs: HOUR_MS } },
});

let world: GatewayWorld | undefined;

async function open(permissions = policy): Promise<GatewayWorld> {
  wired = [];
  world = await openGatewayWorld({ gateway: { permissions, now: () => NOW, tools: [...hostTools, wireMoney] } });
  return world;
}

afterEach(async () => {
  await world?.stop();
  world = undefined;
});

async function allEvents(w: GatewayWorld): Promise<StoredEvent[]> {
  return w.store.readAll();
}

const thread = runContext({ groupId: 'T1.C1', conversationId: 'T1.C1.1712345678.000100', userId: 'U011', runId: 'r-41' });
const wire = { amount: 2_130, to: 'ACME Ltd', reason: 'the customer asked for their refund' };

describe('at or below the group tier, a call runs', () => {
  it('runs a write tool under the default ceiling (write) and records it executed at its tier', async () => {
    const w = await open();
    const outcome = await w.call('memory_write', { key: 'vendor.acme.terms', statement: 'Acme pays net 30.' }, thread);
    expect(outcome).toMatchObject({ isError: false, outcome: 'executed', tier: 'write', approvalId: null });
    expect(outcome.content).toMatch(/fact/i);
  });

  it('runs a critical tool at once in a group whose ceiling is critical (by its Slack channel), asking nobody', async () => {
    const w = await open();
    const outcome = await w.call('wire_money', wire, runContext({ groupId: 'T1.C2', userId: 'U011' }));
    expect(outcome).toMatchObject({ isError: false, outcome: 'executed', tier: 'critical', approvalId: null });
    expect(wired).toHaveLength(1);
    expect((await allEvents(w)).filter((event) => event.type === 'approval.requested')).toEqual([]);
  });

  it('a tool the model made up is failed with no tier; an invalid input is failed before the policy asks anyone', async () => {
    const w = await open();
    expect(await w.call('launch_rockets', {}, thread)).toMatchObject({ isError: true, outcome: 'failed', tier: null, approvalId: null });
    const invalid = await w.call('wire_money', { amount: -5, to: 'ACME Ltd' }, thread);
    expect(invalid).toMatchObject({ isError: true, outcome: 'failed', tier: 'critical', approvalId: null });
    expect(invalid.content).toMatch(/amount/);
    expect(await allEvents(w)).toEqual([]);
  });
});

describe('above the group tier, with nobody to approve, a call is refused', () => {
  it('refuses send_message raised to external when the admin role is empty: nothing runs, nothing is recorded, and the model is told why', async () => {
    const w = await open(permissionsConfigSchema.parse({ tools: { send_message: { tier: 'external' } } }));
    const outcome = await w.call('send_message', { text: 'Hello, other channel' }, thread);
    expect(outcome).toMatchObject({ isError: true, outcome: 'refused', tier: 'external', approvalId: null });
    expect(outcome.content).toMatch(/nobody is configured to approve it/);
    expect(w.posted).toEqual([]);
    expect(await allEvents(w)).toEqual([]);
  });

  it('refuses when the only approver is the person the call acts for (no self-approval)', async () => {
    const w = await open(permissionsConfigSchema.parse({ roles: { admin: ['U011'] }, tools: { send_message: { tier: 'external' } } }));
    expect(await w.call('send_message', { text: 'Hello' }, thread)).toMatchObject({ outcome: 'refused' });
    expect(await allEvents(w)).toEqual([]);
  });
});

describe('above the group tier, a call asks for approval and nothing runs', () => {
  it('records exactly one approval.requested with the canonical arguments, their hash, the origin and the policy, and answers that it is pending', async () => {
    const w = await open();
    const outcome = await w.call('wire_money', wire, thread, 'toolu_wire');
    const approvalId = approvalIdFor('r-41', 'toolu_wire');
    expect(approvalId).toMatch(/^ap-[0-9a-f]{24}$/);
    expect(outcome).toMatchObject({ isError: false, outcome: 'approval_requested', tier: 'critical', approvalId });
    expect(wired).toEqual([]);

    const requested = (await allEvents(w)).filter((event) => event.type === 'approval.requested');
    expect(requested).toHaveLength(1);
    const [event] = requested;
    expect(event!.streamId).toBe(`approval-${approvalId}`);
    expect(event!.metadata.actor).toBe('agent:run-r-41');
    // The parsed input (the default currency filled in), without the model's reason.
    const args = canonicalJson({ amount: 2_130, currency: 'EUR', to: 'ACME Ltd' });
    expect(event!.data).toEqual({
      requester: 'agent:run-r-41',
      action: {
        tool: 'wire_money',
        summary: 'wire 2130 EUR to ACME Ltd',
        arguments: args,
        argumentsHash: sha256(args),
        tier: 'critical',
        reason: 'the customer asked for their refund',
      },
      approvers: ['U071', 'U082', 'operator'],
      required: 2,
      expiresAt: new Date(NOW.getTime() + HOUR_MS).toISOString(),
      requestedAt: expect.any(String),
      origin: { runId: 'r-41', groupId: 'T1.C1', conversationId: 'T1.C1.1712345678.000100', userId: 'U011' },
      policy: { tier: 'critical', maxTier: 'write', maxTierFrom: 'permissions.defaultMaxTier', rule: 'permissions.tools.wire_money' },
    });

    expect(outcome.content).toContain(`Approval ${approvalId} is pending`);
    expect(outcome.content).toContain('nothing has run');
    expect(outcome.content).toContain('<@U071>, <@U082> and the operator');
    expect(outcome.content).toContain('2 of 3');
    expect(outcome.content).toContain(new Date(NOW.getTime() + HOUR_MS).toISOString());
    expect(outcome.content).toContain('posted in this conversation');
    expect(outcome.content).toMatch(/Tell the user .* end your turn/);
  });

  it('a retried call (the same tool_use) asks for the same approval: no second request, the same answer', async () => {
    const w = await open();
    const first = await w.call('wire_money', wire, thread, 'toolu_wire');
    const again = await w.call('wire_money', wire, thread, 'toolu_wire');
    expect(again).toEqual(first);
    expect((await allEvents(w)).filter((event) => event.type === 'approval.requested')).toHaveLength(1);
    expect(wired).toEqual([]);
  });

  it("the model's reason is not part of what is approved: other words, the same arguments and hash", async () => {
    const w = await open();
    const one = await w.call('wire_money', wire, thread, 'toolu_a');
    const other = await w.call('wire_money', { ...wire, reason: 'it is urgent, trust me' }, thread, 'toolu_b');
    expect(one.approvalId).not.toBe(other.approvalId);
    const actions = (await allEvents(w))
      .filter((event) => event.type === 'approval.requested')
      .map((event) => (event.data as { action: { arguments: string; argumentsHash: string; reason: string | null } }).action);
    expect(actions.map((action) => action.reason)).toEqual(['the customer asked for their refund', 'it is urgent, trust me']);
    expect(actions[0]!.arguments).toBe(actions[1]!.arguments);
    expect(actions[0]!.argumentsHash).toBe(actions[1]!.argumentsHash);
    expect(actions[0]!.arguments).not.toContain('reason');
  });

  it('refuses a call whose arguments are too large for an approval to show, recording nothing', async () => {
    const w = await open();
    const outcome = await w.call('wire_money', { ...wire, memo: 'x'.repeat(MAX_APPROVAL_ARGUMENTS_CHARS) }, thread);
    expect(outcome).toMatchObject({ isError: true, outcome: 'refused', tier: 'critical', approvalId: null });
    expect(outcome.content).toMatch(new RegExp(`longer than an approval may show its approvers \\(${MAX_APPROVAL_ARGUMENTS_CHARS}\\)`));
    expect(await allEvents(w)).toEqual([]);
    expect(wired).toEqual([]);
  });

  it('a read-only group asks before a write tool, under the external rule', async () => {
    const w = await open(permissionsConfigSchema.parse({ roles: { admin: ['U071'] }, groups: { 'T1.C3': { maxTier: 'read' } } }));
    const outcome = await w.call('memory_write', { key: 'vendor.acme.terms', statement: 'Acme pays net 30.' }, runContext({ groupId: 'T1.C3', userId: 'U011' }));
    expect(outcome).toMatchObject({ outcome: 'approval_requested', tier: 'write' });
    expect(outcome.content).toContain('<@U071>');
    expect(outcome.content).toContain('1 of 1');
    expect((await allEvents(w)).map((event) => event.type)).toEqual(['approval.requested']);
  });
});
