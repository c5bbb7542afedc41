/**
 * send_message: the agent says something to its conversation now, before its turn ends (a
 * progress note, a scheduled task's report), as itself or as one of its named roles. The
 * channel keys the post by the call, so a retried call can be recognised there.
 *
 * A role may not address people (mention a person or the channel) unless the group lets it:
 * that refusal is the tool's answer, so the model can post it as itself instead.
 */
import { z } from 'zod';
import { addressesPeople } from '../../agent-roles.js';
import { answered, defineHostTool, refused } from './host-tool.js';

/** Slack's own limit on a message's text. */
export const MAX_MESSAGE_CHARS = 40_000;

const sendMessageInput = z.strictObject({
  text: z
    .string()
    .min(1)
    .max(MAX_MESSAGE_CHARS)
    .refine((text) => text.trim() !== '', 'must not be blank')
    .describe('The message, as it should appear in the conversation (Slack mrkdwn).'),
  as: z.string().min(1).max(40).optional().describe('Post under this role\'s name and icon instead of your own (see the roles listed).'),
});

export const sendMessageTool = defineHostTool({
  name: 'send_message',
  tier: 'write',
  description: (context) =>
    "Post a message to this conversation right away, before your turn ends: a progress note on long work, or what a silent scheduled task has to say. " +
    `Your final answer is posted anyway (in a scheduled task too, unless the task is silent); do not repeat it here. At most ${MAX_MESSAGE_CHARS} characters.` +
    (context.roles.length === 0
      ? ''
      : ` To post as a sub-agent role, set 'as' to one of: ${context.roles.map((role) => `${role.name} (${role.description})`).join('; ')}. ` +
        (context.rolesAddressingUsers.length === 0
          ? 'Roles may not mention people or the channel here; only you may.'
          : `Only ${context.rolesAddressingUsers.join(', ')} may mention people or the channel here, besides you.`)),
  inputSchema: sendMessageInput,
  async run(input, call) {
    const { context, services } = call;
    const role = input.as === undefined ? undefined : context.roles.find((candidate) => candidate.name.toLowerCase() === input.as!.toLowerCase());
    if (input.as !== undefined && role === undefined) {
      return refused(`send_message: as: no role '${input.as}' (roles: ${context.roles.map((candidate) => candidate.name).join(', ') || 'none'})`);
    }
    if (role && addressesPeople(input.text) && !context.rolesAddressingUsers.includes(role.name)) {
      return refused(
        `send_message: ${role.name} may not address people in this conversation (the text mentions someone or the channel); ` +
          'post it as yourself (leave out as), or leave the mention out',
      );
    }
    try {
      const { ref } = await services.channel.post({
        groupId: context.conversationId,
        runId: context.runId,
        callId: call.callKey,
        text: input.text,
        ...(role ? { identity: { name: role.name, icon: role.icon } } : {}),
      });
      return answered(`sent${role ? ` as ${role.name}` : ''} (${ref})`);
    } catch (error) {
      services.logger.warn({ runId: context.runId, groupId: context.conversationId, err: error }, 'send_message: the channel refused the message');
      return refused(`send_message: the message was not delivered: ${error instanceof Error ? error.message : String(error)}`);
    }
  },
});
