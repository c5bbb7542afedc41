/**
 * `ledgerclaw memory resolve | confirm | retire` through the built CLI in real processes on
 * a real data directory, and through the control socket while a runtime holds it: each
 * sends the memory actor's commands, signed `cli` (or `user:<id>` with --as), says what
 * changed, and names what was wrong when nothing could be.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from '../../actors/actor-kind.js';
import type { StoredEvent } from '../../events/envelope.js';
import { openActorRuntime } from '../../runtime/actor-runtime.js';
import type { Config } from '../../runtime/config.js';
import { startControlServer } from '../../runtime/control/server.js';
import { CONTROLLED_KINDS } from '../../runtime/control/runtime-control.js';
import { openEventStore } from '../../runtime/open-store.js';
import { freshCliDataDirPerTest, type CliDataDir } from '../support/cli-data-dir.js';
import { runCliCaptured } from '../support/in-process-cli.js';

const GROUP = 'T0FAKE.C0GENERAL';
const SCOPE = `group.${GROUP}`;
const KEY = 'vendor.acme.payment_terms';

let dataDir: string;
let config: Config;
let run: CliDataDir['cli'];

freshCliDataDirPerTest('ledgerclaw-memory-settle-', (fresh) => {
  ({ dataDir, config, cli: run } = fresh);
});

function cli(...args: string[]) {
  return run('memory', ...args);
}

function fact(id: string, statement: string, key = KEY): Command {
  return { type: 'recordFact', fact: { id, key, statement, confidence: 'agent-observed', source: { kind: 'message', ref: '1712345678.000100' } } };
}

/** Writes the given facts as agents would, then lets go of the data directory. */
async function recordFacts(facts: readonly [scope: string, command: Command][]): Promise<void> {
  const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'test' });
  const runtime = await openActorRuntime({ store: opened.store, config, readOnly: false });
  try {
    for (const [scope, command] of facts) {
      const result = await runtime.host.sendUnchecked('memory', scope, command, { actor: 'agent:run-1' });
      expect(result.status === 'rejected' ? result.reason : 'accepted').toBe('accepted');
    }
  } finally {
    await runtime.close();
    await opened.close();
  }
}

async function memoryEvents(scope = SCOPE): Promise<StoredEvent[]> {
  const opened = await openEventStore(config, { mode: 'reader', actor: 'test' });
  try {
    return await opened.store.readStream(`memory-${scope}`);
  } finally {
    await opened.close();
  }
}

const settlingEvents = async (scope = SCOPE) =>
  (await memoryEvents(scope))
    .filter((event) => ['memory.fact_retired', 'memory.conflict_resolved', 'memory.fact_confirmed'].includes(event.type))
    .map((event) => ({ type: event.type, data: event.data, actor: event.metadata.actor }));

describe('ledgerclaw memory resolve', () => {
  it('--keep new keeps the newest fact of the conflict and retires the others, found by key alone, signed cli', async () => {
    await recordFacts([[SCOPE, fact('f1', 'net 30')], [SCOPE, fact('f2', 'net 45')], [SCOPE, fact('f3', 'net 60')]]);
    const result = await cli('resolve', KEY, '--keep', 'new');
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toBe(`${SCOPE}: cli kept "net 60" (f3) on ${KEY}; retired "net 30" (f1), "net 45" (f2)\n`);
    expect(await settlingEvents()).toEqual([
      { type: 'memory.fact_retired', data: { factId: 'f1', reason: 'conflict resolved in favour of f3' }, actor: 'cli' },
      { type: 'memory.fact_retired', data: { factId: 'f2', reason: 'conflict resolved in favour of f3' }, actor: 'cli' },
      { type: 'memory.conflict_resolved', data: { key: KEY, keptFactId: 'f3' }, actor: 'cli' },
    ]);
  });

  it('--keep none retires every fact; --group names the scope (a thread means its channel)', async () => {
    await recordFacts([[SCOPE, fact('f1', 'net 30')], [SCOPE, fact('f2', 'net 45')]]);
    const result = await cli('resolve', KEY, '--keep', 'none', '--group', `${GROUP}.1712345678.000100`);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('cli retired "net 30" (f1), "net 45" (f2)');
    expect((await settlingEvents()).filter((event) => event.type === 'memory.fact_retired').map((event) => (event.data as { factId: string }).factId)).toEqual(['f1', 'f2']);
  });

  it('names what was wrong: no such key, no open conflict, a key in conflict in two scopes, a bad --keep', async () => {
    const other = 'group.T0FAKE.C0OTHER';
    await recordFacts([[SCOPE, fact('f1', 'net 30')], [SCOPE, fact('f2', 'net 45')], [other, fact('o1', 'net 10')], [other, fact('o2', 'net 20')], [SCOPE, fact('s1', 'Berlin', 'office.city')]]);

    const unknown = await cli('resolve', 'vendor.nobody', '--keep', 'old');
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('no memory holds a fact on vendor.nobody') });
    const settled = await cli('resolve', 'office.city', '--keep', 'old', '--scope', SCOPE);
    expect(settled).toMatchObject({ code: 1, stderr: expect.stringContaining(`office.city in ${SCOPE} has no open conflict; it holds "Berlin" (s1)`) });
    const ambiguous = await cli('resolve', KEY, '--keep', 'old');
    expect(ambiguous).toMatchObject({ code: 2, stderr: expect.stringContaining(`${KEY} is in conflict in 2 scopes (${SCOPE}, ${other}); say which with --group or --scope`) });
    const badKeep = await cli('resolve', KEY, '--keep', 'first');
    expect(badKeep).toMatchObject({ code: 2, stderr: expect.stringContaining('expected old (the oldest fact), new (the newest) or none') });
    const badKey = await cli('resolve', 'Vendor Acme', '--keep', 'old');
    expect(badKey).toMatchObject({ code: 2, stderr: expect.stringContaining("expected a dotted lower-case key") });
    expect(await settlingEvents()).toEqual([]);
    expect(await settlingEvents(other)).toEqual([]);
  });
});

