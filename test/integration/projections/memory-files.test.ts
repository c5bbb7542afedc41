/**
 * MEMORY.md per group, on real SQLite files and a real data directory: best facts first,
 * at most 200 lines, conflicts shown whole and flagged, superseded and retired facts left
 * out, a user's private facts in no group's file; only changed groups rewritten; a rebuild
 * writes the same bytes.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupFilePath } from '../../../projections/atomic-file.js';
import { CATEGORY_HEADINGS, factsToDemote, MEMORY_FILE_CAPACITY_LINES as MEMORY_FILE_MAX_LINES } from '../../../actors/memory-capacity.js';
import { memoryFilesProjection, renderMemoryFile } from '../../../projections/memory-files.js';
import { applyEvents, openProjection, projectionTestbed } from './fixture.js';
import { buildMemoryScenario, GROUP_A, GROUP_B, recordFact, SCOPE_A } from './memory-scenario.js';

const bed = projectionTestbed(memoryFilesProjection, 'memory-files');

async function build(name: string, options: { batchSize?: number } = {}) {
  const built = await bed.build(name, options);
  return { ...built, read: (groupId: string) => readFile(groupFilePath(built.dataDir, groupId, 'MEMORY.md'), 'utf8') };
}

describe('MEMORY.md', () => {
  it('lists conflicts whole and flagged, then active facts under one heading per category (user, feedback, project, reference), by confidence and recency; superseded and retired left out', async () => {
    await buildMemoryScenario(bed.world);
    const { read } = await build('data');
    expect(await read(GROUP_A)).toBe(
      [
        '# Memory of group T1.C1',
        'Built from the memory events of this group; edits here are overwritten. Best facts first, by category; find more with memory_search.',
        '',
        '## Unresolved conflicts',
        'These facts disagree. None is chosen until someone resolves the conflict.',
        '- CONFLICT on vendor.acme.payment_terms (2 statements disagree):',
        '  - [user-stated] vendor.acme.payment_terms: Acme pays invoices net 30 days. (f1, 2026-01-05)',
        '  - [agent-inferred] vendor.acme.payment_terms: Acme pays invoices net 45 days. (f2, 2026-01-05)',
        '',
        '## User: people, their roles and preferences',
        '- [user-confirmed] team.payments.lead: Alice leads the payments team. (f6, 2026-01-05)',
        '',
        '## Project: the work, its decisions and deadlines',
        '- [agent-observed] meetings.weekly_sync: The weekly sync is on Tuesdays at ten. (f8, 2026-01-05)',
        '- [agent-observed] vendor.globex.shipping: Globex ships orders from Rotterdam. (f3, 2026-01-05)',
        '',
        '## Reference: where things are',
        '- [user-stated] vendor.initech.contact: Initech prefers phone calls. (f5, 2026-01-05)',
        '',
      ].join('\n'),
    );
    const b = await read(GROUP_B);
    expect(b).toContain('- [user-stated] project.falcon.budget: The Falcon acquisition budget is two million. (b2, 2026-01-05)');
    expect(b).not.toContain('net 30');
  });

  it("puts a user's private facts in no group's file", async () => {
    await buildMemoryScenario(bed.world);
    const { dataDir, read } = await build('data');
    expect((await readdir(join(dataDir, 'groups'))).sort()).toEqual([GROUP_A, GROUP_B]);
    for (const groupId of [GROUP_A, GROUP_B]) {
      const text = await read(groupId);
      expect(text).not.toContain('morning meetings');
      expect(text).not.toContain('afternoon meetings');
    }
  });

  it('keeps to 200 lines before any demotion is recorded, best first, and counts what did not fit', async () => {
    const scope = 'group.T9.C9';
    const confidences = ['agent-inferred', 'agent-observed', 'user-stated'] as const;
    for (let index = 0; index < 240; index += 1) {
      const confidence = confidences[index % 3]!;
      await recordFact(bed.world, scope, { id: `x${index}`, key: `topic.item_${index}`, statement: `Statement number ${index} about topic ${index}.`, confidence });
    }
    for (const index of [1, 4, 7]) await bed.world.send('memory', scope, { type: 'confirmFact', factId: `x${index}` }, 'user:U1');
    // Two conflicts, each shown with both statements.
    await recordFact(bed.world, scope, { id: 'c1', key: 'topic.item_0', statement: 'Statement number 0 is wrong.', confidence: 'agent-observed' });
    await recordFact(bed.world, scope, { id: 'c2', key: 'topic.item_3', statement: 'Statement number 3 is wrong.', confidence: 'agent-inferred' });

    const { read } = await build('data');
    const text = await read('T9.C9');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(MEMORY_FILE_MAX_LINES);
    expect(text).toContain('- CONFLICT on topic.item_0 (2 statements disagree):\n  - [agent-inferred] topic.item_0: Statement number 0 about topic 0. (x0, 2026-01-05)\n  - [agent-observed] topic.item_0: Statement number 0 is wrong. (c1, 2026-01-05)');
    expect(text).toContain('- CONFLICT on topic.item_3 (2 statements disagree):');

    const factLines = lines.slice(lines.indexOf(CATEGORY_HEADINGS.project) + 1);
    expect(factLines.pop()).toMatch(/^- … and \d+ more active facts, lower ranked, not shown here; find them with memory_search$/);
    const ranks = factLines.map((line) => ['user-confirmed', 'user-stated', 'agent-observed', 'agent-inferred'].indexOf(/^- \[([a-z-]+)\]/.exec(line)![1]!));
    expect(ranks).toEqual([...ranks].sort((left, right) => left - right));
    expect(factLines.slice(0, 3).map((line) => /\((x\d+),/.exec(line)![1])).toEqual(['x7', 'x4', 'x1']);
    // Within a rank, newest first: the user-stated facts from x239 down.
    expect(factLines[3]).toContain('(x239,');
    const shown = factLines.length;
    const active = 240 - 2; // x0 and x3 are in the conflicts section
    expect(lines[lines.length - 1]).toBe(`- … and ${active - shown} more active facts, lower ranked, not shown here; find them with memory_search`);
  });

  it('leaves demoted facts out, counted in the last line, and shows exactly the facts the demotion policy keeps', async () => {
    const scope = 'group.T9.C9';
    const categories = ['user', 'feedback', 'project', 'reference'] as const;
    for (let index = 0; index < 260; index += 1) {
      await recordFact(bed.world, scope, {
        id: `x${index}`,
        key: `topic.item_${index}`,
        statement: `Statement number ${index}.`,
        confidence: index % 5 === 0 ? 'user-stated' : 'agent-observed',
        category: categories[index % 4]!,
      });
    }
    const memory = await bed.world.host.load('memory', scope);
    const demoted = factsToDemote(memory.context);
    expect(demoted.length).toBeGreaterThan(50);
    await bed.world.send('memory', scope, { type: 'demoteFacts', factIds: demoted, capacityLines: MEMORY_FILE_MAX_LINES }, 'runtime');
    expect(factsToDemote((await bed.world.host.load('memory', scope)).context)).toEqual([]);

    const text = await (await build('data')).read('T9.C9');
    const lines = text.split('\n');
    lines.pop();
    expect(lines.length).toBeLessThanOrEqual(MEMORY_FILE_MAX_LINES);
    const shownIds = lines.flatMap((line) => /\((x\d+),/.exec(line)?.[1] ?? []);
    const kept = memory.context.facts.map((fact) => fact.id).filter((id) => !demoted.includes(id));
    expect([...shownIds].sort()).toEqual([...kept].sort());
    expect(lines[lines.length - 1]).toBe(`- … and ${demoted.length} more active facts, lower ranked, not shown here; find them with memory_search`);
    expect(lines.filter((line) => line.startsWith('## '))).toEqual(categories.map((category) => CATEGORY_HEADINGS[category]));
  });

  it('rewrites only the groups whose facts changed', async () => {
    await buildMemoryScenario(bed.world);
    const { db, dataDir, read } = await build('data');
    const fileB = groupFilePath(dataDir, GROUP_B, 'MEMORY.md');
    await rm(fileB);
    const before = await bed.world.all();

    await recordFact(bed.world, SCOPE_A, { id: 'f9', key: 'customer.umbrella.renewal', statement: 'Umbrella renews in March.', confidence: 'user-stated' });
    await recordFact(bed.world, 'user.U1', { id: 'u9', key: 'preference.lunch', statement: 'U1 eats lunch at noon.', confidence: 'user-stated' });
    const fresh = (await bed.world.all()).slice(before.length);
    await applyEvents(db, memoryFilesProjection, fresh, { dataDir });

    expect(await read(GROUP_A)).toContain('(f9, 2026-01-05)');
    expect(existsSync(fileB)).toBe(false);
    expect(await db.all('SELECT * FROM memory_files_dirty')).toEqual([]);
  });

  it('keeps a group dirty when its file cannot be written, and writes it after the next batch', async () => {
    await buildMemoryScenario(bed.world);
    const dataDir = join(bed.dir, 'data');
    const db = await openProjection(join(bed.dir, 'data.db'), memoryFilesProjection);
    bed.track(db);
    // A directory where the file should go: the rename fails.
    await mkdir(groupFilePath(dataDir, GROUP_A, 'MEMORY.md'), { recursive: true });
    await expect(applyEvents(db, memoryFilesProjection, await bed.world.all(), { dataDir })).rejects.toThrow(/MEMORY.md could not be written for 1 group/);
    expect(await db.all('SELECT group_id FROM memory_files_dirty')).toEqual([{ group_id: GROUP_A }]);
    expect(await readFile(groupFilePath(dataDir, GROUP_B, 'MEMORY.md'), 'utf8')).toContain('Falcon');

    await rm(groupFilePath(dataDir, GROUP_A, 'MEMORY.md'), { recursive: true });
    await memoryFilesProjection.afterCommit!(db, { dataDir });
    expect(await readFile(groupFilePath(dataDir, GROUP_A, 'MEMORY.md'), 'utf8')).toBe(await renderMemoryFile(db, GROUP_A));
    expect(await db.all('SELECT * FROM memory_files_dirty')).toEqual([]);
    expect((await readdir(join(dataDir, 'groups', GROUP_A))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('writes byte-identical files when rebuilt from scratch', async () => {
    await buildMemoryScenario(bed.world);
    await bed.world.send('memory', SCOPE_A, { type: 'resolveConflict', keepFactId: 'f1', retireFactId: 'f2' }, 'user:U1');
    const live = await build('live', { batchSize: 1 });
    const rebuilt = await build('rebuilt', { batchSize: 10_000 });
    for (const groupId of [GROUP_A, GROUP_B]) {
      const bytes = await readFile(groupFilePath(live.dataDir, groupId, 'MEMORY.md'));
      expect(bytes.equals(await readFile(groupFilePath(rebuilt.dataDir, groupId, 'MEMORY.md')))).toBe(true);
    }
    const resolved = await live.read(GROUP_A);
    expect(resolved).not.toContain('CONFLICT');
    expect(resolved).toContain('- [user-stated] vendor.acme.payment_terms: Acme pays invoices net 30 days. (f1, 2026-01-05)');
    expect(resolved).not.toContain('net 45');
  });
});
