/**
 * The permission policy: what a group may do without asking, who approves the rest, and
 * that a call nobody can approve is refused rather than left waiting forever.
 */
import { describe, expect, it } from 'vitest';
import { permissionsConfigSchema, type PermissionsConfig } from '../../../runtime/permissions/policy-config.js';
import { decidePermission, groupCeiling } from '../../../runtime/permissions/policy.js';
import { isAbove } from '../../../runtime/permissions/tiers.js';

const policy = (input: unknown = {}): PermissionsConfig => permissionsConfigSchema.parse(input);
const call = (tool: string, declaredTier: 'read' | 'write' | 'external' | 'critical', groupId = 'T1.C1', userId: string | null = 'U0ALICE') => ({
  tool,
  declaredTier,
  groupId,
  userId,
});

describe('tiers', () => {
  it('orders read < write < external < critical', () => {
    expect(isAbove('external', 'write')).toBe(true);
    expect(isAbove('write', 'write')).toBe(false);
    expect(isAbove('read', 'critical')).toBe(false);
    expect(isAbove('critical', 'external')).toBe(true);
  });
});

describe('the default policy', () => {
  it('lets a group read and write without asking', () => {
    expect(decidePermission(call('memory_write', 'write'), policy()).kind).toBe('allow');
    expect(decidePermission(call('memory_search', 'read'), policy()).kind).toBe('allow');
  });

  it('refuses external and critical tools while no admin is configured, saying nobody can approve them', () => {
    const decision = decidePermission(call('post_message', 'external'), policy());
    expect(decision).toMatchObject({ kind: 'refuse', policy: { tier: 'external', maxTier: 'write', rule: 'permissions.tiers.external' } });
    expect(decision.kind === 'refuse' && decision.reason).toMatch(/post_message is at tier external.*needs 1 approval\(s\).*nobody is configured to approve it/);
  });

  it('asks one admin for an external tool and two for a critical one', () => {
    const withAdmins = policy({ roles: { admin: ['U0ADA', 'U0BOB', 'U0CAT'] } });
    expect(decidePermission(call('post_message', 'external'), withAdmins)).toMatchObject({ kind: 'ask', approvers: ['U0ADA', 'U0BOB', 'U0CAT'], required: 1, expiresAfterMs: 86_400_000 });
    expect(decidePermission(call('http_request', 'critical'), withAdmins)).toMatchObject({ kind: 'ask', required: 2, policy: { rule: 'permissions.tiers.critical' } });
  });
});

describe('approvers', () => {
  it('leaves the person the call acts for out of its approvers, and refuses when too few are left', () => {
    const twoAdmins = policy({ roles: { admin: ['U0ALICE', 'U0BOB'] } });
    expect(decidePermission(call('post_message', 'external'), twoAdmins)).toMatchObject({ kind: 'ask', approvers: ['U0BOB'] });
    expect(decidePermission(call('http_request', 'critical'), twoAdmins)).toMatchObject({ kind: 'refuse' });
  });

  it("takes a tool's own rule and tier over its tier's, and keeps operator as an approver", () => {
    const config = policy({
      roles: { admin: ['U0ADA'], finance: ['U0FIN', 'operator'] },
      tools: { http_request: { approvers: ['role:finance'], required: 2, expiresAfterMs: 3_600_000 }, post_message: { tier: 'write' } },
    });
    expect(decidePermission(call('http_request', 'critical'), config)).toMatchObject({
      kind: 'ask',
      approvers: ['U0FIN', 'operator'],
      required: 2,
      expiresAfterMs: 3_600_000,
      policy: { rule: 'permissions.tools.http_request' },
    });
    expect(decidePermission(call('post_message', 'external'), config).kind).toBe('allow');
  });

  it('refuses a config whose rule names a role it does not define, naming the role', () => {
    expect(() => policy({ tiers: { critical: { approvers: ['role:cfo'], required: 1, expiresAfterMs: 60_000 } } })).toThrow(/names role 'cfo', which permissions.roles does not define/);
  });
});

describe("a group's ceiling", () => {
  it("comes from the group's own entry, else its Slack channel's (so its threads share it), else the default", () => {
    const config = policy({ defaultMaxTier: 'read', groups: { 'T1.C1': { maxTier: 'critical' }, C2: { maxTier: 'external' } } });
    expect(groupCeiling('T1.C1', config)).toEqual({ maxTier: 'critical', from: 'permissions.groups.T1.C1' });
    expect(groupCeiling('T1.C2', config)).toEqual({ maxTier: 'external', from: 'permissions.groups.C2' });
    expect(groupCeiling('local.chat', config)).toEqual({ maxTier: 'read', from: 'permissions.defaultMaxTier' });
  });

  it('makes a group allowed external post at once, and a group at write ask', () => {
    const config = policy({ roles: { admin: ['U0ADA'] }, groups: { C9: { maxTier: 'external' } } });
    expect(decidePermission(call('post_message', 'external', 'T1.C9'), config).kind).toBe('allow');
    expect(decidePermission(call('post_message', 'external', 'T1.C1'), config).kind).toBe('ask');
  });

  it('makes even write tools ask in a read-only group', () => {
    const config = policy({ roles: { admin: ['U0ADA'] }, groups: { C1: { maxTier: 'read' } } });
    expect(decidePermission(call('memory_write', 'write'), config)).toMatchObject({ kind: 'ask', policy: { rule: 'permissions.tiers.external' } });
  });
});
