/**
 * How deeply a value nests, and a JSON check that does not recurse. zod's `z.json()`
 * recurses once per level, so a value a few thousand levels deep (a few KB of `[[[…]]]`)
 * overflows the stack before it can say no; `JSON.parse` builds such a value without
 * trouble. Everything here walks with an explicit stack, so a deep value gets an answer.
 */
import { z } from 'zod';

/** A JSON value, as zod types it. */
export type JsonValue = z.core.util.JSONType;

/**
 * The levels of arrays and objects in `value` (a scalar is 0, `[]` is 1, `[[1]]` is 2).
 * Stops counting once it passes `limit`, so a bound is checked in time proportional to
 * the part of the value within it.
 */
export function nestingDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    const children = Array.isArray(next.value) ? next.value : Object.values(next.value);
    for (const child of children) pending.push({ value: child, depth });
  }
  return deepest;
}

/** Why `value` is not JSON nested at most `maxDepth` levels, or null when it is. */
export function jsonValueProblem(value: unknown, maxDepth: number): string | null {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    const item = next.value;
    if (item === null || typeof item === 'string' || typeof item === 'boolean') continue;
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) return 'expected JSON: a number must be finite';
      continue;
    }
    if (typeof item !== 'object') return `expected JSON, not a ${typeof item}`;
    const depth = next.depth + 1;
    if (depth > maxDepth) return `expected JSON nested at most ${maxDepth} levels deep`;
    let children: unknown[];
    if (Array.isArray(item)) children = item;
    else {
      const prototype = Object.getPrototypeOf(item) as unknown;
      if (prototype !== Object.prototype && prototype !== null) return 'expected JSON: an object must be a plain object';
      children = Object.values(item);
    }
    for (const child of children) pending.push({ value: child, depth });
  }
  return null;
}

/** A zod schema for any JSON value nested at most `maxDepth` levels, checked without recursion. */
export function boundedJson(maxDepth: number): z.ZodType<JsonValue> {
  return z.custom<JsonValue>().superRefine((value, ctx) => {
    const problem = jsonValueProblem(value, maxDepth);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });
}
