import { describe, expect, it } from 'vitest';
import { budgetedTokens, costOf, DEFAULT_PRICES, priceOf } from '../../../runtime/gateways/pricing.js';

const TOKENS = { input: 1_000_000, output: 1_000_000, cacheRead: 1_000_000, cacheWrite: 1_000_000 };

describe('model pricing', () => {
  it('prices a call by tier: input, output, cache writes at 1.25x and cache reads at 0.1x of input', () => {
    // Sonnet: $3 in, $15 out → 3 + 15 + 3.75 + 0.3
    expect(costOf('claude-sonnet-5-5', TOKENS, DEFAULT_PRICES)).toBe(22.05);
    expect(costOf('claude-haiku-4-5-20251001', { input: 2_000, output: 500, cacheRead: 0, cacheWrite: 0 }, DEFAULT_PRICES)).toBe(0.0045);
  });

  it('lets the longest prefix win, so the older Opus ids keep their own price', () => {
    expect(priceOf('claude-opus-5', DEFAULT_PRICES)).toEqual({ inputPerMTok: 5, outputPerMTok: 25 });
    expect(priceOf('claude-opus-4-1', DEFAULT_PRICES)).toEqual({ inputPerMTok: 15, outputPerMTok: 75 });
    expect(priceOf('claude-opus-4-20250514', DEFAULT_PRICES)).toEqual({ inputPerMTok: 15, outputPerMTok: 75 });
  });

  it('gives null, not a guess, for a model with no known price, and configured prices are used', () => {
    expect(costOf('claude-fable-5-2', TOKENS, DEFAULT_PRICES)).toBeNull();
    expect(costOf('local-model', { input: 1_000_000, output: 0, cacheRead: 0, cacheWrite: 0 }, { ...DEFAULT_PRICES, local: { inputPerMTok: 0.5, outputPerMTok: 1 } })).toBe(0.5);
  });

  it('counts input, cache writes and output against budgets, not cache reads', () => {
    expect(budgetedTokens({ input: 10, output: 5, cacheRead: 1_000, cacheWrite: 20 })).toBe(35);
  });
});
