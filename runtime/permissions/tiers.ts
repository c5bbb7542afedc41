/**
 * Tool tiers: how far a tool call reaches, and so how much permission it needs.
 *
 * - `read`: looks without changing anything (search, list, read files).
 * - `write`: changes the company's own state (memory, tasks, its own conversation, its workspace).
 * - `external`: reaches outside (another channel, the web, a third-party API).
 * - `critical`: irreversible, costly, or touching money, people or production.
 *
 * Every tool declares one; the policy (policy.ts) says which a group may use without asking.
 */
import { TOOL_TIERS, type ToolTier } from '../../events/catalogue/tool-tier.js';

export { TOOL_TIERS, toolTierSchema, type ToolTier } from '../../events/catalogue/tool-tier.js';

/** Whether `tier` reaches further than `ceiling`. */
export function isAbove(tier: ToolTier, ceiling: ToolTier): boolean {
  return TOOL_TIERS.indexOf(tier) > TOOL_TIERS.indexOf(ceiling);
}

/**
 * The tiers of the sandbox's own tools, which the runner runs inside the run's container.
 * Reading is `read`; anything that changes the workspace (bash included: it has no network)
 * is `write`. Kept beside the host tools' tiers, which each host tool declares itself.
 */
export const WORKSPACE_TOOL_TIERS: Readonly<Record<string, ToolTier>> = {
  read_file: 'read',
  list_files: 'read',
  grep: 'read',
  write_file: 'write',
  edit_file: 'write',
  bash: 'write',
};
