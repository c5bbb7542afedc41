/**
 * Memory that learns on its own, end to end (issue 18): the built `ledgerclaw start` with
 * the real Bolt app against the fake Slack, turns in real Docker containers, and a scripted
 * model that answers consolidation prompts with facts and a day summary.
 *
 * Channel talk passes the consolidation budget; the runtime asks the model once and records
 * the facts; MEMORY.md shows them under their category headings and the day's log file the
 * summary; the next turn's prompt carries them. A later window restates a fact differently,
 * the runtime posts the conflict with buttons, and a click settles it as the person who
 * clicked: MEMORY.md keeps the chosen statement only.
 *
 * The same loop for talk in a thread (where every conversation with the bot happens): what
 * is learnt there reaches the channel's MEMORY.md and the thread's next prompt.
 */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { groupFilePath } from '../../../projections/atomic-file.js';
import { dailyLogFileName } from '../../../projections/daily-log-files.js';
import { MEMORY_FILE_NAME } from '../../../projections/memory-files.js';
import type { RecordedRequest } from '../../fakes/anthropic-messages.js';
import type { FakeSlackMessage } from '../../fakes/slack-web-api.js';
import { ALICE, BOB, freshSlackWorldPerTest, GENERAL, type SlackWorld } from './slack-world.js';

const TEAM = 'T0FAKE';
const GROUP = `${TEAM}.${GENERAL}`;
const MEMORY_STREAM = `memory-group.${GROUP}`;
const WAIT_MS = 90_000;

const TERMS_KEY = 'vendor.acme.payment_terms';
const NET_30 = 'Acme pays its invoices net 30.';
const NET_45 = 'Acme pays its invoices net 45 from January.';
const ROLE = 'Alice is the finance lead and approves vendor payments.';
const FIRST_SUMMARY = 'The team agreed that Acme pays net 30 and that Alice approves vendor payments.';
const SECOND_SUMMARY = 'Bob reported that Acme moves to net 45 in January.';
const ANSWER = 'Acme pays net 30; Alice approves the payment.';

// Long enough that the two together, and not the first alone, pass a budget of 100 tokens
// (ceil(chars / 4) of `sender: text`).
const TALK_TERMS =
  'Just got off the phone with Acme procurement. They confirmed that our invoices are paid net 30 from the invoice date, same as the contract we signed in March, so no change there for now. I will put a note in the vendor folder as well.';
const TALK_ROLE =
  'Thanks Bob. For the record I am the finance lead here now, so any vendor payment above five hundred euros comes to me for approval before it goes out. Please keep me posted on Acme and copy me on the next invoice we send them.';
// Over 100 tokens on its own: the next window after the first consolidation.
const TALK_CHANGE =
  'Update on Acme: their new finance director wrote to say that from January on they pay our invoices net 45 instead of net 30, because they are moving every supplier to one payment run a month. ' +
  'I asked whether the contract allows it and they pointed at the clause about changes to the schedule with a notice of sixty days, which they gave us in October. So we should plan cash flow for the longer terms.';

let world: SlackWorld;

freshSlackWorldPerTest((opened) => {
  world = opened;
});

/** The prompt of a consolidation call (one user message, starting as consolidationPrompt does); null for a run's call. */
function consolidationPromptOf(request: RecordedRequest): string | null {
  const messages = (request.body as { messages?: { role: string; content: unknown }[] } | undefined)?.messages ?? [];
  const [first] = messages;
  if (messages.length !== 1 || typeof first?.content !== 'string') return null;
  return first.content.startsWith('You maintain the long-term memory of the Slack group') ? first.content : null;
}

/** The transcript lines of a consolidation prompt: `[<message id>] <sender>: <text>`. */
function transcript(prompt: string): { id: string; text: string }[] {
  const conversation = prompt.slice(prompt.indexOf('\nConversation:\n'));
  return [...conversation.matchAll(/^\[(\d+\.\d+)\] \S+: (.*)$/gm)].map((match) => ({ id: match[1]!, text: match[2]! }));
}

