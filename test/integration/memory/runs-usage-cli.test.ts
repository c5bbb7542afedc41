/**
 * `ledgerclaw runs usage` on a real SQLite store: a group's model calls per day, runs and
 * consolidations each under their own kind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryConsolidationModelCalled } from '../../../events/catalogue/daily-log.js';
import { runModelCalled, runQueued } from '../../../events/catalogue/run.js';
import { loadConfig } from '../../../runtime/config.js';
import { openEventStore } from '../../../runtime/open-store.js';
import { runCliCaptured } from '../../support/in-process-cli.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-runs-usage-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const tokens = { input: 1_000, output: 200, cacheRead: 500, cacheWrite: 0 };
const AT = '2026-01-05T10:00:00.000Z';

it('shows consolidation calls beside runs, each under its kind, with budgeted tokens and cost', async () => {
  const { config } = loadConfig({ flags: { data: dataDir }, env: {}, cwd: dataDir });
  const opened = await openEventStore(config, { mode: 'writer', actor: 'test' });
  try {
    const call = { model: 'claude-sonnet-5-5', tokens, costUsd: 0.006, latencyMs: 900, attempts: 1, stopReason: 'end_turn', calledAt: AT };
    await opened.store.append(
      'run-r1',
      [
        runQueued.create({ groupId: 'T1.C1', conversationId: 'T1.C1', taskId: null, trigger: 'chat', turnRef: 'r1', contextMode: 'group', queuedAt: AT }),
        runModelCalled.create({ ...call, callId: 'c1', output: [] }),
        runModelCalled.create({ ...call, callId: 'c2', output: [] }),
      ],
      { expectedRevision: 'no_stream' },
    );
    await opened.store.append(
      'memory-group.T1.C1',
      [memoryConsolidationModelCalled.create({ requestId: 'req-1', attempt: 1, model: 'claude-sonnet-5-5', tokens, costUsd: null, latencyMs: 700, httpAttempts: 1, stopReason: 'end_turn', answer: '{}', calledAt: AT })],
      { expectedRevision: 'any' },
    );
  } finally {
    await opened.close();
  }

  const table = await runCliCaptured(['runs', 'usage', '--data', dataDir], { cwd: dataDir });
  expect(table.code).toBe(0);
  const lines = table.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^day\s+group\s+kind\s+calls\s+tokens\s+cost$/);
  expect(lines.slice(1).map((line) => line.split(/\s{2,}/))).toEqual([
    ['2026-01-05', 'T1.C1', 'consolidation', '1', '1200', '≥ $0.0000'],
    ['2026-01-05', 'T1.C1', 'run', '2', '2400', '$0.0120'],
  ]);

  const json = await runCliCaptured(['runs', 'usage', '--json', '--data', dataDir], { cwd: dataDir });
  expect(JSON.parse(json.stdout)).toEqual([
    { day: '2026-01-05', groupId: 'T1.C1', kind: 'consolidation', modelCalls: 1, tokens: 1_200, costUsd: 0, unknownCost: true },
    { day: '2026-01-05', groupId: 'T1.C1', kind: 'run', modelCalls: 2, tokens: 2_400, costUsd: 0.012, unknownCost: false },
  ]);
});
