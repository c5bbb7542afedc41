/**
 * Two runtimes, one active, on a shared EventStoreDB (the fake, in this process): the built
 * `ledgerclaw start` twice, each with its own data directory (its caches), against the fake
 * Slack and the fake Anthropic API. The second stands by while the first holds the lease.
 * - SIGKILL the active one while it is posting a reply: the standby takes over within a few
 *   seconds (the time is printed), posts that reply exactly once, and fires a task that
 *   fell due after the kill exactly once.
 * - Freeze the active one (SIGSTOP) past its lease: the standby takes over; resumed
 *   (SIGCONT), the old one writes nothing more (its guard refuses every append) and exits
 *   with the lease-lost code.
 * Runs use the process sandbox, so no Docker daemon is needed: the failover does not depend
 * on where runs execute.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../runtime/cli/exit-codes.js';
import { scheduleCommandOf } from '../../runtime/cli/task-options.js';
import { CONTROL_PROTOCOL_VERSION } from '../../runtime/control/protocol.js';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic-messages.js';
import { startFakeEventStoreDb, type FakeEventStoreDb } from '../fakes/eventstoredb/index.js';
import { FakeSlack } from '../fakes/slack.js';
import { builtFile } from '../support/built-dist.js';
import { killLeftoverProcesses, runProcess, startProcess, type RunningProcess } from '../support/child-process.js';
import { cliEnv } from '../support/cli-env.js';

const KEY = 'sk-failover-key';
const TEAM = 'T0FAKE';
const GENERAL = 'C0GENERAL';
const ALICE = 'U0ALICE';
const GROUP = `${TEAM}.${GENERAL}`;
const REPLY = 'Acme pays net 30.';
const TASK_ANSWER = 'Sales yesterday: 42 orders.';
const TASK_PROMPT = 'Post the sales summary for yesterday';
// Short enough for a test, with the same rules as the defaults (renewal at most half the lease).
const LEASE_TTL_MS = 3_000;
const LEASE_RENEW_MS = 1_000;

let esdb: FakeEventStoreDb;
let slack: FakeSlack;
let model: FakeAnthropic;
const dirs: string[] = [];

beforeEach(async () => {
  esdb = await startFakeEventStoreDb();
  slack = await FakeSlack.start();
  slack.web.addUser({ id: ALICE, name: 'alice', realName: 'Alice' });
  slack.web.addChannel({ id: GENERAL, name: 'general' });
  model = await startFakeAnthropic({ apiKey: KEY });
  model.respondWith((request) => ({ content: [{ type: 'text', text: isTaskRun(request.body) ? TASK_ANSWER : REPLY }] }));
});

/** A task's run has the task's prompt as its last message; a conversation's prompt may mention the group's tasks anywhere. */
function isTaskRun(body: unknown): boolean {
  const messages = (body as { messages: unknown[] }).messages;
  return JSON.stringify(messages.at(-1)).includes(TASK_PROMPT);
}

afterEach(async () => {
  await killLeftoverProcesses();
  await slack.close();
  await model.close();
  await esdb.close();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function env(): NodeJS.ProcessEnv {
  return cliEnv({
    LEDGERCLAW_LOG_LEVEL: 'warn',
    LEDGERCLAW_EVENT_STORE: 'eventstoredb',
    LEDGERCLAW_EVENTSTOREDB_URL: esdb.url,
    LEDGERCLAW_EVENTSTOREDB_LEASE_TTL_MS: String(LEASE_TTL_MS),
    LEDGERCLAW_EVENTSTOREDB_LEASE_RENEW_MS: String(LEASE_RENEW_MS),
    LEDGERCLAW_SANDBOX: 'process',
    ANTHROPIC_API_KEY: KEY,
    ANTHROPIC_BASE_URL: model.url,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_APP_TOKEN: slack.appToken,
    LEDGERCLAW_SLACK_API_URL: slack.url,
  });
}

async function dataDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `ledgerclaw-${name}-`));
  dirs.push(dir);
  return dir;
}

