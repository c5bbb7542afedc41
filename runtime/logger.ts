/**
 * The runtime's logger: pino, JSON lines on stderr (stdout belongs to a command's output),
 * with secrets redacted wherever they sit in a logged object. Secrets inside free-text
 * messages cannot be caught here: never interpolate a credential into a message.
 */
import { pino, type DestinationStream, type Level, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values are credentials, matched case-sensitively at any depth up to 4. */
export const SECRET_KEYS = [
  'token',
  'accessToken',
  'refreshToken',
  'botToken',
  'appToken',
  'apiKey',
  'api_key',
  'secret',
  'clientSecret',
  'signingSecret',
  'password',
  'passphrase',
  'authorization',
  'Authorization',
  'cookie',
  'x-api-key',
] as const;

const MAX_REDACT_DEPTH = 4;

/** pino's redact paths have no "any depth" wildcard, so every depth is listed. */
export function redactPaths(keys: readonly string[] = SECRET_KEYS): string[] {
  const paths: string[] = [];
  for (const key of keys) {
    const plain = /^[A-Za-z_$][\w$]*$/.test(key);
    for (let depth = 0; depth < MAX_REDACT_DEPTH; depth += 1) {
      const wildcards = Array.from({ length: depth }, () => '*');
      // `*.*.token`, or `*.*["x-api-key"]` for a key that is not an identifier.
      paths.push(plain ? [...wildcards, key].join('.') : `${wildcards.join('.')}["${key}"]`);
    }
  }
  return [...new Set(paths)];
}

export interface LoggerOptions {
  readonly level: Level | 'silent';
  /** Where the JSON lines go; stderr by default. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: 'ledgerclaw',
      level: options.level,
      redact: { paths: redactPaths(), censor: '[redacted]' },
    },
    // Synchronous, so the last lines before an exit or a crash are not lost in a buffer.
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
