/**
 * A fingerprint of a machine: its definition (states, transitions, the names of its
 * guards and actions) and the source of every implementation. A snapshot is trusted only
 * by the machine with the same fingerprint, so changing a guard's code, an assign, or a
 * state invalidates old snapshots instead of silently mixing two machines' states.
 */
import { createHash } from 'node:crypto';
import type { AnyStateMachine } from 'xstate';

const cache = new WeakMap<AnyStateMachine, string>();

/** Functions by their source; xstate's assign and other action objects by their parts. */
function describe(value: unknown, seen = new Set<unknown>()): unknown {
  if (typeof value === 'function') {
    const own = Object.entries(value).filter(([, inner]) => inner !== undefined);
    return own.length > 0 ? { source: value.toString(), parts: describe(Object.fromEntries(own), seen) } : value.toString();
  }
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[cycle]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => describe(item, seen));
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, describe((value as Record<string, unknown>)[key], seen)]),
  );
}

export function machineHash(machine: AnyStateMachine): string {
  const cached = cache.get(machine);
  if (cached) return cached;
  const hash = createHash('sha256')
    .update(JSON.stringify(describe(machine.definition)))
    .update('\n')
    .update(JSON.stringify(describe(machine.implementations)))
    .digest('hex')
    .slice(0, 32);
  cache.set(machine, hash);
  return hash;
}
