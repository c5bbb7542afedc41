/**
 * For integration tests of the EventStoreDB backend: a fresh fake EventStoreDB and scratch
 * directory per test, and backends opened on them with the real client, all closed after
 * the test. Call once at the top of a test file; it registers its own hooks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openEventStoreDbBackend, type EventStoreDbBackend, type EventStoreDbBackendOptions } from '../../events/adapters/eventstoredb/eventstoredb-backend.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { startFakeEventStoreDb, type FakeEventStoreDb } from '../fakes/eventstoredb/index.js';
import { testCatalogue } from './test-catalogue.js';

export interface EventStoreDbFixture {
  /** This test's fake server (a new one after `restartFake`). */
  readonly fake: FakeEventStoreDb;
  /** This test's scratch directory, for index files. */
  readonly dir: string;
  /** A writer on the fake with its index at `<dir>/index.db`, unless overridden; closed after the test. */
  open(overrides?: Partial<EventStoreDbBackendOptions>): Promise<EventStoreDbBackend>;
  /** Closes the backend opened last, before the test ends. */
  closeLastOpened(): Promise<void>;
  /** Replaces the fake with a fresh, empty one on the same port: another store at the same address. */
  restartFake(): Promise<void>;
}

export function useEventStoreDbFixture(dirPrefix: string): EventStoreDbFixture {
  let fake: FakeEventStoreDb | undefined;
  let dir: string | undefined;
  const opened: EventStoreDbBackend[] = [];

  beforeEach(async () => {
    fake = await startFakeEventStoreDb();
    dir = await mkdtemp(join(tmpdir(), dirPrefix));
  });

  afterEach(async () => {
    for (const backend of opened.splice(0)) await backend.close().catch(() => undefined);
    await fake?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const current = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the EventStoreDB fixture's ${what} exists only inside a test`);
    return value;
  };

  return {
    get fake() {
      return current(fake, 'fake');
    },
    get dir() {
      return current(dir, 'directory');
    },
    async open(overrides = {}) {
      const backend = await openEventStoreDbBackend({
        connectionString: current(fake, 'fake').url,
        mode: 'writer',
        indexPath: join(current(dir, 'directory'), 'index.db'),
        requestTimeoutMs: 10_000,
        ...overrides,
      });
      opened.push(backend);
      return backend;
    },
    async closeLastOpened() {
      await opened.pop()?.close();
    },
    async restartFake() {
      const port = current(fake, 'fake').port;
      await current(fake, 'fake').close();
      fake = await startFakeEventStoreDb({ port });
    },
  };
}

/** The EventStore port over a backend, with the test catalogue. */
export function testStoreOf(backend: EventStoreDbBackend): EventStore {
  return createEventStore(backend, testCatalogue);
}
