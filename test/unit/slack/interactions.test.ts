import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buttonsBlock, defineInteraction, InteractionRouter } from '../../../runtime/channels/slack/interactions.js';
import type { BlockActions } from '../../../runtime/channels/slack/payloads.js';

const calls: unknown[] = [];
const counter = defineInteraction({
  name: 'counter',
  actions: ['up', 'down'],
  value: z.strictObject({ id: z.string() }),
  async handle(call) {
    calls.push(call);
    if (call.value.id === 'boom') throw new Error('the counter is broken');
    return call.action === 'up' ? { status: 'done', text: `up by <@${call.userId}>` } : { status: 'refused', reason: 'cannot go down' };
  },
});

function click(actionId: string, value: string | undefined): BlockActions {
  return { type: 'block_actions', user: { id: 'U1' }, channel: { id: 'C1' }, message: { ts: '1712345678.000100' }, actions: [{ action_id: actionId, action_ts: '1712345678.123456', ...(value === undefined ? {} : { value }) }] };
}

describe('buttons', () => {
  it("carry the handler's action ids and a checked JSON value", () => {
    const block = buttonsBlock(counter, { id: 'c1' }, [{ action: 'up', text: 'Up', style: 'primary' }]);
    expect(block).toEqual({
      type: 'actions',
      block_id: 'lc.counter',
      elements: [{ type: 'button', action_id: 'lc.counter.up', text: { type: 'plain_text', text: 'Up', emoji: true }, value: '{"id":"c1"}', style: 'primary' }],
    });
    expect(() => buttonsBlock(counter, { id: 'c1' }, [{ action: 'sideways', text: 'x' }])).toThrow(/no action 'sideways'/);
    expect(() => buttonsBlock(counter, { id: 7 } as never, [{ action: 'up', text: 'x' }])).toThrow();
  });

  it('route a click to its handler with who clicked, and turn every failure into a refusal', async () => {
    const router = new InteractionRouter();
    router.register(counter);
    expect(await router.dispatch(click('lc.counter.up', '{"id":"c1"}'))).toEqual({ status: 'done', text: 'up by <@U1>' });
    expect(calls.at(-1)).toMatchObject({ action: 'up', value: { id: 'c1' }, userId: 'U1', channel: 'C1', messageTs: '1712345678.000100', actionTs: '1712345678.123456' });
    expect(await router.dispatch(click('lc.counter.down', '{"id":"c1"}'))).toEqual({ status: 'refused', reason: 'cannot go down' });
    expect(await router.dispatch(click('lc.counter.up', '{"id":"boom"}'))).toEqual({ status: 'refused', reason: 'it could not be done: the counter is broken' });
    expect((await router.dispatch(click('lc.counter.up', '{"id":1}'))).status).toBe('refused');
    expect(await router.dispatch(click('lc.counter.up', 'not json'))).toEqual({ status: 'refused', reason: "this button's value is not JSON" });
    expect((await router.dispatch(click('lc.nothing.up', '{}'))).status).toBe('refused');
    expect(() => router.register(counter)).toThrow(/registered already/);
  });
});
