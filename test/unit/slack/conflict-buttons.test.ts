import { describe, expect, it } from 'vitest';
import { conflictButtonsBlock, MAX_CONFLICT_BUTTONS } from '../../../runtime/channels/slack/conflict-buttons.js';

const SCOPE = 'group.T1.C1';
const KEY = 'vendor.acme.terms';
const facts = (count: number, id = (index: number) => `f${index + 1}`) =>
  Array.from({ length: count }, (_, index) => ({ id: id(index), statement: `Acme pays net ${30 + index * 15}` }));

describe('conflictButtonsBlock', () => {
  it('labels two facts Keep old and Take new, then Neither, each carrying the whole conflict as its value', () => {
    const block = conflictButtonsBlock(SCOPE, KEY, facts(2))!;
    const buttons = block.elements as { action_id: string; text: { text: string }; value: string }[];
    expect(buttons.map((button) => [button.action_id, button.text.text])).toEqual([
      ['lc.memory-conflict.keep-0', 'Keep old: Acme pays net 30'],
      ['lc.memory-conflict.keep-1', 'Take new: Acme pays net 45'],
      ['lc.memory-conflict.neither', 'Neither'],
    ]);
    for (const button of buttons) expect(JSON.parse(button.value)).toEqual({ scope: SCOPE, key: KEY, factIds: ['f1', 'f2'] });
  });

  it('numbers three or more facts and cuts a long statement to the 75 characters Slack shows', () => {
    const long = [...facts(2), { id: 'f3', statement: `Acme ${'really '.repeat(20)}pays on receipt` }];
    const texts = (conflictButtonsBlock(SCOPE, KEY, long)!.elements as { text: { text: string } }[]).map((button) => button.text.text);
    expect(texts.slice(0, 2)).toEqual(['Keep 1: Acme pays net 30', 'Keep 2: Acme pays net 45']);
    expect(texts[2]).toHaveLength(75);
    expect(texts[2]!.endsWith('…')).toBe(true);
  });

  it('gives no buttons to a conflict that does not fit them (more facts than Slack allows, or ids past the 2,000-character value)', () => {
    expect(conflictButtonsBlock(SCOPE, KEY, facts(MAX_CONFLICT_BUTTONS))).not.toBeNull();
    expect(conflictButtonsBlock(SCOPE, KEY, facts(MAX_CONFLICT_BUTTONS + 1))).toBeNull();
    expect(conflictButtonsBlock(SCOPE, KEY, facts(20, (index) => `${'x'.repeat(120)}${index}`))).toBeNull();
  });
});
