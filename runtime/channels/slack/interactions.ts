/**
 * Buttons in Slack messages, as a mechanism any part of the runtime can use: a handler
 * registers under a name, its buttons carry action ids `lc.<handler>.<action>` and a JSON
 * value its zod schema checks, and a click becomes a call to the handler with who clicked.
 * A handler decides by sending its actor a command as that person (`user:<id>`), so the
 * decision is an event, made by the actor's rules, never by the button.
 *
 * The outcome shows where the click happened: done replaces the buttons with a line saying
 * what was decided and by whom (so a decision cannot be clicked twice); refused tells only
 * the person who clicked, why (ephemerally); ignored (a replay of a click already handled)
 * shows nothing.
 */
import type { ActionsBlock, Button } from '@slack/types';
import { z } from 'zod';
import { describeIssues, type BlockActions } from './payloads.js';

export const ACTION_PREFIX = 'lc';
const NAME = /^[a-z][a-z0-9_-]{0,30}$/;

export interface InteractionCall<TValue> {
  readonly action: string;
  readonly value: TValue;
  /** Who clicked (a Slack user id). */
  readonly userId: string;
  /** The workspace it happened in, when Slack says. */
  readonly teamId: string | null;
  readonly channel: string | null;
  readonly messageTs: string | null;
  /** Slack's timestamp of the click (`action_ts`): a replayed payload carries the same one. */
  readonly actionTs: string | null;
}

export type InteractionResult =
  | { readonly status: 'done'; readonly text: string }
  | { readonly status: 'refused'; readonly reason: string }
  /** A replay of a click that was handled already: nothing new happened, nothing is shown. */
  | { readonly status: 'ignored' };

export interface InteractionHandler<TValue = unknown> {
  readonly name: string;
  readonly actions: readonly string[];
  readonly value: z.ZodType<TValue>;
  handle(call: InteractionCall<TValue>): Promise<InteractionResult>;
}

export function defineInteraction<TValue>(handler: InteractionHandler<TValue>): InteractionHandler<TValue> {
  if (!NAME.test(handler.name)) throw new Error(`interaction name '${handler.name}' must be lower-case letters, digits, _ or -`);
  for (const action of handler.actions) if (!NAME.test(action)) throw new Error(`interaction ${handler.name}: action '${action}' must be lower-case letters, digits, _ or -`);
  return handler;
}

export interface ButtonSpec {
  readonly action: string;
  readonly text: string;
  readonly style?: 'primary' | 'danger';
}

/**
 * An actions block of the handler's buttons, each carrying `value` (at most 2,000 characters
 * as JSON, Slack's limit). Only the handler's name, actions and value schema are needed, so
 * a message can carry the buttons without holding what handles their clicks.
 */
export function buttonsBlock<TValue>(
  handler: Pick<InteractionHandler<TValue>, 'name' | 'actions' | 'value'>,
  value: TValue,
  buttons: readonly ButtonSpec[],
): ActionsBlock {
  const json = JSON.stringify(handler.value.parse(value));
  if (json.length > 2_000) throw new Error(`interaction ${handler.name}: a button value may hold at most 2,000 characters, not ${json.length}`);
  return {
    type: 'actions',
    block_id: `${ACTION_PREFIX}.${handler.name}`,
    elements: buttons.map((button): Button => {
      if (!handler.actions.includes(button.action)) throw new Error(`interaction ${handler.name} has no action '${button.action}'`);
      return {
        type: 'button',
        action_id: `${ACTION_PREFIX}.${handler.name}.${button.action}`,
        text: { type: 'plain_text', text: button.text.slice(0, 75), emoji: true },
        value: json,
        ...(button.style ? { style: button.style } : {}),
      };
    }),
  };
}

export class InteractionRouter {
  private readonly handlers = new Map<string, InteractionHandler>();

  register<TValue>(handler: InteractionHandler<TValue>): void {
    if (this.handlers.has(handler.name)) throw new Error(`an interaction named ${handler.name} is registered already`);
    this.handlers.set(handler.name, handler as InteractionHandler);
  }

  /** Runs the handler a click names. Never throws: what went wrong is a refusal for the person who clicked. */
  async dispatch(payload: BlockActions): Promise<InteractionResult> {
    const clicked = payload.actions[0]!;
    const [prefix, name = '', action = ''] = clicked.action_id.split('.');
    const handler = prefix === ACTION_PREFIX ? this.handlers.get(name) : undefined;
    if (!handler || !handler.actions.includes(action)) return { status: 'refused', reason: `this button (${clicked.action_id}) is not one the assistant knows` };
    let raw: unknown;
    try {
      raw = JSON.parse(clicked.value ?? 'null');
    } catch {
      return { status: 'refused', reason: `this button's value is not JSON` };
    }
    const value = handler.value.safeParse(raw);
    if (!value.success) return { status: 'refused', reason: `this button's value does not fit ${handler.name}: ${describeIssues(value.error)}` };
    try {
      return await handler.handle({
        action,
        value: value.data,
        userId: payload.user.id,
        teamId: payload.team?.id ?? null,
        channel: payload.channel?.id ?? null,
        messageTs: payload.message?.ts ?? null,
        actionTs: clicked.action_ts ?? null,
      });
    } catch (error) {
      return { status: 'refused', reason: `it could not be done: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
}
