import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../actors/run.js';
import { MemoryBackend } from '../../../events/adapters/memory.js';
import { catalogue } from '../../../events/catalogue/index.js';
import { groupMessageDeleted, groupMessageEdited, groupMessageReceived, groupReplyRequested, groupRunFinished } from '../../../events/catalogue/group.js';
import { runCompleted, runQueued } from '../../../events/catalogue/run.js';
import { createEventStore } from '../../../events/event-store.js';
import type { EventStore } from '../../../events/port.js';
import { instructionsHash, INSTRUCTIONS_MAX_BYTES } from '../../../events/catalogue/instructions.js';
import { groupFilePath } from '../../../projections/atomic-file.js';
import { readInstructionsFile } from '../../../runtime/instructions/instructions-file.js';
import { answeredMessageIds, buildRunContext, taskTurnText, type ContextSources } from '../../../runtime/runs/context-builder.js';

const GROUP = 'T1.C1';
let dataDir: string;
let store: EventStore;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-context-'));
  store = createEventStore(new MemoryBackend(), catalogue);
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function sources(windowTokens = 12_000, taskPrompt: string | null = null): ContextSources {
  return {
    store,
    dataDir,
    agent: { name: 'Ledger', identity: 'You are Ledger, the company assistant.', conversationWindowTokens: windowTokens },
    taskTurn: async () => (taskPrompt === null ? null : { prompt: taskPrompt, gateDetail: null, missed: null }),
    instructions: (scope) => readInstructionsFile(dataDir, scope),
    now: () => new Date('2026-11-22T09:00:00.000Z'),
  };
}

async function say(ts: string, text: string, sender = 'U1'): Promise<void> {
  await store.append(`group-${GROUP}`, [groupMessageReceived.create({ messageId: ts, sender, text, threadTs: null, mentionsBot: true, trigger: 'mention', senderName: null })], { expectedRevision: 'any' });
}

async function answer(runId: string, text: string): Promise<void> {
  await store.append(`run-${runId}`, [
    runQueued.create({ groupId: GROUP, conversationId: GROUP, taskId: null, trigger: 'mention', turnRef: 'x', contextMode: 'group', queuedAt: '2026-11-22T08:00:00.000Z' }),
    runCompleted.create({ summary: text, tokens: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, completedAt: '2026-11-22T08:00:01.000Z' }),
  ], { expectedRevision: 'any' });
  await store.append(`group-${GROUP}`, [groupRunFinished.create({ runId, outcome: 'completed' })], { expectedRevision: 'any' });
}

const groupRun = (messageIds: string[]): RunRequest => ({ groupId: GROUP, conversationId: GROUP, taskId: null, trigger: 'mention', turnRef: `group-${GROUP}@${messageIds.join(',')}`, contextMode: 'group' });