/** What the scripted model answers a consolidation: facts whose source is the window's message that says them. */
function consolidationAnswer(prompt: string): { facts: object[]; dailyLog: string } {
  const lines = transcript(prompt);
  const said = (words: string) => lines.find((line) => line.text.includes(words))?.id;
  const change = said('net 45');
  if (change !== undefined) {
    return { facts: [{ key: TERMS_KEY, statement: NET_45, confidence: 'agent-observed', category: 'project', source: change }], dailyLog: SECOND_SUMMARY };
  }
  const terms = said('net 30');
  const role = said('finance lead');
  return {
    facts: [
      ...(terms === undefined ? [] : [{ key: TERMS_KEY, statement: NET_30, confidence: 'agent-observed', category: 'project', source: terms }]),
      ...(role === undefined ? [] : [{ key: 'people.alice.role', statement: ROLE, confidence: 'agent-observed', category: 'user', source: role }]),
    ],
    dailyLog: FIRST_SUMMARY,
  };
}

const consolidationPrompts = () => world.model.requests.map(consolidationPromptOf).filter((prompt): prompt is string => prompt !== null);
const runRequests = () => world.model.requests.filter((request) => consolidationPromptOf(request) === null);

/** Polls `probe` until it returns a value (not undefined), for up to 90 s. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const readIfExists = (path: string) => readFile(path, 'utf8').catch(() => '');
const memoryFile = () => readIfExists(groupFilePath(world.dataDir, GROUP, MEMORY_FILE_NAME));

/** The lines under `heading` in a markdown file, up to the next `## ` heading. */
function section(file: string, heading: string): string {
  const start = file.indexOf(`${heading}\n`);
  if (start < 0) return '';
  const rest = file.slice(start + heading.length + 1);
  const next = rest.search(/^## /m);
  return next < 0 ? rest : rest.slice(0, next);
}

/** Who signed an event: `events read --json` prints the whole envelope, metadata included. */
const signedBy = (event: object) => (event as { metadata?: { actor?: string } }).metadata?.actor;

const conflictNotices = () =>
  world.slack.web.topLevel(GENERAL).filter((message: FakeSlackMessage) => String(message.metadata?.event_payload?.key ?? '').startsWith('memory-conflict:'));

it(
  'closes the memory loop: channel talk past the budget is consolidated into MEMORY.md and the daily log, the next turn sees the facts, and a conflicting fact is settled by a click',
  async () => {
    world.model.respondWith((request) => {
      const prompt = consolidationPromptOf(request);
      return { content: [{ type: 'text', text: prompt === null ? ANSWER : JSON.stringify(consolidationAnswer(prompt)) }] };
    });
    await world.start({ LEDGERCLAW_CONSOLIDATION_BUDGET_TOKENS: '100', LEDGERCLAW_CONSOLIDATION_RETRY_DELAY_MS: '50' });

    // 1. Plain channel talk (no mention, no turn) passes the budget of 100 tokens.
    const terms = await world.slack.userPosts({ channel: GENERAL, user: BOB, text: TALK_TERMS });
    const role = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: TALK_ROLE });
    const requested = await eventually(async () => {
      const events = await world.events(MEMORY_STREAM);
      return events.find((event) => event.type === 'memory.consolidation_requested');
    }, 'memory.consolidation_requested');
    expect(requested.data).toMatchObject({ scope: `group.${GROUP}`, reason: 'budget_exceeded', messagesSince: terms.ts, throughMessageId: role.ts, budgetTokens: 100 });

    // 2. One model call answers it, and the request ends consolidated with both facts.
    const consolidated = await eventually(async () => {
      const events = await world.events(MEMORY_STREAM);
      return events.find((event) => event.type === 'memory.consolidated' || event.type === 'memory.consolidation_failed');
    }, 'the first consolidation to end');
    expect(consolidated.type).toBe('memory.consolidated');
    expect(consolidated.data.factIds).toHaveLength(2);
    const [firstPrompt, ...morePrompts] = consolidationPrompts();
    expect(morePrompts).toEqual([]);
    expect(transcript(firstPrompt!).map((line) => line.id)).toEqual([terms.ts, role.ts]);
    expect(firstPrompt).toContain('Known facts:\n(none)');
    // Channel talk is not a turn: no run asked the model anything.
    expect(runRequests()).toEqual([]);

    // 3. MEMORY.md shows each fact under its category's heading; the day's log file shows the summary.
    const memory = await eventually(async () => {
      const file = await memoryFile();
      return file.includes(NET_30) && file.includes(ROLE) ? file : undefined;
    }, 'MEMORY.md to show the consolidated facts');
    expect(section(memory, '## User: people, their roles and preferences')).toContain(`[agent-observed] people.alice.role: ${ROLE}`);
    expect(section(memory, '## Project: the work, its decisions and deadlines')).toContain(`[agent-observed] ${TERMS_KEY}: ${NET_30}`);
    expect(section(memory, '## User: people, their roles and preferences')).not.toContain(NET_30);
    const logged = (await world.events(MEMORY_STREAM)).find((event) => event.type === 'memory.daily_log_written');
    expect(logged?.data).toMatchObject({ scope: `group.${GROUP}`, summary: FIRST_SUMMARY, writtenBy: 'agent:consolidation' });
    const day = String(logged!.data.day);
    const dailyLogPath = groupFilePath(world.dataDir, GROUP, dailyLogFileName(day));
    const dailyLog = await eventually(async () => {
      const file = await readIfExists(dailyLogPath);
      return file.includes(FIRST_SUMMARY) ? file : undefined;
    }, `the daily log ${dailyLogPath}`);
    expect(dailyLog).toContain(`# Daily log of group ${GROUP}, ${day}`);
    expect(dailyLog).toMatch(/## \d\d:\d\d UTC, by agent:consolidation\n/);

    // 4. The next turn's prompt carries the facts.
    const question = await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: '<@U0BOT> who approves the Acme payment, and when is it due?' });
    const reply = await world.slack.waitFor(
      () => world.slack.web.thread(GENERAL, question.ts).find((message) => message.bot_id !== undefined),
      { timeoutMs: WAIT_MS, what: 'the reply to the question' },
    );
    expect(reply.text).toBe(ANSWER);
    const [turn, ...moreTurns] = runRequests();
    expect(moreTurns).toEqual([]);
    const turnPrompt = JSON.stringify(turn!.body);
    expect(turnPrompt).toContain(`${TERMS_KEY}: ${NET_30}`);
    expect(turnPrompt).toContain(`people.alice.role: ${ROLE}`);

    // 5. The next window restates the terms differently: a conflict, posted with buttons.
    const change = await world.slack.userPosts({ channel: GENERAL, user: BOB, text: TALK_CHANGE });
    const notice = await world.slack.waitFor(() => conflictNotices()[0], { timeoutMs: WAIT_MS, what: 'the memory conflict notice' });
    const [secondPrompt, ...evenMorePrompts] = consolidationPrompts().slice(1);
    expect(evenMorePrompts).toEqual([]);
    expect(transcript(secondPrompt!).map((line) => line.id)).toEqual([change.ts]);
    expect(secondPrompt).toContain(`- ${TERMS_KEY} [agent-observed]: ${NET_30}`);
    expect(notice.text).toContain(TERMS_KEY);
    expect(notice.text).toContain(NET_30);
    expect(notice.text).toContain(NET_45);
    const buttons = JSON.stringify(notice.blocks);
    expect(buttons).toContain('lc.memory-conflict.keep-0');
    expect(buttons).toContain('lc.memory-conflict.keep-1');
    expect(buttons).toContain('lc.memory-conflict.neither');
    expect(buttons).toContain(`Take new: ${NET_45}`);
    const flagged = await eventually(async () => {
      const file = await memoryFile();
      return file.includes('## Unresolved conflicts') && file.includes(NET_45) ? file : undefined;
    }, 'MEMORY.md to show the conflict');
    expect(section(flagged, '## Unresolved conflicts')).toContain(NET_30);
    expect(section(flagged, '## Unresolved conflicts')).toContain(NET_45);
    const secondLog = await eventually(async () => {
      const file = await readIfExists(dailyLogPath);
      return file.includes(SECOND_SUMMARY) ? file : undefined;
    }, 'the second summary in the daily log');
    expect(secondLog.indexOf(FIRST_SUMMARY)).toBeLessThan(secondLog.indexOf(SECOND_SUMMARY));

    // 6. Alice takes the new statement: the old one is retired, signed as her, and MEMORY.md follows.
    await world.slack.clickButton({ channel: GENERAL, ts: notice.ts, user: ALICE, actionId: 'lc.memory-conflict.keep-1' });
    const resolved = await eventually(async () => {
      const events = await world.events(MEMORY_STREAM);
      return events.find((event) => event.type === 'memory.conflict_resolved');
    }, 'memory.conflict_resolved');
    expect(signedBy(resolved)).toBe(`user:${ALICE}`);
    expect(resolved.data).toMatchObject({ key: TERMS_KEY });
    const retired = (await world.events(MEMORY_STREAM)).filter((event) => event.type === 'memory.fact_retired');
    expect(retired.map(signedBy)).toEqual([`user:${ALICE}`]);
    const settled = await eventually(async () => {
      const file = await memoryFile();
      return !file.includes('## Unresolved conflicts') ? file : undefined;
    }, 'MEMORY.md to drop the settled conflict');
    expect(section(settled, '## Project: the work, its decisions and deadlines')).toContain(`[agent-observed] ${TERMS_KEY}: ${NET_45}`);
    expect(settled).not.toContain(NET_30);
    expect(section(settled, '## User: people, their roles and preferences')).toContain(ROLE);
    // The notice says who settled it and how, and offers no more buttons.
    const updated = await world.slack.waitFor(
      () => {
        const blocks = JSON.stringify(world.slack.web.message(GENERAL, notice.ts)?.blocks ?? []);
        return blocks.includes(`<@${ALICE}>`) ? blocks : undefined;
      },
      { timeoutMs: WAIT_MS, what: 'the notice to say who settled it' },
    );
    expect(updated).not.toContain('lc.memory-conflict');
  },
  300_000,
);

