/**
 * Crash test: SIGKILL a runtime process in the middle of a storm of commands to many
 * actors, again and again, then restart it, and check what it promised against what is
 * stored: every acknowledged command's events are there, every actor's state (snapshots
 * included) equals a fresh fold of its stream, no effect ran twice for one event, and
 * every hash chain verifies.
 */
import { readFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { foldAll, initialSnapshot } from '../../actors/fold.js';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { createEventStore } from '../../events/event-store.js';
import { eventIdFor } from '../../events/ids.js';
import { verifyHashChains } from '../../events/verify.js';
import { ActorHost } from '../../runtime/actor-host/actor-host.js';
import { SqliteSnapshotStore } from '../../snapshots/sqlite-snapshot-store.js';
import { builtFile } from '../support/built-dist.js';
import { startProcess } from '../support/child-process.js';
import { counterCatalogue, counterKind } from '../support/counter-kind.js';

let dataDir: string;
const storm = () => builtFile('test/support/actor-storm.js');

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-crash-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0) : [];
}

async function checkWhatWasPromised(): Promise<{ acknowledged: number; actors: number; effects: number }> {
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'reader' });
  const store = createEventStore(backend, counterCatalogue);
  const snapshots = await SqliteSnapshotStore.open(join(dataDir, 'snapshots.db'), { readOnly: true });
  try {
    // Every acknowledged command's events are stored, where the runtime said.
    const acknowledged = lines(join(dataDir, 'acks.log'));
    for (const line of acknowledged) {
      const [commandId, streamId, revisions] = line.split(' ') as [string, string, string];
      const wanted = revisions.split(',').map((revision) => BigInt(revision));
      const stored = await store.readStream(streamId, { from: wanted[0]!, maxCount: wanted.length });
      expect(stored.map((event) => event.id), `${line}`).toEqual(wanted.map((_, index) => eventIdFor('command', commandId, String(index))));
    }

    // Every actor's state, through its snapshot, equals a fresh fold of its stream.
    const host = new ActorHost({ requireAllEffects: false, store, kinds: [counterKind], snapshots, readOnly: true });
    const streams = await store.listStreams({ prefix: 'counter-' });
    for (const stream of streams) {
      const id = stream.streamId.slice('counter-'.length);
      const loaded = await host.load('counter', id);
      const folded = foldAll(counterKind, initialSnapshot(counterKind, id), await store.readStream(stream.streamId));
      expect([loaded.state, loaded.snapshot.context], stream.streamId).toEqual([folded.value, folded.context]);
    }
    await host.stop();

    // No effect ran twice for one event, and each one's event is stored.
    const effects = lines(join(dataDir, 'effects.log')).map((line) => line.split(' ')[0]!);
    expect(new Set(effects).size).toBe(effects.length);
    const causes = new Set(effects.filter((key) => !key.includes(':pending:')).map((key) => key.split(':')[0]!));
    const storedIds = new Set<string>();
    for (let from = 0n; ; ) {
      const page = await store.readAll({ fromPosition: from, maxCount: 5_000 });
      for (const event of page) storedIds.add(event.id);
      if (page.length < 5_000) break;
      from = page[page.length - 1]!.position + 1n;
    }
    for (const cause of causes) expect(storedIds.has(cause), `effect caused by ${cause}`).toBe(true);

    expect(await verifyHashChains(backend)).toMatchObject({ ok: true });
    return { acknowledged: acknowledged.length, actors: streams.length, effects: effects.length };
  } finally {
    await snapshots.close();
    await store.close();
  }
}

it('keeps every promise across repeated SIGKILLs in the middle of a command storm', async () => {
  let previous = { acknowledged: 0, actors: 0, effects: 0 };
  for (let cycle = 0; cycle < 4; cycle += 1) {
    const runtime = startProcess(process.execPath, [storm(), dataDir, 'storm', '60000']);
    await runtime.waitForOutput('storming');
    await new Promise((resolve) => setTimeout(resolve, 400 + cycle * 250));
    runtime.kill('SIGKILL');
    expect((await runtime.exited).signal).toBe('SIGKILL');
    const now = await checkWhatWasPromised();
    // The storm really ran: each cycle acknowledged more commands.
    expect(now.acknowledged).toBeGreaterThan(previous.acknowledged);
    previous = now;
  }
  expect(previous.effects).toBeGreaterThan(0);

  const restarted = startProcess(process.execPath, [storm(), dataDir, 'recover', '500']);
  expect((await restarted.exited).code, restarted.stderr()).toBe(0);
  expect(restarted.stdout()).toMatch(/recovered \d+/);
  const after = await checkWhatWasPromised();
  expect(after.acknowledged).toBeGreaterThan(previous.acknowledged);
}, 120_000);
