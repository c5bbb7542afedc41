/**
 * The check `start` makes before it appends (issue 16, defect 7): from the remembered
 * checkpoint to the head, refusing a broken chain, re-verifying everything when the
 * checkpoint is missing or unreadable, and recording nothing when told to skip.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../events/adapters/memory.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { chainCheckpointPath, readChainCheckpoint } from '../../runtime/chain-checkpoint.js';
import { createLogger } from '../../runtime/logger.js';
import { ChainBrokenError, verifyStoreOnStart } from '../../runtime/verify-on-start.js';
import { happened, testCatalogue } from '../support/test-catalogue.js';

let dataDir: string;
let backend: MemoryBackend;
let store: EventStore;
let logLines: string[];
let warnings: string[];

function check(skip = false) {
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logLines.push(line) } });
  return verifyStoreOnStart({ backend, dataDir, skip, logger, warn: (line) => void warnings.push(line) });
}

async function rememberedPosition(): Promise<bigint | undefined> {
  const read = await readChainCheckpoint(dataDir);
  return read.kind === 'found' ? read.remembered.checkpoint.position : undefined;
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-verify-on-start-'));
  backend = new MemoryBackend();
  store = createEventStore(backend, testCatalogue);
  logLines = [];
  warnings = [];
});

afterEach(async () => {
  await backend.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('verifyStoreOnStart', () => {
  it('verifies the whole store the first time, then only what was appended since', async () => {
    await store.append('note-1', [happened(0), happened(1)], { expectedRevision: 'no_stream' });
    expect(await check()).toEqual({ kind: 'verified', events: 2, from: 0n, through: 2n });
    expect(await rememberedPosition()).toBe(2n);
    await store.append('note-2', [happened(2)], { expectedRevision: 'no_stream' });
    expect(await check()).toEqual({ kind: 'verified', events: 1, from: 2n, through: 3n });
    expect(await check()).toEqual({ kind: 'verified', events: 0, from: 3n, through: 3n });
  });

  it('defect 7 (issue 16): refuses a re-timed event, naming its stream and position, and does not move the checkpoint', async () => {
    await store.append('note-1', [happened(0)], { expectedRevision: 'no_stream' });
    await check();
    await store.append('note-1', [happened(1)], { expectedRevision: 0n });
    backend.tamper(2n, (event) => ({ ...event, recordedAt: '2020-01-01T00:00:00.000Z' }));
    const refused = await check().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ChainBrokenError);
    expect((refused as Error).message).toContain('hash chain broken in stream note-1 at revision 1 (position 2): ');
    expect((refused as Error).message).toContain('--skip-verify');
    expect(await rememberedPosition()).toBe(1n);
  });

  it('verifies everything again when the checkpoint file is unreadable, and says so in the log', async () => {
    await store.append('note-1', [happened(0)], { expectedRevision: 'no_stream' });
    await check();
    backend.tamper(1n, (event) => ({ ...event, recordedAt: '2020-01-01T00:00:00.000Z' }));
    // Verified before, so the tail check no longer reads it ...
    await expect(check()).resolves.toMatchObject({ kind: 'verified', events: 0 });
    // ... until the checkpoint is lost: then the whole store is read, and the change found.
    await writeFile(chainCheckpointPath(dataDir), '{"format": 1, "position": "99"');
    await expect(check()).rejects.toThrow(/hash chain broken in stream note-1 at revision 0 \(position 1\)/);
    expect(logLines.join('')).toContain('the chain checkpoint cannot be read; verifying the whole event store');
  });

  it('skips with a loud warning and leaves the checkpoint untouched', async () => {
    await store.append('note-1', [happened(0)], { expectedRevision: 'no_stream' });
    await check();
    const before = await readFile(chainCheckpointPath(dataDir), 'utf8');
    backend.tamper(1n, (event) => ({ ...event, recordedAt: '2020-01-01T00:00:00.000Z' }));
    await store.append('note-1', [happened(1)], { expectedRevision: 0n });
    expect(await check(true)).toEqual({ kind: 'skipped' });
    expect(warnings.join('')).toContain('WARNING: HASH-CHAIN VERIFICATION SKIPPED (--skip-verify)');
    expect(logLines.join('')).toContain('HASH-CHAIN VERIFICATION SKIPPED');
    expect(await readFile(chainCheckpointPath(dataDir), 'utf8')).toBe(before);
  });
});