describe('the context builder', () => {
  it('puts the stable sections first and cached, then the time, both work contexts and MEMORY.md', async () => {
    await mkdir(join(dataDir, 'shared', 'skills', 'invoices'), { recursive: true });
    await writeFile(join(dataDir, 'shared', 'skills', 'invoices', 'SKILL.md'), '---\nname: invoices\ndescription: chase overdue invoices politely\n---\n# Invoices\n...');
    await mkdir(dirname(groupFilePath(dataDir, GROUP, 'MEMORY.md')), { recursive: true });
    await writeFile(groupFilePath(dataDir, GROUP, 'MEMORY.md'), '# Memory\n- Acme pays net 30\n');
    await say('1700000000.000100', 'What do we know about Acme?');
    const prompt = await buildRunContext(sources(), 'r1', groupRun(['1700000000.000100']));
    expect(prompt.system.map((section) => [section.name, section.cached])).toEqual([
      ['identity', true],
      ['skills', true],
      ['now', false],
      ['work_context_company', false],
      ['work_context_group', false],
      ['memory', false],
    ]);
    expect(prompt.system[1]!.text).toContain('- invoices: chase overdue invoices politely');
    expect(prompt.system[2]!.text).toBe('The time is 2026-11-22T09:00:00.000Z.');
    expect(prompt.system[5]!.text).toContain('Acme pays net 30');
    expect(prompt.instructions).toEqual({ company: null, group: null });
    expect(prompt.messages).toEqual([{ role: 'user', text: '[U1] What do we know about Acme?' }]);
    expect(prompt.answeringUser).toBe('U1');
  });

  it("carries the conversation with the assistant's earlier answers, oldest first", async () => {
    await say('1700000000.000100', 'hello');
    await answer('r0', 'Hi! How can I help?');
    await say('1700000001.000100', 'what is the plan', 'U2');
    const prompt = await buildRunContext(sources(), 'r1', groupRun(['1700000001.000100']));
    expect(prompt.messages).toEqual([
      { role: 'user', text: '[U1] hello' },
      { role: 'assistant', text: 'Hi! How can I help?' },
      { role: 'user', text: '[U2] what is the plan' },
    ]);
    expect(prompt.answeringUser).toBe('U2');
  });

  it("shows an approved action's result posted in the conversation (reply approval-<id>), so the next turn knows it ran, but a run's own reply once", async () => {
    await say('1700000000.000100', 'post the summary in #sales');
    // The turn's answer (its reply is keyed by the run, shown from the run's end) ...
    await answer('r0', 'That needs approval (ap-1); I will tell you.');
    await store.append(`group-${GROUP}`, [groupReplyRequested.create({ replyId: 'r0', runId: 'r0', text: 'That needs approval (ap-1); I will tell you.', threadTs: null, messageIds: ['1700000000.000100'] })], { expectedRevision: 'any' });
    // ... and, once approved, the action's result under the approval's key.
    await store.append(`group-${GROUP}`, [groupReplyRequested.create({ replyId: 'approval-ap-1', runId: 'r0', text: 'Approved action `post_message` (ap-1) ran: posted in #sales', threadTs: null, messageIds: [] })], { expectedRevision: 'any' });
    await say('1700000002.000100', 'did it go out?');
    const prompt = await buildRunContext(sources(), 'r1', groupRun(['1700000002.000100']));
    expect(prompt.messages).toEqual([
      { role: 'user', text: '[U1] post the summary in #sales' },
      { role: 'assistant', text: 'That needs approval (ap-1); I will tell you.' },
      { role: 'assistant', text: 'Approved action `post_message` (ap-1) ran: posted in #sales' },
      { role: 'user', text: '[U1] did it go out?' },
    ]);
  });

  it('names the sender by their display name where the channel knew it', async () => {
    await store.append(`group-${GROUP}`, [groupMessageReceived.create({ messageId: '1700000000.000100', sender: 'U7', text: 'hi', threadTs: null, mentionsBot: true, trigger: 'mention', senderName: 'Alice Ng' })], { expectedRevision: 'any' });
    const prompt = await buildRunContext(sources(), 'r1', groupRun(['1700000000.000100']));
    expect(prompt.messages).toEqual([{ role: 'user', text: '[Alice Ng (U7)] hi' }]);
  });

  it('shows the latest edit of a message and leaves a deleted one out', async () => {
    await say('1700000000.000100', 'the budget is 10k');
    await say('1700000001.000100', 'my card number is 4111…', 'U2');
    await say('1700000002.000100', 'what is the budget?');
    await store.append(`group-${GROUP}`, [
      groupMessageEdited.create({ messageId: '1700000000.000100', text: 'the budget is 12k', editedTs: '1700000003.000100' }),
      groupMessageDeleted.create({ messageId: '1700000001.000100' }),
      groupMessageEdited.create({ messageId: '1700000000.000100', text: 'the budget is 15k', editedTs: '1700000004.000100' }),
    ], { expectedRevision: 'any' });
    const prompt = await buildRunContext(sources(), 'r1', groupRun(['1700000002.000100']));
    expect(prompt.messages).toEqual([
      { role: 'user', text: '[U1] the budget is 15k' },
      { role: 'user', text: '[U1] what is the budget?' },
    ]);
  });

  it("puts messages read from a thread's history later in the conversation's order, answers after what they followed", async () => {
    await say('1700000010.000100', 'second, recorded first');
    await answer('r0', 'An answer to the second.');
    await say('1700000020.000100', 'third');
    // Read from Slack afterwards: older than everything above.
    await say('1700000001.000100', 'first, read from the history', 'U2');
    const prompt = await buildRunContext(sources(), 'r1', groupRun(['1700000020.000100']));
    expect(prompt.messages.map((message) => message.text)).toEqual([
      '[U2] first, read from the history',
      '[U1] second, recorded first',
      'An answer to the second.',
      '[U1] third',
    ]);
  });

  it("answers in a thread from the thread's conversation, with its channel's memory", async () => {
    const thread = `${GROUP}.1700000005.000100`;
    await say('1700000004.000100', 'channel chatter');
    await store.append(`group-${thread}`, [groupMessageReceived.create({ messageId: '1700000005.000100', sender: 'U3', text: 'in the thread', threadTs: null, mentionsBot: true, trigger: 'mention', senderName: null })], { expectedRevision: 'any' });
    const memoryFile = groupFilePath(dataDir, GROUP, 'MEMORY.md');
    await mkdir(dirname(memoryFile), { recursive: true });
    await writeFile(memoryFile, '- Acme pays net 30\n');
    const prompt = await buildRunContext(sources(), 'r1', { ...groupRun(['1700000005.000100']), conversationId: thread, turnRef: `group-${thread}@1700000005.000100` });
    expect(prompt.messages).toEqual([{ role: 'user', text: '[U3] in the thread' }]);
    expect(prompt.answeringUser).toBe('U3');
    expect(prompt.system.find((section) => section.name === 'memory')?.text).toContain('Acme pays net 30');
    expect(prompt.system[0]!.text).toContain(`a thread (${thread}) of the group ${GROUP}`);
  });

  it('cuts the window at the token budget, newest first, but always keeps the messages the turn answers', async () => {
    for (let index = 0; index < 30; index += 1) await say(`17000000${String(index).padStart(2, '0')}.000100`, `older message ${index} `.repeat(20));
    await say('1700000100.000100', 'the question '.repeat(50));
    const prompt = await buildRunContext(sources(600), 'r1', groupRun(['1700000100.000100']));
    expect(prompt.messages.at(-1)!.text).toContain('the question');
    expect(prompt.messages.length).toBeLessThan(31);
    expect(prompt.messages.length).toBeGreaterThan(1);
    expect(prompt.windowBudgetTokens).toBe(600);
    const tokens = prompt.messages.reduce((sum, message) => sum + Math.ceil(message.text.length / 4), 0);
    expect(tokens).toBeLessThanOrEqual(600);
  });

  it("answers a task's prompt; in isolated mode without the conversation", async () => {
    await say('1700000000.000100', 'chatter');
    const request: RunRequest = { groupId: GROUP, conversationId: GROUP, taskId: 't-9', trigger: 'task', turnRef: 'task-t-9@2026-11-22T09:00:00.000Z', contextMode: 'isolated' };
    const prompt = await buildRunContext(sources(12_000, 'Post the daily digest.'), 'r1', request);
    expect(prompt.messages).toEqual([{ role: 'user', text: '[scheduled task t-9] Post the daily digest.' }]);
    const inGroup = await buildRunContext(sources(12_000, 'Post the daily digest.'), 'r2', { ...request, contextMode: 'group' });
    expect(inGroup.messages.map((message) => message.text)).toEqual(['[U1] chatter', '[scheduled task t-9] Post the daily digest.']);
  });

  it("tells a task's run what its wake gate found and how many missed due times it stands for", () => {
    expect(taskTurnText('t-9', { prompt: 'Triage the inbox.', gateDetail: '3 new invoices in /workspace/inbox', missed: { firstDueAt: '2026-11-22T06:00:00.000Z', count: 4 } })).toBe(
      '[scheduled task t-9] Triage the inbox.\n\n' +
        "The task's check woke you: 3 new invoices in /workspace/inbox\n\n" +
        'This run stands for 4 due times missed while the runtime was down, the first at 2026-11-22T06:00:00.000Z.',
    );
    // One late due time is not worth a note; nor is a fire without a gate.
    expect(taskTurnText('t-9', { prompt: 'Triage the inbox.', gateDetail: null, missed: { firstDueAt: '2026-11-22T06:00:00.000Z', count: 1 } })).toBe('[scheduled task t-9] Triage the inbox.');
  });

  it('refuses to build a prompt for a group turn with nothing to answer', async () => {
    await expect(buildRunContext(sources(), 'r1', groupRun(['1700000000.000100']))).rejects.toThrow(/no message for run r1 to answer/);
  });

  it('reads the answered message ids from a group turn reference', () => {
    expect(answeredMessageIds('group-T1.C1@1700000000.000100,1700000001.000200')).toEqual(['1700000000.000100', '1700000001.000200']);
    expect(answeredMessageIds('task-42@2026-11-22T09:00:00.000Z')).toEqual(['2026-11-22T09:00:00.000Z']);
  });
});

