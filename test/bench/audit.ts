/**
 * The audit suite (issue 19): `ledgerclaw audit --group G` on 1,000,000 events (100,000
 * with --quick), beside a baseline measured in the same run.
 *
 * The store holds what a year of a busy company leaves: turns across 100 groups, each a run
 * (queued, five tool calls, completed), its reply (requested, posted) and a fact it
 * recorded; every 50th turn also asked for an approval (requested, a vote, granted).
 * Events are appended through the store (validated, hashed, group-committed) in batches,
 * many streams at once: the fastest honest path.
 *
 * - build: the audit-log read model built from `$all` by the projection host, as `start`
 *   builds it.
 * - ledgerclaw: `queryAuditLog({ groupId })`, the rows `audit --group G` prints, from the
 *   read model's (group_id, position) index; also `--actor agent:run-R`.
 * - baseline: what an audit without the read model must do at least: one raw SELECT over
 *   the events table of every audited type (a full scan; the group of a tool call is not
 *   in its row).
 * - verification: what `audit` checks before printing. With the checkpoint `start` leaves
 *   (chain-verified.json), each printed event against its neighbours in `$all`
 *   (events/verify-printed.ts): timed with the query, as `audit --group G` end to end.
 *   Without one, the walk over the span of `$all` its rows come from, which for a group
 *   active all year is almost the whole store: reported beside it, as the fallback's cost.
 */
