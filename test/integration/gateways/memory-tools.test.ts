/**
 * memory_write and memory_search through the gateway, on the real actor host and the
 * memory index the real projection host builds: what one call writes, a later search
 * finds; a group sees only its own memory and the answering user's; a retried call
 * records once; the memory actor's decisions (conflict, supersession, duplicate) reach
 * the model in words; and an agent can flag a conflict but never settle one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemoryContext } from '../../../actors/memory.js';
import { memoryFactIdFor } from '../../../runtime/gateways/host-tools/memory-write.js';
import { REPO_ROOT } from '../../support/built-dist.js';
import { openGatewayWorld, runContext, type GatewayWorld } from './gateway-world.js';

let world: GatewayWorld;

const alice = runContext({ runId: 'T1.C1-1712345678.000100', groupId: 'T1.C1', userId: 'U1' });
const otherChannel = runContext({ runId: 'T1.C2-1712345678.000200', groupId: 'T1.C2', userId: 'U2' });

beforeEach(async () => {
  world = await openGatewayWorld();
});

afterEach(async () => {
  await world.stop();
});

async function search(context: typeof alice, query: string) {
  await world.caughtUp();
  return world.call('memory_search', { query }, context);
}

async function memoryOf(scope: string): Promise<MemoryContext> {
  return (await world.actors.load('memory', scope)).snapshot.context as MemoryContext;
}

describe('memory_write then memory_search', () => {
  it('finds what was written once the index has caught up, with its key, confidence and fact id', async () => {
    const written = await world.call('memory_write', { key: 'vendor.acme.payment_terms', statement: 'Acme invoices are paid net 30.' }, alice, 'toolu_w1');
    const factId = memoryFactIdFor(alice.runId, 'toolu_w1');
    expect(written).toMatchObject({ content: `recorded fact ${factId} on vendor.acme.payment_terms in the group's memory`, isError: false });

    const found = await search(alice, 'acme net');
    expect(found.isError).toBe(false);
    expect(found.content).toBe(`1. [group] fact vendor.acme.payment_terms (agent-observed; id ${factId}): **Acme** invoices are paid **net** 30.`);
  });

  it('records the fact as the run, with a source pointing at the tool call', async () => {
    await world.call('memory_write', { key: 'office.wifi', statement: 'The guest wifi password rotates monthly.', confidence: 'agent-inferred' }, alice, 'toolu_w2');
    const [fact] = (await memoryOf('group.T1.C1')).facts;
    expect(fact).toMatchObject({
      id: memoryFactIdFor(alice.runId, 'toolu_w2'),
      confidence: 'agent-inferred',
      source: { kind: 'event', ref: `run-${alice.runId}#toolu_w2` },
    });
    const [event] = await world.store.readStream('memory-group.T1.C1');
    expect(event!.metadata.actor).toBe(`agent:run-${alice.runId}`);
  });

  it("carries the run's correlation id, so a trace of the message finds the fact", async () => {
    await world.actors.send(
      'run',
      alice.runId,
      { type: 'queue', groupId: 'T1.C1', trigger: 'mention', turnRef: 'slack:T1:C1:1712345678.000100', contextMode: 'group' },
      { correlationId: 'slack-Ev42' },
    );
    await world.call('memory_write', { key: 'office.hours', statement: 'The office opens at 8.' }, alice);
    const traced = await world.store.readByCorrelation('slack-Ev42');
    expect(traced.map((event) => `${event.streamId} ${event.type}`)).toEqual([`run-${alice.runId} run.queued`, 'memory-group.T1.C1 memory.fact_recorded']);
  });

  it('records a retried call (the same tool_use id) once', async () => {
    const input = { key: 'vendor.acme.contact', statement: 'Acme billing is billing@acme.example.' };
    const first = await world.call('memory_write', input, alice, 'toolu_retry');
    const again = await world.call('memory_write', input, alice, 'toolu_retry');
    expect(first.isError).toBe(false);
    expect(again).toMatchObject({
      content: `already recorded by this call: fact ${memoryFactIdFor(alice.runId, 'toolu_retry')} on vendor.acme.contact in the group's memory`,
      isError: false,
    });
    expect((await memoryOf('group.T1.C1')).facts).toHaveLength(1);
    expect(await world.store.readStream('memory-group.T1.C1')).toHaveLength(1);
  });
});

describe('who sees which memory', () => {
  it("never shows a group another group's memory", async () => {
    await world.call('memory_write', { key: 'deal.alpha.price', statement: 'The alpha deal is priced at 40 million.' }, alice);
    expect((await search(alice, 'alpha price')).content).toContain('deal.alpha.price');
    expect(await search(otherChannel, 'alpha price')).toMatchObject({ content: 'nothing remembered matches "alpha price"', isError: false });
    expect(await search({ ...otherChannel, userId: null }, 'alpha*')).toMatchObject({ content: 'nothing remembered matches "alpha*"', isError: false });
  });

  it('keeps user-scoped memory with the user: seen wherever that user asks, by no one else', async () => {
    const written = await world.call('memory_write', { key: 'preference.report_format', statement: 'Wants reports as bullet points.', scope: 'user' }, alice);
    expect(written.content).toContain("in the user's memory");
    expect((await memoryOf('user.U1')).facts.map((fact) => fact.key)).toEqual(['preference.report_format']);

    const elsewhereSameUser = await search({ ...otherChannel, userId: 'U1' }, 'bullet points');
    expect(elsewhereSameUser.content).toMatch(/^1\. \[user\] fact preference\.report_format/);
    expect((await search(otherChannel, 'bullet points')).content).toBe('nothing remembered matches "bullet points"');
    // The same group, answering someone else (or no one), does not see it either.
    expect((await search({ ...alice, userId: 'U2' }, 'bullet points')).content).toBe('nothing remembered matches "bullet points"');
    expect((await search({ ...alice, userId: null }, 'bullet points')).content).toBe('nothing remembered matches "bullet points"');
  });

  it('refuses user scope when the turn answers no one', async () => {
    const outcome = await world.call('memory_write', { key: 'x.y', statement: 'Something.', scope: 'user' }, { ...alice, userId: null, taskId: 't-1' });
    expect(outcome.isError).toBe(true);
    expect(outcome.content).toMatch(/^memory_write: scope: this turn answers no particular person/);
    expect(await world.store.listStreams({ prefix: 'memory-' })).toEqual([]);
  });
});

describe('what the memory actor decides, in words', () => {
  it('says so when a new statement conflicts with an active fact, quoting it', async () => {
    await world.call('memory_write', { key: 'vendor.acme.payment_terms', statement: 'Net 30.' }, alice, 'toolu_a');
    const second = await world.call('memory_write', { key: 'vendor.acme.payment_terms', statement: 'Net 45.' }, alice, 'toolu_b');
    expect(second.isError).toBe(false);
    expect(second.content).toContain('flagged a CONFLICT');
    expect(second.content).toContain(`fact ${memoryFactIdFor(alice.runId, 'toolu_a')} (agent-observed): "Net 30."`);
    expect((await world.actors.load('memory', 'group.T1.C1')).state).toBe('conflicted');
    expect((await search(alice, 'net')).content).toContain('IN CONFLICT');
  });

  it("says a user's word replaced the agents' facts on the key", async () => {
    await world.call('memory_write', { key: 'team.lead', statement: 'Dana leads the team.', confidence: 'agent-inferred' }, alice);
    const stated = await world.call('memory_write', { key: 'team.lead', statement: 'Sam leads the team.', confidence: 'user-stated' }, alice);
    expect(stated.content).toContain("replaces the agents' earlier facts");
    expect((await memoryOf('group.T1.C1')).facts.map((fact) => fact.status)).toEqual(['superseded', 'active']);
  });

  it("passes on the actor's refusal of a fact already stated", async () => {
    await world.call('memory_write', { key: 'office.hours', statement: 'Opens at 8.' }, alice);
    const again = await world.call('memory_write', { key: 'office.hours', statement: '  Opens   at 8. ' }, alice);
    expect(again.isError).toBe(true);
    expect(again.content).toMatch(/^memory_write: not recorded: duplicate: fact .* on office\.hours already states this/);
  });
});

describe('memory_search queries', () => {
  it("answers a query with no words in it with the index's own explanation", async () => {
    await world.call('memory_write', { key: 'office.hours', statement: 'Opens at 8.' }, alice);
    const outcome = await search(alice, '"" () * -');
    expect(outcome.isError).toBe(true);
    expect(outcome.content).toMatch(/^memory_search: memory search query .* has no words to search for/);
  });

  it('searches FTS5 operators and quotes as plain words, never as syntax', async () => {
    await world.call('memory_write', { key: 'office.hours', statement: 'Opens at 8 OR earlier.' }, alice);
    const outcome = await search(alice, 'opens OR "earlier');
    expect(outcome.isError).toBe(false);
    expect(outcome.content).toContain('office.hours');
  });
});

describe('the memory index behind the gateway', () => {
  it('follows a rebuild: once the new build is swapped in, searches read it, not the one the gateway had open', async () => {
    await world.call('memory_write', { key: 'office.hours', statement: 'Opens at 8.' }, alice);
    expect((await search(alice, 'opens')).content).toContain('office.hours');
    await world.projections.rebuild('memory-index');
    await world.call('memory_write', { key: 'office.parking', statement: 'Parking opens at 7.' }, alice);
    const found = (await search(alice, 'opens')).content.split('\n');
    expect(found).toHaveLength(2);
    expect(found.join('\n')).toContain('office.parking');
  });
});

describe('an agent can flag a conflict, never settle one', () => {
  const KEY = 'vendor.acme.payment_terms';

  async function conflictOfTwo(): Promise<MemoryContext> {
    await world.call('memory_write', { key: KEY, statement: 'Net 30.' }, alice, 'toolu_c1');
    await world.call('memory_write', { key: KEY, statement: 'Net 45.' }, alice, 'toolu_c2');
    const memory = await memoryOf('group.T1.C1');
    expect(memory.conflicts).toHaveLength(1);
    return memory;
  }

  it("refuses a user-stated memory_write on a key in conflict (the actor would take it as the user's word and close the conflict), and nothing changes", async () => {
    const before = await conflictOfTwo();
    const eventsBefore = (await world.store.readStream('memory-group.T1.C1')).length;
    const attempt = await world.call('memory_write', { key: KEY, statement: 'Net 60, the user said so.', confidence: 'user-stated' }, alice, 'toolu_settle');
    expect(attempt.isError).toBe(true);
    expect(attempt.content).toMatch(new RegExp(`^memory_write: not recorded: ${KEY.replaceAll('.', '\\.')} has an open conflict between facts .* only a person settles it`));
    expect(await memoryOf('group.T1.C1')).toEqual(before);
    expect(await world.store.readStream('memory-group.T1.C1')).toHaveLength(eventsBefore);
    // What it was told still reaches the people deciding, as one more side of the conflict.
    const joined = await world.call('memory_write', { key: KEY, statement: 'Net 60, the user said so.' }, alice, 'toolu_join');
    expect(joined.content).toContain('flagged a CONFLICT');
    expect((await memoryOf('group.T1.C1')).conflicts[0]!.factIds).toHaveLength(3);
  });

  it('refuses memory_write input crafted as resolveConflict, confirmFact or retireFact, and nothing changes', async () => {
    const before = await conflictOfTwo();
    const [kept, retired] = before.conflicts[0]!.factIds;
    const crafted: unknown[] = [
      { type: 'resolveConflict', keepFactId: kept, retireFactId: retired },
      { key: KEY, statement: 'Net 30.', type: 'resolveConflict', keepFactId: kept, retireFactId: retired },
      { key: KEY, statement: 'Net 30.', type: 'confirmFact', factId: kept },
      { key: KEY, statement: 'Net 30.', type: 'retireFact', factId: retired, reason: 'settled' },
      { key: KEY, statement: 'Net 30.', confidence: 'user-confirmed' },
      { key: KEY, statement: 'Net 30.', scope: 'group.T1.C1' },
    ];
    for (const [index, input] of crafted.entries()) {
      const outcome = await world.call('memory_write', input, alice, `toolu_attack_${index}`);
      expect(outcome.isError, JSON.stringify(input)).toBe(true);
    }
    expect(await memoryOf('group.T1.C1')).toEqual(before);
    expect((await world.actors.load('memory', 'group.T1.C1')).state).toBe('conflicted');
  });

  it('has no module a run reaches (the host tools, the runs, the sandbox, the container) naming a settling command', () => {
    const settling = /\b(resolveConflict|confirmFact|retireFact)\b/;
    const files = (folder: string): string[] =>
      readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) return files(path);
        return /\.(ts|js|py|sh)$/.test(entry.name) ? [path] : [];
      });
    const reachable = ['runtime/gateways', 'runtime/runs', 'runtime/sandbox', 'container'].flatMap((folder) => files(join(REPO_ROOT, folder)));
    expect(reachable.length).toBeGreaterThan(10);
    expect(reachable.filter((file) => settling.test(readFileSync(file, 'utf8'))).map((file) => relative(REPO_ROOT, file))).toEqual([]);
  });
});
