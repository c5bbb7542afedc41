/**
 * Named identities: the roles a run's sub-agents post under in a conversation (a
 * Researcher reporting what it found, a Reviewer its verdict), each with its own name and
 * icon. Only the main agent addresses people (mentions them, or the whole channel) unless
 * the group's configuration lets a role do so (`rolesAddressingUsers`), so a flurry of
 * sub-agent notes never pings anyone by itself.
 */
import type { AgentRoleConfig } from './config.js';

export interface AgentRole {
  readonly name: string;
  /** A Slack emoji code (`:mag:`) or an image URL; null for the app's own icon. */
  readonly icon: string | null;
  readonly description: string;
}

export const BUILT_IN_ROLES: readonly AgentRole[] = [
  { name: 'Researcher', icon: ':mag:', description: 'finds and checks facts, sources and prior decisions' },
  { name: 'Coder', icon: ':technologist:', description: 'writes and changes code and scripts' },
  { name: 'Reviewer', icon: ':white_check_mark:', description: 'reviews work for mistakes and risks before it is used' },
];

/** The roles of this runtime: those configured (`agent.roles`), or the built-in three. */
export function agentRoles(configured: readonly AgentRoleConfig[]): readonly AgentRole[] {
  if (configured.length === 0) return BUILT_IN_ROLES;
  return configured.map((role) => ({ name: role.name, icon: role.icon ?? null, description: role.description ?? `posts as ${role.name}` }));
}

/**
 * Whether a message in Slack's mrkdwn addresses people: a user or group mention
 * (`<@U123>`, `<!subteam^S123>`) or a broadcast (`<!here>`, `<!channel>`, `<!everyone>`).
 * Plain text such as `@here` is not a mention unless Slack is asked to parse it, which
 * the runtime never does.
 */
export function addressesPeople(text: string): boolean {
  return /<@[UW][A-Z0-9]+(\|[^>]*)?>|<!(here|channel|everyone)(\|[^>]*)?>|<!subteam\^[A-Z0-9]+(\|[^>]*)?>/.test(text);
}
