/**
 * What a model call cost, from its token counts. Prices are US dollars per million tokens,
 * matched by model-id prefix (ids carry date suffixes). Prompt-cache writes cost 1.25x the
 * input price and reads 0.1x, as Anthropic prices them for the 5-minute cache. A model
 * with no known price costs `null`, never a guessed number; configuration can add prices.
 */
import type { TokenTotals } from '../../events/catalogue/run.js';

export interface ModelPrice {
  readonly inputPerMTok: number;
  readonly outputPerMTok: number;
}

/**
 * Longest prefix wins, so a specific id overrides its family. The family prices are the
 * list prices of each tier (Opus from 4.5 on, Sonnet, Haiku); the older, dearer Opus ids
 * are listed on their own. A deployment with other prices sets `model.prices`.
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-': { inputPerMTok: 5, outputPerMTok: 25 },
  'claude-opus-4-1': { inputPerMTok: 15, outputPerMTok: 75 },
  'claude-opus-4-0': { inputPerMTok: 15, outputPerMTok: 75 },
  // claude-opus-4-20250514: the first Opus 4, by its dated id
  'claude-opus-4-2': { inputPerMTok: 15, outputPerMTok: 75 },
  'claude-sonnet-': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-haiku-': { inputPerMTok: 1, outputPerMTok: 5 },
  'claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4 },
};

const CACHE_WRITE_MULTIPLIER = 1.25;
const CACHE_READ_MULTIPLIER = 0.1;

export function priceOf(model: string, prices: Readonly<Record<string, ModelPrice>>): ModelPrice | null {
  const match = Object.keys(prices)
    .filter((prefix) => model.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  return match === undefined ? null : (prices[match] ?? null);
}

export function costOf(model: string, tokens: TokenTotals, prices: Readonly<Record<string, ModelPrice>>): number | null {
  const price = priceOf(model, prices);
  if (price === null) return null;
  const perToken = (perMTok: number) => perMTok / 1_000_000;
  const cost =
    tokens.input * perToken(price.inputPerMTok) +
    tokens.cacheWrite * perToken(price.inputPerMTok) * CACHE_WRITE_MULTIPLIER +
    tokens.cacheRead * perToken(price.inputPerMTok) * CACHE_READ_MULTIPLIER +
    tokens.output * perToken(price.outputPerMTok);
  // Micro-dollar precision: enough for any bill, and stable in events and tests.
  return Math.round(cost * 1_000_000) / 1_000_000;
}

/** Tokens that count against a budget: cache reads cost a tenth and are left out. */
export function budgetedTokens(tokens: TokenTotals): number {
  return tokens.input + tokens.cacheWrite + tokens.output;
}
