/**
 * The EventStoreDB connection string. It can carry a user name and password, so it is read
 * from one environment variable only (never the config file, an event or a log line), and
 * every message that must mention it shows it with the credentials taken out.
 */
import { z } from 'zod';

export const EVENTSTOREDB_URL_ENV = 'LEDGERCLAW_EVENTSTOREDB_URL';

/** `esdb://` names the nodes to dial; `esdb+discover://` names a DNS entry or seeds to gossip with. */
const connectionStringSchema = z
  .string()
  .trim()
  .min(1, `${EVENTSTOREDB_URL_ENV} is empty`)
  .regex(/^esdb(\+discover)?:\/\/[^\s]+$/, 'expected esdb://host:port[,host:port…][?options] or esdb+discover://host:port[?options]');

export class EventStoreDbUrlError extends Error {
  readonly code = 'invalid_eventstoredb_url';
  constructor(message: string) {
    super(message);
    this.name = 'EventStoreDbUrlError';
  }
}

/**
 * The connection string from the environment. Refuses a missing or malformed one with a
 * message that names the variable and never echoes a password.
 */
export function readEventStoreDbUrl(env: Readonly<Record<string, string | undefined>>): string {
  const value = env[EVENTSTOREDB_URL_ENV];
  if (value === undefined) {
    throw new EventStoreDbUrlError(
      `the event store backend is eventstoredb, but ${EVENTSTOREDB_URL_ENV} is not set: set it to a connection string such as esdb://localhost:2113?tls=false`,
    );
  }
  const parsed = connectionStringSchema.safeParse(value);
  if (!parsed.success) {
    const why = parsed.error.issues.map((issue) => issue.message).join('; ');
    throw new EventStoreDbUrlError(`${EVENTSTOREDB_URL_ENV} (${redactConnectionString(value)}) is not an EventStoreDB connection string: ${why}`);
  }
  const refused = refusedOption(parsed.data);
  if (refused !== undefined) {
    throw new EventStoreDbUrlError(`${EVENTSTOREDB_URL_ENV} (${redactConnectionString(parsed.data)}): ${refused}`);
  }
  return parsed.data;
}

/**
 * The query options @eventstore/db-client 6.2.1 knows (Client/parseConnectionString.js, keys
 * matched without regard to case). For any other key, and for `tlsVerifyCert=false`, the
 * client does not fail: it prints a warning to stderr with console.warn that quotes the whole
 * connection string, password included. So those are refused here, before the client sees
 * the string, with a message that names the option and never the string.
 */
const CLIENT_OPTION_KEYS = [
  'userCertFile',
  'userKeyFile',
  'maxDiscoverAttempts',
  'connectionName',
  'defaultDeadline',
  'discoveryInterval',
  'gossipTimeout',
  'nodePreference',
  'tls',
  'tlsVerifyCert',
  'tlsCAFile',
  'throwOnAppendFailure',
  'keepAliveInterval',
  'keepAliveTimeout',
] as const;

const knownOptionKeys = new Map(CLIENT_OPTION_KEYS.map((key) => [key.toLowerCase(), key]));

/** Why one of the connection string's options is refused, or undefined when all are fine. */
function refusedOption(connectionString: string): string | undefined {
  // Credentials out first: a password may hold a `?` or an `&`.
  const hostsAndOptions = redactConnectionString(connectionString);
  const queryStart = hostsAndOptions.indexOf('?');
  if (queryStart === -1) return undefined;
  for (const pair of hostsAndOptions.slice(queryStart + 1).split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    // A pair without a value is the client's parse error, which the adapter redacts.
    if (equals === -1) continue;
    const rawKey = pair.slice(0, equals);
    const key = knownOptionKeys.get(rawKey.toLowerCase());
    if (key === undefined) {
      return `unknown option ${JSON.stringify(rawKey)} (the client would ignore it); known options: ${CLIENT_OPTION_KEYS.join(', ')}`;
    }
    if (key === 'tlsVerifyCert' && pair.slice(equals + 1).trim() === 'false') {
      return 'tlsVerifyCert=false has no effect in @eventstore/db-client 6.2.1: trust the server with tlsCAFile=<path> or NODE_EXTRA_CA_CERTS instead';
    }
  }
  return undefined;
}

/**
 * The connection string with any `user:password@` replaced, fit for a message or a log line.
 * It takes out what the client reads as credentials (parseConnectionString.js:
 * `[^:]+:[^@]+@` after the scheme), so a password holding `?`, `/` or `#` unencoded goes too;
 * then a bare `user@`.
 */
export function redactConnectionString(connectionString: string): string {
  const withoutCredentials = connectionString.replace(/^([a-z+]+:\/\/)[^:]+:[^@]+@/i, '$1[redacted]@');
  if (withoutCredentials !== connectionString) return withoutCredentials;
  return connectionString.replace(/^([a-z+]+:\/\/)[^@/?#]*@/i, '$1[redacted]@');
}

/** Takes a known connection string out of any text (an error message that quotes it). */
export function redactConnectionStringIn(text: string, connectionString: string): string {
  return connectionString.length === 0 ? text : text.split(connectionString).join(redactConnectionString(connectionString));
}
