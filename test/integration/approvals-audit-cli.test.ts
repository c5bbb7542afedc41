/**
 * `ledgerclaw approvals list | show | vote` and `ledgerclaw audit` through the built CLI in
 * real processes on a real data directory: approvals requested through the approval actor,
 * a run's tool calls, replies, memory and tasks recorded as the runtime records them, the
 * audit read model built by the projection host. The operator's vote counts only where the
 * policy lists `operator`; the audit verifies the hash chain over what it prints, and a
 * changed event makes it fail naming the event.
 */
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../actors/actor-kind.js';
import { canonicalJson } from '../../events/canonical-json.js';
import { groupReplyPosted, groupReplyRequested } from '../../events/catalogue/group.js';
import { memoryFactRecorded } from '../../events/catalogue/memory.js';
import { runQueued, runToolCalled } from '../../events/catalogue/run.js';
import type { StoredEvent } from '../../events/envelope.js';
import { auditLogProjection } from '../../projections/audit-log.js';
import { ProjectionHost } from '../../projections/projection-host.js';
import { openActorRuntime } from '../../runtime/actor-runtime.js';
import type { Config } from '../../runtime/config.js';
import { sendControlCommand } from '../../runtime/control/client.js';
import { openRuntimeControl } from '../../runtime/control/runtime-control.js';
import { controlSocketPath } from '../../runtime/control/server.js';
import { openEventStore } from '../../runtime/open-store.js';
import { writeChainCheckpoint } from '../../runtime/chain-checkpoint.js';
import { verifyHashChains } from '../../events/verify.js';
import { freshCliDataDirPerTest, type CliDataDir } from '../support/cli-data-dir.js';

/** The data of the catalogue's newest run.tool_called: the fixtures build the version in force (v1 or v2) and say so by this cast. */
type ToolCalledData = Parameters<typeof runToolCalled.create>[0];

const GROUP = 'T0FAKE.C0GENERAL';
const OTHER_GROUP = 'T0FAKE.C0OTHER';
const OPERATOR = `operator:${userInfo().username}`;

let dataDir: string;
let config: Config;
let run: CliDataDir['cli'];

freshCliDataDirPerTest('ledgerclaw-audit-cli-', (fresh) => {
  ({ dataDir, config, cli: run } = fresh);
});

function cli(...args: string[]) {
  return run(...args);
}

const ARGUMENTS = canonicalJson({ action: 'crm_webhook', body: { customers: 'all' } });
const HASH = createHash('sha256').update(ARGUMENTS).digest('hex');

function request(approvers: readonly string[], required: number, groupId = GROUP): Command {
  return {
    type: 'request',
    requester: 'agent:run-r1',
    action: { tool: 'http_request', summary: 'POST the customer list to crm_webhook', argumentsHash: HASH, arguments: ARGUMENTS, tier: 'critical', reason: 'the user asked for it' },
    approvers: [...approvers],
    required,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    origin: { runId: 'r1', groupId, conversationId: groupId, userId: 'U0ALICE' },
    policy: { tier: 'critical', maxTier: 'write', maxTierFrom: `permissions.groups.${groupId}`, rule: 'permissions.tiers.critical' },
  };
}

/** run.tool_called at whichever version the catalogue takes: v2 (the gate's) adds tier, outcome and approvalId. */
const TOOL_CALLED_V2 = runToolCalled.version >= 2;
function toolCalledData(v1: Record<string, unknown>, tier: string): Record<string, unknown> {
  return TOOL_CALLED_V2 ? { ...v1, tier, outcome: v1.isError === true ? 'failed' : 'executed', approvalId: null } : v1;
}

/**
 * What a day of the assistant leaves in the store: run r1 in GROUP calls http_request (which
 * asks for approval a-1) and posts a reply; an agent records a fact; run r2 in OTHER_GROUP
 * calls memory_search. Then the audit read model is brought up to date, as `start` would.
 */