import { join } from 'node:path';
import { openSqliteBackend } from '../../events/adapters/sqlite/sqlite-backend.js';
import { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import { approvalGranted, approvalRequested, approvalVoteCast } from '../../events/catalogue/approval.js';
import { groupReplyPosted, groupReplyRequested } from '../../events/catalogue/group.js';
import { catalogue } from '../../events/catalogue/index.js';
import { memoryFactRecorded } from '../../events/catalogue/memory.js';
import { runCompleted, runQueued, runToolCalled } from '../../events/catalogue/run.js';
import type { NewEvent } from '../../events/envelope.js';
import { createEventStore } from '../../events/event-store.js';
import type { EventStore } from '../../events/port.js';
import { verifyPrinted } from '../../events/verify-printed.js';
import { verifySpan } from '../../events/verify-span.js';
import { verifyHashChains } from '../../events/verify.js';
import { AUDITED_EVENT_TYPES } from '../../projections/audit-entries.js';
import { AUDIT_LOG_PROJECTION, auditLogProjection } from '../../projections/audit-log.js';
import { queryAuditLog } from '../../projections/audit-queries.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { openReadModel } from '../../projections/read-model-files.js';
import type { SuiteOptions, SuiteReport } from './main.js';
import { formatMs, formatNumber, formatRate, formatTable, summarize } from './stats.js';
import { inBenchWorkspace, verdict, type Target } from './suite-workspace.js';

/** The data of the catalogue's newest run.tool_called: the fixtures build the version in force (v1 or v2) and say so by this cast. */
type ToolCalledData = Parameters<typeof runToolCalled.create>[0];

const GROUPS = 100;
const EVENTS_PER_TURN = 10;
const APPROVAL_EVERY = 50;
/** Turns appended at once: each its own streams, so the store's group commit batches them. */
const CONCURRENT_TURNS = 1_024;
/** `audit --group G` end to end (the query and the check of every row it prints) must answer within this. */
const QUERY_TARGET_MS = 1_000;

interface Plan {
  readonly events: number;
  readonly groupsQueried: number;
  readonly rounds: number;
  readonly baselineRounds: number;
}

const FULL_PLAN: Plan = { events: 1_000_000, groupsQueried: 20, rounds: 3, baselineRounds: 3 };
const QUICK_PLAN: Plan = { events: 100_000, groupsQueried: 10, rounds: 3, baselineRounds: 3 };

const groupOf = (turn: number) => `T1.C${String(turn % GROUPS).padStart(3, '0')}`;
const HASH = 'a'.repeat(64);
const OUTPUT = 'Found 3 results: the Q3 invoice summary (finance), the vendor contract renewal (legal), the shipping delay note (ops).';

/** One turn's events, by stream. */
function turnEvents(turn: number, at: string): [string, NewEvent[]][] {
  const groupId = groupOf(turn);
  const runId = `r${turn}`;
  const tool = (index: number) => {
    const isError = index === 4 && turn % 7 === 0;
    const call: Record<string, unknown> = { callId: `c${index}`, tool: index % 2 === 0 ? 'memory_search' : 'send_message', where: 'host', input: { query: `invoice ${turn}` }, output: OUTPUT, isError, durationMs: 12, calledAt: at };
    // v2 (the permission gate's) records the tier and what became of the call.
    const v2 = { tier: index % 2 === 0 ? 'read' : 'write', outcome: isError ? 'failed' : 'executed', approvalId: null };
    return runToolCalled.create((runToolCalled.version >= 2 ? { ...call, ...v2 } : call) as ToolCalledData);
  };
  const streams: [string, NewEvent[]][] = [
    [
      `run-${runId}`,
      [
        runQueued.create({ groupId, conversationId: groupId, taskId: null, trigger: 'mention', turnRef: `m${turn}`, contextMode: 'group', queuedAt: at }),
        ...[0, 1, 2, 3, 4].map(tool),
        runCompleted.create({ summary: 'Answered with the invoice summary.', tokens: { input: 1200, output: 300, cacheRead: 0, cacheWrite: 0 }, completedAt: at }),
      ],
    ],
    [
      `group-${groupId}`,
      [
        groupReplyRequested.create({ replyId: `rp${turn}`, runId, text: 'Here is the Q3 invoice summary you asked for.', threadTs: null, messageIds: [] }),
        groupReplyPosted.create({ replyId: `rp${turn}`, refs: [`${1_712_345_678 + turn}.000100`] }),
      ],
    ],
    [
      `memory-group.${groupId}`,
      [
        memoryFactRecorded.create(
          { factId: `f${turn}`, key: `vendor.v${turn % 997}.terms`, statement: 'Payment terms are net 30.', confidence: 'agent-observed', category: 'project', source: { kind: 'message', ref: `m${turn}` }, recordedAt: at },
          { metadata: { actor: `agent:run-${runId}` } },
        ),
      ],
    ],
  ];
  if (turn % APPROVAL_EVERY === 0) {
    const expiresAt = new Date(Date.parse(at) + 3_600_000).toISOString();
    streams.push([
      `approval-a${turn}`,
      [
        approvalRequested.create({
          requester: `agent:run-${runId}`,
          action: { tool: 'http_request', summary: 'POST the weekly report', argumentsHash: HASH, arguments: '{"action":"report"}', tier: 'critical', reason: null },
          approvers: ['U1', 'U2'],
          required: 1,
          expiresAt,
          requestedAt: at,
          origin: { runId, groupId, conversationId: groupId, userId: 'U3' },
          policy: { tier: 'critical', maxTier: 'write', maxTierFrom: 'permissions.defaultMaxTier', rule: 'permissions.tiers.critical' },
        }),
        approvalVoteCast.create({ approver: 'U1', decision: 'approve', argumentsHash: HASH, castAt: at, by: 'user:U1', reason: null }, { metadata: { actor: 'user:U1' } }),
        approvalGranted.create({ approvedBy: ['U1'], grantedAt: at }, { metadata: { actor: 'user:U1' } }),
      ],
    ]);
  }
  return streams;
}

async function appendEvents(store: EventStore, events: number, log: (line: string) => void): Promise<{ appended: number; seconds: number }> {
  const turns = Math.ceil(events / EVENTS_PER_TURN);
  const started = performance.now();
  let appended = 0;
  for (let first = 0; first < turns; first += CONCURRENT_TURNS) {
    const at = new Date().toISOString();
    const batch: Promise<void>[] = [];
    // A group's stream is shared by its turns: one append per stream and chunk keeps the order.
    const byStream = new Map<string, NewEvent[]>();
    for (let turn = first; turn < Math.min(turns, first + CONCURRENT_TURNS); turn += 1) {
      for (const [stream, list] of turnEvents(turn, at)) byStream.set(stream, [...(byStream.get(stream) ?? []), ...list]);
    }
    for (const [stream, list] of byStream) {
      appended += list.length;
      batch.push(store.append(stream, list, { expectedRevision: 'any' }).then(() => undefined));
    }
    await Promise.all(batch);
    if (first % (CONCURRENT_TURNS * 10) === 0) log(`audit: appended ${formatNumber(appended)} events`);
  }
  return { appended, seconds: (performance.now() - started) / 1000 };
}

async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export async function runAuditSuite(options: SuiteOptions): Promise<SuiteReport> {
  const plan = options.quick ? QUICK_PLAN : FULL_PLAN;
  return inBenchWorkspace('ledgerclaw-bench-audit-', options.dir, async (dir) => {
    const backend = await openSqliteBackend({ path: join(dir, 'events.db'), mode: 'writer' });
    const store = createEventStore(backend, catalogue);
    try {
      options.log(`audit: appending about ${formatNumber(plan.events)} events`);
      const { appended, seconds: appendSeconds } = await appendEvents(store, plan.events, options.log);

      options.log('audit: building the audit-log read model');
      const host = new ProjectionHost({ store, projections: [auditLogProjection], dataDir: dir });
      const buildStarted = performance.now();
      await host.start();
      await host.waitFor(AUDIT_LOG_PROJECTION, await store.headPosition());
      const buildSeconds = (performance.now() - buildStarted) / 1000;
      await host.stop();

      const db = await openReadModel(dir, AUDIT_LOG_PROJECTION);
      if (!db) throw new Error('the audit-log read model was not built');
      const rowsTotal = (await db.get<{ n: number }>('SELECT count(*) AS n FROM audit_log'))!.n;
      const groups = Array.from({ length: plan.groupsQueried }, (_, index) => groupOf(index * Math.floor(GROUPS / plan.groupsQueried)));
      options.log(`audit: timing --group queries over ${groups.length} groups, ${plan.rounds} rounds`);
      const groupSamples: number[] = [];
      let rowsPerGroup = 0;
      let span: { from: bigint; until: bigint } = { from: 0n, until: 0n };
      for (let round = 0; round < plan.rounds; round += 1) {
        for (const groupId of groups) {
          let rows: Awaited<ReturnType<typeof queryAuditLog>> = [];
          groupSamples.push(await timeMs(async () => (rows = await queryAuditLog(db, { groupId }))));
          rowsPerGroup = rows.length;
          span = { from: rows[0]!.position, until: rows[rows.length - 1]!.position };
        }
      }
      const actorSamples: number[] = [];
      for (let turn = 0; turn < plan.groupsQueried * plan.rounds; turn += 1) {
        actorSamples.push(await timeMs(() => queryAuditLog(db, { actor: `agent:run-r${turn * 97}` })));
      }

      options.log('audit: timing the baseline (a full scan of the events table for the audited types)');
      const raw = await SqliteConnection.open(join(dir, 'events.db'), { create: false });
      const types = AUDITED_EVENT_TYPES.map((type) => `'${type}'`).join(', ');
      const baselineSamples: number[] = [];
      for (let round = 0; round < plan.baselineRounds; round += 1) {
        baselineSamples.push(await timeMs(() => raw.all(`SELECT position, stream_id, type, data FROM events WHERE type IN (${types}) ORDER BY position`)));
      }
      await raw.close();

      options.log(`audit: verifying the hash chain over positions ${span.from}..${span.until}, as audit --group does`);
      let verifiedEvents = 0;
      const verifyMs = await timeMs(async () => {
        const checked = await verifySpan(backend, span.from, span.until);
        if (!checked.result.ok) throw new Error(`the bench store's chain is broken: ${checked.result.detail}`);
        verifiedEvents = checked.result.events;
      });

      options.log('audit: verifying the whole chain once, as start does, for the checkpoint audit anchors to');
      let anchor: Awaited<ReturnType<typeof verifyHashChains>> | undefined;
      const fullVerifyMs = await timeMs(async () => (anchor = await verifyHashChains(backend)));
      if (!anchor?.ok) throw new Error("the bench store's chain is broken");
      const checkpoint = anchor.checkpoint;
      options.log('audit: timing audit --group end to end: the query and the anchored check of every printed row');
      const endToEndSamples: number[] = [];
      for (let round = 0; round < plan.rounds; round += 1) {
        for (const groupId of groups) {
          endToEndSamples.push(
            await timeMs(async () => {
              const rows = await queryAuditLog(db, { groupId });
              const checked = await verifyPrinted(backend, rows.map((row) => row.position), checkpoint);
              if (checked.kind !== 'anchored' || !checked.result.ok) throw new Error('the anchored check of the bench rows failed');
            }),
          );
        }
      }
      await db.close();

      const group = summarize(groupSamples);
      const endToEnd = summarize(endToEndSamples);
      const actor = summarize(actorSamples);
      const baseline = summarize(baselineSamples);
      const target: Target = { name: 'audit --group, query and anchored verification, p99 (ms)', value: endToEnd.p99, threshold: QUERY_TARGET_MS, pass: endToEnd.p99 < QUERY_TARGET_MS };
      const table = [
        `audit: ${formatNumber(appended)} events appended in ${appendSeconds.toFixed(1)} s (${formatRate(appended / appendSeconds)}); read model built in ${buildSeconds.toFixed(1)} s (${formatRate(appended / buildSeconds)}), ${formatNumber(rowsTotal)} rows`,
        '',
        formatTable(
          ['query', 'rows', 'p50', 'p99', 'samples'],
          [
            ['ledgerclaw: audit --group G (read model query)', formatNumber(rowsPerGroup), formatMs(group.p50), formatMs(group.p99), String(group.count)],
            ['ledgerclaw: audit --group G, query + each printed row verified (anchored)', formatNumber(rowsPerGroup), formatMs(endToEnd.p50), formatMs(endToEnd.p99), String(endToEnd.count)],
            ['ledgerclaw: audit --actor agent:run-R', '~7', formatMs(actor.p50), formatMs(actor.p99), String(actor.count)],
            ['baseline: full scan of events for audited types', formatNumber(rowsTotal), formatMs(baseline.p50), formatMs(baseline.p99), String(baseline.count)],
            [`fallback without a checkpoint: walk over the group's span (${formatNumber(verifiedEvents)} events)`, '-', formatMs(verifyMs), '-', '1'],
            [`start's full verification, once, for the checkpoint (${formatNumber(anchor.events)} events)`, '-', formatMs(fullVerifyMs), '-', '1'],
          ],
          { align: ['left', 'right', 'right', 'right', 'right'] },
        ),
        '',
        `target: ${target.name} < ${QUERY_TARGET_MS}: ${formatMs(target.value)} ${verdict(target.pass)} (${(baseline.p50 / endToEnd.p50).toFixed(0)}x faster than the baseline at p50)`,
      ].join('\n');
      return {
        table,
        figures: {
          events: appended,
          appendSeconds,
          buildSeconds,
          rows: rowsTotal,
          rowsPerGroup,
          groupQueryMs: group,
          groupEndToEndMs: endToEnd,
          fullVerifyMs,
          actorQueryMs: actor,
          baselineScanMs: baseline,
          verifySpanMs: verifyMs,
          verifiedEvents,
          targets: [target],
        },
      };
    } finally {
      await store.close();
    }
  });
}
