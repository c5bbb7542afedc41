/**
 * send_message: the agent says something to its group now, before its turn ends (a
 * progress note, a scheduled task's report). The channel keys the post by the call, so a
 * retried call can be recognised there.
 */
import { z } from 'zod';
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
});

export const sendMessageTool = defineHostTool({
  name: 'send_message',
  description:
    "Post a message to this conversation right away, before your turn ends: a progress note on long work, or a scheduled task's report. " +
    `Your final answer is posted anyway; do not repeat it here. At most ${MAX_MESSAGE_CHARS} characters.`,
  inputSchema: sendMessageInput,
  async run(input, call) {
    const { context, services } = call;
    try {
      const { ref } = await services.channel.post({ groupId: context.groupId, runId: context.runId, callId: call.callKey, text: input.text });
      return answered(`sent (${ref})`);
    } catch (error) {
      services.logger.warn({ runId: context.runId, groupId: context.groupId, err: error }, 'send_message: the channel refused the message');
      return refused(`send_message: the message was not delivered: ${error instanceof Error ? error.message : String(error)}`);
    }
  },
});
