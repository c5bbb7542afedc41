/**
 * SQLite stores on disk for the export/import/migrate tests: seeded through the real event
 * store (test catalogue), read back raw, and the built CLI run on them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import type { RawStoredEvent } from '../../events/envelope.js';
import { createEventStore } from '../../events/event-store.js';
import type { StreamInfo } from '../../events/port.js';
import { builtFile } from './built-dist.js';
import { runProcess, startProcess, type RunningProcess } from './child-process.js';
import { cliEnv } from './cli-env.js';
import { happened, testCatalogue } from './test-catalogue.js';

const made: string[] = [];

/** A new empty directory, removed after the test. */
export function tempDir(prefix = 'ledgerclaw-transfer-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Appends `count` events, round robin over `streams`, to the SQLite store in `dataDir`. */
export async function seedStore(dataDir: string, count: number, options: { streams?: readonly string[]; first?: number } = {}): Promise<void> {
  const streams = options.streams ?? ['task-a', 'task-b', 'runtime'];
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' });
  try {
    const store = createEventStore(backend, testCatalogue);
    for (let index = 0; index < count; index += 1) {
      const number = (options.first ?? 0) + index;
      await store.append(streams[number % streams.length]!, [happened(number)], { expectedRevision: 'any' });
    }
  } finally {
    await backend.close();
  }
}

/** Every event of the store in `dataDir` as stored, and its stream index. */
export async function storeContents(dataDir: string): Promise<{ events: RawStoredEvent[]; streams: StreamInfo[] }> {
  const backend = await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'reader' });
  try {
    return {
      events: await backend.readAll({ from: 1n, direction: 'forwards', maxCount: Number.MAX_SAFE_INTEGER }),
      streams: await backend.listStreams({}),
    };
  } finally {
    await backend.close();
  }
}

/** `ledgerclaw <args>` (the built CLI) from `cwd`, logging warnings only. */
export function ledgerclaw(cwd: string, ...args: string[]): ReturnType<typeof runProcess> {
  return ledgerclawWith({}, cwd, ...args);
}

/** `ledgerclaw <args>` with these settings in its environment (LEDGERCLAW_EVENTSTOREDB_URL, …). */
export function ledgerclawWith(env: Record<string, string>, cwd: string, ...args: string[]): ReturnType<typeof runProcess> {
  return runProcess(process.execPath, [builtFile('runtime/cli/main.js'), ...args], { cwd, env: cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', ...env }) });
}

/** The same, left running: for a test that interrupts it. */
export function startLedgerclawWith(env: Record<string, string>, cwd: string, ...args: string[]): RunningProcess {
  return startProcess(process.execPath, [builtFile('runtime/cli/main.js'), ...args], { cwd, env: cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn', ...env }) });
}
