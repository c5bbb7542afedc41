/**
 * Durations as people type them (`90s`, `15m`, `2h`, `1h30m`, `500ms`, `7d`) and as the
 * CLI prints them. No duration library is a dependency, and the grammar is small enough to
 * check with one zod schema.
 */
import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

const SEGMENT = /([0-9]+)(ms|s|m|h|d)/g;

/** One or more `<whole number><unit>` with units ms, s, m, h, d, largest first: `1h30m`. */
export const durationSchema = z
  .string()
  .trim()
  .regex(/^([0-9]+(ms|s|m|h|d))+$/, 'expected a duration such as 90s, 15m, 2h or 1h30m (units ms, s, m, h, d)')
  .transform((text, context) => {
    let total = 0;
    let previousUnitMs = Infinity;
    for (const [, amount, unit] of text.matchAll(SEGMENT)) {
      const unitMs = UNIT_MS[unit as Unit];
      if (unitMs >= previousUnitMs) {
        context.addIssue({ code: 'custom', message: `units must go from largest to smallest, each once: '${text}'` });
        return z.NEVER;
      }
      previousUnitMs = unitMs;
      total += Number(amount) * unitMs;
    }
    if (!Number.isSafeInteger(total) || total <= 0) {
      context.addIssue({ code: 'custom', message: `a duration must be more than zero and reasonable: '${text}'` });
      return z.NEVER;
    }
    return total;
  });

/** `3 min 4 s`, `1.2 s`, `450 ms`, `2 h 5 min`, `3 d 1 h`: the two largest units that matter. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const parts: [number, string][] = [
    [Math.floor(ms / 86_400_000), 'd'],
    [Math.floor(ms / 3_600_000) % 24, 'h'],
    [Math.floor(ms / 60_000) % 60, 'min'],
    [Math.floor(ms / 1_000) % 60, 's'],
  ];
  const first = parts.findIndex(([amount]) => amount > 0);
  return parts
    .slice(first, first + 2)
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount} ${unit}`)
    .join(' ');
}
