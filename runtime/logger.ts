/**
 * The runtime's logger: pino, JSON lines on stderr (stdout belongs to a command's output),
 * with secrets redacted twice over: the values under secret-named keys wherever they sit in
 * a logged object (pino's `redact` paths), and, in the finished line, every value shaped
 * like a credential and every URL's userinfo, in messages and error stacks too
 * (runtime/redaction.ts). The second catches only what has a known shape: still never
 * interpolate a credential into a message.
 */
import { pino, type DestinationStream, type Level, type Logger as PinoLogger } from 'pino';
import { REDACTED, redactCredentials } from './redaction.js';

/**
 * What every module of the runtime logs through: a message and its structured fields. The
 * pino logger `createLogger` returns is one; tests pass a silent one or a recorder. The one
 * logger type: the actor host and the scheduler use this one too.
 */
export interface Logger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

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

/** Pino's own type, for the process that owns it (its `info('text')` form, levels, children). */
export function createLogger(options: LoggerOptions): PinoLogger {
  return pino(
    {
      name: 'ledgerclaw',
      level: options.level,
      redact: { paths: redactPaths(), censor: REDACTED },
      // The whole line as written: messages, bindings, serialized errors, nested values.
      hooks: { streamWrite: redactCredentials },
    },
    // Synchronous, so the last lines before an exit or a crash are not lost in a buffer.
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