async function recordActivity(approvals: readonly [id: string, command: Command][]): Promise<void> {
  const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'test' });
  const runtime = await openActorRuntime({ store: opened.store, config, readOnly: false });
  try {
    const { store } = opened;
    const now = new Date().toISOString();
    const queued = (groupId: string, runId: string) =>
      runQueued.create({ groupId, conversationId: groupId, taskId: null, trigger: 'mention', turnRef: runId, contextMode: 'group', queuedAt: now });
    const toolCall = (tool: string, tier: string, isError = false) =>
      runToolCalled.create(toolCalledData({ callId: `c-${tool}`, tool, where: 'host', input: { q: 'x' }, output: 'ok', isError, durationMs: 3, calledAt: now }, tier) as ToolCalledData);
    await store.append('run-r1', [queued(GROUP, 'r1'), toolCall('http_request', 'critical')], { expectedRevision: 'any' });
    for (const [id, command] of approvals) {
      const result = await runtime.host.sendUnchecked('approval', id, command, { actor: 'agent:run-r1' });
      expect(result.status === 'rejected' ? result.reason : 'accepted').toBe('accepted');
    }
    await store.append('group-T0FAKE.C0GENERAL', [groupReplyRequested.create({ replyId: 'rp-1', runId: 'r1', text: 'Asked for approval a-1.', threadTs: null, messageIds: [] })], { expectedRevision: 'any' });
    await store.append('group-T0FAKE.C0GENERAL', [groupReplyPosted.create({ replyId: 'rp-1', refs: ['1712345678.000200'] })], { expectedRevision: 'any' });
    await store.append(
      `memory-group.${GROUP}`,
      [memoryFactRecorded.create({ factId: 'f1', key: 'vendor.acme.terms', statement: 'net 30', confidence: 'agent-observed', category: 'project', source: { kind: 'message', ref: 'm1' }, recordedAt: now }, { metadata: { actor: 'agent:run-r1' } })],
      { expectedRevision: 'any' },
    );
    await store.append('run-r2', [queued(OTHER_GROUP, 'r2'), toolCall('memory_search', 'read', true)], { expectedRevision: 'any' });
  } finally {
    await runtime.close();
    await opened.close();
  }
  await catchUpAuditLog();
}

async function catchUpAuditLog(): Promise<void> {
  const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'test' });
  const host = new ProjectionHost({ store: opened.store, projections: [auditLogProjection], dataDir });
  try {
    await host.start();
    await host.waitFor(auditLogProjection.name, await opened.store.headPosition());
  } finally {
    await host.stop();
    await opened.close();
  }
}

async function approvalStream(id: string): Promise<StoredEvent[]> {
  const opened = await openEventStore(config, { mode: 'reader', actor: 'test' });
  try {
    return await opened.store.readStream(`approval-${id}`);
  } finally {
    await opened.close();
  }
}

function sqliteRun(path: string, sql: string, params: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, (openError) => {
      if (openError) return reject(openError);
      db.run(sql, params, (runError) => {
        db.close(() => (runError ? reject(runError) : resolve()));
      });
    });
  });
}

