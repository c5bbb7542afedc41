/**
 * A small recursive diff of two JSON values, for showing what an event did to an actor's
 * context: one change per leaf that differs, addressed by a path such as `queue[2].runId`.
 * Objects are compared key by key and arrays index by index (an insertion at the front
 * shows as a change at every index after it: this is a diff to read, not a patch to apply).
 */

export interface JsonChange {
  /** Where the change is: `count`, `queue[2].runId`, `byUser["U 1"]`; '' for the whole value. */
  readonly path: string;
  /** The value before; absent when the path did not exist before (an addition). */
  readonly before?: unknown;
  /** The value after; absent when the path no longer exists (a removal). */
  readonly after?: unknown;
}

type Segment = string | number;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `queue[2].runId`; a key that is not an identifier is quoted: `byUser["U 1"]`. */
export function formatJsonPath(segments: readonly Segment[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own keys of `before`, then the keys only `after` has, in their own order. */
function unionOfKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = Object.keys(before);
  for (const key of Object.keys(after)) if (!Object.hasOwn(before, key)) keys.push(key);
  return keys;
}

/**
 * Every difference between `before` and `after`. A key whose value is `undefined` counts
 * as absent, as it would once the value is stored as JSON.
 */
export function diffJson(before: unknown, after: unknown): JsonChange[] {
  const changes: JsonChange[] = [];
  walk(before, after, [], changes);
  return changes;
}

function walk(before: unknown, after: unknown, path: Segment[], changes: JsonChange[]): void {
  // xstate's assign copies only what changed, so equal references end most walks early.
  if (before === after) return;
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const key of unionOfKeys(before, after)) compareMember(before[key], after[key], [...path, key], changes);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    for (let index = 0; index < length; index += 1) compareMember(before[index], after[index], [...path, index], changes);
    return;
  }
  changes.push({ path: formatJsonPath(path), before, after });
}

function compareMember(before: unknown, after: unknown, path: Segment[], changes: JsonChange[]): void {
  if (before === undefined && after === undefined) return;
  if (before === undefined) changes.push({ path: formatJsonPath(path), after });
  else if (after === undefined) changes.push({ path: formatJsonPath(path), before });
  else walk(before, after, path, changes);
}
