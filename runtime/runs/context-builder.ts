/**
 * What an agent sees at boot, assembled on the host before its sandbox starts:
 *
 * 1. identity (cached): who the assistant is;
 * 2. company instructions (cached, `company_instructions`): `<dataDir>/shared/COMPANY.md`,
 *    for every group; left out when there is none;
 * 3. group instructions (cached, `group_instructions`): the group's INSTRUCTIONS.md, beside
 *    its MEMORY.md; left out when there is none. Both are at most 32 KiB: a longer file is
 *    cut there, and the section says so. Before a run is given either, a change since the
 *    last `instructions.changed` is recorded (ContextSources.instructions), and the run's
 *    `run.context_built` names both hashes: a replay shows exactly what the run was told;
 * 4. skills (cached): one line per skill in `<dataDir>/shared/skills/<name>/SKILL.md`, whose
 *    full text the agent reads on demand at `/shared/skills/<name>/SKILL.md`;
 * 5. the time;
 * 6. the company's work context (`work_context_company`): `<dataDir>/WORK_CONTEXT.md`;
 * 7. the group's work context (`work_context_group`): its own WORK_CONTEXT.md. Each of the
 *    two is headed with whose it is, and says "none yet" when its file is missing;
 * 8. memory: the group's MEMORY.md (at most 200 lines);
 * 9. the conversation: the newest messages of the group, and the assistant's answers to
 *    them (and the results of approved actions it ran here), that fit `agent.conversationWindowTokens`, cut at a message boundary; the
 *    messages the turn answers are always in it. A task's run answers the task's prompt,
 *    with the conversation only in `group` context mode.
 *
 * The stable sections come first and are marked for prompt caching; the ones that change
 * between runs follow. Details come through memory_search and search_knowledge, not by
 * stuffing the prompt.
 *
 * Files are read through readWorkspaceFile, confined to the shared directory (skills,
 * COMPANY.md), the group's folder (INSTRUCTIONS.md) or the data directory (the other group
 * files): a symlink leading out of them, or a file that is not a regular one, fails the
 * run's start with a message that says so, rather than putting some other file of the host
 * into the prompt.
 */
import { join, relative } from 'node:path';
import type { StoredEvent } from '../../events/envelope.js';
import type { EventStore } from '../../events/port.js';
import { groupMessageDeleted, groupMessageEdited, groupMessageReceived, groupReplyRequested, groupRunFinished } from '../../events/catalogue/group.js';
import { INSTRUCTIONS_MAX_BYTES, type InstructionsScope } from '../../events/catalogue/instructions.js';
import { runCompleted } from '../../events/catalogue/run.js';
import { estimateTokens } from '../../projections/chunking.js';
import { groupFilePath } from '../../projections/atomic-file.js';
import { MEMORY_FILE_NAME } from '../../projections/memory-files.js';
import { workContextPath } from '../../projections/work-context.js';
import type { RunRequest } from '../../actors/run.js';
import { compareSlackTs } from '../../actors/group.js';
import { instructionsScope, type InstructionsText } from '../instructions/instructions-file.js';
import { listWorkspaceSubdirectories, readWorkspaceFile, textOrThrow, WorkspaceFileRefusedError, type WorkspaceRoot } from '../sandbox/workspace-file.js';

export interface PromptSection {
  readonly name: string;
  readonly text: string;
  readonly cached: boolean;
}

export interface PromptMessage {
  readonly role: 'user' | 'assistant';
  readonly text: string;
}

export interface RunContextPrompt {
  readonly system: PromptSection[];
  readonly messages: PromptMessage[];
  readonly tokenEstimate: number;
  readonly windowBudgetTokens: number;
  /** Who sent the newest message the turn answers (their own memory is visible to the run); null for a task. */
  readonly answeringUser: string | null;
  /** The hashes of the instructions in the prompt (null: none), for `run.context_built`. */
  readonly instructions: { readonly company: string | null; readonly group: string | null };
}

export interface ContextSources {
  readonly store: EventStore;
  readonly dataDir: string;
  readonly agent: { readonly name: string; readonly identity: string; readonly conversationWindowTokens: number };
  /** What a task's run answers: its prompt, and why this fire woke it; null for a task never scheduled. */
  readonly taskTurn: (taskId: string, runId: string) => Promise<TaskTurn | null>;
  /**
   * A scope's instructions as the run is given them: read from the file (readInstructionsFile)
   * and, when they changed since the last `instructions.changed`, recorded before they are
   * returned (syncInstructions).
   */
  readonly instructions: (scope: InstructionsScope) => Promise<InstructionsText>;
  readonly now: () => Date;
}