describe('ledgerclaw approvals', () => {
  it('list shows each approval with its status, tool, tier, group and votes; --pending and --group narrow it', async () => {
    await recordActivity([
      ['a-1', request(['U0ALICE', 'operator'], 2)],
      ['a-2', request(['U0BOB'], 1, OTHER_GROUP)],
    ]);
    const listed = await cli('approvals', 'list');
    expect(listed, listed.stderr).toMatchObject({ code: 0 });
    expect(listed.stdout).toMatch(/^ID\s+STATUS\s+TOOL/);
    expect(listed.stdout).toMatch(/a-2\s+pending\s+http_request \[critical\]\s+T0FAKE\.C0OTHER\s+0\/1 of 1/);
    expect(listed.stdout).toMatch(/a-1\s+pending\s+http_request \[critical\]\s+T0FAKE\.C0GENERAL\s+0\/2 of 2/);

    const inGroup = await cli('approvals', 'list', '--pending', '--group', GROUP, '--json');
    expect(inGroup, inGroup.stderr).toMatchObject({ code: 0 });
    const rows = inGroup.stdout.trim().split('\n').map((line) => JSON.parse(line) as { approvalId: string; approvers: string[]; required: number });
    expect(rows.map((row) => [row.approvalId, row.approvers, row.required])).toEqual([['a-1', ['U0ALICE', 'operator'], 2]]);

    const badGroup = await cli('approvals', 'list', '--group', 'has space');
    expect(badGroup).toMatchObject({ code: 2, stderr: expect.stringContaining('expected a group id such as T1.C1') });
  });

  it('show prints the action in full, who asked from where, the policy, the approvers and every vote', async () => {
    await recordActivity([['a-1', request(['U0ALICE', 'operator'], 2)]]);
    const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'test' });
    const runtime = await openActorRuntime({ store: opened.store, config, readOnly: false });
    const vote = { type: 'vote', approver: 'U0ALICE', decision: 'approve', argumentsHash: HASH, reason: 'looks right' };
    expect((await runtime.host.sendUnchecked('approval', 'a-1', vote, { actor: 'user:U0ALICE' })).status).toBe('accepted');
    await runtime.close();
    await opened.close();

    const shown = await cli('approvals', 'show', 'a-1');
    expect(shown, shown.stderr).toMatchObject({ code: 0 });
    expect(shown.stdout).toContain('approval a-1: pending');
    expect(shown.stdout).toMatch(/tool\s+http_request \[critical\]/);
    expect(shown.stdout).toContain(`arguments  ${ARGUMENTS}`);
    expect(shown.stdout).toContain(`hash       ${HASH}`);
    expect(shown.stdout).toMatch(/origin\s+run r1, group T0FAKE\.C0GENERAL, user U0ALICE/);
    expect(shown.stdout).toContain('critical is above write (permissions.groups.T0FAKE.C0GENERAL); approvers from permissions.tiers.critical');
    expect(shown.stdout).toContain('U0ALICE, operator: 2 of 2 needed, 1 given');
    expect(shown.stdout).toMatch(/U0ALICE approved \(cast by user:U0ALICE\): looks right/);
    expect(shown.stdout).toContain('decision: none yet');

    const json = await cli('approvals', 'show', 'approval-a-1', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ approvalId: 'a-1', status: 'pending', votes: [{ approver: 'U0ALICE', by: 'user:U0ALICE', reason: 'looks right' }] });

    expect(await cli('approvals', 'show', 'nope')).toMatchObject({ code: 1, stderr: expect.stringContaining('no approval nope') });
  });

  it('vote counts when the policy lists operator: recorded with operator:<os user> and the reason, and it can grant', async () => {
    await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
    const voted = await cli('approvals', 'vote', 'a-1', 'approve', '--reason', 'I checked the webhook');
    expect(voted, voted.stderr).toMatchObject({ code: 0, stdout: `${OPERATOR} approved approval a-1; it is now granted\n` });
    const events = await approvalStream('a-1');
    expect(events.map((event) => event.type)).toEqual(['approval.requested', 'approval.vote_cast', 'approval.granted']);
    expect(events[1]).toMatchObject({ data: { approver: 'operator', decision: 'approve', argumentsHash: HASH, by: OPERATOR, reason: 'I checked the webhook' }, metadata: { actor: OPERATOR } });

    // The in-process writer brought the audit log up to date: the list shows the grant at once.
    expect((await cli('approvals', 'list')).stdout).toMatch(/a-1\s+granted/);
  });

  it('a vote the policy does not allow (operator not listed) is refused with the actor’s reason and exit 1, and does not count', async () => {
    await recordActivity([['a-1', request(['U0ALICE', 'U0BOB'], 1)]]);
    const voted = await cli('approvals', 'vote', 'a-1', 'approve');
    expect(voted.code).toBe(1);
    expect(voted.stderr).toContain(`the vote of ${OPERATOR} on approval a-1 was not counted: operator is not one of the approvers (U0ALICE, U0BOB)`);
    // Nothing counted: the actor rejects the vote, or records it refused (once the approve helper's vote_refused is in).
    expect((await approvalStream('a-1')).map((event) => event.type).filter((type) => type !== 'approval.vote_refused')).toEqual(['approval.requested']);

    expect(await cli('approvals', 'vote', 'a-1', 'maybe')).toMatchObject({ code: 2, stderr: expect.stringContaining('expected approve or deny') });
    expect(await cli('approvals', 'vote', 'missing', 'deny')).toMatchObject({ code: 1, stderr: expect.stringContaining('no approval missing') });
  });
});

describe('ledgerclaw approvals vote while the runtime runs', () => {
  it('goes through the control socket, signed operator:<os user>; the socket takes no other approval command', async () => {
    await recordActivity([['a-1', request(['U0ALICE', 'operator'], 2)]]);
    const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'ledgerclaw start' });
    const runtime = await openActorRuntime({ store: opened.store, config, readOnly: false });
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const control = await openRuntimeControl({ dataDir, actors: runtime.host, logger: silent });
    try {
      const voted = await cli('approvals', 'vote', 'a-1', 'approve', '--reason', 'fine by me');
      expect(voted, voted.stderr).toMatchObject({ code: 0, stdout: `${OPERATOR} approved approval a-1; it is now pending\n` });
      const [, cast] = await opened.store.readStream('approval-a-1');
      expect(cast).toMatchObject({ type: 'approval.vote_cast', data: { approver: 'operator', by: OPERATOR, reason: 'fine by me' }, metadata: { actor: OPERATOR } });

      // The socket is the operator's: it cannot expire an approval or request one.
      await expect(sendControlCommand(controlSocketPath(dataDir), { kind: 'approval', actorId: 'a-1', command: { type: 'expire' } })).rejects.toThrow(
        "the approval command 'expire' is not reachable through the control socket (it takes: vote)",
      );
      // Nor can a caller claim to be the operator for someone else's principal.
      await expect(
        sendControlCommand(controlSocketPath(dataDir), { kind: 'approval', actorId: 'a-1', command: { type: 'vote' } }, { operator: 'run:r1' }),
      ).rejects.toThrow('expected an OS user name');
    } finally {
      await control.close();
      await runtime.close();
      await opened.close();
    }
  });
});