/** `ledgerclaw start` on its own data directory; waits for it to be active or standing by, as said. */
async function start(as: 'active' | 'standby'): Promise<{ child: RunningProcess; dir: string }> {
  const dir = await dataDir(as);
  const child = startProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start', '--data', dir], { env: env() });
  if (as === 'active') {
    await child.waitForOutput(/slack +connected/, { timeoutMs: 60_000 });
    await slack.socket.waitForConnection();
  } else {
    await child.waitForOutput(/^ledgerclaw standby: the store's lease is held by runtime /m, { timeoutMs: 60_000 });
  }
  return { child, dir };
}

async function cli(dir: string, ...args: string[]) {
  return runProcess(process.execPath, [builtFile('runtime/cli/main.js'), ...args, '--data', dir], { env: env() });
}

interface StoredRecord {
  readonly position: bigint;
  readonly stream: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
  /** The lease's fencing token the writer stamped on it; undefined on lease events themselves. */
  readonly fence: bigint | undefined;
}

/** What EventStoreDB holds, read straight from the fake's log: no runtime's view of it. */
function stored(): StoredRecord[] {
  const decoder = new TextDecoder();
  return esdb.backdoor
    .records()
    .filter((record) => !record.stream.startsWith('$'))
    .map((record) => {
      const metadata = record.metadata.length === 0 ? {} : (JSON.parse(decoder.decode(record.metadata)) as { ledgerclaw?: { fence?: string } });
      const fence = metadata.ledgerclaw?.fence;
      return {
        position: record.position,
        stream: record.stream,
        type: record.type,
        data: JSON.parse(decoder.decode(record.data)) as Record<string, unknown>,
        fence: fence === undefined ? undefined : BigInt(fence),
      };
    });
}

const of = (stream: string, type: string) => stored().filter((record) => record.stream === stream && record.type === type);

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Someone talks in #general, so the assistant takes part in the channel (a task's answer is posted there). */
async function joinGeneral(): Promise<void> {
  await slack.userPosts({ channel: GENERAL, user: ALICE, text: 'morning all' });
  await until('the message in #general to be recorded', () => of(`group-${GROUP}`, 'group.message_received').length > 0);
}

/** `tasks add` through the active runtime's control socket: once, `inMs` from now. */
async function addTask(activeDir: string, inMs: number, ...extra: string[]): Promise<{ taskId: string; dueAt: number }> {
  const dueAt = Date.now() + inMs;
  const added = await cli(activeDir, 'tasks', 'add', '--group', GROUP, '--prompt', TASK_PROMPT, '--at', new Date(dueAt).toISOString(), ...extra);
  expect(added.code, added.stderr).toBe(0);
  return { taskId: added.stdout.trim(), dueAt };
}

/**
 * Queues a task's `schedule` command on a runtime's control socket, as `tasks add` would:
 * resolves once the request is in the socket (a frozen runtime's kernel takes it), with
 * whatever the runtime answers later.
 */
async function queueScheduleCommand(dir: string, taskId: string): Promise<{ answer: Promise<string> }> {
  const socket: Socket = createConnection(join(dir, 'control.sock'));
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text)).on('error', () => undefined));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const command = scheduleCommandOf({ group: GROUP, prompt: TASK_PROMPT, at: new Date(Date.now() + 3_600_000).toISOString(), deliver: 'silent' });
  const line = `${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id: 'frozen-1', kind: 'task', actorId: taskId, command })}\n`;
  await new Promise<void>((resolve, reject) => socket.write(line, (error) => (error ? reject(error) : resolve())));
  return { answer };
}

const leaseAcquisitions = () => esdb.backdoor.streamRecords('runtime-lease').filter((record) => record.type === 'lease.acquired');