describe('issue 16 defect 1: files the prompt is built from are read confined to their directory', () => {
  const SECRET = 'a host file the prompt must not carry';
  /** Outside the data directory, where the host's own files are. */
  let outside: string;

  beforeEach(async () => {
    outside = await mkdtemp(join(tmpdir(), 'ledgerclaw-context-host-'));
    await writeFile(join(outside, 'host.md'), `---\ndescription: ${SECRET}\n---\n${SECRET}\n`);
    await mkdir(join(outside, 'private-project'));
  });

  afterEach(async () => {
    await rm(outside, { recursive: true, force: true });
  });

  async function buildFailure(): Promise<string> {
    await say('1700000000.000100', 'hi');
    const error = await buildRunContext(sources(), 'r1', groupRun(['1700000000.000100'])).then(
      () => expect.fail('the prompt was built'),
      (failure: unknown) => failure as Error,
    );
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(outside);
    return error.message;
  }

  it('follows a skill symlinked inside the shared directory', async () => {
    await mkdir(join(dataDir, 'shared', 'library'), { recursive: true });
    await writeFile(join(dataDir, 'shared', 'library', 'invoices.md'), '---\ndescription: chase overdue invoices\n---\n');
    await mkdir(join(dataDir, 'shared', 'skills', 'invoices'), { recursive: true });
    await symlink('../../library/invoices.md', join(dataDir, 'shared', 'skills', 'invoices', 'SKILL.md'));
    await say('1700000000.000100', 'hi');
    const prompt = await buildRunContext(sources(), 'r1', groupRun(['1700000000.000100']));
    expect(prompt.system.find((section) => section.name === 'skills')?.text).toContain('- invoices: chase overdue invoices');
  });

  it('refuses a SKILL.md symlinked out of the shared directory, naming it and not what it points at', async () => {
    await mkdir(join(dataDir, 'shared', 'skills', 'leak'), { recursive: true });
    await symlink(join(outside, 'host.md'), join(dataDir, 'shared', 'skills', 'leak', 'SKILL.md'));
    expect(await buildFailure()).toBe('skills/leak/SKILL.md is a symlink that leaves the shared directory');
  });

  it('refuses a MEMORY.md symlinked out of the data directory', async () => {
    const memoryFile = groupFilePath(dataDir, GROUP, 'MEMORY.md');
    await mkdir(dirname(memoryFile), { recursive: true });
    await symlink(join(outside, 'host.md'), memoryFile);
    expect(await buildFailure()).toMatch(/^groups\/.+\/MEMORY\.md is a symlink that leaves the data directory$/);
  });

  it('refuses a group INSTRUCTIONS.md symlinked out of the group folder', async () => {
    const instructionsFile = groupFilePath(dataDir, GROUP, 'INSTRUCTIONS.md');
    await mkdir(dirname(instructionsFile), { recursive: true });
    await symlink(join(outside, 'host.md'), instructionsFile);
    expect(await buildFailure()).toBe(`INSTRUCTIONS.md is a symlink that leaves the folder of group ${GROUP}`);
  });

  it('refuses a COMPANY.md symlinked out of the shared directory', async () => {
    await mkdir(join(dataDir, 'shared'), { recursive: true });
    await symlink(join(outside, 'host.md'), join(dataDir, 'shared', 'COMPANY.md'));
    expect(await buildFailure()).toBe('COMPANY.md is a symlink that leaves the shared directory');
  });

  it('refuses a COMPANY.md that is not a regular file (a FIFO would block the host)', async () => {
    await mkdir(join(dataDir, 'shared', 'COMPANY.md'), { recursive: true });
    expect(await buildFailure()).toBe('COMPANY.md is a directory, not a regular file');
  });

  it('does not list a skills folder that is a symlink out of the shared directory', async () => {
    await mkdir(join(dataDir, 'shared'), { recursive: true });
    await symlink(outside, join(dataDir, 'shared', 'skills'));
    expect(await buildFailure()).toBe('skills is a symlink that leaves the shared directory');
  });
});

