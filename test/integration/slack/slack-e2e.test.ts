/**
 * Slack end to end, as a team uses it: the built `ledgerclaw start` with the real Bolt app
 * in Socket Mode against the fake Slack, each turn in a real Docker container against the
 * fake Anthropic API. A mention gets a threaded reply; Slack's redeliveries give one run
 * and one reply; the bot's own posts never trigger it; and a runtime killed after the
 * model answered but before the reply was posted posts exactly one reply after restart; so
 * does a memory conflict's notice when the runtime is killed before it was posted.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentImage } from '../../support/agent-image.js';
import { builtFile } from '../../support/built-dist.js';
import { runProcess } from '../../support/child-process.js';
import { ALICE, BOB, freePort, GENERAL, openSlackWorld, type SlackWorld } from './slack-world.js';

const ANSWER = 'Acme pays **net 30**; see the contract of 2026-03-01.';
let world: SlackWorld;

beforeAll(async () => {
  await agentImage();
}, 600_000);

beforeEach(async () => {
  world = await openSlackWorld();
});

afterEach(async () => {
  await world.close();
});

const TEAM = 'T0FAKE';

function botReplies(channel: string, threadTs: string) {
  return world.slack.web.thread(channel, threadTs).filter((message) => message.bot_id !== undefined);
}

async function waitForReplies(channel: string, threadTs: string, count: number) {
  return world.slack.waitFor(() => (botReplies(channel, threadTs).length >= count ? botReplies(channel, threadTs) : undefined), {
    timeoutMs: 90_000,
    what: `${count} bot repl${count === 1 ? 'y' : 'ies'} in the thread of ${threadTs}`,
  });
}

describe('Slack, end to end', () => {
  it('answers a mention in a real container, in the thread, in mrkdwn, and the echo of its reply triggers nothing', async () => {
    world.model.respondWith(() => ({ content: [{ type: 'text', text: ANSWER }] }));
    await world.start();
    const post = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: `<@U0BOT> what are Acme's payment terms?` });
    const [reply] = await waitForReplies(GENERAL, post.ts, 1);
    expect(reply!.text).toContain('*net 30*');
    // The prompt said who asked, by the name Slack shows.
    expect(JSON.stringify(world.model.requests[0]!.body)).toContain(`[alice (${ALICE})] <@U0BOT> what are Acme's payment terms?`);
    expect(reply!.thread_ts).toBe(post.ts);
    // Taken up at once (the reaction), and the mark came off with the answer.
    expect(world.slack.web.callsOf('reactions.add').map((call) => call.params)).toContainEqual(expect.objectContaining({ channel: GENERAL, timestamp: post.ts, name: 'eyes' }));
    await world.slack.waitFor(() => world.slack.web.reactionsOn(GENERAL, post.ts).length === 0, { what: 'the working-on-it reaction to come off' });

    // The run went through a Docker container, for the thread's channel.
    const runs = await world.cli('runs', 'list');
    expect(runs.stdout).toMatch(new RegExp(`${TEAM}\\.${GENERAL}\\s+\\S+\\s+completed`));
    const thread = await world.events(`group-${TEAM}.${GENERAL}.${post.ts}`);
    const runId = thread.find((event) => event.type === 'group.turn_requested')!.data.runId as string;
    const runEvents = await world.events(`run-${runId}`);
    expect(runEvents.find((event) => event.type === 'run.started')?.data.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect(thread.map((event) => event.type)).toEqual(
      expect.arrayContaining(['group.configured', 'group.message_received', 'group.turn_requested', 'group.run_started', 'group.run_finished', 'group.reply_requested', 'group.reply_posted']),
    );

    // The echo of the bot's reply came back as an event and asked for nothing.
    await world.slack.waitFor(() => world.slack.deliveries.some((delivery) => delivery.echo && delivery.acked), { what: 'the echo of the reply to be acknowledged' });
    await world.slack.settle();
    expect(world.model.requests).toHaveLength(1);
    expect(botReplies(GENERAL, post.ts)).toHaveLength(1);
  });

  it('gives one run and one reply when Slack delivers the same event three times (and its app_mention besides)', async () => {
    world.model.respondWith(() => ({ content: [{ type: 'text', text: 'Once.' }] }));
    await world.start();
    const post = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> say it once' });
    const delivery = post.deliveries.find((candidate) => candidate.name === 'message')!;
    const again = await world.slack.redeliver(delivery, { retryReason: 'timeout' });
    const third = await world.slack.redeliver(again, { retryReason: 'timeout' });
    expect([delivery.acked, again.acked, third.acked]).toEqual([true, true, true]);
    await waitForReplies(GENERAL, post.ts, 1);
    await world.slack.settle();
    expect(world.model.requests).toHaveLength(1);
    expect(botReplies(GENERAL, post.ts)).toHaveLength(1);
    const received = (await world.events(`group-${TEAM}.${GENERAL}.${post.ts}`)).filter((event) => event.type === 'group.message_received');
    expect(received).toHaveLength(1);
  });

  it('follows up in a thread it answered in without a mention, and records plain channel talk without a turn', async () => {
    world.model.respondWith((request) => {
      const body = JSON.stringify(request.body);
      return { content: [{ type: 'text', text: body.includes('and for Globex') ? 'Globex pays net 45.' : 'Acme pays net 30.' }] };
    });
    await world.start();
    await world.slack.userPosts({ channel: GENERAL, user: BOB, text: 'lunch at noon?' });
    const post = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> Acme terms?' });
    await waitForReplies(GENERAL, post.ts, 1);
    await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: 'and for Globex?', thread_ts: post.ts });
    const replies = await waitForReplies(GENERAL, post.ts, 2);
    expect(replies[1]!.text).toBe('Globex pays net 45.');
    // The follow-up's prompt carried the thread: the question and the first answer.
    const last = JSON.stringify(world.model.requests.at(-1)!.body);
    expect(last).toContain('Acme terms?');
    expect(last).toContain('Acme pays net 30.');
    expect(last).not.toContain('lunch at noon');
    const channel = await world.events(`group-${TEAM}.${GENERAL}`);
    expect(channel.filter((event) => event.type === 'group.message_received').map((event) => event.data.text)).toEqual(['lunch at noon?']);
    expect(channel.some((event) => event.type === 'group.turn_requested')).toBe(false);
  });

  it('queues a follow-up sent while the run is going and answers it in the next turn, never twice', async () => {
    let release: (() => void) | undefined;
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    world.model.respondWith(async () => {
      calls += 1;
      if (calls === 1) await firstHeld;
      return { content: [{ type: 'text', text: calls === 1 ? 'First answer.' : 'Second answer, covering the follow-up.' }] };
    });
    await world.start();
    const post = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> first question' });
    await world.slack.waitFor(() => world.model.requests.length === 1, { timeoutMs: 60_000, what: 'the first model call' });
    await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: 'and one more thing', thread_ts: post.ts });
    await world.slack.userPosts({ channel: GENERAL, user: BOB, text: 'me too', thread_ts: post.ts });
    release!();
    const replies = await waitForReplies(GENERAL, post.ts, 2);
    await world.slack.settle();
    expect(replies.map((reply) => reply.text)).toEqual(['First answer.', 'Second answer, covering the follow-up.']);
    expect(world.model.requests).toHaveLength(2);
    const second = JSON.stringify(world.model.requests[1]!.body);
    expect(second).toContain('and one more thing');
    expect(second).toContain('me too');
  });

  it('records edits and deletions, and the next prompt shows the edit and leaves the deleted message out', async () => {
    world.model.respondWith(() => ({ content: [{ type: 'text', text: 'Noted.' }] }));
    await world.start();
    const post = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> the budget is 10k' });
    await waitForReplies(GENERAL, post.ts, 1);
    const secret = await world.slack.userPosts({ channel: GENERAL, user: BOB, text: 'my password is hunter2', thread_ts: post.ts });
    await waitForReplies(GENERAL, post.ts, 2);
    await world.slack.userEdits(GENERAL, post.ts, '<@U0BOT> the budget is 12k');
    await world.slack.userDeletes(GENERAL, secret.ts);
    await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: 'what is the budget?', thread_ts: post.ts });
    await waitForReplies(GENERAL, post.ts, 3);
    const last = JSON.stringify(world.model.requests.at(-1)!.body);
    expect(last).toContain('the budget is 12k');
    expect(last).not.toContain('the budget is 10k');
    expect(last).not.toContain('hunter2');
    const types = (await world.events(`group-${TEAM}.${GENERAL}.${post.ts}`)).map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(['group.message_edited', 'group.message_deleted']));
  });

  it('reads the earlier part of a thread it is brought into half-way', async () => {
    world.model.respondWith(() => ({ content: [{ type: 'text', text: 'The vendor is Initech.' }] }));
    await world.start();
    const root = await world.slack.userPosts({ channel: GENERAL, user: BOB, text: 'Which vendor did we pick for printers?' });
    await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: 'I think it was Initech', thread_ts: root.ts });
    await world.slack.userPosts({ channel: GENERAL, user: BOB, text: '<@U0BOT> can you confirm?', thread_ts: root.ts });
    await waitForReplies(GENERAL, root.ts, 1);
    const prompt = JSON.stringify(world.model.requests[0]!.body);
    // In the thread's order, though the root was read from Slack after the reply was recorded.
    const [root_, reply_, ask] = ['Which vendor did we pick for printers?', 'I think it was Initech', 'can you confirm?'].map((text) => prompt.indexOf(text));
    expect(root_).toBeGreaterThan(-1);
    expect(root_).toBeLessThan(reply_!);
    expect(reply_).toBeLessThan(ask!);
    expect(world.model.requests).toHaveLength(1);
    // Replies between people cost no API call: only the mention read the thread.
    expect(world.slack.web.callsOf('conversations.replies')).toHaveLength(1);
  });

  it("posts a sub-agent's note under its role's name and icon in the thread, then the answer as itself", async () => {
    world.model.respondWith((request) => {
      const messages = (request.body as { messages: unknown[] }).messages;
      return messages.length === 1
        ? { content: [{ type: 'tool_use', name: 'send_message', input: { text: 'Checked the **ledger**: 3 open invoices.', as: 'Researcher' } }] }
        : { content: [{ type: 'text', text: 'Three invoices are open.' }] };
    });
    await world.start();
    const post = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> how many invoices are open?' });
    const [note, answer] = await waitForReplies(GENERAL, post.ts, 2);
    expect(note).toMatchObject({ username: 'Researcher', icons: { emoji: ':mag:' }, text: expect.stringContaining('*ledger*') });
    expect(answer!.text).toBe('Three invoices are open.');
    expect(answer!.username).toBeUndefined();
  });

  it('answers a DM at the top level, not in a thread', async () => {
    world.slack.web.addChannel({ id: 'D0ALICE', name: 'alice', isIm: true, members: [ALICE] });
    world.model.respondWith(() => ({ content: [{ type: 'text', text: 'Hello Alice.' }] }));
    await world.start();
    const post = await world.slack.userPosts({ channel: 'D0ALICE', user: ALICE, text: 'hi there' });
    const reply = await world.slack.waitFor(
      () => world.slack.web.topLevel('D0ALICE').find((message) => message.bot_id !== undefined),
      { timeoutMs: 90_000, what: 'the DM reply' },
    );
    expect(reply.text).toBe('Hello Alice.');
    expect(reply.thread_ts).toBeUndefined();
    expect(post.ts < reply.ts).toBe(true);
  });
});

describe('starting with Slack', () => {
  it('stops before writing anything when Slack refuses the bot token, or a token is missing, naming it', async () => {
    const refused = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start', '--data', world.dataDir], { env: world.env({ SLACK_BOT_TOKEN: 'xoxb-not-a-real-token' }) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ledgerclaw: Slack did not connect: Slack refused SLACK_BOT_TOKEN (auth.test: invalid_auth)');
    expect(refused.stderr).not.toContain('xoxb-not-a-real-token');
    const missing = await runProcess(process.execPath, [builtFile('runtime/cli/main.js'), 'start', '--data', world.dataDir], { env: world.env({ SLACK_APP_TOKEN: '' }) });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('SLACK_APP_TOKEN is not set: Socket Mode (slack.mode = socket) needs an app-level token');
    expect((await world.cli('events', 'streams')).stdout).toContain('(no streams)');
  });
});

describe('a runtime killed after the model answered, before the reply was posted', () => {
  for (const applied of [true, false]) {
    it(`posts exactly one reply after restart (Slack ${applied ? 'had stored the post' : 'never got the post'})`, async () => {
      world.model.respondWith(() => ({ content: [{ type: 'text', text: 'The answer, once.' }] }));
      const first = await world.start();
      const held = world.slack.web.holdNext('chat.postMessage', { applied });
      const post = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> tell me once' });
      await held;
      first.kill('SIGKILL');
      await first.exited;
      expect(botReplies(GENERAL, post.ts)).toHaveLength(applied ? 1 : 0);

      await world.start();
      const groupStream = `group-${TEAM}.${GENERAL}.${post.ts}`;
      for (let attempt = 0; attempt < 120; attempt += 1) {
        if ((await world.events(groupStream)).some((event) => event.type === 'group.reply_posted')) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const events = await world.events(groupStream);
      expect(events.filter((event) => event.type === 'group.reply_posted')).toHaveLength(1);
      await world.slack.settle();
      expect(botReplies(GENERAL, post.ts).map((message) => message.text)).toEqual(['The answer, once.']);
      // The model answered once: the restart did not run the turn again.
      expect(world.model.requests).toHaveLength(1);
    });
  }
});

describe('a runtime killed after a memory conflict was flagged, before its notice was posted', () => {
  const noticesIn = (channel: string) =>
    world.slack.web.topLevel(channel).filter((message) => String(message.metadata?.event_payload?.key ?? '').startsWith('memory-conflict:'));

  for (const applied of [true, false]) {
    it(`posts the conflict notice in the channel exactly once after restart (Slack ${applied ? 'had stored the post' : 'never got the post'})`, async () => {
      world.model.enqueue(
        { content: [{ type: 'tool_use', name: 'memory_write', input: { key: 'vendor.acme.payment_terms', statement: 'Acme pays net 30.' } }] },
        { content: [{ type: 'tool_use', name: 'memory_write', input: { key: 'vendor.acme.payment_terms', statement: 'Acme pays net 45.', confidence: 'agent-inferred' } }] },
        { content: [{ type: 'text', text: 'Noted; the two disagree.' }] },
      );
      const first = await world.start();
      // The conflict's notice is the runtime's first post: the reply comes only after the run.
      const held = world.slack.web.holdNext('chat.postMessage', { applied });
      await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> remember Acme payment terms' });
      await held;
      first.kill('SIGKILL');
      await first.exited;
      expect(noticesIn(GENERAL)).toHaveLength(applied ? 1 : 0);

      await world.start();
      const memoryStream = `memory-group.${TEAM}.${GENERAL}`;
      for (let attempt = 0; attempt < 120; attempt += 1) {
        if ((await world.events(memoryStream)).some((event) => event.type === 'memory.conflict_notified')) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const events = await world.events(memoryStream);
      expect(events.filter((event) => event.type === 'memory.conflict_notified')).toHaveLength(1);
      await world.slack.settle();
      const [notice, ...more] = noticesIn(GENERAL);
      expect(more).toEqual([]);
      expect(notice!.text).toContain('Acme pays net 30.');
      expect(notice!.text).toContain('Acme pays net 45.');
    });
  }
});

describe('over the HTTP Events API', () => {
  it('answers a signed mention in the thread, and a retried delivery gives no second run', async () => {
    await world.close();
    world = await openSlackWorld({ http: { port: await freePort() } });
    world.model.respondWith(() => ({ content: [{ type: 'text', text: 'Over HTTP.' }] }));
    const child = await world.start();
    expect(child.stdout()).toMatch(/slack +connected to team T0FAKE as <@U0BOT> \(HTTP Events API at http:\/\/127\.0\.0\.1:\d+\/slack\/events\)/);
    const post = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> hello over http' });
    expect(post.deliveries.map((delivery) => [delivery.transport, delivery.status])).toEqual([
      ['http', 200],
      ['http', 200],
    ]);
    await world.slack.redeliver(post.deliveries[0]!, { retryReason: 'http_timeout' });
    const [reply] = await waitForReplies(GENERAL, post.ts, 1);
    expect(reply!.text).toBe('Over HTTP.');
    await world.slack.settle();
    expect(world.model.requests).toHaveLength(1);
  });
});
