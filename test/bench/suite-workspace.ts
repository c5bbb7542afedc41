/**
 * What every benchmark suite shares: a target with its verdict, and a temporary working
 * directory that is removed afterwards, also when the run is interrupted with Ctrl-C.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Target {
  readonly name: string;
  readonly value: number;
  readonly threshold: number;
  readonly pass: boolean;
}

export const verdict = (pass: boolean): string => (pass ? 'PASS' : 'MISS');

export async function inBenchWorkspace<T>(prefix: string, parent: string | undefined, work: (root: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(parent ?? tmpdir(), prefix));
  const removeOnInterrupt = (): void => {
    rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', removeOnInterrupt);
  try {
    return await work(root);
  } finally {
    process.removeListener('SIGINT', removeOnInterrupt);
    await rm(root, { recursive: true, force: true });
  }
}
