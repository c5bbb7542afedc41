/**
 * The runtime's live-actors file: written atomically when actors come and go, coalesced,
 * refreshed when the host unloads actors silently, and removed on a clean stop.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialSnapshot } from '../../actors/fold.js';
import { MemoryBackend } from '../../events/adapters/memory.js';
import { createEventStore } from '../../events/event-store.js';
import { ActorHost, type ActorView } from '../../runtime/actor-host/actor-host.js';
import type { InspectionEvent } from '../../runtime/actor-host/inspection.js';
import { LiveActorsFileWriter, liveActorsFileSchema, liveActorsPath, type LiveActorsSource } from '../../runtime/live-actors-file.js';
import { counterCatalogue, counterKind } from '../support/counter-kind.js';

let dataDir: string;
const writers: LiveActorsFileWriter[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-live-'));
});

afterEach(async () => {
  for (const writer of writers.splice(0)) await writer.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function start(source: LiveActorsSource, options: { coalesceMs?: number; refreshMs?: number } = {}): Promise<LiveActorsFileWriter> {
  const writer = await LiveActorsFileWriter.start({ dataDir, source, ...options });
  writers.push(writer);
  return writer;
}

async function readLiveFile() {
  return liveActorsFileSchema.parse(JSON.parse(await readFile(liveActorsPath(dataDir), 'utf8')));
}

/** Polls the file until `check` holds; the writer's timing is its own business. */
async function eventually(check: (streamIds: string[]) => boolean, timeoutMs = 5_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const streamIds = (await readLiveFile()).actors.map((actor) => actor.streamId);
    if (check(streamIds)) return streamIds;
    if (Date.now() > deadline) throw new Error(`the live-actors file still lists ${JSON.stringify(streamIds)}`);
    await sleep(20);
  }
}

describe('LiveActorsFileWriter', () => {
  it('writes the live actors at once, then again soon after they change, and removes the file on stop', async () => {
    const host = new ActorHost({ requireAllEffects: false, store: createEventStore(new MemoryBackend(), counterCatalogue), kinds: [counterKind] });
    await host.send('counter', 'a', { type: 'increment', by: 2 });
    const writer = await start(host, { coalesceMs: 50 });
    const first = await readLiveFile();
    expect(first).toMatchObject({ pid: process.pid, hostname: hostname(), actors: [{ streamId: 'counter-a', state: 'open', revision: 0 }] });
    expect(Date.parse(first.updatedAt)).toBeGreaterThan(Date.now() - 60_000);

    await host.send('counter', 'b', { type: 'close', reason: 'x' });
    const listed = await eventually((ids) => ids.includes('counter-b'));
    expect(listed).toEqual(['counter-a', 'counter-b']);
    expect((await readLiveFile()).actors[1]).toEqual({ streamId: 'counter-b', state: 'closed', revision: 0 });
    // Written by rename: no temporary file is left beside it.
    expect(await readdir(join(dataDir, 'runtime'))).toEqual(['live-actors.json']);

    await writer.stop();
    expect(await readdir(join(dataDir, 'runtime'))).toEqual([]);
    await host.stop();
  });

  it('gathers a burst of changes into one write', async () => {
    const inspection = new Subject<InspectionEvent>();
    let reads = 0;
    const actors: ActorView[] = [];
    const source: LiveActorsSource = {
      inspection,
      liveActors: () => {
        reads += 1;
        return actors;
      },
    };
    await start(source, { coalesceMs: 100 });
    expect(reads).toBe(1);
    for (let index = 0; index < 50; index += 1) {
      actors.push(view(`counter-${index}`));
      inspection.next({ type: 'actor', streamId: `counter-${index}`, state: 'open', value: 'open', context: {} });
    }
    await eventually((ids) => ids.length === 50);
    expect(reads).toBe(2);
  });

  it('notices actors unloaded without a word, on its periodic check', async () => {
    const actors = [view('counter-a'), view('counter-b')];
    await start({ inspection: new Subject<InspectionEvent>(), liveActors: () => actors }, { refreshMs: 50, coalesceMs: 20 });
    expect((await readLiveFile()).actors).toHaveLength(2);
    actors.pop();
    expect(await eventually((ids) => ids.length === 1)).toEqual(['counter-a']);
  });

  it('drops an actor as soon as the host reports it passivated', async () => {
    const actors = [view('counter-a'), view('counter-b')];
    const inspection = new Subject<InspectionEvent>();
    // A periodic check far beyond the test's patience: only the report can do it.
    await start({ inspection, liveActors: () => actors }, { refreshMs: 600_000, coalesceMs: 20 });
    actors.pop();
    inspection.next({ type: 'passivated', streamId: 'counter-b' });
    expect(await eventually((ids) => ids.length === 1)).toEqual(['counter-a']);
  });
});

function view(streamId: string): ActorView {
  const id = streamId.slice('counter-'.length);
  const snapshot = initialSnapshot(counterKind, id);
  return { kind: 'counter', id, streamId, revision: 0n, state: 'open', snapshot, context: snapshot.context };
}