describe('ledgerclaw audit', () => {
  it('prints what the assistant did in store order, with groups and principals, after verifying the chain over it', async () => {
    await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
    const audit = await cli('audit');
    expect(audit, audit.stderr).toMatchObject({ code: 0 });
    const [verified, ...rows] = audit.stdout.trim().split('\n');
    expect(verified).toMatch(/^hash chain verified: positions 2\.\.\d+ walked \(\d+ events; no chain checkpoint from `ledgerclaw start` to anchor to\)$/);
    const columns = rows.map((row) => row.split('  ').slice(2, 5));
    expect(columns).toEqual([
      [GROUP, 'agent:run-r1', 'tool_call'],
      [GROUP, 'agent:run-r1', 'approval.requested'],
      [GROUP, 'agent:run-r1', 'message.posted'],
      [GROUP, 'agent:run-r1', 'memory.fact_recorded'],
      [OTHER_GROUP, 'agent:run-r2', 'tool_call'],
    ]);
    expect(rows[0]).toContain(TOOL_CALLED_V2 ? 'called http_request [critical]: executed' : 'called http_request: executed');
    expect(rows[1]).toContain('asked U0ALICE, operator (1 of 2) to approve http_request [critical]: POST the customer list to crm_webhook');
    expect(rows[2]).toContain('posted in T0FAKE.C0GENERAL: Asked for approval a-1.');
    expect(rows[4]).toContain(TOOL_CALLED_V2 ? 'called memory_search [read]: failed' : 'called memory_search: failed');
    const positions = rows.map((row) => Number(row.split('  ')[1]!.slice(1)));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('--group, --actor, --since and --until narrow it; --json gives one object a row', async () => {
    await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
    expect(await cli('approvals', 'vote', 'a-1', 'deny', '--reason', 'not to a webhook')).toMatchObject({ code: 0 });

    const other = await cli('audit', '--group', OTHER_GROUP, '--json');
    expect(other, other.stderr).toMatchObject({ code: 0 });
    expect(other.stderr).toMatch(/^hash chain verified: positions (\d+)\.\.\1 walked \(1 event; .+\)\n$/);
    expect(other.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { kind: string }).kind)).toEqual(['tool_call']);

    const byOperator = await cli('audit', '--actor', OPERATOR);
    expect(byOperator.stdout.split('\n').slice(1, -1).map((row) => row.split('  ')[4])).toEqual(['approval.vote_cast', 'approval.denied']);
    expect(byOperator.stdout).toContain('operator voted deny: not to a webhook');
    expect(byOperator.stdout).toContain('denied by operator');

    expect((await cli('audit', '--since', '1h')).stdout.split('\n').length).toBeGreaterThan(5);
    expect(await cli('audit', '--until', '2020-01-01')).toMatchObject({ code: 0, stdout: 'nothing to verify: no audited event matches\n' });
    expect(await cli('audit', '--since', 'yesterday')).toMatchObject({ code: 2, stderr: expect.stringContaining('expected an ISO time') });
    expect(await cli('audit', '--actor', 'alice')).toMatchObject({ code: 2, stderr: expect.stringContaining('expected a principal such as user:') });
    expect(await cli('audit', '--since', '1h', '--until', '2h')).toMatchObject({ code: 2, stderr: expect.stringContaining('is not before --until') });
  });

  it('an event changed behind the store’s back makes audit fail naming its stream and position, and print no rows', async () => {
    await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
    const opened = await openEventStore(config, { mode: 'reader', actor: 'test' });
    const [queued, call] = await opened.store.readStream('run-r1');
    await opened.close();
    // Rewrite history: the tool call now claims another tool.
    await sqliteRun(join(dataDir, 'events.db'), 'UPDATE events SET data = ? WHERE position = ?', [
      JSON.stringify({ ...(call!.data as object), tool: 'memory_search' }),
      Number(call!.position),
    ]);
    expect(queued).toBeDefined();

    const audit = await cli('audit', '--group', GROUP);
    expect(audit.code).toBe(1);
    expect(audit.stdout).toMatch(new RegExp(`^hash chain broken in stream run-r1 at revision 1 \\(position ${call!.position}\\): .+\\n$`));
  });

  it('verifies the whole span it prints from: an event changed between two printed rows fails it too; a span after the change does not', async () => {
    await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
    const opened = await openEventStore(config, { mode: 'reader', actor: 'test' });
    // The reply's request is not audited (its posting is): it lies between printed rows.
    const [requested] = await opened.store.readStream('group-T0FAKE.C0GENERAL');
    await opened.close();
    await sqliteRun(join(dataDir, 'events.db'), 'UPDATE events SET data = ? WHERE position = ?', [
      JSON.stringify({ ...(requested!.data as object), text: 'Something else entirely.' }),
      Number(requested!.position),
    ]);

    const audit = await cli('audit', '--group', GROUP);
    expect(audit.code).toBe(1);
    expect(audit.stdout).toMatch(new RegExp(`^hash chain broken in stream group-T0FAKE\\.C0GENERAL at revision 0 \\(position ${requested!.position}\\): `));
    const later = await cli('audit', '--group', OTHER_GROUP);
    expect(later, later.stderr).toMatchObject({ code: 0 });
    expect(later.stdout).toMatch(/^hash chain verified: positions (\d+)\.\.\1 walked \(1 event; .+\)\n/);
  });

  describe('anchored at the checkpoint start verified the chain to', () => {
    /** What `ledgerclaw start` leaves after verifying the whole chain: chain-verified.json at the head. */
    async function rememberVerifiedChain(): Promise<bigint> {
      const opened = await openEventStore(config, { mode: 'reader', actor: 'test' });
      try {
        const verified = await verifyHashChains(opened.backend);
        if (!verified.ok) throw new Error('the chain should verify before the test changes it');
        await writeChainCheckpoint(dataDir, { checkpoint: verified.checkpoint, verifiedAt: '2026-12-08T00:00:00.000Z' });
        return verified.checkpoint.position;
      } finally {
        await opened.close();
      }
    }

    it('checks each printed event against its neighbours instead of walking the span, and walks what came after the checkpoint', async () => {
      await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
      const anchor = await rememberVerifiedChain();
      expect(await cli('approvals', 'vote', 'a-1', 'deny', '--reason', 'not to a webhook')).toMatchObject({ code: 0 });
      const audit = await cli('audit');
      expect(audit, audit.stderr).toMatchObject({ code: 0 });
      expect(audit.stdout.split('\n')[0]).toMatch(
        new RegExp(`^hash chain verified: the \\d+ printed events at or before position ${anchor} against their neighbours in \\$all, anchored at that position \\(verified by start at 2026-12-08T00:00:00.000Z\\), and the [1-9]\\d* events? since walked$`),
      );
    });

    it('fails on a printed event changed behind the store, naming it', async () => {
      await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
      await rememberVerifiedChain();
      const opened = await openEventStore(config, { mode: 'reader', actor: 'test' });
      const [, call] = await opened.store.readStream('run-r1');
      await opened.close();
      await sqliteRun(join(dataDir, 'events.db'), 'UPDATE events SET data = ? WHERE position = ?', [
        JSON.stringify({ ...(call!.data as object), tool: 'memory_search' }),
        Number(call!.position),
      ]);
      const audit = await cli('audit', '--group', GROUP);
      expect(audit.code).toBe(1);
      expect(audit.stdout).toMatch(new RegExp(`^hash chain broken in stream run-r1 at revision 1 \\(position ${call!.position}\\): `));
    });

    it('fails when the event after a printed one no longer links to it, naming that event', async () => {
      await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
      await rememberVerifiedChain();
      const opened = await openEventStore(config, { mode: 'reader', actor: 'test' });
      const [, call] = await opened.store.readStream('run-r1');
      await opened.close();
      const next = call!.position + 1n;
      await sqliteRun(join(dataDir, 'events.db'), 'UPDATE events SET recorded_at = ? WHERE position = ?', ['2020-01-01T00:00:00.000Z', Number(next)]);
      const broken = await cli('audit', '--group', GROUP);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toMatch(new RegExp(`^hash chain broken in stream \\S+ at revision \\d+ \\(position ${next}\\): `));
    });

    it('fails when the event at the checkpoint is no longer the one verified there (history rewritten with every hash recomputed)', async () => {
      await recordActivity([['a-1', request(['U0ALICE', 'operator'], 1)]]);
      const anchor = await rememberVerifiedChain();
      await sqliteRun(join(dataDir, 'events.db'), 'UPDATE events SET hash = ? WHERE position = ?', ['f'.repeat(64), Number(anchor)]);
      const audit = await cli('audit');
      expect(audit.code).toBe(1);
      expect(audit.stdout).toContain(`is not the one verified there before`);
    });
  });
});
