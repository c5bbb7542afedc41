/**
 * Which of the sandbox's own tools a conversation is offered: those at or below its tier.
 * Nothing in the sandbox can wait for an approval, so a tool above it is left out.
 */
import { describe, expect, it } from 'vitest';
import { permissionsConfigSchema } from '../../../runtime/permissions/policy-config.js';
import { allowedWorkspaceTools, workspaceToolTier } from '../../../runtime/permissions/workspace-tools.js';

const ALL = ['read_file', 'list_files', 'grep', 'write_file', 'edit_file', 'bash'];

describe('allowedWorkspaceTools', () => {
  it('gives every workspace tool under the default tier (write)', () => {
    expect(allowedWorkspaceTools('T1.C1', permissionsConfigSchema.parse({}))).toEqual(ALL);
  });

  it("gives a read-only group, and its channel's threads, only the tools that read, even with approvers configured", () => {
    const permissions = permissionsConfigSchema.parse({ roles: { admin: ['U071'] }, groups: { C1: { maxTier: 'read' } } });
    expect(allowedWorkspaceTools('T1.C1', permissions)).toEqual(['read_file', 'list_files', 'grep']);
    expect(allowedWorkspaceTools('T1.C2', permissions)).toEqual(ALL);
  });

  it('leaves out a tool the policy raises above the group tier, and records it at the raised tier', () => {
    const permissions = permissionsConfigSchema.parse({ tools: { bash: { tier: 'critical' } } });
    expect(allowedWorkspaceTools('T1.C1', permissions)).toEqual(ALL.filter((tool) => tool !== 'bash'));
    expect(workspaceToolTier('bash', permissions)).toBe('critical');
    expect(workspaceToolTier('grep', permissions)).toBe('read');
    expect(workspaceToolTier('send_message', permissions)).toBeNull();
  });
});