describe('a standby runtime on a shared EventStoreDB', () => {
  it('takes over within seconds of the active one being SIGKILLed mid-reply, posts that reply once, and fires a task due after the kill once', async () => {
    const active = await start('active');
    const standby = await start('standby');
    await joinGeneral();
    const task = await addTask(active.dir, 12_000);

    const held = slack.web.holdNext('chat.postMessage', { applied: false });
    const post = await slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> what are Acme payment terms?' });
    await held;
    active.child.kill('SIGKILL');
    const killedAt = Date.now();
    await active.child.exited;
    expect(slack.web.thread(GENERAL, post.ts).filter((message) => message.bot_id !== undefined)).toEqual([]);

    await standby.child.waitForOutput(/^ledgerclaw active: took the store's lease from runtime .* whose lease lapsed, with fence 2/m, { timeoutMs: 30_000 });
    const tookOverMs = Date.now() - killedAt;
    await standby.child.waitForOutput(/slack +connected/, { timeoutMs: 30_000 });
    const connectedMs = Date.now() - killedAt;
    await slack.socket.waitForConnection();
    const threadStream = `group-${GROUP}.${post.ts}`;
    await until('the reply to be posted after the failover', () => of(threadStream, 'group.reply_posted').length > 0);
    const repliedMs = Date.now() - killedAt;
    process.stdout.write(
      `standby failover (lease ${LEASE_TTL_MS} ms, renewed every ${LEASE_RENEW_MS} ms): lease taken ${tookOverMs} ms after SIGKILL, ` +
        `Slack connected after ${connectedMs} ms, the reply in progress posted after ${repliedMs} ms\n`,
    );
    // The lease lapses LEASE_TTL_MS plus its margin after the last renewal the standby saw.
    expect(tookOverMs).toBeLessThan(LEASE_TTL_MS * 3);

    await until("the task's answer", () => of(`task-${task.taskId}`, 'task.completed').length > 0, 90_000);
    await slack.settle();
    expect(of(threadStream, 'group.reply_posted')).toHaveLength(1);
    expect(slack.web.thread(GENERAL, post.ts).filter((message) => message.bot_id !== undefined).map((message) => message.text)).toEqual([REPLY]);
    const fired = of(`task-${task.taskId}`, 'task.fired');
    expect(fired).toHaveLength(1);
    expect(fired[0]!.fence).toBe(2n);
    expect(slack.web.topLevel(GENERAL).filter((message) => message.bot_id !== undefined).map((message) => message.text)).toEqual([TASK_ANSWER]);
    // The turn was not run again: one model call for the reply, one for the task.
    expect(model.requests.map((request) => (isTaskRun(request.body) ? 'task' : 'reply')).sort()).toEqual(['reply', 'task']);
    // Everything either runtime wrote carries the fence it held.
    expect(stored().filter((record) => !record.stream.startsWith('runtime-lease') && record.fence === undefined)).toEqual([]);
  });

  it('a runtime frozen past its lease and resumed writes nothing once the standby holds it, and exits with the lease-lost code', async () => {
    const active = await start('active');
    const standby = await start('standby');
    // Due while the active one is frozen: the new holder fires it; the frozen one's clock
    // has it overdue the moment it resumes.
    const task = await addTask(active.dir, 10_000, '--deliver', 'silent');

    const lateTaskId = `t-${randomBytes(6).toString('hex')}`;
    let frozenCommand: { answer: Promise<string> } | undefined;
    process.kill(active.child.pid, 'SIGSTOP');
    try {
      await standby.child.waitForOutput(/^ledgerclaw active: took the store's lease .* with fence 2/m, { timeoutMs: 30_000 });
      await until('the task to fire under the new holder', () => of(`task-${task.taskId}`, 'task.fired').length > 0, 60_000);
      await until('the task to fall due by a margin', () => Date.now() > task.dueAt + 1_000);
      // A command reaches the frozen runtime's control socket: it is the first thing it
      // handles when it resumes, so it would append to a fresh stream (no revision conflict
      // to stop it) unless the lease's guard refused.
      frozenCommand = await queueScheduleCommand(active.dir, lateTaskId);
    } finally {
      process.kill(active.child.pid, 'SIGCONT');
    }
    const takenAt = leaseAcquisitions().find((record) => JSON.parse(new TextDecoder().decode(record.data)).fence === '2')!.position;

    const exit = await active.child.exited;
    expect(exit.code).toBe(ExitCode.leaseLost);
    // The command it took after resuming was not carried out: nothing of that task was written.
    expect(await frozenCommand!.answer).not.toMatch(/"status":"accepted"/);
    expect(stored().filter((record) => record.stream === `task-${lateTaskId}`)).toEqual([]);
    expect(active.child.stderr()).toMatch(/ledgerclaw: stopped: this runtime no longer holds the store's lease \(fence 1\)/);
    // Nothing written under the old fence landed after the new holder took the lease.
    const late = stored().filter((record) => record.fence === 1n && record.position > takenAt);
    expect(late).toEqual([]);
    expect(stored().filter((record) => record.fence === 1n).length).toBeGreaterThan(0);
    expect(of(`task-${task.taskId}`, 'task.fired')).toHaveLength(1);
    expect(of(`task-${task.taskId}`, 'task.fired')[0]!.fence).toBe(2n);
    // The old holder's last lease event comes before the new holder's acquisition.
    const leaseEvents = esdb.backdoor.streamRecords('runtime-lease').map((record) => JSON.parse(new TextDecoder().decode(record.data)) as { fence: string });
    const afterTakeover = leaseEvents.slice(leaseEvents.findIndex((event) => event.fence === '2'));
    expect(afterTakeover.every((event) => event.fence === '2')).toBe(true);
  });

  it('takes over at once when the active one stops cleanly, since a clean stop releases the lease', async () => {
    const active = await start('active');
    expect(active.child.stdout()).toContain(`  event store       ${esdb.url} (eventstoredb; this runtime holds its lease; snapshots and read models are local caches in the data directory)`);
    const standby = await start('standby');
    active.child.kill('SIGTERM');
    const stoppedAt = Date.now();
    expect((await active.child.exited).code).toBe(ExitCode.ok);
    await standby.child.waitForOutput(/^ledgerclaw active: took the store's lease with fence 2 after/m, { timeoutMs: 30_000 });
    const tookOverMs = Date.now() - stoppedAt;
    process.stdout.write(`standby takeover after a clean stop (lease ${LEASE_TTL_MS} ms): ${tookOverMs} ms after SIGTERM\n`);
    // Not a lapse: the standby did not wait out the lease.
    expect(standby.child.stdout()).not.toMatch(/whose lease lapsed/);
    const leaseTypes = esdb.backdoor.streamRecords('runtime-lease').map((record) => record.type);
    expect(leaseTypes.filter((type) => type === 'lease.released')).toHaveLength(1);
    expect(leaseTypes[leaseTypes.indexOf('lease.released') + 1]).toBe('lease.acquired');
    await standby.child.waitForOutput(/slack +connected/, { timeoutMs: 30_000 });
    // The runtime recorded its stop before it let go; the new one sees a clean previous run.
    const runtimeTypes = of('runtime', 'runtime.started').map((record) => record.data.previousShutdown);
    expect(runtimeTypes).toEqual(['first_start', 'clean']);
  });

  it("refuses a CLI command that would write from another data directory while a live runtime holds the lease", async () => {
    await start('active');
    const elsewhere = await dataDir('elsewhere');
    const refused = await cli(elsewhere, 'tasks', 'add', '--group', GROUP, '--prompt', TASK_PROMPT, '--at', new Date(Date.now() + 3_600_000).toISOString());
    expect(refused.code, refused.stderr).toBe(ExitCode.failure);
    expect(refused.stderr).toMatch(/ledgerclaw: runtime \S+ \(pid \d+ on .+\) holds the store's lease and writes to it: run this command with that runtime's data directory/);
    expect(stored().filter((record) => record.stream.startsWith('task-'))).toEqual([]);
  });
});
