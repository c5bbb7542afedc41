/**
 * A scheduled task's answer, end to end: the built `ledgerclaw start` against the fake Slack
 * and the scripted fake Anthropic API, the task added with `ledgerclaw tasks add` while the
 * runtime runs, its run in a real Docker container. The answer is posted once at the top
 * level of the channel; a silent task's is not; and a runtime SIGKILLed while the post is
 * under way posts it exactly once after restart.
 */
import { describe, expect, it } from 'vitest';
import { ALICE, freshSlackWorldPerTest, GENERAL, type SlackWorld } from './slack-world.js';

const TEAM = 'T0FAKE';
const GROUP = `${TEAM}.${GENERAL}`;
const ANSWER = 'Sales yesterday: 42 orders, 3 refunds.';
let world: SlackWorld;

freshSlackWorldPerTest((opened) => {
  world = opened;
});

const botPosts = () => world.slack.web.topLevel(GENERAL).filter((message) => message.bot_id !== undefined);

/** Someone talks in #general (no mention: no turn), so the assistant takes part in the channel. */
async function joinGeneral(): Promise<void> {
  await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: 'morning all' });
  for (let attempt = 0; attempt < 120; attempt += 1) {
    if ((await world.events(`group-${GROUP}`)).some((event) => event.type === 'group.message_received')) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the message in #general was never recorded');
}

/** `tasks add` through the running runtime: once, a few seconds from now. */
async function addTask(...extra: string[]): Promise<string> {
  const at = new Date(Date.now() + 4_000).toISOString();
  const added = await world.cli('tasks', 'add', '--group', GROUP, '--prompt', 'Post the sales summary for yesterday', '--at', at, ...extra);
  expect(added.code, added.stderr).toBe(0);
  return added.stdout.trim();
}

async function waitForTaskEvent(taskId: string, type: string): Promise<void> {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    if ((await world.events(`task-${taskId}`)).some((event) => event.type === type)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`task ${taskId} never recorded ${type}`);
}

describe("a scheduled task's answer, end to end", () => {
  it("is posted once at the top level of the task's channel", async () => {
    world.model.respondWith(() => ({ content: [{ type: 'text', text: ANSWER }] }));
    await world.start();
    await joinGeneral();
    const taskId = await addTask();
    const [post] = await world.slack.waitFor(() => (botPosts().length > 0 ? botPosts() : undefined), { timeoutMs: 90_000, what: "the task's answer" });
    expect(post!.text).toBe(ANSWER);
    expect(post!.thread_ts).toBeUndefined();
    await waitForTaskEvent(taskId, 'task.completed');
    await world.slack.settle();
    expect(botPosts()).toHaveLength(1);
    expect(world.model.requests).toHaveLength(1);
  });

  it('is not posted for a task added with --deliver silent', async () => {
    world.model.respondWith(() => ({ content: [{ type: 'text', text: ANSWER }] }));
    await world.start();
    await joinGeneral();
    const taskId = await addTask('--deliver', 'silent');
    await waitForTaskEvent(taskId, 'task.completed');
    await world.slack.settle();
    expect(world.model.requests).toHaveLength(1);
    expect(botPosts()).toEqual([]);
    expect((await world.events(`group-${GROUP}`)).map((event) => event.type)).not.toContain('group.reply_requested');
  });
});

describe("a runtime killed while a task's answer is being posted", () => {
  for (const applied of [true, false]) {
    it(`posts it exactly once after restart (Slack ${applied ? 'had stored the post' : 'never got the post'})`, async () => {
      world.model.respondWith(() => ({ content: [{ type: 'text', text: ANSWER }] }));
      const first = await world.start();
      await joinGeneral();
      // The task's answer is the runtime's first post.
      const held = world.slack.web.holdNext('chat.postMessage', { applied });
      const taskId = await addTask();
      await held;
      first.kill('SIGKILL');
      await first.exited;
      expect(botPosts()).toHaveLength(applied ? 1 : 0);

      await world.start();
      await waitForTaskEvent(taskId, 'task.completed');
      for (let attempt = 0; attempt < 120; attempt += 1) {
        if ((await world.events(`group-${GROUP}`)).some((event) => event.type === 'group.reply_posted')) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const events = await world.events(`group-${GROUP}`);
      expect(events.filter((event) => event.type === 'group.reply_requested')).toHaveLength(1);
      expect(events.filter((event) => event.type === 'group.reply_posted')).toHaveLength(1);
      await world.slack.settle();
      expect(botPosts().map((message) => message.text)).toEqual([ANSWER]);
      // The model answered once: the restart did not run the task again.
      expect(world.model.requests).toHaveLength(1);
    });
  }
});
