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
  return parsed.data;
}

/** The connection string with any `user:password@` replaced, fit for a message or a log line. */
export function redactConnectionString(connectionString: string): string {
  return connectionString.replace(/^([a-z+]+:\/\/)[^@/?#]*@/i, '$1[redacted]@');
}

/** Takes a known connection string out of any text (an error message that quotes it). */
export function redactConnectionStringIn(text: string, connectionString: string): string {
  return connectionString.length === 0 ? text : text.split(connectionString).join(redactConnectionString(connectionString));
}
