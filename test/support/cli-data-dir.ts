/**
 * A fresh data directory for each test of a file that drives the built CLI against it: the
 * directory, its config (as the CLI would load it with `--data`), and `cli(...args)` running
 * `ledgerclaw <args> --data <dir>` with a clean environment.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { loadConfig, type Config } from '../../runtime/config.js';
import { builtFile } from './built-dist.js';
import { runProcess } from './child-process.js';
import { cliEnv } from './cli-env.js';

export interface CliDataDir {
  readonly dataDir: string;
  readonly config: Config;
  /** `ledgerclaw <args> --data <dataDir>`, from the data directory, logging warnings only. */
  cli(...args: string[]): ReturnType<typeof runProcess>;
}

/** Hands `use` a fresh data directory before each test (named `<prefix>…`), removed after it. */
export function freshCliDataDirPerTest(prefix: string, use: (dir: CliDataDir) => void): void {
  let dataDir: string | undefined;
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dataDir = dir;
    const cliPath = builtFile('runtime/cli/main.js');
    use({
      dataDir: dir,
      config: loadConfig({ flags: { data: dir }, env: {}, cwd: dir }).config,
      cli: (...args) => runProcess(process.execPath, [cliPath, ...args, '--data', dir], { cwd: dir, env: cliEnv({ LEDGERCLAW_LOG_LEVEL: 'warn' }) }),
    });
  });
  afterEach(() => {
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });
}
