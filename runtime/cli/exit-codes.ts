/**
 * What the CLI's exit status means, and the errors that choose it. Scripts can tell "you
 * called it wrong" (2) from "it ran and found a problem" (1).
 */
export const ExitCode = {
  ok: 0,
  /** The command ran and failed: a broken hash chain, a held lock, a corrupt store. */
  failure: 1,
  /** The command was called wrong: unknown command or option, bad value, invalid config. */
  usage: 2,
  /**
   * `start` on a shared store: the runtime lost the store's lease to another runtime and
   * stopped writing. Restart it (a supervisor does) and it stands by.
   */
  leaseLost: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A call the CLI cannot make sense of; printed with a pointer to --help, exit 2. */
export class UsageError extends Error {
  readonly code = 'usage';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An expected, explained failure (exit 1): the message is all the operator needs. */
export class CommandFailedError extends Error {
  readonly code = 'command_failed';
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailedError';
  }
}