describe('ledgerclaw memory confirm and retire', () => {
  it("confirm needs --as: the fact becomes that user's word, signed user:<id>", async () => {
    await recordFacts([[SCOPE, fact('f1', 'net 30')]]);
    const unsigned = await cli('confirm', KEY);
    expect(unsigned).toMatchObject({ code: 2, stderr: expect.stringContaining('only a user can confirm a fact (it becomes their word): say whom you confirm it for with --as <Slack user id>') });
    const confirmed = await cli('confirm', KEY, '--as', 'U0ALICE');
    expect(confirmed, confirmed.stderr).toMatchObject({ code: 0, stdout: `${SCOPE}: user:U0ALICE confirmed "net 30" (f1) on ${KEY}\n` });
    expect(await settlingEvents()).toEqual([{ type: 'memory.fact_confirmed', data: { factId: 'f1', confirmedBy: 'user:U0ALICE' }, actor: 'user:U0ALICE' }]);
    const again = await cli('confirm', KEY, '--as', 'U0ALICE');
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('fact f1 is user-confirmed already') });
  });

  it('retire retires the one active fact with the reason given, and refuses a key in conflict', async () => {
    await recordFacts([[SCOPE, fact('f1', 'net 30')], [SCOPE, fact('c1', 'Berlin', 'office.city')], [SCOPE, fact('c2', 'Paris', 'office.city')]]);
    const retired = await cli('retire', KEY, '--reason', 'Acme is no longer a vendor');
    expect(retired, retired.stderr).toMatchObject({ code: 0, stdout: `${SCOPE}: cli retired "net 30" (f1) on ${KEY}\n` });
    const inConflict = await cli('retire', 'office.city');
    expect(inConflict).toMatchObject({ code: 1, stderr: expect.stringContaining('has an open conflict between facts c1, c2; settle it with `memory resolve` first') });
    expect(await settlingEvents()).toEqual([{ type: 'memory.fact_retired', data: { factId: 'f1', reason: 'Acme is no longer a vendor' }, actor: 'cli' }]);
  });
});

describe('while the runtime runs', () => {
  it('resolve and confirm go through the control socket to the runtime, which signs them cli or user:<id>', async () => {
    await recordFacts([[SCOPE, fact('f1', 'net 30')], [SCOPE, fact('f2', 'net 45')]]);
    const opened = await openEventStore(config, { mode: 'writer', actor: 'runtime', command: 'ledgerclaw start' });
    const runtime = await openActorRuntime({ store: opened.store, config, readOnly: false });
    const control = await startControlServer({ dataDir, actors: runtime.host, kinds: CONTROLLED_KINDS });
    try {
      const run = (...args: string[]) => runCliCaptured(['memory', ...args, '--data', dataDir], { cwd: dataDir, env: { LEDGERCLAW_LOG_LEVEL: 'silent' } });
      const resolved = await run('resolve', KEY, '--keep', 'old');
      expect(resolved, resolved.stderr).toMatchObject({ code: 0, stdout: `${SCOPE}: cli kept "net 30" (f1) on ${KEY}; retired "net 45" (f2)\n` });
      const confirmed = await run('confirm', KEY, '--as', 'U0BOB');
      expect(confirmed, confirmed.stderr).toMatchObject({ code: 0 });
      const events = (await opened.store.readStream(`memory-${SCOPE}`)).slice(-3);
      expect(events.map((event) => [event.type, event.metadata.actor])).toEqual([
        ['memory.fact_retired', 'cli'],
        ['memory.conflict_resolved', 'cli'],
        ['memory.fact_confirmed', 'user:U0BOB'],
      ]);
      expect(events[0]!.metadata.correlationId).toMatch(/^control:memory-settle:/);
    } finally {
      await control.close();
      await runtime.close();
      await opened.close();
    }
  });
});
