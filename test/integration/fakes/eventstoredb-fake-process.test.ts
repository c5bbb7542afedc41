/**
 * The fake EventStoreDB run as its own process (for the standby test and benches): it says
 * where it listens, the real client works against it, and SIGTERM stops it cleanly.
 */
import { randomUUID } from 'node:crypto';
import { EventStoreDBClient, jsonEvent, type ResolvedEvent } from '@eventstore/db-client';
import { afterEach, expect, it } from 'vitest';
import { builtFile } from '../../support/built-dist.js';
import { killLeftoverProcesses, startProcess } from '../../support/child-process.js';

afterEach(async () => {
  await killLeftoverProcesses();
});

it('prints "listening <url>" and serves the real client until SIGTERM', async () => {
  const fake = startProcess(process.execPath, [builtFile('test/fakes/eventstoredb/main.js'), '--port', '0']);
  const output = await fake.waitForOutput(/listening (esdb:\/\/\S+)\n/);
  const url = /listening (esdb:\/\/\S+)\n/.exec(output)?.[1];
  expect(url).toMatch(/^esdb:\/\/127\.0\.0\.1:\d+\?tls=false$/);
  const client = EventStoreDBClient.connectionString(url ?? '');
  try {
    await client.appendToStream('s', jsonEvent({ id: randomUUID(), type: 'a', data: { n: 1 } }), { expectedRevision: 'no_stream' });
    const read: ResolvedEvent[] = [];
    for await (const resolved of client.readStream('s')) read.push(resolved);
    expect(read.map((resolved) => resolved.event?.data)).toEqual([{ n: 1 }]);
  } finally {
    await client.dispose();
  }
  fake.kill('SIGTERM');
  expect(await fake.exited).toEqual({ code: 0, signal: null });
});

it('refuses a bad port with a message naming the argument', async () => {
  const fake = startProcess(process.execPath, [builtFile('test/fakes/eventstoredb/main.js'), '--port', 'eleven']);
  const exit = await fake.exited;
  expect(exit.code).toBe(2);
  expect(fake.stderr()).toContain('--port: must be a port number');
});

it('stops when its parent closes its stdin, with --exit-on-stdin-close', async () => {
  const fake = startProcess(process.execPath, [builtFile('test/fakes/eventstoredb/main.js'), '--exit-on-stdin-close'], { stdio: ['pipe', 'pipe', 'pipe'] });
  await fake.waitForOutput('listening esdb://');
  fake.stdin?.end();
  expect(await fake.exited).toEqual({ code: 0, signal: null });
});
