/**
 * `ledgerclaw runs list` on a real SQLite store: which runs it shows, in which order.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runQueued } from '../../events/catalogue/run.js';
import { loadConfig } from '../../runtime/config.js';
import { openEventStore } from '../../runtime/open-store.js';
import { runCliCaptured } from '../support/in-process-cli.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-runs-list-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Records a run queued at `at`, appended now (its position is after every earlier call's). */
async function queueRuns(runs: ReadonlyArray<{ id: string; group: string; at: string }>): Promise<void> {
  const { config } = loadConfig({ flags: { data: dataDir }, env: {}, cwd: dataDir });
  const opened = await openEventStore(config, { mode: 'writer', actor: 'test' });
  try {
    for (const run of runs) {
      const queued = runQueued.create({ groupId: run.group, conversationId: run.group, taskId: null, trigger: 'chat', turnRef: run.id, contextMode: 'group', queuedAt: run.at });
      await opened.store.append(`run-${run.id}`, [{ ...queued, metadata: { occurredAt: run.at } }], { expectedRevision: 'no_stream' });
    }
  } finally {
    await opened.close();
  }
}

function runIds(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s+/)[0]!);
}

describe('ledgerclaw runs list', () => {
  it('lists newest first by when each run began, then by position, not by run id (defect 10: runs list order)', async () => {
    // Run ids sort against time: a Slack thread's id, a task's id, a chat's counter.
    await queueRuns([
      { id: 'zz-oldest', group: 'a.one', at: '2026-01-01T08:00:00.000Z' },
      { id: 'aa-newest-tie-first', group: 'a.two', at: '2026-01-01T09:00:00.000Z' },
      { id: 'ab-newest-tie-second', group: 'a.three', at: '2026-01-01T09:00:00.000Z' },
      // Appended last, but began before the others: a retry of an old turn, say.
      { id: 'mm-began-earliest', group: 'a.four', at: '2026-01-01T07:00:00.000Z' },
    ]);
    const all = await runCliCaptured(['runs', 'list', '--data', dataDir], { cwd: dataDir });
    expect(all.code).toBe(0);
    expect(runIds(all.stdout)).toEqual(['ab-newest-tie-second', 'aa-newest-tie-first', 'zz-oldest', 'mm-began-earliest']);

    const newest = await runCliCaptured(['runs', 'list', '--limit', '1', '--data', dataDir], { cwd: dataDir });
    expect(newest.code).toBe(0);
    expect(runIds(newest.stdout)).toEqual(['ab-newest-tie-second']);
  });

  it('says so when there is no run', async () => {
    const none = await runCliCaptured(['runs', 'list', '--data', dataDir], { cwd: dataDir });
    expect(none).toMatchObject({ code: 0, stdout: 'no runs yet\n' });
  });
});