/** Events read from the end of a group's stream per page, newest first. */
const PAGE = 200;

/** MEMORY.md and WORK_CONTEXT.md are far smaller; past this, the rest is not read. */
const GROUP_FILE_MAX_BYTES = 1024 * 1024;
/** Only a skill's front matter or first line is used. */
const SKILL_FILE_MAX_BYTES = 64 * 1024;

/** A file the projections keep under the data directory, trimmed; '' when there is none. */
async function readDataDirFile(dataDir: string, path: string): Promise<string> {
  const root: WorkspaceRoot = { dir: dataDir, label: 'the data directory' };
  const text = textOrThrow(await readWorkspaceFile(root, relative(dataDir, path), { maxBytes: GROUP_FILE_MAX_BYTES }));
  return (text ?? '').trim();
}

/** `- name: first line of its description` for every skill under `<shared>/skills`, sorted by name. */
export async function skillSummaries(sharedDir: string): Promise<string> {
  const shared: WorkspaceRoot = { dir: sharedDir, label: 'the shared directory' };
  const listed = await listWorkspaceSubdirectories(shared, 'skills');
  if (listed.kind === 'refused') throw new WorkspaceFileRefusedError(listed);
  if (listed.kind === 'missing') return '';
  const lines: string[] = [];
  for (const name of listed.names) {
    const text = (textOrThrow(await readWorkspaceFile(shared, join('skills', name, 'SKILL.md'), { maxBytes: SKILL_FILE_MAX_BYTES })) ?? '').trim();
    if (text === '') continue;
    lines.push(`- ${name}: ${skillDescription(text)}`);
  }
  return lines.length === 0 ? '' : `Skills (read ${'`'}/shared/skills/<name>/SKILL.md${'`'} for one before using it):\n${lines.join('\n')}`;
}

/** A skill's `description:` from its front matter, else its first non-heading line. */
function skillDescription(text: string): string {
  const frontMatter = /^---\n([\s\S]*?)\n---/.exec(text)?.[1];
  const described = frontMatter ? /^description:\s*(.+)$/m.exec(frontMatter)?.[1] : undefined;
  const line = described ?? text.split('\n').find((candidate) => candidate.trim() !== '' && !candidate.startsWith('#') && candidate.trim() !== '---');
  return (line ?? '').trim().slice(0, 200);
}

/**
 * The group's conversation, newest first until the budget is spent, returned oldest first.
 * The assistant's turns are the answers of the runs that finished here. A message shows
 * its latest edit; a deleted one is left out. Reading backwards meets an edit or a deletion
 * before the message it changes, so the first one seen is the newest.
 *
 * The window is in the conversation's order, which is not always the stream's: a thread's
 * earlier messages, read from Slack when the bot is brought into it, are recorded after
 * what the group had already. People's messages go by their Slack timestamp; an answer
 * stays right after the newest message recorded before it.
 */
async function conversationWindow(
  sources: ContextSources,
  groupId: string,
  answering: readonly string[],
  budgetTokens: number,
): Promise<{ messages: PromptMessage[]; answeringUser: string | null }> {
  const collected: { readonly id: string; readonly sender: string | null; readonly text: PromptMessage }[] = [];
  let answeringUser: string | null = null;
  const done = () => ({ messages: inConversationOrder(collected.reverse()), answeringUser });
  const mustInclude = new Set(answering);
  const edits = new Map<string, string>();
  const deleted = new Set<string>();
  let spent = 0;
  let from: bigint | 'end' = 'end';
  for (;;) {
    const page: StoredEvent[] = await sources.store.readStream(`group-${groupId}`, { direction: 'backwards', from, maxCount: PAGE });
    for (const event of page) {
      if (event.type === groupMessageEdited.type) {
        const data = event.data as { messageId: string; text: string };
        if (!edits.has(data.messageId)) edits.set(data.messageId, data.text);
        continue;
      }
      if (event.type === groupMessageDeleted.type) {
        deleted.add((event.data as { messageId: string }).messageId);
        continue;
      }
      const message = await messageOf(sources, event, edits, deleted);
      if (message === null) continue;
      if (answeringUser === null && message.sender !== null && answering.includes(message.id)) answeringUser = message.sender;
      const cost = estimateTokens(message.text.text);
      if (spent + cost > budgetTokens && !mustInclude.has(message.id)) return done();
      spent += cost;
      mustInclude.delete(message.id);
      collected.push(message);
    }
    if (page.length < PAGE) return done();
    from = page[page.length - 1]!.revision - 1n;
    if (from < 0n) return done();
  }
}

