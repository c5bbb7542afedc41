/**
 * post_message: the agent posts in another Slack channel the app is in (an announcement, a
 * hand-off to another team). It reaches outside the conversation, so it is `external`: the
 * gateway's policy decides whether it runs at once or waits for approvers.
 *
 * Exactly once: the post is keyed by the call. An approved action (call key `approval:<id>`,
 * see ToolGateway.runApproved) may be carried out again after a crash, so the channel looks
 * for an earlier post under its key before it posts. A channel the app cannot post in is a
 * refusal saying what would fix it (someone must invite the app).
 */
import { z } from 'zod';
import { answered, defineHostTool, refused } from './host-tool.js';
import { actionReasonSchema } from './action-reason.js';
import { MAX_MESSAGE_CHARS } from './send-message.js';

/** The call keys runApproved gives an approved action: the same on every attempt to carry it out. */
const APPROVED_CALL_PREFIX = 'approval:';
/** How much of the text the approvers' one line quotes (they see the whole text besides). */
const SUMMARY_TEXT_CHARS = 200;

const postMessageInput = z.strictObject({
  channel: z
    .string()
    // A public or private channel; a DM (D…) is not a channel the assistant posts in unasked.
    .regex(/^[CG][A-Z0-9]{2,}$/, 'expected a Slack channel id such as C0123ABCD (not a #name, not a DM)')
    .describe('The Slack channel id to post in, such as C0123ABCD (not its #name).'),
  text: z
    .string()
    .min(1)
    .max(MAX_MESSAGE_CHARS)
    .refine((text) => text.trim() !== '', 'must not be blank')
    .describe('The message, as it should appear in that channel (Slack mrkdwn).'),
  reason: actionReasonSchema,
});

export const postMessageTool = defineHostTool({
  name: 'post_message',
  tier: 'external',
  description:
    'Post a message in another Slack channel the assistant is a member of, given its channel id (C…). ' +
    "For this conversation use send_message or your answer instead. Posting elsewhere may need people's approval first: " +
    'say in reason why you want to post it. If the assistant is not in the channel, you are told so; it cannot join by itself.',
  inputSchema: postMessageInput,
  summarize: (input) =>
    `post in ${input.channel}: "${input.text.length > SUMMARY_TEXT_CHARS ? `${input.text.slice(0, SUMMARY_TEXT_CHARS - 1)}…` : input.text}"`,
  async run(input, call) {
    const { context, services } = call;
    const approved = call.callKey.startsWith(APPROVED_CALL_PREFIX);
    try {
      const result = await services.channel.postToChannel({
        fromGroupId: context.groupId,
        channel: input.channel,
        text: input.text,
        // An approval's key names the action by itself: whichever run carries it out again finds the post.
        key: approved ? call.callKey : `${context.runId}:${call.callKey}`,
        mayHavePosted: approved,
      });
      if (!result.posted) return refused(`post_message: not posted: ${result.reason}`);
      return answered(`posted in ${input.channel} (${result.ref})`);
    } catch (error) {
      services.logger.warn({ runId: context.runId, channel: input.channel, err: error }, 'post_message: the channel failed');
      return refused(`post_message: the message was not delivered: ${error instanceof Error ? error.message : String(error)}`);
    }
  },
});
