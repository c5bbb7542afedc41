/**
 * Small helpers shared by the benchmark suites: percentiles of timing samples and a plain
 * text table. Kept free of I/O so they are unit tested (test/unit/bench-stats.test.ts).
 */

/**
 * The p-th percentile (0..100) of `values`, interpolating linearly between the two
 * nearest ranks (the "R-7" rule, numpy's default): p0 is the minimum, p100 the maximum,
 * p50 of an even count is the mean of the middle two. The input is not modified.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list');
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new RangeError(`percentile must be within 0..100 (got ${p})`);
  const sorted = sortedCopy(values);
  return percentileOfSorted(sorted, p);
}

function sortedCopy(values: readonly number[]): Float64Array {
  for (const value of values) {
    if (Number.isNaN(value)) throw new RangeError('percentile of a list holding NaN');
  }
  // A typed array sorts numerically (a plain array's default sort compares strings).
  return Float64Array.from(values).sort();
}

function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower]!;
  const high = sorted[upper]!;
  return lower === upper ? low : low + (high - low) * (rank - lower);
}

export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Count, extremes, mean and the usual percentiles of a non-empty sample. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summary of an empty list');
  const sorted = sortedCopy(values);
  let sum = 0;
  for (const value of values) sum += value;
  return {
    count: values.length,
    min: sorted[0]!,
    mean: sum / values.length,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

/** The middle value (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** `12,345` style grouping with a fixed number of decimals; '-' for a missing figure. */
export function formatNumber(value: number | undefined, decimals = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A rate per second, e.g. `12,345/s`. */
export function formatRate(perSecond: number | undefined): string {
  const text = formatNumber(perSecond, perSecond !== undefined && Math.abs(perSecond) < 100 ? 1 : 0);
  return text === '-' ? text : `${text}/s`;
}

/** Milliseconds with three significant decimals below 10 ms, e.g. `0.412 ms`, `13.2 ms`. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  const decimals = Math.abs(ms) < 10 ? 3 : Math.abs(ms) < 100 ? 1 : 0;
  return `${formatNumber(ms, decimals)} ms`;
}

/** A ratio as a multiplier, e.g. `0.62x`. */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '-';
  return `${ratio.toFixed(2)}x`;
}

export type Align = 'left' | 'right';

export interface TableOptions {
  /** Per column; the first column defaults to left, the others to right. */
  readonly align?: readonly Align[];
}

/**
 * A plain text table: a header row, a rule, then the rows, columns padded to their widest
 * cell and separated by two spaces. Short rows are padded with empty cells. Widths count
 * code points, so `≥` or `µ` do not shift the columns.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const columns = Math.max(headers.length, ...rows.map((row) => row.length));
  if (columns === 0) return '';
  const cell = (row: readonly string[], index: number): string => row[index] ?? '';
  const width = (text: string): number => [...text].length;
  const widths = Array.from({ length: columns }, (_, index) =>
    Math.max(width(cell(headers, index)), ...rows.map((row) => width(cell(row, index)))),
  );
  const alignOf = (index: number): Align => options.align?.[index] ?? (index === 0 ? 'left' : 'right');
  const pad = (text: string, index: number): string => {
    const fill = ' '.repeat(widths[index]! - width(text));
    return alignOf(index) === 'left' ? text + fill : fill + text;
  };
  const line = (row: readonly string[]): string =>
    Array.from({ length: columns }, (_, index) => pad(cell(row, index), index)).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}
