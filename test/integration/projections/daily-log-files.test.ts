/**
 * Daily logs per group and day (`groups/<group>/memory/YYYY-MM-DD.md`), rebuilt from
 * `memory.daily_log_written`: several entries of a day in event order, one file a day,
 * only changed days rewritten, the same bytes in batches as one event at a time.
 */
import { readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryDailyLogWritten } from '../../../events/catalogue/daily-log.js';
import { groupFilePath } from '../../../projections/atomic-file.js';
import { dailyLogFileName, dailyLogFilesProjection } from '../../../projections/daily-log-files.js';
import { applyEvents, projectionTestbed } from './fixture.js';

const bed = projectionTestbed(dailyLogFilesProjection, 'daily-log-files');
const SCOPE = 'group.T1.C1';

async function log(day: string, summary: string, writtenBy = 'agent:consolidation', scope = SCOPE): Promise<void> {
  await bed.world.append(`memory-${scope}`, [memoryDailyLogWritten.create({ scope, day, summary, writtenBy })]);
}

describe('daily log files', () => {
  it('writes one file a group a day, its entries in the order they were written', async () => {
    await log('2026-01-05', 'Morning: Alice chased the Acme invoices.');
    await log('2026-01-06', 'The auditors asked for the ledger.');
    await log('2026-01-05', '\n\nEvening: Bob closed the Umbrella renewal.\r\nNext: the kestrel migration.\n\n', 'user:U1');
    await log('2026-01-05', 'Another group, another day.', 'agent:run-1', 'group.T1.C2');
    const { dataDir } = await bed.build('data');
    const read = (groupId: string, day: string) => readFile(groupFilePath(dataDir, groupId, dailyLogFileName(day)), 'utf8');
    const day = await read('T1.C1', '2026-01-05');
    expect(day).toMatch(
      /^# Daily log of group T1\.C1, 2026-01-05\nBuilt from the memory events of this group; edits here are overwritten\.\n\n## \d\d:\d\d UTC, by agent:consolidation\nMorning: Alice chased the Acme invoices\.\n\n## \d\d:\d\d UTC, by user:U1\nEvening: Bob closed the Umbrella renewal\.\nNext: the kestrel migration\.\n$/,
    );
    expect(await read('T1.C1', '2026-01-06')).toContain('The auditors asked for the ledger.');
    expect(await read('T1.C2', '2026-01-05')).not.toContain('Alice');
  });

  it('rewrites only the days that changed, and gives the same bytes in batches as one event at a time', async () => {
    await log('2026-01-05', 'First.');
    await log('2026-01-06', 'Second.');
    const one = await bed.build('one', { batchSize: 1 });
    const many = await bed.build('many', { batchSize: 10_000 });
    for (const day of ['2026-01-05', '2026-01-06']) {
      const path = (dataDir: string) => groupFilePath(dataDir, 'T1.C1', dailyLogFileName(day));
      expect((await readFile(path(one.dataDir))).equals(await readFile(path(many.dataDir)))).toBe(true);
    }

    const untouched = groupFilePath(one.dataDir, 'T1.C1', dailyLogFileName('2026-01-06'));
    await rm(untouched);
    const before = (await bed.world.all()).length;
    await log('2026-01-05', 'Third.');
    await applyEvents(one.db, dailyLogFilesProjection, (await bed.world.all()).slice(before), { dataDir: one.dataDir });
    expect(await readFile(groupFilePath(one.dataDir, 'T1.C1', dailyLogFileName('2026-01-05')), 'utf8')).toContain('Third.');
    expect(existsSync(untouched)).toBe(false);
  });
});
