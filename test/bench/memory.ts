/**
 * The memory suite (issue 18): how long MEMORY.md takes to render for a group holding
 * 100,000 facts (10,000 with --quick), beside a baseline measured in the same run.
 *
 * - ledgerclaw: `renderMemoryFile` (the open conflicts, the counts of shown and demoted
 *   facts, the best facts that fit, grouped by category) and `writeFileAtomic` (temp file,
 *   fsync, rename), as the memory-files projection does after a batch.
 * - baseline: one raw SELECT of the same best rows in the same order (the same index, the
 *   same LIMIT), joined into lines and written with a plain `writeFile`: the least any
 *   renderer of this file must do.
 *
 * Two states of the group: every fact shown (a burst of facts before any demotion is
 * recorded: the renderer reads only what fits, however many there are) and after demotion
 * (all but the facts that fit demoted, the steady state). The rows are put straight into
 * the memory-files read model's tables (as the projection would have left them), so the
 * figure is the render alone. Rounds alternate ledgerclaw and baseline so both share the
 * machine's noise; medians are reported.
 *
 * Where the difference goes, past capacity: ledgerclaw counts the demoted facts (an index
 * walk over all of them, for the file's last line) and fsyncs before the rename; the
 * baseline does neither. Both are kept on purpose (the count tells an agent how much more
 * memory_search holds; the fsync is what makes the file crash-safe), so that ratio is a
 * price, not a defect, and is reported as a MISS when it passes the target.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CATEGORY_ORDER, MEMORY_FILE_CAPACITY_LINES, RANK_ORDER_SQL } from '../../actors/memory-capacity.js';
import { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import { groupFilePath, writeFileAtomic } from '../../projections/atomic-file.js';
import { MEMORY_FILE_NAME, memoryFilesProjection, renderMemoryFile } from '../../projections/memory-files.js';
import type { SuiteOptions, SuiteReport } from './main.js';
import { formatMs, formatNumber, formatRatio, formatTable, median } from './stats.js';
import { inBenchWorkspace, verdict, type Target } from './suite-workspace.js';
import { measureConsolidationOverhead } from './consolidation-overhead.js';

const GROUP = 'T1.C1';
const SCOPE = `group.${GROUP}`;
/** ledgerclaw's render may take at most this many times the baseline. */
const RATIO_TARGET = 3;

interface Plan {
  readonly facts: number;
  readonly rounds: number;
}

const FULL_PLAN: Plan = { facts: 100_000, rounds: 21 };
const QUICK_PLAN: Plan = { facts: 10_000, rounds: 7 };