/** Stream-ordered window items in Slack's order: people's by timestamp, each answer after what preceded it. */
function inConversationOrder(items: readonly { readonly id: string; readonly sender: string | null; readonly text: PromptMessage }[]): PromptMessage[] {
  let newest = '0.0';
  const keyed = items.map((item, index) => {
    if (item.sender !== null && compareSlackTs(item.id, newest) > 0) newest = item.id;
    // An answer sorts after every message with the same key, and among answers by stream order.
    return { item, key: item.sender !== null ? item.id : newest, isAnswer: item.sender === null, index };
  });
  keyed.sort((a, b) => compareSlackTs(a.key, b.key) || Number(a.isAnswer) - Number(b.isAnswer) || a.index - b.index);
  return keyed.map((entry) => entry.item.text);
}

async function messageOf(
  sources: ContextSources,
  event: StoredEvent,
  edits: ReadonlyMap<string, string>,
  deleted: ReadonlySet<string>,
): Promise<{ id: string; sender: string | null; text: PromptMessage } | null> {
  if (event.type === groupMessageReceived.type) {
    const data = event.data as { messageId: string; sender: string; senderName: string | null; text: string };
    if (deleted.has(data.messageId)) return null;
    const text = edits.get(data.messageId) ?? data.text;
    if (text.trim() === '') return null;
    const who = data.senderName === null ? data.sender : `${data.senderName} (${data.sender})`;
    return { id: data.messageId, sender: data.sender, text: { role: 'user', text: `[${who}] ${text}` } };
  }
  if (event.type === groupReplyRequested.type) {
    // A run's own reply (a turn's, a task's) is keyed by the run and shown as its answer
    // above; a reply under another key is something the assistant said here besides: an
    // approved action's result (`approval-<id>`), which the next turn must know about.
    const data = event.data as { replyId: string; runId: string; text: string };
    if (data.replyId === data.runId) return null;
    return { id: `reply:${data.replyId}`, sender: null, text: { role: 'assistant', text: data.text } };
  }
  if (event.type === groupRunFinished.type) {
    const data = event.data as { runId: string; outcome: string };
    if (data.outcome !== 'completed') return null;
    const answer = await runAnswer(sources.store, data.runId);
    return answer === null ? null : { id: `run:${data.runId}`, sender: null, text: { role: 'assistant', text: answer } };
  }
  return null;
}

async function runAnswer(store: EventStore, runId: string): Promise<string | null> {
  const last = await store.readStream(`run-${runId}`, { direction: 'backwards', maxCount: 1 });
  const event = last[0];
  if (!event || event.type !== runCompleted.type) return null;
  const summary = (event.data as { summary: string }).summary;
  return summary.trim() === '' ? null : summary;
}

/** The message ids a group turn answers, from its turnRef `group-<id>@<ts>,<ts>…`. */
export function answeredMessageIds(turnRef: string): string[] {
  const at = turnRef.lastIndexOf('@');
  return at < 0 ? [] : turnRef.slice(at + 1).split(',').filter((id) => id !== '');
}

/** A cached section of instructions under its heading, or none for an empty file. */
function instructionsSection(name: string, heading: string, instructions: InstructionsText): PromptSection[] {
  const text = instructions.text.trim();
  if (text === '') return [];
  const cut = instructions.truncated ? `\n\n(The file is longer than ${INSTRUCTIONS_MAX_BYTES} bytes; only its beginning, above, is used.)` : '';
  return [{ name, text: `${heading}\n\n${text}${cut}`, cached: true }];
}

/** The hash a run names for instructions it was given; null when it was given none. */
function usedHash(instructions: InstructionsText): string | null {
  return instructions.text.trim() === '' ? null : instructions.hash;
}

