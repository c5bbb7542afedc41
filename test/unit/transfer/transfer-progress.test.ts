/** The transfer commands' progress bar: drawn on a terminal, nothing at all otherwise. */
import { describe, expect, it } from 'vitest';
import { transferProgress } from '../../../runtime/cli/transfer-progress.js';

function capture(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, columns: 80, write: (text: string) => written.push(text) }, written };
}

describe('transferProgress', () => {
  it('writes nothing when stderr is not a terminal', () => {
    const { stream, written } = capture(false);
    const progress = transferProgress(stream);
    progress.phase('copying', 10);
    progress.update(5);
    progress.stop();
    expect(written).toEqual([]);
  });

  it('draws a labelled bar on a terminal and clears it when done', () => {
    const { stream, written } = capture(true);
    const progress = transferProgress(stream);
    progress.phase('copying', 10);
    progress.update(10);
    progress.stop();
    const text = written.join('');
    expect(text).toContain('copying |');
    expect(text).toContain('100%');
  });
});
