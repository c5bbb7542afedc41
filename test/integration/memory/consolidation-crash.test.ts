/**
 * Consolidation exactly once across a SIGKILL: a runtime process is killed after the model's
 * answer was recorded and one of its facts was; a new process on the same data directory
 * records the rest, once, from the recorded answer, and asks the model nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { builtFile } from '../../support/built-dist.js';
import { startProcess } from '../../support/child-process.js';
import { ConsolidationWorld, SAMPLE_GROUP } from './consolidation-world.js';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-consolidation-crash-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

it('a process SIGKILLed between the recorded answer and its last fact: the next records each fact, the daily log and memory.consolidated once, with no second model call', async () => {
  const runner = startProcess(process.execPath, [builtFile('test/support/consolidation-runner.js'), dataDir]);
  await runner.waitForOutput('cut-off', { timeoutMs: 30_000 });
  runner.kill('SIGKILL');
  expect((await runner.exited).signal).toBe('SIGKILL');

  const world = await ConsolidationWorld.open({ dataDir });
  try {
    const count = async (type: string) => (await world.memoryEvents(SAMPLE_GROUP, type)).length;
    expect(await count('memory.consolidation_model_called')).toBe(1);
    expect(await count('memory.fact_recorded')).toBe(1);

    expect(await world.restart()).toBeGreaterThanOrEqual(1);
    await world.host.idle();
    // This process's fake model has no script: a call would fail the attempt.
    expect(world.fake.requests).toHaveLength(0);
    expect(await count('memory.fact_recorded')).toBe(3);
    expect(await count('memory.daily_log_written')).toBe(1);
    expect(await count('memory.consolidated')).toBe(1);
    expect(await count('memory.consolidation_model_called')).toBe(1);
    expect(await count('memory.consolidation_attempt_failed')).toBe(0);
    const ids = (await world.memoryEvents(SAMPLE_GROUP, 'memory.fact_recorded')).map((event) => (event.data as { factId: string }).factId);
    expect(new Set(ids).size).toBe(3);
    expect(await world.usageByKind(SAMPLE_GROUP)).toEqual([expect.objectContaining({ call_kind: 'consolidation', model_calls: 1 })]);
  } finally {
    await world.close();
  }
});
