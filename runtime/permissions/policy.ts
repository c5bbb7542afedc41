/**
 * The permission policy, as a pure decision: may this group make this call now, must it
 * ask, or can nobody allow it? The tool gateway asks before it runs any host tool.
 *
 * - A call at or below the group's ceiling (`permissions.groups`, else `defaultMaxTier`)
 *   runs.
 * - Above it, the call needs an approval: the tool's own rule where `permissions.tools` sets
 *   one, else its tier's (`permissions.tiers`). Roles are expanded to people; the person the
 *   call acts for never approves it (the approval actor would refuse their vote anyway), so
 *   they are left out of the list.
 * - When fewer people are listed than the rule requires, nobody can grant it: the call is
 *   refused, with a reason the model can repeat to the user.
 */
import type { PermissionsConfig } from './policy-config.js';
import { isAbove, type ToolTier } from './tiers.js';

export interface PermissionQuestion {
  readonly tool: string;
  /** The tier the tool declares; `permissions.tools.<tool>.tier` overrides it. */
  readonly declaredTier: ToolTier;
  /** The run's group (a thread's channel group): `T1.C1`, `local.chat`. */
  readonly groupId: string;
  /** The person the turn answers, who may not approve their own request. */
  readonly userId: string | null;
}

/** Which rule applied, for the record (`approval.requested`, the audit). */
export interface AppliedPolicy {
  readonly tier: ToolTier;
  /** The group's ceiling, and where it came from. */
  readonly maxTier: ToolTier;
  readonly maxTierFrom: string;
  /** `permissions.tools.<tool>` or `permissions.tiers.<tier>`; null when the call is allowed. */
  readonly rule: string | null;
}

export type PermissionDecision =
  | { readonly kind: 'allow'; readonly policy: AppliedPolicy }
  | {
      readonly kind: 'ask';
      readonly policy: AppliedPolicy;
      /** Expanded: user ids, and `operator` when the rule lists it. */
      readonly approvers: readonly string[];
      readonly required: number;
      readonly expiresAfterMs: number;
    }
  | { readonly kind: 'refuse'; readonly policy: AppliedPolicy; readonly reason: string };

/** The tier a tool is judged at: `permissions.tools.<tool>.tier` where the config sets one, else the one it declares. */
export function effectiveTier(tool: string, declaredTier: ToolTier, permissions: PermissionsConfig): ToolTier {
  return permissions.tools[tool]?.tier ?? declaredTier;
}

export function decidePermission(question: PermissionQuestion, permissions: PermissionsConfig): PermissionDecision {
  const toolRule = permissions.tools[question.tool];
  const tier = effectiveTier(question.tool, question.declaredTier, permissions);
  const ceiling = groupCeiling(question.groupId, permissions);
  const base = { tier, maxTier: ceiling.maxTier, maxTierFrom: ceiling.from };
  if (!isAbove(tier, ceiling.maxTier)) return { kind: 'allow', policy: { ...base, rule: null } };

  // Only tiers above some ceiling reach here, so `read` never does; `write` can (a read-only group).
  const tierRule = tier === 'external' || tier === 'critical' ? permissions.tiers[tier] : permissions.tiers.external;
  const ruleName = toolRule?.approvers !== undefined ? `permissions.tools.${question.tool}` : tier === 'critical' ? 'permissions.tiers.critical' : 'permissions.tiers.external';
  const policy: AppliedPolicy = { ...base, rule: ruleName };
  const refs = toolRule?.approvers ?? tierRule.approvers;
  const required = toolRule?.required ?? tierRule.required;
  const expiresAfterMs = toolRule?.expiresAfterMs ?? tierRule.expiresAfterMs;

  const approvers = expandApprovers(refs, permissions).filter((approver) => approver !== question.userId);
  if (approvers.length < required) {
    const who = approvers.length === 0 ? 'nobody is configured to approve it' : `only ${approvers.length} approver(s) could vote (${approvers.join(', ')})`;
    return {
      kind: 'refuse',
      policy,
      reason:
        `${question.tool} is at tier ${tier}, above what this conversation may use without asking (${ceiling.maxTier}, from ${ceiling.from}); ` +
        `it needs ${required} approval(s) under ${ruleName}, but ${who}. Tell the user it cannot be done here until an operator configures approvers.`,
    };
  }
  return { kind: 'ask', policy, approvers, required, expiresAfterMs };
}

/** The group's own entry, else its Slack channel's (a thread's group is its channel's), else the default. */
export function groupCeiling(groupId: string, permissions: PermissionsConfig): { maxTier: ToolTier; from: string } {
  const own = permissions.groups[groupId];
  if (own !== undefined) return { maxTier: own.maxTier, from: `permissions.groups.${groupId}` };
  const channel = groupId.split('.')[1];
  const byChannel = channel === undefined ? undefined : permissions.groups[channel];
  if (channel !== undefined && byChannel !== undefined) return { maxTier: byChannel.maxTier, from: `permissions.groups.${channel}` };
  return { maxTier: permissions.defaultMaxTier, from: 'permissions.defaultMaxTier' };
}

/** `role:<name>` becomes its people; duplicates are dropped, first mention first. */
export function expandApprovers(refs: readonly string[], permissions: PermissionsConfig): string[] {
  const people = refs.flatMap((ref) => (ref.startsWith('role:') ? (permissions.roles[ref.slice('role:'.length)] ?? []) : [ref]));
  return [...new Set(people)];
}
