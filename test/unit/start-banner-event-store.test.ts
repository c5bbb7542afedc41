/** The start banner's event store lines: the backend that was opened, and what an append survives. */
import { describe, expect, it } from 'vitest';
import { eventStoreLines } from '../../runtime/cli/start-banner.js';

describe('the start banner event store lines', () => {
  it('name the SQLite file and its synchronous level', () => {
    expect(eventStoreLines('sqlite', { eventStoreLocation: '/var/lib/ledgerclaw/events.db', durability: 'FULL' })).toEqual([
      '  event store       /var/lib/ledgerclaw/events.db (sqlite)',
      '  durability        synchronous=FULL',
    ]);
  });

  it('name the EventStoreDB server as the backend shows it, say the caches stay local, and explain quorum', () => {
    const lines = eventStoreLines('eventstoredb', { eventStoreLocation: 'esdb://[redacted]@db1:2113,db2:2113?tls=true', durability: 'quorum' });
    expect(lines[0]).toBe('  event store       esdb://[redacted]@db1:2113,db2:2113?tls=true (eventstoredb; this runtime holds its lease; snapshots and read models are local caches in the data directory)');
    expect(lines[1]).toBe("  durability        quorum: an append is acknowledged once a majority of the cluster's nodes wrote it");
    expect(lines.join('\n')).not.toContain('sqlite');
    expect(lines.join('\n')).not.toContain('synchronous=');
  });
});
