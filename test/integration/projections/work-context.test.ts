/**
 * WORK_CONTEXT.md per group and for the company, from events the task, run, approval,
 * group and memory actors record: open tasks, pending approvals, active runs, what is
 * blocked, recent decisions; direct-message groups and group memory kept out of the
 * company file; only changed files rewritten; byte-identical on rebuild.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { taskRunId, type TaskContext } from '../../../actors/task.js';
import { MAX_SECTION_ITEMS, RECENT_DECISIONS, workContextPath, workContextProjection } from '../../../projections/work-context.js';
import { applyEvents, projectionTestbed } from './fixture.js';
import { recordFact } from './memory-scenario.js';

const GROUP = 'T1.C1';
const DM = 'T1.D1';
const HASH = 'a'.repeat(64);

const bed = projectionTestbed(workContextProjection, 'work-context');

async function build(name: string, options: { batchSize?: number } = {}) {
  const built = await bed.build(name, options);
  return { ...built, read: (groupId: string | null) => readFile(workContextPath(built.dataDir, groupId), 'utf8') };
}

const queue = (groupId: string, trigger = 'mention', taskId?: string) => ({
  type: 'queue',
  groupId,
  trigger,
  turnRef: `slack:${groupId}:1712345678.000100`,
  contextMode: 'group',
  ...(taskId ? { taskId } : {}),
});

const request = (requester: string, summary: string, approvers = ['U2', 'U3'], required = 1) => ({
  type: 'request',
  requester,
  action: { tool: 'send_payment', summary, argumentsHash: HASH },
  approvers,
  required,
  expiresAt: '2026-02-01T00:00:00.000Z',
});

async function buildScenario(): Promise<void> {
  const { send } = bed.world;
  /** The due time the task actor will take a fire for. */
  const nextDue = async (taskId: string) => ((await bed.world.host.load('task', taskId)).snapshot.context as TaskContext).nextDueAt!;
  await send('group', GROUP, { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
  await send('group', DM, { type: 'configure', triggerMode: 'dm', allowedSenders: [], isAdmin: false });

  // Tasks: a daily digest, a paused poller, a one-off that completes, one suspended after failing, one in a DM.
  await send('task', 'digest', { type: 'schedule', groupId: GROUP, prompt: 'Post the daily BD digest:\nnew leads, stalled deals.', schedule: { kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' }, contextMode: 'group' });
  const digestDue = await nextDue('digest');
  await send('task', 'digest', { type: 'fire', dueAt: digestDue });
  await send('task', 'digest', { type: 'finishRun', runId: taskRunId('digest', digestDue), outcome: 'succeeded' });
  await send('task', 'poller', { type: 'schedule', groupId: GROUP, prompt: 'Check the status page.', schedule: { kind: 'interval', everyMs: 900_000 }, contextMode: 'isolated' });
  await send('task', 'poller', { type: 'pause', reason: 'status page down for maintenance' });
  await send('task', 'oneoff', { type: 'schedule', groupId: GROUP, prompt: 'Remind Alice about the audit.', schedule: { kind: 'once', at: '2026-01-05T12:00:00.000Z' }, contextMode: 'group' });
  await send('task', 'oneoff', { type: 'fire', dueAt: '2026-01-05T12:00:00.000Z' });
  await send('task', 'oneoff', { type: 'finishRun', runId: taskRunId('oneoff', '2026-01-05T12:00:00.000Z'), outcome: 'succeeded' });
  await send('task', 'flaky', { type: 'schedule', groupId: GROUP, prompt: 'Sync the CRM.', schedule: { kind: 'interval', everyMs: 3_600_000 }, contextMode: 'isolated', maxConsecutiveFailures: 1 });
  const flakyDue = await nextDue('flaky');
  await send('task', 'flaky', { type: 'fire', dueAt: flakyDue });
  await send('task', 'flaky', { type: 'finishRun', runId: taskRunId('flaky', flakyDue), outcome: 'failed', detail: 'CRM API answered 503' });
  await send('task', 'private', { type: 'schedule', groupId: DM, prompt: 'Summarise my inbox.', schedule: { kind: 'cron', expression: '0 8 * * *', timezone: 'UTC' }, contextMode: 'group' });

  // Runs: one waiting for a slot, one running, one finished, one running in the DM.
  await send('run', 'r1', queue(GROUP));
  await send('run', 'r2', queue(GROUP));
  await send('run', 'r2', { type: 'grantSlot' });
  await send('run', 'r2', { type: 'reportStarted', containerId: 'c-r2' });
  await send('run', 'r3', queue(GROUP));
  await send('run', 'r3', { type: 'grantSlot' });
  await send('run', 'r3', { type: 'reportStarted', containerId: 'c-r3' });
  await send('run', 'r3', { type: 'complete', summary: 'done', tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 } });
  await send('run', 'r4', queue(DM, 'dm'));
  await send('run', 'r4', { type: 'grantSlot' });
  await send('run', 'r4', { type: 'reportStarted', containerId: 'c-r4' });

  // Approvals: pending from the running agent, granted, denied (asked by a person), pending in the DM.
  await send('approval', 'a1', request('agent:run-r2', 'Pay Acme 1,200 EUR for invoice 42'), 'agent:run-r2');
  await send('approval', 'a2', request('agent:r2', 'Pay Globex 300 EUR'), 'agent:r2');
  await send('approval', 'a2', { type: 'vote', approver: 'U2', decision: 'approve', argumentsHash: HASH }, 'user:U2');
  await send('approval', 'a3', request('U1', 'Refund Initech 50 EUR'), 'user:U1');
  await send('approval', 'a3', { type: 'vote', approver: 'U3', decision: 'deny', argumentsHash: HASH }, 'user:U3');
  await send('approval', 'a4', request('agent:r4', 'Pay my dentist 80 EUR'), 'agent:r4');

  // Memory: one conflict open, one resolved; a user's conflict stays private.
  const scope = `group.${GROUP}`;
  await recordFact(bed.world, scope, { id: 'f1', key: 'vendor.acme.payment_terms', statement: 'Acme pays net 30.', confidence: 'user-stated' });
  await recordFact(bed.world, scope, { id: 'f2', key: 'vendor.acme.payment_terms', statement: 'Acme pays net 45.', confidence: 'agent-inferred' });
  await recordFact(bed.world, scope, { id: 'f3', key: 'office.address', statement: 'The office is on Main Street.', confidence: 'agent-observed' });
  await recordFact(bed.world, scope, { id: 'f4', key: 'office.address', statement: 'The office is on Elm Street.', confidence: 'agent-inferred' });
  await bed.world.send('memory', scope, { type: 'resolveConflict', keepFactId: 'f4', retireFactId: 'f3' }, 'user:U1');
  await recordFact(bed.world, 'user.U1', { id: 'u1', key: 'health.dentist', statement: 'U1 sees the dentist on Mondays.', confidence: 'user-stated' });
  await recordFact(bed.world, 'user.U1', { id: 'u2', key: 'health.dentist', statement: 'U1 sees the dentist on Tuesdays.', confidence: 'user-stated' });
}

describe('WORK_CONTEXT.md', () => {
  it("lists a group's blocked work, approvals, tasks, runs and decisions", async () => {
    await buildScenario();
    const { read } = await build('data');
    expect(await read(GROUP)).toBe(
      [
        '# Work context of group T1.C1',
        'Built from the event store; rewritten when tasks, runs, approvals or memory conflicts change. Edits here are overwritten.',
        '',
        '## Blocked',
        '- task flaky suspended since 2026-01-05T09:00:13.000Z after 1 failed run in a row (last run failed at 2026-01-05T09:00:13.000Z: CRM API answered 503); resume it to run it again',
        '- run r1 queued since 2026-01-05T09:00:15.000Z, waiting for a slot',
        '- memory conflict on vendor.acme.payment_terms: facts f1, f2 disagree (see MEMORY.md); resolve it by keeping one',
        '',
        '## Pending approvals',
        '- approval a1: send_payment: Pay Acme 1,200 EUR for invoice 42; 0 of 1 approvals from U2, U3; requested by agent:run-r2 at 2026-01-05T09:00:26.000Z; expires 2026-02-01T00:00:00.000Z',
        '',
        '## Open tasks',
        '- task digest [active] cron "0 9 * * 1-5" (Europe/Paris), group context: "Post the daily BD digest: new leads, stalled deals."; last run succeeded at 2026-01-05T09:00:05.000Z',
        '- task flaky [suspended] every 1h, isolated context: "Sync the CRM."; last run failed at 2026-01-05T09:00:13.000Z: CRM API answered 503',
        '- task poller [paused (status page down for maintenance)] every 15m, isolated context: "Check the status page."; not run yet',
        '',
        '## Active runs',
        '- run r1 [queued since 2026-01-05T09:00:15.000Z] trigger mention',
        '- run r2 [running since 2026-01-05T09:00:18.000Z] trigger mention',
        '',
        '## Recent decisions (newest first, last 20)',
        '- 2026-01-05T09:00:36.000Z memory conflict on office.address resolved: fact f4 kept',
        '- 2026-01-05T09:00:28.000Z approval a2 granted by U2: send_payment: Pay Globex 300 EUR',
        '',
      ].join('\n'),
    );
  });

  it('keeps direct messages and group memory out of the company file', async () => {
    await buildScenario();
    const { read } = await build('data');
    const company = await read(null);
    expect(company).toContain('# Work context of the company');
    expect(company).toContain('- task digest (group T1.C1) [active]');
    expect(company).toContain('- run r1 (group T1.C1) queued since');
    expect(company).toContain('- approval a1 (group T1.C1): send_payment: Pay Acme 1,200 EUR for invoice 42;');
    expect(company).toContain('approval a3 denied by U3: send_payment: Refund Initech 50 EUR\n');
    expect(company).toContain('- group T1.C1: 1 unresolved memory conflict (see that group\'s MEMORY.md)');
    // Nothing of the DM but counts; no memory keys; nothing of a user's memory.
    for (const secret of ['dentist', 'inbox', 'T1.D1', 'vendor.acme', 'office.address', 'health']) expect(company).not.toContain(secret);
    expect(company).toContain('- (1 pending approval in direct-message groups, listed only there)');
    expect(company).toContain('- (1 open task in direct-message groups, listed only there)');
    expect(company).toContain('- (1 active run in direct-message groups, listed only there)');

    // The DM's own file lists them.
    const dm = await read(DM);
    expect(dm).toContain('- approval a4: send_payment: Pay my dentist 80 EUR;');
    expect(dm).toContain('- task private [active] cron "0 8 * * *" (UTC), group context: "Summarise my inbox."; not run yet');
    expect(dm).toContain('- run r4 [running since');
    expect(dm).not.toContain('health.dentist');
  });

  it('is byte-identical when rebuilt from scratch', async () => {
    await buildScenario();
    const live = await build('live', { batchSize: 1 });
    const rebuilt = await build('rebuilt', { batchSize: 10_000 });
    for (const groupId of [GROUP, DM, null]) {
      const bytes = await readFile(workContextPath(live.dataDir, groupId));
      expect(bytes.equals(await readFile(workContextPath(rebuilt.dataDir, groupId))), String(groupId)).toBe(true);
    }
  });

  it('rewrites only the files whose tables changed', async () => {
    await buildScenario();
    const { db, dataDir, read } = await build('data');
    await rm(workContextPath(dataDir, DM));
    await rm(workContextPath(dataDir, GROUP));
    const before = (await bed.world.all()).length;
    await bed.world.send('run', 'r1', { type: 'grantSlot' });
    // A user's memory changes no work context.
    await recordFact(bed.world, 'user.U1', { id: 'u3', key: 'health.gym', statement: 'U1 goes to the gym.', confidence: 'user-stated' });
    await applyEvents(db, workContextProjection, (await bed.world.all()).slice(before), { dataDir });
    expect(await read(GROUP)).toMatch(/- run r1 \[starting since [^\]]+\] trigger mention/);
    expect(existsSync(workContextPath(dataDir, DM))).toBe(false);
    expect(await db.all('SELECT * FROM work_context_dirty')).toEqual([]);
  });

  it(`keeps the last ${RECENT_DECISIONS} decisions, newest first`, async () => {
    for (let index = 0; index < 25; index += 1) {
      await bed.world.send('approval', `p${index}`, request('U1', `Payment ${index}`), 'user:U1');
      await bed.world.send('approval', `p${index}`, { type: 'vote', approver: 'U2', decision: 'approve', argumentsHash: HASH }, 'user:U2');
    }
    const { db, read } = await build('data');
    const company = await read(null);
    const decisions = company.slice(company.indexOf('## Recent decisions')).split('\n').filter((line) => line.startsWith('- '));
    expect(decisions).toHaveLength(RECENT_DECISIONS);
    expect(decisions[0]).toContain('approval p24 granted by U2: send_payment: Payment 24');
    expect(decisions[RECENT_DECISIONS - 1]).toContain('approval p5 granted');
    expect(await db.get('SELECT COUNT(*) AS n FROM work_context_decisions')).toEqual({ n: RECENT_DECISIONS });
    expect(company).toContain('## Pending approvals\n- none\n');
  });

  it(`lists at most ${MAX_SECTION_ITEMS} tasks a section, in order, and counts the rest`, async () => {
    const { send } = bed.world;
    await send('group', GROUP, { type: 'configure', triggerMode: 'mention', allowedSenders: [], isAdmin: false });
    await send('group', DM, { type: 'configure', triggerMode: 'dm', allowedSenders: [], isAdmin: false });
    const id = (index: number) => `t${String(index).padStart(3, '0')}`;
    for (let index = 0; index < 60; index += 1) {
      await send('task', id(index), { type: 'schedule', groupId: GROUP, prompt: `Task ${index}.`, schedule: { kind: 'interval', everyMs: 3_600_000 }, contextMode: 'isolated', maxConsecutiveFailures: 1 });
      if (index % 10 === 0) continue;
      // Nine tasks in ten end suspended after one failed run: 54 of them, more than a section lists.
      const dueAt = ((await bed.world.host.load('task', id(index))).snapshot.context as TaskContext).nextDueAt!;
      await send('task', id(index), { type: 'fire', dueAt });
      await send('task', id(index), { type: 'finishRun', runId: taskRunId(id(index), dueAt), outcome: 'failed', detail: 'down' });
    }
    for (let index = 0; index < 3; index += 1) {
      await send('task', `dm${index}`, { type: 'schedule', groupId: DM, prompt: 'Private.', schedule: { kind: 'interval', everyMs: 3_600_000 }, contextMode: 'group' });
    }
    const { read } = await build('data');
    const itemsOf = (text: string, title: string) => {
      const start = text.indexOf(`## ${title}`);
      return text.slice(start, text.indexOf('\n\n', start)).split('\n').slice(1);
    };
    for (const file of [await read(GROUP), await read(null)]) {
      const tasks = itemsOf(file, 'Open tasks');
      expect(tasks.slice(0, MAX_SECTION_ITEMS).map((line) => line.match(/^- task (t\d+)/)?.[1])).toEqual(Array.from({ length: MAX_SECTION_ITEMS }, (_, index) => id(index)));
      expect(tasks[MAX_SECTION_ITEMS]).toBe('- … and 10 more');
      const blocked = itemsOf(file, 'Blocked');
      expect(blocked.filter((line) => / suspended since /.test(line))).toHaveLength(MAX_SECTION_ITEMS);
      expect(blocked[MAX_SECTION_ITEMS]).toBe('- … and 4 more');
    }
    const company = await read(null);
    expect(itemsOf(company, 'Open tasks').at(-1)).toBe('- (3 open tasks in direct-message groups, listed only there)');
    expect(itemsOf(await read(DM), 'Open tasks')).toHaveLength(3);
  });
});
