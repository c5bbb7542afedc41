/**
 * LEDGERCLAW_EVENTSTOREDB_URL: read from the environment, refused with messages that never
 * hold the password, and redacted the way the client itself splits off credentials.
 */
import { EventStoreDBClient } from '@eventstore/db-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventStoreDbUrlError, readEventStoreDbUrl, redactConnectionString, redactConnectionStringIn } from '../../runtime/eventstoredb-url.js';

const SECRET = 's3cret-Pa55';

function refusal(url: string | undefined): string {
  try {
    readEventStoreDbUrl({ LEDGERCLAW_EVENTSTOREDB_URL: url });
  } catch (error) {
    expect(error).toBeInstanceOf(EventStoreDbUrlError);
    return (error as Error).message;
  }
  throw new Error(`${url} was accepted`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('readEventStoreDbUrl', () => {
  it('accepts a connection string with credentials and known options, whatever their case', () => {
    const url = `esdb://admin:${SECRET}@127.0.0.1:2113,10.0.0.2:2113?tls=false&NodePreference=leader&defaultDeadline=5000`;
    expect(readEventStoreDbUrl({ LEDGERCLAW_EVENTSTOREDB_URL: url })).toBe(url);
  });

  it('says the variable is missing when it is not set', () => {
    expect(refusal(undefined)).toContain('LEDGERCLAW_EVENTSTOREDB_URL is not set');
  });

  it('refuses an unknown option by name, without the password, before the client would print the whole string', () => {
    const message = refusal(`esdb://admin:${SECRET}@127.0.0.1:2113?tls=false&bogus=1`);
    expect(message).toContain('unknown option "bogus"');
    expect(message).toContain('esdb://[redacted]@127.0.0.1:2113');
    expect(message).not.toContain(SECRET);
  });

  it('refuses tlsVerifyCert=false, which the client ignores with a warning that quotes the string', () => {
    const message = refusal(`esdb://admin:${SECRET}@db:2113?tlsVerifyCert=false`);
    expect(message).toContain('tlsVerifyCert=false has no effect');
    expect(message).not.toContain(SECRET);
  });

  it('reads a password holding ? and & as credentials, not as options', () => {
    const url = `esdb://admin:pa?ss&word=x@db:2113?tls=false`;
    expect(readEventStoreDbUrl({ LEDGERCLAW_EVENTSTOREDB_URL: url })).toBe(url);
  });

  it('refuses another scheme without showing its password', () => {
    const message = refusal(`http://admin:${SECRET}@db:2113`);
    expect(message).toContain('http://[redacted]@db:2113');
    expect(message).not.toContain(SECRET);
  });

  it('accepts only strings the real client parses without a console warning', () => {
    // The client warns through console.warn, with the whole string, for what it ignores.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const accepted = readEventStoreDbUrl({ LEDGERCLAW_EVENTSTOREDB_URL: `esdb://admin:${SECRET}@127.0.0.1:2113?tls=false&keepAliveTimeout=10000` });
    const client = EventStoreDBClient.connectionString(accepted);
    void client.dispose();
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('redactConnectionString', () => {
  it('replaces user:password@ after the scheme', () => {
    expect(redactConnectionString(`esdb://admin:${SECRET}@db:2113?tls=false`)).toBe('esdb://[redacted]@db:2113?tls=false');
    expect(redactConnectionString(`esdb+discover://admin:${SECRET}@cluster.local:2113`)).toBe('esdb+discover://[redacted]@cluster.local:2113');
  });

  it('takes out a password holding ?, / or # unencoded, as the client reads it', () => {
    for (const password of ['pa?ss', 'pa/ss', 'pa#ss', 'a:b?c/d#e']) {
      const redacted = redactConnectionString(`esdb://admin:${password}@db:2113?tls=false`);
      expect(redacted).toBe('esdb://[redacted]@db:2113?tls=false');
    }
  });

  it('leaves a string without credentials as it is', () => {
    expect(redactConnectionString('esdb://db1:2113,db2:2113?tls=false')).toBe('esdb://db1:2113,db2:2113?tls=false');
  });

  it('takes a known connection string out of a message that quotes it', () => {
    const url = `esdb://admin:${SECRET}@db:2113?tls=false`;
    expect(redactConnectionStringIn(`could not parse ${url} at 3`, url)).toBe('could not parse esdb://[redacted]@db:2113?tls=false at 3');
  });
});
