/**
 * What the projection tests share: stored events made by a real event store (the memory
 * backend, the full catalogue plus the daily-log events) and the real actor host, and a
 * projection applied to a fresh SQLite file the way the projection host applies it: its
 * schema once, then batches in BEGIN IMMEDIATE / COMMIT, then `afterCommit` for a batch
 * that applied at least one of its events.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { afterEach, beforeEach } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actorKinds } from '../../../actors/index.js';
import { MemoryBackend } from '../../../events/adapters/memory.js';
import type { EventBackend } from '../../../events/backend.js';
import { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import { EventCatalogue, type EventDefinition } from '../../../events/catalogue.js';
import { dailyLogEvents } from '../../../events/catalogue/daily-log.js';
import { catalogue } from '../../../events/catalogue/index.js';
import type { NewEvent, StoredEvent } from '../../../events/envelope.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { ActorHost, type SendResult } from '../../../runtime/actor-host/actor-host.js';
import type { Projection } from '../../../projections/projection.js';

/** The runtime's catalogue with the daily-log events (until the catalogue index registers them). */
export function projectionCatalogue(): EventCatalogue {
  const definitions: EventDefinition[] = catalogue.types.map((type) => catalogue.definition(type)!);
  for (const definition of dailyLogEvents) if (!catalogue.definition(definition.type)) definitions.push(definition);
  return new EventCatalogue(definitions);
}

/** A clock the tests move by hand: every command and event time comes from it. */
export class TestClock {
  private current: number;
  constructor(start = '2026-01-05T09:00:00.000Z') {
    this.current = Date.parse(start);
  }
  now = (): Date => new Date(this.current);
  iso(): string {
    return new Date(this.current).toISOString();
  }
  advance(ms: number): string {
    this.current += ms;
    return this.iso();
  }
}

export interface World {
  readonly store: EventStore;
  readonly host: ActorHost;
  readonly clock: TestClock;
  /** Sends a command and fails the test if it is rejected. */
  send(kind: string, id: string, command: { type: string; [field: string]: unknown }, actor?: string): Promise<SendResult>;
  /** Appends events directly (for event types no actor records yet). */
  append(streamId: string, events: readonly NewEvent[]): Promise<StoredEvent[]>;
  /** Every stored event in $all order. */
  all(): Promise<StoredEvent[]>;
  stop(): Promise<void>;
}

/** A world on the memory backend, or on the backend given (a real SQLite file, say). */
export function createWorld(start?: string, backend?: EventBackend): World {
  const clock = new TestClock(start);
  const store = createEventStore(backend ?? new MemoryBackend(clock.now), projectionCatalogue(), { now: clock.now });
  const host = new ActorHost({ requireAllEffects: false, store, kinds: actorKinds, now: clock.now, defaultActor: 'runtime' });
  return {
    store,
    host,
    clock,
    async send(kind, id, command, actor) {
      clock.advance(1_000);
      // Projection tests name kinds and commands loosely; the kind's schema checks them here.
      const result = await host.sendUnchecked(kind, id, command, actor ? { actor } : {});
      if (result.status !== 'accepted') throw new Error(`${kind} ${id} rejected ${command.type}: ${result.reason}`);
      return result;
    },
    async append(streamId, events) {
      clock.advance(1_000);
      const stamped = events.map((event) => ({ ...event, metadata: { occurredAt: clock.iso(), ...event.metadata } }));
      return [...(await store.append(streamId, stamped, { expectedRevision: 'any' })).events];
    },
    async all() {
      const events: StoredEvent[] = [];
      for (let from: bigint | 'start' = 'start'; ; ) {
        const page = await store.readAll({ fromPosition: from, maxCount: 1_000 });
        events.push(...page);
        if (page.length < 1_000) return events;
        from = page[page.length - 1]!.position + 1n;
      }
    },
    async stop() {
      await host.stop();
      await store.close();
    },
  };
}

export async function temporaryDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `ledgerclaw-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A fresh read-model file with the projection's schema. */
export async function openProjection(file: string, projection: Projection): Promise<SqliteConnection> {
  const db = await SqliteConnection.open(file, { create: true });
  await db.exec(`BEGIN IMMEDIATE; ${projection.schema}; COMMIT;`);
  return db;
}

/**
 * Applies events as the projection host does: in batches of `batchSize`, each one
 * transaction, then `afterCommit` when the batch held any of the projection's events.
 */
export async function applyEvents(
  db: SqliteConnection,
  projection: Projection,
  events: readonly StoredEvent[],
  options: { dataDir?: string; batchSize?: number } = {},
): Promise<void> {
  const wanted = new Set(projection.eventTypes);
  const batchSize = options.batchSize ?? 500;
  for (let start = 0; start < events.length; start += batchSize) {
    let applied = 0;
    await db.exec('BEGIN IMMEDIATE');
    try {
      for (const event of events.slice(start, start + batchSize)) {
        if (!wanted.has(event.type)) continue;
        await projection.apply(db, event);
        applied += 1;
      }
      await db.exec('COMMIT');
    } catch (error) {
      await db.exec('ROLLBACK');
      throw error;
    }
    if (applied > 0 && projection.afterCommit && options.dataDir !== undefined) {
      await projection.afterCommit(db, { dataDir: options.dataDir });
    }
  }
}

/**
 * A world and a temporary directory for each test of one projection, and `build`, which
 * applies everything the world stored to a fresh read model under that directory.
 */
export function projectionTestbed(projection: Projection, prefix: string) {
  let world: World | undefined;
  let dir: { path: string; remove: () => Promise<void> } | undefined;
  const open: SqliteConnection[] = [];
  beforeEach(async () => {
    world = createWorld();
    dir = await temporaryDir(prefix);
  });
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    await world?.stop();
    await dir?.remove();
  });
  return {
    get world(): World {
      if (!world) throw new Error('the testbed world exists only inside a test');
      return world;
    },
    get dir(): string {
      if (!dir) throw new Error('the testbed directory exists only inside a test');
      return dir.path;
    },
    /** Closes this connection after the test. */
    track(db: SqliteConnection): SqliteConnection {
      open.push(db);
      return db;
    },
    async build(name: string, options: { batchSize?: number } = {}): Promise<{ db: SqliteConnection; dataDir: string }> {
      const dataDir = join(this.dir, name);
      const db = await openProjection(join(this.dir, `${name}.db`), projection);
      open.push(db);
      await applyEvents(db, projection, await this.world.all(), { dataDir, ...options });
      return { db, dataDir };
    },
  };
}
