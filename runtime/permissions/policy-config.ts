/**
 * The `permissions` section of the config file: who may use which tier of tool without
 * asking, and who approves what goes above. File only (no environment variables): a policy
 * is a reviewed document, not a knob.
 *
 *     "permissions": {
 *       "defaultMaxTier": "write",
 *       "groups": { "C0123ABCD": { "maxTier": "external" } },
 *       "roles": { "admin": ["U024BE7LH"], "finance": ["U1", "U2", "U3"] },
 *       "tiers": { "critical": { "approvers": ["role:finance"], "required": 2, "expiresAfterMs": 14400000 } },
 *       "tools": { "post_message": { "tier": "write" } }
 *     }
 *
 * Safe by default: a group may use `read` and `write` tools; `external` asks one of the
 * `admin` role, `critical` asks two. The `admin` role is empty until configured, and a call
 * nobody can approve is refused (see policy.ts).
 */
import { z } from 'zod';
import { toolTierSchema } from './tiers.js';

/** A Slack user id, `operator` (the terminal's `ledgerclaw approvals vote`), or `role:<name>`. */
export const approverRefSchema = z
  .string()
  .regex(
    /^(?:[UW][A-Z0-9]{2,}|operator|role:[a-z][a-z0-9_-]{0,39})$/,
    'expected a Slack user id such as U024BE7LH, operator, or role:<name> such as role:admin',
  );

const DAY_MS = 86_400_000;

export const approvalRuleSchema = z
  .object({
    /** Who may approve: user ids, `operator`, or roles (`role:admin`), expanded through `roles`. */
    approvers: z.array(approverRefSchema).min(1).max(50),
    /** How many of them must approve (N of M). */
    required: z.number().int().min(1).max(50),
    /** How long a request may wait for its votes. */
    expiresAfterMs: z.number().int().min(60_000).max(30 * DAY_MS),
  })
  .strict();

export type ApprovalRule = z.infer<typeof approvalRuleSchema>;

const toolRuleSchema = z
  .object({
    /** Overrides the tier the tool declares (raise `post_message` to `critical`, say). */
    tier: toolTierSchema.optional(),
    approvers: z.array(approverRefSchema).min(1).max(50).optional(),
    required: z.number().int().min(1).max(50).optional(),
    expiresAfterMs: z.number().int().min(60_000).max(30 * DAY_MS).optional(),
  })
  .strict();

export type ToolRule = z.infer<typeof toolRuleSchema>;

const groupKeySchema = z
  .string()
  .regex(/^(?:[CDG][A-Z0-9]{2,}|[A-Za-z0-9][A-Za-z0-9._-]{0,199})$/, 'expected a group id such as T024BE7LH.C0123ABCD or a Slack channel id such as C0123ABCD');

export const permissionsConfigSchema = z
  .object({
    /** The highest tier a group may use without asking, unless `groups` names it. */
    defaultMaxTier: toolTierSchema.default('write'),
    /** Per group: by group id (`T1.C1`, `local.chat`) or Slack channel id (`C1`: its threads too). */
    groups: z
      .record(z.string(), z.object({ maxTier: toolTierSchema }).strict())
      .superRefine((groups, context) => {
        for (const key of Object.keys(groups)) {
          if (!groupKeySchema.safeParse(key).success) {
            context.addIssue({ code: 'custom', path: [key], message: `expected a group id such as T024BE7LH.C0123ABCD or a Slack channel id such as C0123ABCD as the key, not '${key}'` });
          }
        }
      })
      .default({}),
    /** Named sets of approvers, for `role:<name>` in an approvers list. */
    roles: z
      .record(z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'expected a role name such as admin'), z.array(approverRefSchema.refine((ref) => !ref.startsWith('role:'), 'a role lists people (or operator), not other roles')).max(50))
      .default({ admin: [] }),
    /** Who approves a call to a tool of each tier above the group's ceiling. */
    tiers: z
      .object({
        external: approvalRuleSchema.default({ approvers: ['role:admin'], required: 1, expiresAfterMs: DAY_MS }),
        critical: approvalRuleSchema.default({ approvers: ['role:admin'], required: 2, expiresAfterMs: DAY_MS }),
      })
      .strict()
      .prefault({}),
    /** Per tool: its tier, and approval settings that override its tier's. */
    tools: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, 'expected a tool name such as http_request'), toolRuleSchema).default({}),
  })
  .strict()
  .superRefine((permissions, context) => {
    const rules: [string[], Partial<ApprovalRule>][] = [
      [['tiers', 'external'], permissions.tiers.external],
      [['tiers', 'critical'], permissions.tiers.critical],
      ...Object.entries(permissions.tools).map(([tool, rule]): [string[], Partial<ApprovalRule>] => [['tools', tool], rule]),
    ];
    for (const [path, rule] of rules) {
      for (const ref of rule.approvers ?? []) {
        const role = ref.startsWith('role:') ? ref.slice('role:'.length) : null;
        if (role !== null && permissions.roles[role] === undefined) {
          context.addIssue({ code: 'custom', path: [...path, 'approvers'], message: `names role '${role}', which permissions.roles does not define (roles: ${Object.keys(permissions.roles).join(', ') || 'none'})` });
        }
      }
    }
  });

export type PermissionsConfig = z.output<typeof permissionsConfigSchema>;
