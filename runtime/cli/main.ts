#!/usr/bin/env node
/**
 * The `ledgerclaw` executable. See ./program.ts for the commands.
 */
import { PRIVATE_UMASK } from '../data-dir-permissions.js';
import { processIo } from './io.js';
import { runCli } from './run.js';

// Before anything is opened: every file and directory a command creates in the data
// directory (the store, caches, memory files, workspaces) is its owner's alone.
process.umask(PRIVATE_UMASK);

const exitCode = await runCli(process.argv.slice(2), processIo());
process.exitCode = exitCode;
// Everything the commands opened is closed by now, so the process ends on its own; should
// some handle linger anyway, a finished CLI must not hang a script that waits for it.
setTimeout(() => process.exit(exitCode), 2_000).unref();
