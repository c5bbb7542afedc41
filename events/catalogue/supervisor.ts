/**
 * The supervisor, on the single stream `supervisor`: the concurrency limits, the runs
 * waiting for a slot (in the order they asked), the runs holding one, and each hand-over.
 * A run is queued, then dispatched (it holds a slot), then released.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';

/** A run or group id: it can sit in a stream name; printable ASCII, no spaces. */
export const supervisorIdentifierSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII with no spaces');

const timestamp = z.iso.datetime();

/** A concurrency limit. */
export const supervisorLimitSchema = z.number().int().min(1).max(10_000);

export const supervisorConfigured = defineEvent(
  'supervisor.configured',
  1,
  z
    .object({
      /** Runs holding a slot at once, over every group. */
      maxConcurrentRuns: supervisorLimitSchema,
      /** Runs holding a slot at once in one group. */
      maxRunsPerGroup: supervisorLimitSchema,
    })
    .strict(),
);

export const supervisorRunQueued = defineEvent(
  'supervisor.run_queued',
  1,
  z.object({ runId: supervisorIdentifierSchema, groupId: supervisorIdentifierSchema, queuedAt: timestamp }).strict(),
);

/** The run left the queue and holds a slot. */
export const supervisorRunDispatched = defineEvent(
  'supervisor.run_dispatched',
  1,
  z.object({ runId: supervisorIdentifierSchema, groupId: supervisorIdentifierSchema, dispatchedAt: timestamp }).strict(),
);

/** The run gave its slot back. */
export const supervisorRunReleased = defineEvent(
  'supervisor.run_released',
  1,
  z.object({ runId: supervisorIdentifierSchema, groupId: supervisorIdentifierSchema, releasedAt: timestamp }).strict(),
);

export const supervisorEvents = [supervisorConfigured, supervisorRunQueued, supervisorRunDispatched, supervisorRunReleased];
