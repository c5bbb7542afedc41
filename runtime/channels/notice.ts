/**
 * A notice: something the runtime tells people on its own account, not as an agent's reply:
 * an approval to vote on, how an approval ended, a memory conflict. Channel-neutral: Slack
 * posts it (with Approve/Deny buttons when it asks for a vote, keep/neither buttons when it
 * asks to settle a conflict), the console prints it.
 *
 * A notice is posted once per `key`. The key names the business fact (the approval and the
 * approver, the conflict), so an effect that runs again, in this process or after a crash,
 * finds its earlier post and posts nothing.
 */

/** A group's conversation (a Slack channel, DM or thread; `local.chat`), or one person directly. */
export type NoticeRecipient = { readonly kind: 'group'; readonly groupId: string } | { readonly kind: 'person'; readonly userId: string };

/** The approval a notice asks its recipient to vote on: the exact action, by its arguments hash. */
export interface VoteRequest {
  readonly approvalId: string;
  readonly argumentsHash: string;
}

/** The memory conflict a notice asks its recipient to settle: the facts it shows, oldest first. */
export interface ConflictChoice {
  readonly scope: string;
  readonly key: string;
  readonly facts: readonly { readonly id: string; readonly statement: string }[];
}

export interface Notice {
  readonly to: NoticeRecipient;
  /** What makes it one notice: a repeat under the same key posts nothing. */
  readonly key: string;
  /** Markdown. */
  readonly text: string;
  /** Present when the recipient is asked to approve or deny. */
  readonly vote?: VoteRequest;
  /** Present when the recipient is asked which fact of a conflict to keep. */
  readonly conflict?: ConflictChoice;
}

/** Where a notice went: the ts of each part in Slack, a `console:` or `log:` ref elsewhere. */
export interface NoticePosted {
  readonly refs: string[];
}
