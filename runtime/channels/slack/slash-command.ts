/**
 * `/ledgerclaw`: what a person can ask of the runtime directly, answered only to them
 * (ephemeral), within Slack's three seconds:
 *
 * - `status`: the runtime (runs going and waiting, tasks on the clock, the sandbox) and
 *   what this conversation is doing;
 * - `tasks`: this channel's scheduled tasks (every group's, in the admin channel);
 * - `memory <words>`: a search of what the assistant remembers here, and of the asker's
 *   own private memory;
 * - `help`.
 *
 * The tasks and memory answers come from the same host tools the agent uses, with the
 * same access rules: the command acts for the channel it is typed in and the person
 * typing it, never for anyone else.
 */
import { homeGroupId } from '../../../actors/group.js';
import type { HostToolAnswer, ToolCallContext } from '../../gateways/host-tools/host-tool.js';
import type { SlashCommand } from './payloads.js';
import { slackGroupId } from './slack-ids.js';

export const SLASH_COMMAND = '/ledgerclaw';

export interface SlashCommandServices {
  /** Lines describing the runtime and the group. */
  status(groupId: string): Promise<string>;
  callTool(name: string, input: unknown, context: ToolCallContext): Promise<HostToolAnswer>;
  /** The group's settings that shape what the command may see. */
  groupSettings(groupId: string): Promise<{ isAdmin: boolean }>;
}

const HELP = [
  `*${SLASH_COMMAND}* — ask the assistant's runtime directly (only you see the answer):`,
  `• \`${SLASH_COMMAND} status\` — runs going and waiting, tasks on the clock, this conversation`,
  `• \`${SLASH_COMMAND} tasks\` — this channel's scheduled tasks`,
  `• \`${SLASH_COMMAND} memory <words>\` — search what the assistant remembers here (and your private memory)`,
].join('\n');

function codeBlock(text: string): string {
  return `\`\`\`\n${text.replace(/```/g, "'''").slice(0, 2_800)}\n\`\`\``;
}

export async function answerSlashCommand(command: SlashCommand, services: SlashCommandServices): Promise<string> {
  const groupId = homeGroupId(slackGroupId({ team: command.team_id, channel: command.channel_id, threadTs: null }));
  const [verb = '', ...rest] = command.text.trim().split(/\s+/);
  const argument = rest.join(' ').trim();
  const context = async (): Promise<ToolCallContext> => ({
    runId: 'slash-command',
    groupId,
    conversationId: groupId,
    taskId: null,
    userId: command.user_id,
    isAdminGroup: (await services.groupSettings(groupId)).isAdmin,
    rolesAddressingUsers: [],
    roles: [],
  });
  switch (verb.toLowerCase()) {
    case '':
    case 'help':
      return HELP;
    case 'status':
      return services.status(groupId);
    case 'tasks': {
      const outcome = await services.callTool('list_tasks', {}, await context());
      return `*Scheduled tasks here*\n${codeBlock(outcome.content)}`;
    }
    case 'memory': {
      if (argument === '') return `Say what to look for: \`${SLASH_COMMAND} memory <words>\``;
      const outcome = await services.callTool('memory_search', { query: argument }, await context());
      return outcome.isError ? `Could not search: ${outcome.content.replace(/^memory_search: /, '')}` : `*Remembered, matching “${argument}”*\n${codeBlock(outcome.content)}`;
    }
    default:
      return `I don't know \`${verb}\`.\n${HELP}`;
  }
}
