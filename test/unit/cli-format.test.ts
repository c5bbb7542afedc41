import { describe, expect, it } from 'vitest';
import { formatTable, toJson } from '../../runtime/cli/format.js';

describe('formatTable', () => {
  it('aligns columns and does not pad the last one', () => {
    expect(formatTable(['STREAM', 'REVISION', 'LAST EVENT'], [['runtime', '12', 't1'], ['task-1234567', '0', 't2']])).toBe(
      'STREAM        REVISION  LAST EVENT\n' + 'runtime       12        t1\n' + 'task-1234567  0         t2\n',
    );
  });

  it('prints rows alone when there are no headers', () => {
    expect(formatTable(null, [['a', 'b']])).toBe('a  b\n');
  });
});

describe('toJson', () => {
  it('prints bigints as numbers', () => {
    expect(toJson({ revision: 3n, position: 9_007_199_254_740_991n, nested: [1n] })).toBe(
      '{"revision":3,"position":9007199254740991,"nested":[1]}',
    );
  });

  it('keeps a bigint beyond 2^53 exact, as a string', () => {
    expect(toJson({ position: 9_007_199_254_740_993n })).toBe('{"position":"9007199254740993"}');
  });
});
