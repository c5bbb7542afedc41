/**
 * The runtime's own lifecycle, on the `runtime` stream: when a process took over a data
 * directory, how the previous one ended, and when it let go. An operator reading an
 * audit trail can tell a clean restart from a crash.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';

export const runtimeStarted = defineEvent(
  'runtime.started',
  1,
  z
    .object({
      pid: z.number().int().positive(),
      hostname: z.string().min(1),
      ledgerclawVersion: z.string().min(1),
      nodeVersion: z.string().min(1),
      eventStore: z.enum(['sqlite', 'memory', 'eventstoredb']),
      /** How the process before this one ended, judged from the stream's last event. */
      previousShutdown: z.enum(['first_start', 'clean', 'unclean']),
    })
    .strict(),
);

export const runtimeStopped = defineEvent(
  'runtime.stopped',
  1,
  z
    .object({
      pid: z.number().int().positive(),
      reason: z.enum(['signal', 'requested', 'error']),
      signal: z.string().optional(),
      uptimeMs: z.number().int().nonnegative(),
    })
    .strict(),
);

export const RUNTIME_STREAM = 'runtime';
