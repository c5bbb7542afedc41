/**
 * What a credential looks like, and how one is taken out of text before it is shown. One
 * list serves both the sandbox's check (a credential-shaped env value is refused) and every
 * message the runtime prints or logs (the banner, config errors, the CLI's errors, every
 * log line): a shape added here is refused and redacted everywhere.
 *
 * The character classes are allow-lists that never include a quote or a backslash, so a
 * redaction inside a JSON line (the logger's) cannot reach across a string's end.
 */

/** What stands in for a credential. */
export const REDACTED = '[redacted]';

export interface CredentialShape {
  /** In words, for a message: "looks like a Slack token". */
  readonly what: string;
  /** Tested with `.test` and replaced by REDACTED; no `g` flag (made global where replaced). */
  readonly pattern: RegExp;
}

/** Values that are credentials whatever they are called. */
export const CREDENTIAL_SHAPES: readonly CredentialShape[] = [
  { what: 'an API key (sk-…)', pattern: /\bsk-[A-Za-z0-9_-]{16,}/ },
  // xoxb- (bot), xoxp- (user), xoxa-, xoxe-, … : any letter.
  { what: 'a Slack token', pattern: /\bxox[a-z]-[A-Za-z0-9-]{10,}/ },
  { what: 'a Slack app token', pattern: /\bxapp-[A-Za-z0-9-]{10,}/ },
  { what: 'a GitHub token', pattern: /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/ },
  { what: 'an AWS access key id', pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  // The whole block when its end is there, else the header.
  { what: 'a private key', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)?/ },
  { what: 'a bearer credential', pattern: /\bBearer\s+[A-Za-z0-9._~+/-]{16,}/i },
  { what: 'a URL with a password in it', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"'\\<>]+:[^\s/?#@"'\\<>]+@/i },
];

/** The shape `value` has, or undefined when it looks like no credential. */
export function credentialShapeOf(value: string): CredentialShape | undefined {
  return CREDENTIAL_SHAPES.find(({ pattern }) => pattern.test(value));
}

/**
 * A URL's userinfo, with or without a password (`https://user:pw@host`, `https://token@host`):
 * the scheme is kept, the userinfo is replaced.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\<>]+@/gi;

const GLOBAL_SHAPES = CREDENTIAL_SHAPES.map(({ pattern }) => new RegExp(pattern.source, `${pattern.flags}g`));

/** `text` with every URL's userinfo and every credential-shaped value replaced by REDACTED. */
export function redactCredentials(text: string): string {
  let redacted = text.replace(URL_USERINFO, `$1${REDACTED}@`);
  for (const pattern of GLOBAL_SHAPES) redacted = redacted.replace(pattern, REDACTED);
  return redacted;
}