export async function buildRunContext(sources: ContextSources, runId: string, request: RunRequest): Promise<RunContextPrompt> {
  const budget = sources.agent.conversationWindowTokens;
  // The instructions first and one after the other: each may record a change, and a run
  // given instructions that cannot be recorded must not start.
  const companyInstructions = await sources.instructions(instructionsScope(null));
  const groupInstructions = await sources.instructions(instructionsScope(request.groupId));
  const [skills, groupContext, companyContext, memory] = await Promise.all([
    skillSummaries(join(sources.dataDir, 'shared')),
    readDataDirFile(sources.dataDir, workContextPath(sources.dataDir, request.groupId)),
    readDataDirFile(sources.dataDir, workContextPath(sources.dataDir, null)),
    readDataDirFile(sources.dataDir, groupFilePath(sources.dataDir, request.groupId, MEMORY_FILE_NAME)),
  ]);
  const where = request.conversationId === request.groupId ? `the group ${request.groupId}` : `a thread (${request.conversationId}) of the group ${request.groupId}`;
  const identity = `${sources.agent.identity}\n\nYour name is ${sources.agent.name}. You are answering in ${where}; this is run ${runId}. Your workspace is /workspace (files you keep between turns); shared material is read-only under /shared. Reply with the answer itself: it is posted to the conversation for you.`;
  const system: PromptSection[] = [
    // The stable sections are in the cached prefix; the runner puts the breakpoint after the last.
    { name: 'identity', text: identity, cached: true },
    ...instructionsSection('company_instructions', 'Company instructions (COMPANY.md), for every group:', companyInstructions),
    ...instructionsSection('group_instructions', `Instructions for the group ${request.groupId} (its INSTRUCTIONS.md):`, groupInstructions),
    ...(skills === '' ? [] : [{ name: 'skills', text: skills, cached: true }]),
    { name: 'now', text: `The time is ${sources.now().toISOString()}.`, cached: false },
    {
      name: 'work_context_company',
      text: companyContext === '' ? 'Company work context (WORK_CONTEXT.md): none yet.' : `Company work context (WORK_CONTEXT.md), across every group:\n\n${companyContext}`,
      cached: false,
    },
    {
      name: 'work_context_group',
      text:
        groupContext === ''
          ? `Work context of the group ${request.groupId} (its WORK_CONTEXT.md): none yet.`
          : `Work context of the group ${request.groupId} (its WORK_CONTEXT.md):\n\n${groupContext}`,
      cached: false,
    },
    { name: 'memory', text: memory === '' ? 'Nothing remembered for this group yet.' : memory, cached: false },
  ];
  const instructions = { company: usedHash(companyInstructions), group: usedHash(groupInstructions) };

  let messages: PromptMessage[] = [];
  let answeringUser: string | null = null;
  if (request.taskId !== null) {
    const turn = await sources.taskTurn(request.taskId, runId);
    if (turn === null) throw new Error(`task ${request.taskId} has no prompt; it was never scheduled`);
    if (request.contextMode === 'group') messages = (await conversationWindow(sources, request.conversationId, [], budget)).messages;
    messages.push({ role: 'user', text: taskTurnText(request.taskId, turn) });
  } else {
    ({ messages, answeringUser } = await conversationWindow(sources, request.conversationId, answeredMessageIds(request.turnRef), budget));
    if (messages.length === 0) throw new Error(`group ${request.conversationId} has no message for run ${runId} to answer`);
  }
  const tokenEstimate = [...system.map((section) => section.text), ...messages.map((message) => message.text)].reduce((sum, text) => sum + estimateTokens(text), 0);
  return { system, messages, tokenEstimate, windowBudgetTokens: budget, answeringUser, instructions };
}

/** A task's run: its prompt, and what the fire that asked for it knew. */
export interface TaskTurn {
  readonly prompt: string;
  /** What the task's wake gate said when it woke it; null without a gate (or for an older fire). */
  readonly gateDetail: string | null;
  /** The due times this fire stands for, when the runtime was down for them. */
  readonly missed: { readonly firstDueAt: string; readonly count: number } | null;
}

/**
 * The user turn of a task's run: the prompt, then why it runs now when there is more to say
 * than the schedule (the gate's finding is often the very thing to act on).
 */
export function taskTurnText(taskId: string, turn: TaskTurn): string {
  const notes: string[] = [];
  if (turn.gateDetail !== null) notes.push(`The task's check woke you: ${turn.gateDetail}`);
  if (turn.missed !== null && turn.missed.count > 1) {
    notes.push(`This run stands for ${turn.missed.count} due times missed while the runtime was down, the first at ${turn.missed.firstDueAt}.`);
  }
  return [`[scheduled task ${taskId}] ${turn.prompt}`, ...notes].join('\n\n');
}
