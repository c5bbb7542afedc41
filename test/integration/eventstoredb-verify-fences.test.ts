/**
 * `ledgerclaw events verify` on EventStoreDB reports events written under a lease already
 * lost: the chain can be whole (the stale writer hashed correctly), so only the fencing
 * tokens in the events show that a second runtime wrote after another took over.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openEventStoreDbBackend } from '../../events/adapters/eventstoredb/eventstoredb-backend.js';
import { createEventStore } from '../../events/event-store.js';
import { startFakeEventStoreDb, type FakeEventStoreDb } from '../fakes/eventstoredb/index.js';
import { builtFile } from '../support/built-dist.js';
import { runProcess } from '../support/child-process.js';
import { cliEnv } from '../support/cli-env.js';
import { happened, testCatalogue } from '../support/test-catalogue.js';

let fake: FakeEventStoreDb;
let writerDir: string;
let cliDir: string;

beforeEach(async () => {
  fake = await startFakeEventStoreDb();
  writerDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-fences-writer-'));
  cliDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-fences-cli-'));
});

afterEach(async () => {
  await fake.close();
  await rm(writerDir, { recursive: true, force: true });
  await rm(cliDir, { recursive: true, force: true });
});

/** Appends one event a stream, each under the fencing token given for it. */
async function writeUnderFences(writes: readonly { readonly streamId: string; readonly fence: bigint }[]): Promise<void> {
  const backend = await openEventStoreDbBackend({ connectionString: fake.url, mode: 'writer', indexPath: join(writerDir, 'index.db'), requestTimeoutMs: 10_000 });
  try {
    const store = createEventStore(backend, testCatalogue);
    for (const [index, write] of writes.entries()) {
      backend.setWriteGuard(() => write.fence);
      await store.append(write.streamId, [happened(index)], { expectedRevision: 'no_stream' });
    }
  } finally {
    await backend.close();
  }
}

function verify() {
  return runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'events', 'verify', '--data', cliDir], {
    cwd: cliDir,
    env: cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', LEDGERCLAW_EVENT_STORE: 'eventstoredb', LEDGERCLAW_EVENTSTOREDB_URL: fake.url }),
  });
}

it('passes a store whose fencing tokens only grow', async () => {
  await writeUnderFences([
    { streamId: 'order-1', fence: 1n },
    { streamId: 'order-2', fence: 2n },
    { streamId: 'order-3', fence: 2n },
  ]);
  const result = await verify();
  expect(result.stdout).toBe('hash chains intact: 3 events in 3 streams\n');
  expect(result.code).toBe(0);
});

it('fails a store with an event written under an older token than one before it, naming the event, though every chain is whole', async () => {
  await writeUnderFences([
    { streamId: 'order-1', fence: 4n },
    { streamId: 'order-2', fence: 5n },
    { streamId: 'order-3', fence: 4n },
    { streamId: 'order-4', fence: 5n },
  ]);
  const result = await verify();
  expect(result.stdout).toContain('hash chains intact: 4 events in 4 streams\n');
  expect(result.stdout).toContain('1 event written under a lease already lost');
  expect(result.stdout).toContain('  order-3@0 (position 3): fence 4, after fence 5\n');
  expect(result.stdout).not.toContain('order-4');
  expect(result.code).toBe(1);
});
