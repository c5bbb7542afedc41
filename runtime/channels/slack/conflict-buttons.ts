/**
 * The buttons on a memory conflict notice: keep one of the facts, or neither. A click is
 * the clicking person's decision, sent to the memory actor signed `user:<id>`
 * (runtime/memory/settle-conflict.ts plans the commands, the memory actor decides each).
 *
 * The value names the exact conflict the notice is about (scope, key, and the fact ids it
 * showed, oldest first); the action says which fact (`keep-<index>` into those ids) or
 * `neither`. So a click is bound to that conflict:
 * - a conflict that gained a fact since is refused (a newer notice asks about it);
 * - a conflict settled since says so and shows how it stands, and changes nothing;
 * - a click from outside the scope's conversation, or from someone the group does not take
 *   messages from (`allowedSenders`), is refused: who may make the agent act may settle
 *   what it remembers, nobody else.
 */
import type { ActionsBlock } from '@slack/types';
import { z } from 'zod';
import { factIdSchema, factKeySchema } from '../../../events/catalogue/memory.js';
import type { ActorHost } from '../../actor-host/actor-host.js';
import type { ConflictChoice } from '../notice.js';
import { applySettlement, describeSettlement, planResolve, SettlementRefusedError, type SettleProblem } from '../../memory/settle-conflict.js';
import { buttonsBlock, defineInteraction, type InteractionCall, type InteractionHandler, type InteractionResult } from './interactions.js';
import { parseSlackGroupId } from './slack-ids.js';

/** Slack allows 25 elements in an actions block: one a fact, and Neither. */
export const MAX_CONFLICT_BUTTONS = 24;
/** Slack's limit on a button's text. */
const BUTTON_TEXT_CHARS = 75;

const memoryScopeSchema = z.string().min(1).max(300).regex(/^(group|user)\.[^\s]+$/, 'expected a memory scope such as group.T1.C1 or user.U1');

const conflictButtonValue = z.strictObject({
  scope: memoryScopeSchema,
  key: factKeySchema,
  factIds: z.array(factIdSchema).min(2).max(MAX_CONFLICT_BUTTONS),
});
export type ConflictButtonValue = z.infer<typeof conflictButtonValue>;

const KEEP_ACTIONS = Array.from({ length: MAX_CONFLICT_BUTTONS }, (_, index) => `keep-${index}`);
const conflictInteraction = { name: 'memory-conflict', actions: [...KEEP_ACTIONS, 'neither'], value: conflictButtonValue } as const;

/**
 * One button a fact ("Keep old" and "Take new" for two; "Keep 1…n" for more) and Neither;
 * null when the conflict does not fit on buttons (more than 24 facts, or ids too long for
 * Slack's 2,000-character value): the notice then says to settle it with the CLI.
 */
export function conflictButtonsBlock(scope: string, key: string, facts: ConflictChoice['facts']): ActionsBlock | null {
  if (facts.length < 2 || facts.length > MAX_CONFLICT_BUTTONS) return null;
  const value = { scope, key, factIds: facts.map((fact) => fact.id) };
  const label = (index: number, fact: ConflictChoice['facts'][number]) => {
    const which = facts.length === 2 ? (index === 0 ? 'Keep old' : 'Take new') : `Keep ${index + 1}`;
    const text = `${which}: ${fact.statement.trim().replace(/\s+/g, ' ')}`;
    return text.length > BUTTON_TEXT_CHARS ? `${text.slice(0, BUTTON_TEXT_CHARS - 1)}…` : text;
  };
  try {
    return buttonsBlock(conflictInteraction, value, [
      ...facts.map((fact, index) => ({ action: `keep-${index}`, text: label(index, fact), ...(index === facts.length - 1 ? { style: 'primary' as const } : {}) })),
      { action: 'neither', text: 'Neither', style: 'danger' as const },
    ]);
  } catch {
    // Too long a value for Slack: the notice goes without buttons (it names the CLI).
    return null;
  }
}

export function conflictButtons(actors: Pick<ActorHost, 'send' | 'load'>): InteractionHandler<ConflictButtonValue> {
  return defineInteraction({
    ...conflictInteraction,
    async handle(call) {
      const { scope, key, factIds } = call.value;
      const unauthorized = await whyNotAllowed(actors, call);
      if (unauthorized !== null) return { status: 'refused', reason: unauthorized };
      const keep = call.action === 'neither' ? null : factIds[Number(call.action.slice('keep-'.length))];
      if (keep === undefined) return { status: 'refused', reason: `this button names fact ${call.action.slice('keep-'.length)}, but the notice shows only ${factIds.length}` };
      const by = `user:${call.userId}`;
      const memory = (await actors.load('memory', scope)).context;
      const plan = planResolve(memory, { key, keep, shown: factIds, by });
      if (!plan.ok) return settledAlready(plan.problem, plan.reason) ?? { status: 'refused', reason: plan.reason };
      try {
        await applySettlement(plan, (planned) => actors.send('memory', scope, planned.command, { actor: by, commandId: planned.commandId }));
      } catch (error) {
        if (error instanceof SettlementRefusedError) return { status: 'refused', reason: `the memory refused it: ${error.reason}` };
        throw error;
      }
      return { status: 'done', text: `:white_check_mark: Settled: ${describeSettlement(plan, `<@${call.userId}>`)}.` };
    },
  });
}

/** A conflict settled before this click: the buttons give way to how it stands; nothing changes. */
function settledAlready(problem: SettleProblem, reason: string): InteractionResult | null {
  return problem === 'no-open-conflict' ? { status: 'done', text: `Nothing changed: ${reason}.` } : null;
}

/**
 * A group's conflict is settled from that group's Slack conversation, by someone the group
 * takes messages from; a person's own memory, by that person. Null when the click may.
 */
async function whyNotAllowed(actors: Pick<ActorHost, 'load'>, call: InteractionCall<ConflictButtonValue>): Promise<string | null> {
  const { scope } = call.value;
  if (scope.startsWith('user.')) {
    return scope === `user.${call.userId}` ? null : `this is someone else's memory; only they can settle it`;
  }
  const groupId = scope.slice('group.'.length);
  const conversation = parseSlackGroupId(groupId);
  if (conversation === null || conversation.channel !== call.channel || (call.teamId !== null && conversation.team !== call.teamId)) {
    return `this button is about another conversation's memory (${scope}); it can only be settled where its notice was posted`;
  }
  const settings = (await actors.load('group', groupId)).context.settings;
  if (settings && settings.allowedSenders.length > 0 && !settings.allowedSenders.includes(call.userId)) {
    return `only the people this channel takes requests from may settle its memory, and <@${call.userId}> is not one of them`;
  }
  return null;
}
