import { describe, expect, it } from 'vitest';
import {
  formatMs,
  formatNumber,
  formatRate,
  formatRatio,
  formatTable,
  median,
  percentile,
  summarize,
} from '../bench/stats.js';

describe('percentile', () => {
  it('interpolates between the nearest ranks', () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 100)).toBe(10);
    expect(percentile(values, 50)).toBe(5.5);
    expect(percentile(values, 90)).toBeCloseTo(9.1, 10);
    expect(percentile(values, 99)).toBeCloseTo(9.91, 10);
    expect(percentile(values, 25)).toBeCloseTo(3.25, 10);
  });

  it('hits the sample exactly when the rank is whole', () => {
    expect(percentile([10, 20, 30, 40, 50], 50)).toBe(30);
    expect(percentile([10, 20, 30, 40, 50], 75)).toBe(40);
    const hundredAndOne = Array.from({ length: 101 }, (_, index) => index);
    expect(percentile(hundredAndOne, 99)).toBe(99);
    expect(percentile(hundredAndOne, 1)).toBe(1);
  });

  it('sorts numerically, not as strings, and leaves the input alone', () => {
    const values = [100, 9, 20, 3, 1_000];
    expect(percentile(values, 50)).toBe(20);
    expect(percentile(values, 0)).toBe(3);
    expect(percentile(values, 100)).toBe(1_000);
    expect(values).toEqual([100, 9, 20, 3, 1_000]);
  });

  it('handles one value, repeated values and negatives', () => {
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([2, 2, 2, 2], 99)).toBe(2);
    expect(percentile([-5, 5], 50)).toBe(0);
    expect(percentile([0.25, 0.5], 50)).toBe(0.375);
  });

  it('refuses an empty list, NaN and a p outside 0..100', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1, Number.NaN], 50)).toThrow(RangeError);
    expect(() => percentile([1, 2], -1)).toThrow(RangeError);
    expect(() => percentile([1, 2], 100.5)).toThrow(RangeError);
    expect(() => percentile([1, 2], Number.NaN)).toThrow(RangeError);
  });

  it('median is the 50th percentile', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('summarize', () => {
  it('gives count, extremes, mean and percentiles', () => {
    const summary = summarize([5, 1, 4, 2, 3]);
    expect(summary).toEqual({ count: 5, min: 1, mean: 3, p50: 3, p90: 4.6, p99: expect.closeTo(4.96, 10) as number, max: 5 });
  });

  it('refuses an empty list', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('number formatting', () => {
  it('groups thousands and fixes decimals', () => {
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(1234.5678, 2)).toBe('1,234.57');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(undefined)).toBe('-');
    expect(formatNumber(Number.NaN)).toBe('-');
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('-');
  });

  it('formats rates, durations and ratios', () => {
    expect(formatRate(12_345.6)).toBe('12,346/s');
    expect(formatRate(42.25)).toBe('42.3/s');
    expect(formatRate(undefined)).toBe('-');
    expect(formatMs(0.41234)).toBe('0.412 ms');
    expect(formatMs(13.25)).toBe('13.3 ms');
    expect(formatMs(1234.4)).toBe('1,234 ms');
    expect(formatMs(Number.NaN)).toBe('-');
    expect(formatRatio(0.6249)).toBe('0.62x');
    expect(formatRatio(2)).toBe('2.00x');
    expect(formatRatio(Number.POSITIVE_INFINITY)).toBe('-');
  });
});

describe('formatTable', () => {
  it('pads columns to the widest cell, first column left and the rest right', () => {
    const table = formatTable(['metric', 'value'], [
      ['append', '1,000/s'],
      ['readAll', '100,000/s'],
    ]);
    expect(table.split('\n')).toEqual([
      'metric       value',
      '-------  ---------',
      'append     1,000/s',
      'readAll  100,000/s',
    ]);
  });

  it('follows the given alignment, pads short rows and trims trailing spaces', () => {
    const table = formatTable(['a', 'b', 'c'], [['x', '1'], ['yy', '22', 'PASS']], { align: ['left', 'right', 'left'] });
    expect(table.split('\n')).toEqual(['a    b  c', '--  --  ----', 'x    1', 'yy  22  PASS']);
  });

  it('counts code points, so non-ASCII cells stay aligned', () => {
    const table = formatTable(['k', 'v'], [['≥', '1'], ['ab', '2']]);
    expect(table.split('\n')).toEqual(['k   v', '--  -', '≥   1', 'ab  2']);
  });

  it('copes with no rows and with no columns', () => {
    expect(formatTable(['only'], [])).toBe('only\n----');
    expect(formatTable([], [])).toBe('');
  });
});
