/**
 * The writer lock across real processes: the built lock module (dist/) runs in children,
 * so "another process" is a real one with its own pid.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DataDirectoryInUseError, type DataDirLock } from '../../runtime/data-dir-lock.js';
import { builtFile } from '../support/built-dist.js';
import { killLeftoverProcesses, startProcess } from '../support/child-process.js';

let dataDir: string;
let lockPath: string;
const held: DataDirLock[] = [];

/**
 * A child that takes the lock once `startAt` (epoch ms) has passed, prints `acquired <pid>`
 * or `refused: <message>`, and holds a taken lock until SIGTERM (or exits at once with
 * `exit-without-release`).
 */
const LOCKER_SCRIPT = `
const [moduleUrl, dataDir, startAt, mode] = process.argv.slice(1);
const { acquireDataDirLock } = await import(moduleUrl);
while (Date.now() < Number(startAt)) await new Promise((resolve) => setTimeout(resolve, 1));
try {
  const lock = await acquireDataDirLock(dataDir, { command: 'test locker' });
  console.log('acquired ' + process.pid);
  if (mode === 'exit-without-release') process.exit(0);
  process.on('SIGTERM', () => { lock.release(); process.exit(0); });
  setInterval(() => {}, 1 << 30);
} catch (error) {
  console.log('refused: ' + error.message);
  process.exitCode = 3;
}
`;

function startLocker(options: { startAt?: number; mode?: 'hold' | 'exit-without-release' } = {}) {
  const moduleUrl = pathToFileURL(builtFile('runtime/data-dir-lock.js')).href;
  return startProcess(process.execPath, [
    '--input-type=module',
    '-e',
    LOCKER_SCRIPT,
    moduleUrl,
    dataDir,
    String(options.startAt ?? 0),
    options.mode ?? 'hold',
  ]);
}

/** A pid that belonged to a process which has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = startProcess(process.execPath, ['-e', '']);
  await child.exited;
  return child.pid;
}

function writeLockFile(holder: { pid: number; hostname?: string; startedAt?: string }): string {
  const text = JSON.stringify({ hostname: hostname(), startedAt: '2020-01-01T00:00:00.000Z', command: 'ledgerclaw start', ...holder });
  writeFileSync(lockPath, text);
  return text;
}

async function acquire(): Promise<DataDirLock> {
  const lock = await acquireDataDirLock(dataDir, { command: 'vitest' });
  held.push(lock);
  return lock;
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'ledgerclaw-lock-'));
  lockPath = join(dataDir, 'writer.lock');
});

afterEach(async () => {
  for (const lock of held.splice(0)) lock.release();
  await killLeftoverProcesses();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('one writer a data directory', () => {
  it('refuses a second writer in this process while another process holds the lock', async () => {
    const holder = startLocker();
    await holder.waitForOutput(`acquired ${holder.pid}`);
    const error = await acquire().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DataDirectoryInUseError);
    expect((error as Error).message).toMatch(
      new RegExp(`^data directory ${dataDir} in use by pid ${holder.pid} \\(since \\d{4}-\\d\\d-\\d\\dT[^)]+\\)`),
    );
    expect((error as DataDirectoryInUseError).holder).toMatchObject({ pid: holder.pid, command: 'test locker' });
  });

  it('refuses a second writer in another process while this one holds the lock', async () => {
    const lock = await acquire();
    const contender = startLocker();
    const exit = await contender.exited;
    expect(exit.code).toBe(3);
    expect(contender.stdout()).toContain(`refused: data directory ${dataDir} in use by pid ${process.pid} (since ${lock.holder.startedAt})`);
  });

  it('writes who holds it into the lock file', async () => {
    const lock = await acquire();
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toEqual({
      pid: process.pid,
      hostname: hostname(),
      startedAt: lock.holder.startedAt,
      command: 'vitest',
    });
  });
});

describe('stale locks', () => {
  it('takes over a lock whose process is dead', async () => {
    writeLockFile({ pid: await deadPid() });
    const lock = await acquire();
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, startedAt: lock.holder.startedAt });
  });

  it('lets exactly one of several racing processes take over a stale lock', async () => {
    writeLockFile({ pid: await deadPid() });
    const startAt = Date.now() + 1_500;
    const racers = Array.from({ length: 5 }, () => startLocker({ startAt }));
    // Each racer either holds the lock (and keeps running) or has been refused (and exited).
    await Promise.all(racers.map((racer) => racer.waitForOutput(/acquired|refused/)));
    const winners = racers.filter((racer) => racer.stdout().startsWith('acquired'));
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    for (const racer of racers.filter((candidate) => candidate !== winner)) {
      expect(racer.stdout()).toContain(`in use by pid ${winner.pid}`);
    }
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: winner.pid });
  });

  it('takes over a lock naming our own pid that this process does not hold (a reused pid)', async () => {
    writeLockFile({ pid: process.pid });
    const lock = await acquire();
    expect(lock.holder.pid).toBe(process.pid);
  });

  it('takes over an unreadable lock file once it is old, and not while it is fresh', async () => {
    writeFileSync(lockPath, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPath, old, old);
    await acquire();
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('respects a lock held on another host, which cannot be checked from here', async () => {
    writeLockFile({ pid: await deadPid(), hostname: 'some-other-host' });
    await expect(acquire()).rejects.toThrow(/in use by pid \d+ on host some-other-host/);
  });

  it('is released when the holder exits without releasing it', async () => {
    const holder = startLocker({ mode: 'exit-without-release' });
    await holder.waitForOutput('acquired');
    await holder.exited;
    expect(existsSync(lockPath)).toBe(false);
  });
});

describe('release', () => {
  it('removes our lock and lets the next writer in', async () => {
    const lock = await acquire();
    lock.release();
    expect(existsSync(lockPath)).toBe(false);
    await acquire();
  });

  it('removes only a lock that is still ours', async () => {
    const lock = await acquire();
    // Someone deleted our lock by hand and another writer took the directory.
    const theirs = writeLockFile({ pid: 4_000_000 });
    lock.release();
    expect(readFileSync(lockPath, 'utf8')).toBe(theirs);
    lock.release();
    expect(readFileSync(lockPath, 'utf8')).toBe(theirs);
  });

  it('lets another process take the lock once this process releases it (this process, still alive, no longer holds it)', async () => {
    const lock = await acquire();
    const whileHeld = startLocker();
    expect((await whileHeld.exited).code).toBe(3);
    lock.release();
    const next = startLocker();
    await next.waitForOutput(/acquired|refused/);
    expect(next.stdout()).toBe(`acquired ${next.pid}\n`);
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: next.pid, command: 'test locker' });
  });

  it("treats a lock file naming this process as stale once this process has released its own lock (a restarted container's pid)", async () => {
    const lock = await acquire();
    lock.release();
    writeLockFile({ pid: process.pid });
    const again = await acquire();
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, startedAt: again.holder.startedAt });
  });
});