describe('issue 18: instructions per group and for the company, and both work contexts', () => {
  async function writeIn(path: string, text: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
  const companyFile = () => join(dataDir, 'shared', 'COMPANY.md');
  const groupInstructionsFile = () => groupFilePath(dataDir, GROUP, 'INSTRUCTIONS.md');

  async function build() {
    await say('1700000000.000100', 'hi');
    return buildRunContext(sources(), 'r1', groupRun(['1700000000.000100']));
  }

  it("shows the group's WORK_CONTEXT.md and the company's, each marked, where only the group's was shown before", async () => {
    await writeIn(join(dataDir, 'WORK_CONTEXT.md'), '# Company\n- Q3 close is blocked on approvals\n');
    await writeIn(groupFilePath(dataDir, GROUP, 'WORK_CONTEXT.md'), '# Group\n- task t-1 runs daily\n');
    const prompt = await build();
    const company = prompt.system.find((section) => section.name === 'work_context_company')!.text;
    const group = prompt.system.find((section) => section.name === 'work_context_group')!.text;
    expect(company).toMatch(/^Company work context \(WORK_CONTEXT\.md\)/);
    expect(company).toContain('Q3 close is blocked on approvals');
    expect(group).toMatch(new RegExp(`^Work context of the group ${GROUP.replace('.', '\\.')}`));
    expect(group).toContain('task t-1 runs daily');
    expect(group).not.toContain('Q3 close');
  });

  it('says "none yet" for each work context that has no file', async () => {
    await writeIn(groupFilePath(dataDir, GROUP, 'WORK_CONTEXT.md'), '- only the group has one\n');
    const prompt = await build();
    expect(prompt.system.find((section) => section.name === 'work_context_company')!.text).toBe('Company work context (WORK_CONTEXT.md): none yet.');
    expect(prompt.system.find((section) => section.name === 'work_context_group')!.text).toContain('only the group has one');
  });

  it('puts COMPANY.md and then the group INSTRUCTIONS.md right after the identity, cached, and names their hashes', async () => {
    await writeIn(companyFile(), 'Always answer in British English.\n');
    await writeIn(groupInstructionsFile(), 'This channel is for the finance team.\n');
    const prompt = await build();
    expect(prompt.system.map((section) => [section.name, section.cached])).toEqual([
      ['identity', true],
      ['company_instructions', true],
      ['group_instructions', true],
      ['now', false],
      ['work_context_company', false],
      ['work_context_group', false],
      ['memory', false],
    ]);
    expect(prompt.system[1]!.text).toContain('Always answer in British English.');
    expect(prompt.system[2]!.text).toContain('This channel is for the finance team.');
    expect(prompt.instructions).toEqual({
      company: instructionsHash('Always answer in British English.\n'),
      group: instructionsHash('This channel is for the finance team.\n'),
    });
  });

  it("gives a group none of another group's instructions", async () => {
    await writeIn(groupFilePath(dataDir, 'T1.C2', 'INSTRUCTIONS.md'), 'secret plans of another channel\n');
    const prompt = await build();
    expect(prompt.system.map((section) => section.name)).not.toContain('group_instructions');
    expect(JSON.stringify(prompt.system)).not.toContain('secret plans');
    expect(prompt.instructions).toEqual({ company: null, group: null });
  });

  it('cuts instructions longer than 32 KiB and says so in the section', async () => {
    await writeIn(companyFile(), 'x'.repeat(INSTRUCTIONS_MAX_BYTES + 500));
    const prompt = await build();
    const section = prompt.system.find((candidate) => candidate.name === 'company_instructions')!.text;
    expect(section).toContain('x'.repeat(INSTRUCTIONS_MAX_BYTES));
    expect(section).not.toContain('x'.repeat(INSTRUCTIONS_MAX_BYTES + 1));
    expect(section).toContain(`The file is longer than ${INSTRUCTIONS_MAX_BYTES} bytes`);
    expect(prompt.instructions.company).toBe(instructionsHash('x'.repeat(INSTRUCTIONS_MAX_BYTES)));
  });

  it('asks for the instructions of the company and of the run\'s own group (where a change is recorded) before building', async () => {
    const asked: string[] = [];
    await say('1700000000.000100', 'hi');
    const thread = `${GROUP}.1700000000.000100`;
    await store.append(`group-${thread}`, [groupMessageReceived.create({ messageId: '1700000000.000100', sender: 'U3', text: 'in the thread', threadTs: null, mentionsBot: true, trigger: 'mention', senderName: null })], { expectedRevision: 'any' });
    await buildRunContext(
      { ...sources(), instructions: async (scope) => (asked.push(scope), readInstructionsFile(dataDir, scope)) },
      'r1',
      { ...groupRun(['1700000000.000100']), conversationId: thread, turnRef: `group-${thread}@1700000000.000100` },
    );
    // A thread's run is given its channel's instructions.
    expect(asked).toEqual(['company', `group.${GROUP}`]);
  });
});