/** The facts of one group as memory-files would hold them: mixed confidences and categories, an hour apart. */
async function populate(db: SqliteConnection, facts: number): Promise<void> {
  const categories = CATEGORY_ORDER.map((category) => `'${category}'`).join(', ');
  await db.exec('BEGIN IMMEDIATE');
  await db.run(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
     INSERT INTO memory_facts (scope, fact_id, key, statement, confidence, category, source_kind, source_ref, status,
       fresh_at, recorded_at, recorded_event_id, recorded_position, changed_at)
     SELECT ?2, 'f' || i, 'topic.t' || (i % 997) || '.k' || i,
       'Fact ' || i || ': the vendor review covered delivery times, contract renewals and the escalation path.',
       CASE i % 10 WHEN 0 THEN 'user-stated' WHEN 1 THEN 'user-confirmed' WHEN 2 THEN 'agent-inferred' ELSE 'agent-observed' END,
       json_extract(json_array(${categories}), '$[' || (i % 4) || ']'),
       'message', ?2 || '/' || i, 'active',
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' minutes'),
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' minutes'),
       'e' || i, i + 1, strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' minutes')
     FROM n`,
    [facts, SCOPE],
  );
  await db.exec('COMMIT');
}

/** Demotes every fact but those the file shows (the steady state past capacity). */
async function demoteAllButShown(db: SqliteConnection): Promise<void> {
  const shown = [...(await renderMemoryFile(db, GROUP)).matchAll(/\((f\d+), /g)].map((match) => match[1]!);
  await db.run(`UPDATE memory_facts SET demoted = 1 WHERE scope = ? AND fact_id NOT IN (SELECT value FROM json_each(?))`, [SCOPE, JSON.stringify(shown)]);
}

async function ledgerclawRender(db: SqliteConnection, dataDir: string): Promise<number> {
  const started = performance.now();
  await writeFileAtomic(groupFilePath(dataDir, GROUP, MEMORY_FILE_NAME), await renderMemoryFile(db, GROUP));
  return performance.now() - started;
}

async function baselineRender(db: SqliteConnection, path: string): Promise<number> {
  const started = performance.now();
  const rows = await db.all<{ fact_id: string; key: string; statement: string; confidence: string; recorded_at: string }>(
    `SELECT fact_id, key, statement, confidence, recorded_at FROM memory_facts
      WHERE scope = ? AND status = 'active' AND in_conflict = 0 AND demoted = 0 ORDER BY ${RANK_ORDER_SQL} LIMIT ?`,
    [SCOPE, MEMORY_FILE_CAPACITY_LINES],
  );
  const text = rows.map((row) => `- [${row.confidence}] ${row.key}: ${row.statement} (${row.fact_id}, ${row.recorded_at.slice(0, 10)})\n`).join('');
  await writeFile(path, text);
  return performance.now() - started;
}

interface StateFigures {
  readonly renderMs: number;
  readonly baselineMs: number;
  readonly ratio: number;
}

async function measureState(db: SqliteConnection, root: string, rounds: number): Promise<StateFigures> {
  const render: number[] = [];
  const baseline: number[] = [];
  const baselinePath = join(root, 'baseline.md');
  // One of each first, unmeasured: the page cache and the prepared statements warm.
  await ledgerclawRender(db, root);
  await baselineRender(db, baselinePath);
  for (let round = 0; round < rounds; round += 1) {
    if (round % 2 === 0) {
      render.push(await ledgerclawRender(db, root));
      baseline.push(await baselineRender(db, baselinePath));
    } else {
      baseline.push(await baselineRender(db, baselinePath));
      render.push(await ledgerclawRender(db, root));
    }
  }
  const renderMs = median(render);
  const baselineMs = median(baseline);
  return { renderMs, baselineMs, ratio: renderMs / baselineMs };
}

export async function runMemorySuite(options: SuiteOptions): Promise<SuiteReport> {
  const plan = options.quick ? QUICK_PLAN : FULL_PLAN;
  return inBenchWorkspace('ledgerclaw-bench-memory-', options.dir, async (root) => {
    const db = await SqliteConnection.open(join(root, 'memory-files.db'), { create: true });
    try {
      await db.exec(`BEGIN IMMEDIATE; ${memoryFilesProjection.schema}; COMMIT;`);
      options.log(`memory: ${formatNumber(plan.facts)} facts in group ${GROUP}`);
      await populate(db, plan.facts);

      options.log(`memory: rendering MEMORY.md, every fact shown (${plan.rounds} rounds)`);
      const shown = await measureState(db, root, plan.rounds);
      await demoteAllButShown(db);
      options.log(`memory: rendering MEMORY.md, past capacity demoted (${plan.rounds} rounds)`);
      const demoted = await measureState(db, root, plan.rounds);

      const targets: Target[] = [
        { name: 'render / baseline, every fact shown', value: shown.ratio, threshold: RATIO_TARGET, pass: shown.ratio <= RATIO_TARGET },
        { name: 'render / baseline, past capacity demoted', value: demoted.ratio, threshold: RATIO_TARGET, pass: demoted.ratio <= RATIO_TARGET },
      ];
      const rows = [
        ['MEMORY.md render, every fact shown', formatMs(shown.renderMs), formatMs(shown.baselineMs), formatRatio(shown.ratio), verdict(targets[0]!.pass)],
        ['MEMORY.md render, past capacity demoted', formatMs(demoted.renderMs), formatMs(demoted.baselineMs), formatRatio(demoted.ratio), verdict(targets[1]!.pass)],
      ];
      const figures: Record<string, unknown> = {
        facts: plan.facts,
        rounds: plan.rounds,
        render: { everyFactShown: shown, pastCapacityDemoted: demoted },
        targets,
      };

      // Consolidation: the host's work per request (window, prompt, checks, records), model time excluded.
      const consolidation = await measureConsolidationOverhead({ ...(options.dir ? { dir: options.dir } : {}), quick: options.quick, log: options.log });
      figures.consolidation = consolidation.figures;

      const table = [
        `memory: MEMORY.md of one group with ${formatNumber(plan.facts)} facts (median of ${plan.rounds} rounds; target: render ≤ ${RATIO_TARGET}× baseline)`,
        formatTable(['figure', 'ledgerclaw', 'baseline', 'ratio', 'target'], rows),
        '',
        'consolidation: one request answered by the scripted fake model, host overhead beside a bare model-gateway call',
        consolidation.table,
      ].join('\n');
      return { table, figures };
    } finally {
      await db.close();
    }
  });
}
