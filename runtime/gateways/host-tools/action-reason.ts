/**
 * The `reason` an acting tool (post_message, http_request) takes beside its arguments: why the
 * model wants the action. The gateway leaves it out of the arguments the approvers' hash
 * covers and shows it to them; the tool itself does nothing with it.
 */
import { z } from 'zod';

export const actionReasonSchema = z
  .string()
  .min(1)
  .max(1_000)
  .optional()
  .describe('Why you want to do this, in a sentence: the people asked to approve it read it.');
