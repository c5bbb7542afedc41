/**
 * Output formats shared by the commands: aligned text tables for people, and JSON lines
 * for scripts. Store positions and revisions are bigints; JSON gets them as numbers.
 */

/** Columns separated by two spaces, each as wide as its widest cell; the last is not padded. */
export function formatTable(headers: readonly string[] | null, rows: readonly (readonly string[])[]): string {
  const all = headers ? [headers, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  return all
    .map((row) =>
      row
        .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * A bigint within the range JSON readers parse exactly becomes a number. Beyond 2^53 a
 * number would be silently rounded, so it stays a decimal string.
 */
function bigintAsJson(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** Compact JSON on one line. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, bigintAsJson);
}

/** One line of NDJSON. */
export function toJsonLine(value: unknown): string {
  return `${toJson(value)}\n`;
}
