/**
 * The sandbox's own tools under the policy. The runner runs them inside the run's
 * container, where nothing can stop to ask for an approval, so a workspace tool above the
 * group's ceiling is simply not offered: a read-only group's runner reads, and never
 * writes, edits or runs a shell. The host holds the runner to the same list
 * (runtime/runs/tool-use-ledger.ts).
 */
import type { PermissionsConfig } from './policy-config.js';
import { decidePermission, effectiveTier } from './policy.js';
import { WORKSPACE_TOOL_TIERS, type ToolTier } from './tiers.js';

/** The workspace tools the group may use, in WORKSPACE_TOOL_TIERS order. */
export function allowedWorkspaceTools(groupId: string, permissions: PermissionsConfig): string[] {
  return Object.entries(WORKSPACE_TOOL_TIERS)
    .filter(([tool, declaredTier]) => decidePermission({ tool, declaredTier, groupId, userId: null }, permissions).kind === 'allow')
    .map(([tool]) => tool);
}

/** A workspace tool's tier as the policy reads it (`permissions.tools.<name>.tier` first); null for a name that is none. */
export function workspaceToolTier(tool: string, permissions: PermissionsConfig): ToolTier | null {
  const declared = Object.hasOwn(WORKSPACE_TOOL_TIERS, tool) ? WORKSPACE_TOOL_TIERS[tool]! : null;
  if (declared === null) return null;
  return effectiveTier(tool, declared, permissions);
}