/**
 * A conversation with the bot happens in a thread, recorded on its own stream
 * (`group-<team>.<channel>.<thread ts>`), while a run reads its channel's MEMORY.md
 * (runtime/runs/context-builder.ts). The thread's talk was consolidated into a scope of its
 * own (`group.<team>.<channel>.<thread ts>`) that no run reads, so what was learnt in
 * threads never reached a prompt. It is consolidated into its channel's scope now.
 */
it(
  "consolidates a thread's conversation with the bot into its group's memory, so the next turn in the thread sees the facts",
  async () => {
    world.model.respondWith((request) => {
      const prompt = consolidationPromptOf(request);
      return { content: [{ type: 'text', text: prompt === null ? ANSWER : JSON.stringify(consolidationAnswer(prompt)) }] };
    });
    await world.start({ LEDGERCLAW_CONSOLIDATION_BUDGET_TOKENS: '100', LEDGERCLAW_CONSOLIDATION_RETRY_DELAY_MS: '50' });
    const root = await world.slack.userPosts({ channel: GENERAL, user: BOB, text: `<@U0BOT> ${TALK_TERMS}` });
    await world.slack.waitFor(() => world.slack.web.thread(GENERAL, root.ts).some((message) => message.bot_id !== undefined), {
      timeoutMs: WAIT_MS,
      what: 'the reply to the mention',
    });
    await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: TALK_ROLE, thread_ts: root.ts });
    await world.slack.waitFor(() => (consolidationPrompts().length > 0 ? true : undefined), { timeoutMs: WAIT_MS, what: 'the consolidation call' });
    const memory = await eventually(async () => {
      const file = await memoryFile();
      return file.includes(NET_30) ? file : undefined;
    }, `the MEMORY.md of ${GROUP} to show the fact learnt in the thread`);
    expect(section(memory, '## Project: the work, its decisions and deadlines')).toContain(`${TERMS_KEY}: ${NET_30}`);
    // The turn Alice's reply started may call the model after this point, with the prompt it
    // built before the consolidation: the turn that must see the fact is the question's.
    const question = 'so when is Acme due?';
    await world.slack.userPosts({ channel: GENERAL, user: ALICE, text: `<@U0BOT> ${question}`, thread_ts: root.ts });
    const turn = await world.slack.waitFor(() => runRequests().find((request) => JSON.stringify(request.body).includes(question)), {
      timeoutMs: WAIT_MS,
      what: 'the turn that answers the question in the thread',
    });
    expect(JSON.stringify(turn.body)).toContain(`${TERMS_KEY}: ${NET_30}`);
  },
  300_000,
);
