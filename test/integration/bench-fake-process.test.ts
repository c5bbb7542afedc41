/**
 * The bench's fake EventStoreDB in a child process (test/bench/eventstoredb-fake-process.ts),
 * run from the built tree as `npm run bench` runs it: the real client reaches it at the URL
 * it prints, and closing it ends the process.
 */
import { pathToFileURL } from 'node:url';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import type * as FakeProcess from '../bench/eventstoredb-fake-process.js';
import { builtFile } from '../support/built-dist.js';

async function loadBuilt(): Promise<typeof FakeProcess> {
  return (await import(pathToFileURL(builtFile('test/bench/eventstoredb-fake-process.js')).href)) as typeof FakeProcess;
}

describe('bench: the fake EventStoreDB as a child process', () => {
  it('serves the real client at the URL it prints, and is gone once closed', async () => {
    const { startFakeProcess } = await loadBuilt();
    const fake = await startFakeProcess();
    expect(fake.url).toMatch(/^esdb:\/\/127\.0\.0\.1:\d+\?tls=false$/);
    const client = EventStoreDBClient.connectionString(fake.url);
    try {
      await client.appendToStream('bench-probe', [jsonEvent({ type: 'probed', data: { n: 1 } })]);
      const read: unknown[] = [];
      for await (const resolved of client.readStream('bench-probe')) read.push(resolved.event?.data);
      expect(read).toEqual([{ n: 1 }]);
    } finally {
      await client.dispose();
    }
    await fake.close();
    const port = Number(new URL(fake.url.replace('esdb://', 'http://')).port);
    const after = EventStoreDBClient.connectionString(`esdb://127.0.0.1:${port}?tls=false&defaultDeadline=2000&maxDiscoverAttempts=1`);
    try {
      await expect(after.appendToStream('bench-probe', [jsonEvent({ type: 'probed', data: { n: 2 } })])).rejects.toThrow();
    } finally {
      await after.dispose();
    }
  });
});
