/**
 * The group-activity read model on real SQLite: per group, the time and position of the
 * newest message and how many there were, the same however it is batched; and the reader
 * the new_messages gate uses, on a real event store file and projection host: it waits for
 * the projection to reach the head, answers many questions with one head read, and follows
 * a rebuild swapped in under it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteBackend } from '../../../../events/adapters/sqlite/sqlite-backend.js';
import { groupActivity, groupActivityProjection, groupsOfMember, groupsOwingEffects, lastMessageAt, lastMessageAtOfGroups } from '../../../../projections/group-activity.js';
import { ProjectionHost } from '../../../../projections/projection-host.js';
import { evaluateGate } from '../../../../runtime/scheduler/gates/evaluate-gate.js';
import { ReadModelGroupActivity } from '../../../../runtime/scheduler/gates/group-activity-reader.js';
import { ProcessSandbox } from '../../../../runtime/sandbox/process-sandbox.js';
import { createWorld, projectionTestbed, type World } from '../../projections/fixture.js';

const GROUP = 'T1.C1';
const OTHER = 'T1.C2';
const THREAD = 'T1.C1.1712345678.000100';

let messageCounter = 0;
function receive(world: World, groupId: string, sender = 'U1') {
  messageCounter += 1;
  return world.send('group', groupId, { type: 'receiveMessage', messageId: `1712345678.${String(messageCounter).padStart(6, '0')}`, sender, text: `message ${messageCounter}`, mentionsBot: false });
}

async function configure(world: World, groupId: string, allowedSenders: string[] = []) {
  await world.send('group', groupId, { type: 'configure', triggerMode: 'mention', allowedSenders, isAdmin: false });
}

describe('the group-activity projection', () => {
  const bed = projectionTestbed(groupActivityProjection, 'group-activity');

  async function scenario(): Promise<void> {
    const { world } = bed;
    await configure(world, GROUP, ['U1']);
    await configure(world, OTHER);
    await configure(world, THREAD);
    await receive(world, GROUP);
    await receive(world, OTHER);
    await receive(world, GROUP);
    await receive(world, GROUP, 'U9'); // not allowed here: ignored, not received
    await receive(world, THREAD);
  }

  it('keeps, per group, the newest message time and position and how many were received', async () => {
    await scenario();
    const received = (await bed.world.all()).filter((event) => event.type === 'group.message_received');
    const newestIn = (groupId: string) => received.filter((event) => event.streamId === `group-${groupId}`).at(-1)!;
    const { db } = await bed.build('rows');

    // A thread's message counts for the thread and for its channel: a watch on the channel sees it.
    expect(await groupActivity(db, GROUP)).toEqual({ groupId: GROUP, lastMessageAt: newestIn(THREAD).metadata.occurredAt, lastMessagePosition: newestIn(THREAD).position, messageCount: 3 });
    expect(await groupActivity(db, OTHER)).toMatchObject({ messageCount: 1, lastMessageAt: newestIn(OTHER).metadata.occurredAt });
    expect(await groupActivity(db, THREAD)).toMatchObject({ messageCount: 1, lastMessageAt: newestIn(THREAD).metadata.occurredAt });
    expect(await lastMessageAt(db, GROUP)).toBe(newestIn(THREAD).metadata.occurredAt);
    expect(await lastMessageAt(db, 'T1.C404')).toBeNull();
    expect(await lastMessageAtOfGroups(db, [GROUP, OTHER, 'T1.C404', GROUP])).toEqual(
      new Map([
        [GROUP, newestIn(THREAD).metadata.occurredAt],
        [OTHER, newestIn(OTHER).metadata.occurredAt],
      ]),
    );
  });

  it('knows who talks where, by home group (a thread counts for its channel), most recent first', async () => {
    await scenario();
    const { db } = await bed.build('members');
    expect((await groupsOfMember(db, 'U1', 10)).map((row) => row.groupId)).toEqual([GROUP, OTHER]);
    expect(await groupsOfMember(db, 'U9', 10)).toEqual([]);
  });

  it('knows which groups owe a turn or a reply, and forgets them once settled', async () => {
    const { world } = bed;
    await world.send('group', 'T1.C9', { type: 'configure', triggerMode: 'dm', allowedSenders: [], isAdmin: false });
    await world.send('group', 'T1.C9', { type: 'receiveMessage', messageId: '1712345999.000100', sender: 'U1', text: 'hi', mentionsBot: true });
    const runId = 'T1.C9-1712345999.000100';
    expect(await groupsOwingEffects((await bed.build('open')).db)).toEqual(['T1.C9']);
    await world.send('group', 'T1.C9', { type: 'runStarted', runId });
    await world.send('group', 'T1.C9', { type: 'runFinished', runId, outcome: 'completed', reply: 'hello' });
    expect(await groupsOwingEffects((await bed.build('reply-owed')).db)).toEqual(['T1.C9']);
    await world.send('group', 'T1.C9', { type: 'replyPosted', replyId: runId, refs: ['1712346000.000100'] });
    expect(await groupsOwingEffects((await bed.build('settled')).db)).toEqual([]);
  });

  it('gives the same rows however the events are batched (deterministic)', async () => {
    await scenario();
    const dump = async (name: string, batchSize: number) => {
      const { db } = await bed.build(name, { batchSize });
      return [await db.all('SELECT * FROM group_activity ORDER BY group_id'), await db.all('SELECT * FROM group_members ORDER BY user_id, group_id')];
    };
    const whole = await dump('whole', 500);
    expect(whole[0]).toHaveLength(3);
    expect(await dump('one-by-one', 1)).toEqual(whole);
  });
});

describe('the group-activity reader over a live projection host', () => {
  let dataDir: string;
  let world: World;
  let host: ProjectionHost;
  let reader: ReadModelGroupActivity;
  let headReads: number;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-group-activity-'));
    world = createWorld(undefined, await openSqliteBackend({ path: join(dataDir, 'events.db'), mode: 'writer' }));
    host = new ProjectionHost({ store: world.store, projections: [groupActivityProjection], dataDir });
    await host.start();
    headReads = 0;
    reader = new ReadModelGroupActivity({
      store: { headPosition: () => ((headReads += 1), world.store.headPosition()) },
      dataDir,
      caughtUp: (name, position) => host.waitFor(name, position),
    });
  });

  afterEach(async () => {
    await reader.close();
    await host.stop();
    await world.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers null, without waiting, when nothing is stored', async () => {
    expect(await reader.lastMessageAt(GROUP)).toBeNull();
  });

  it('sees a message stored just before the question: it waits for the projection to reach the head', async () => {
    await configure(world, GROUP);
    for (let round = 0; round < 5; round += 1) {
      await receive(world, GROUP);
      const newest = (await world.all()).at(-1)!;
      expect(newest.type).toBe('group.message_received');
      expect(await reader.lastMessageAt(GROUP)).toBe(newest.metadata.occurredAt);
    }
  });

  it('answers thousands of questions asked together with a handful of head reads', async () => {
    await configure(world, GROUP);
    await configure(world, OTHER);
    await receive(world, GROUP);
    await receive(world, OTHER);
    const all = await world.all();
    const at = (groupId: string) => all.filter((event) => event.streamId === `group-${groupId}` && event.type === 'group.message_received').at(-1)!.metadata.occurredAt;

    const groups = Array.from({ length: 3_000 }, (_, index) => [GROUP, OTHER, `T1.X${index}`][index % 3]!);
    const answers = await Promise.all(groups.map((groupId) => reader.lastMessageAt(groupId)));
    expect(answers.slice(0, 3)).toEqual([at(GROUP), at(OTHER), null]);
    expect(answers.filter((answer) => answer === at(GROUP))).toHaveLength(1_000);
    expect(answers.filter((answer) => answer === null)).toHaveLength(1_000);
    expect(headReads).toBeLessThanOrEqual(2);
  });

  it('follows a rebuild swapped in under it', async () => {
    await configure(world, GROUP);
    await receive(world, GROUP);
    const before = await reader.lastMessageAt(GROUP);
    expect(before).not.toBeNull();
    const activeFile = async () => (await host.entries()).find((entry) => entry.name === groupActivityProjection.name)!.activeFile;
    const oldFile = await activeFile();
    await host.rebuild(groupActivityProjection.name);
    expect(await activeFile()).not.toBe(oldFile);
    await receive(world, GROUP);
    const newest = (await world.all()).at(-1)!;
    expect(await reader.lastMessageAt(GROUP)).toBe(newest.metadata.occurredAt);
  });

  it('drives the new_messages gate: asleep until a message arrives after the last decision', async () => {
    await configure(world, GROUP);
    await receive(world, GROUP);
    const decidedAt = world.clock.advance(60_000);
    const warnings: string[] = [];
    const deps = {
      groupActivity: reader,
      dataDir,
      sandbox: new ProcessSandbox({ runsDir: join(dataDir, 'runs') }),
      limits: { memoryBytes: 64 * 1024 * 1024, cpus: 1, pids: 64, tmpBytes: 1024 * 1024 },
      logger: { warn: (_fields: object, message: string) => warnings.push(message) },
    };
    const task = { taskId: 'standup', groupId: OTHER, lastDecidedAt: decidedAt };
    const gate = { kind: 'new_messages', groupId: GROUP } as const;
    expect(await evaluateGate(gate, task, deps)).toMatchObject({ wake: false, detail: expect.stringMatching(/^no message in group T1.C1 since /) });
    await receive(world, GROUP);
    expect(await evaluateGate(gate, task, deps)).toMatchObject({ wake: true, detail: expect.stringMatching(/^group T1.C1 received a message at .*, after /) });
    expect(warnings).toEqual([]);
  });
});
