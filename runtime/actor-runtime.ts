/**
 * The actor host as the runtime and the CLI use it: every actor kind, the data
 * directory's snapshot store, the configured snapshot and passivation policy, and the
 * effect executors that connect actors to one another and, in later issues, to the world.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyActorKind } from '../actors/actor-kind.js';
import { actorKinds, type RuntimeActorKind } from '../actors/index.js';
import type { EventStore } from '../events/port.js';
import type { SnapshotStore } from '../snapshots/snapshot-store.js';
import { SqliteSnapshotStore } from '../snapshots/sqlite-snapshot-store.js';
import { ActorHost, type Logger } from './actor-host/actor-host.js';
import type { EffectExecutors } from './actor-host/effects.js';
import { corruptionDetail, isCorruptFile, moveCorruptFileAside } from './cache-files.js';
import type { Config } from './config.js';

export const SNAPSHOTS_DB_FILE = 'snapshots.db';

export interface ActorRuntime {
  readonly host: ActorHost;
  close(): Promise<void>;
}

export interface ActorRuntimeOptions {
  readonly store: EventStore;
  readonly config: Config;
  /** The CLI's host reads and replays; only `ledgerclaw start` appends and runs effects. */
  readonly readOnly: boolean;
  readonly effects?: EffectExecutors;
  /**
   * Replaces the runtime's kinds (tests host others). The host stays typed by the
   * runtime's registry: commands to other kinds go through `sendUnchecked`.
   */
  readonly kinds?: readonly AnyActorKind[];
  /** See ActorHostOptions.requireAllEffects: `start` assembles every executor and requires them all; other hosts run no effects of kinds they do not drive. */
  readonly requireAllEffects?: boolean;
  readonly logger?: Logger;
}

export async function openActorRuntime(options: ActorRuntimeOptions): Promise<ActorRuntime> {
  const snapshots = await openSnapshots(join(options.config.dataDir, SNAPSHOTS_DB_FILE), options);
  const host = new ActorHost({
    store: options.store,
    // Replacement kinds are addressed by name read at run time, never through the typed API.
    kinds: (options.kinds ?? actorKinds) as readonly RuntimeActorKind[],
    ...(snapshots ? { snapshots } : {}),
    snapshotEvery: options.config.actors.snapshotEvery,
    maxLiveActors: options.config.actors.maxLiveActors,
    idleAfterMs: options.config.actors.idleAfterMs,
    readOnly: options.readOnly,
    requireAllEffects: options.requireAllEffects ?? false,
    ...(options.effects ? { effects: options.effects } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return {
    host,
    close: async () => {
      await host.stop();
      await snapshots?.close();
    },
  };
}

/**
 * The snapshot cache, or undefined when there is none to use: actors then fold their whole
 * streams. A corrupt file is the writer's to move aside and start again (it holds the data
 * directory's lock); a reader leaves it where it is and does without.
 */
async function openSnapshots(path: string, options: ActorRuntimeOptions): Promise<SnapshotStore | undefined> {
  // A reader never creates the snapshot file.
  if (options.readOnly && !existsSync(path)) return undefined;
  try {
    return await SqliteSnapshotStore.open(path, { readOnly: options.readOnly, checkIntegrity: !options.readOnly });
  } catch (error) {
    if (!isCorruptFile(error)) throw error;
    const reason = corruptionDetail(error);
    if (options.readOnly) {
      options.logger?.warn({ path, reason }, 'the snapshot cache is corrupt; folding whole streams (the next start moves it aside)');
      return undefined;
    }
    const movedTo = await moveCorruptFileAside(path);
    options.logger?.warn({ path, movedTo, reason }, 'the snapshot cache was corrupt: moved aside; actors fold their streams and save new snapshots');
    return SqliteSnapshotStore.open(path, { readOnly: false });
  }
}
