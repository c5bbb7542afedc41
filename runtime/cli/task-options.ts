/**
 * `tasks add`'s flags, checked and turned into the task actor's `schedule` command. Each
 * value is checked by the catalogue's own schema when commander reads it (a bad one names
 * its flag, exit 2); how the flags combine is checked here; what a cron expression, a time
 * zone or a time means is the task actor's to decide, and its refusal is reworded to name
 * the flag (see `flagsInReason`).
 */
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import {
  maxConsecutiveFailuresSchema,
  taskCatchUpSchema,
  taskContextModeSchema,
  taskDeliverSchema,
  taskGateSchema,
  taskGroupIdSchema,
  taskPromptSchema,
  taskScheduleSchema,
  type TaskCatchUp,
  type TaskContextMode,
  type TaskDeliver,
  type TaskGate,
  type TaskSchedule,
} from '../../events/catalogue/task.js';
import { durationSchema } from './durations.js';
import { UsageError } from './exit-codes.js';

/** A commander argParser from a zod schema: a refusal becomes commander's, naming the flag. */
export function flagValue<T>(schema: z.ZodType<T, string>): (value: string) => T {
  return (value) => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? 'invalid value');
    return parsed.data;
  };
}

const [cronSchedule, intervalSchedule, onceSchedule] = taskScheduleSchema.options;
const [scriptGate] = taskGateSchema.options;

export const parseGroupId = flagValue(taskGroupIdSchema);
export const parsePrompt = flagValue(taskPromptSchema);
export const parseCron = flagValue(cronSchedule.shape.expression);
export const parseTimezone = flagValue(cronSchedule.shape.timezone);
export const parseEvery = flagValue(durationSchema.pipe(intervalSchedule.shape.everyMs));
/** An ISO 8601 time with a zone (`Z` or `+01:00`), kept as UTC. */
export const parseAt = flagValue(
  z.iso
    .datetime({ offset: true, message: 'expected an ISO 8601 time with its zone, such as 2026-03-01T09:00:00Z or 2026-03-01T10:00:00+01:00' })
    .transform((text) => new Date(text).toISOString())
    .pipe(onceSchedule.shape.at),
);
export const parseContextMode = flagValue(z.string().pipe(taskContextModeSchema));
export const parseCatchUp = flagValue(z.string().pipe(taskCatchUpSchema));
export const parseDeliver = flagValue(z.string().pipe(taskDeliverSchema));
export const parseMaxFailures = flagValue(
  z
    .string()
    .regex(/^[0-9]+$/, 'expected a whole number from 1 to 100')
    .transform(Number)
    .pipe(maxConsecutiveFailuresSchema),
);
export const parseGateCommand = flagValue(scriptGate.shape.command);
export const parseGateTimeout = flagValue(durationSchema.pipe(scriptGate.shape.timeoutMs));

/** How long a gate script may run unless `--gate-timeout` says otherwise. */
export const DEFAULT_GATE_TIMEOUT_MS = 30_000;

/** `tasks add`'s options as commander hands them over (each value already parsed). */
export interface AddTaskOptions {
  readonly group: string;
  readonly prompt: string;
  readonly cron?: string;
  readonly tz?: string;
  readonly every?: number;
  readonly at?: string;
  readonly context?: TaskContextMode;
  readonly catchUp?: TaskCatchUp;
  readonly deliver?: TaskDeliver;
  readonly maxFailures?: number;
  readonly gateScript?: string;
  readonly gateTimeout?: number;
  readonly gateNewMessages?: string;
  readonly gateHeartbeat?: boolean;
}

/** The task actor's `schedule` command. */
export interface ScheduleCommand {
  readonly type: 'schedule';
  readonly groupId: string;
  readonly prompt: string;
  readonly schedule: TaskSchedule;
  readonly contextMode: TaskContextMode;
  readonly catchUp?: TaskCatchUp;
  readonly deliver?: TaskDeliver;
  readonly gate?: TaskGate;
  readonly maxConsecutiveFailures?: number;
  readonly [field: string]: unknown;
}

function scheduleOf(options: AddTaskOptions): TaskSchedule {
  const given = [options.cron !== undefined && '--cron', options.every !== undefined && '--every', options.at !== undefined && '--at'].filter(
    (flag): flag is string => flag !== false,
  );
  if (given.length !== 1) {
    throw new UsageError(`say when the task runs with exactly one of --cron, --every or --at${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`);
  }
  if (options.tz !== undefined && options.cron === undefined) throw new UsageError('--tz goes with --cron: it is the zone the cron expression is read in');
  if (options.cron !== undefined) return { kind: 'cron', expression: options.cron, timezone: options.tz ?? 'UTC' };
  if (options.every !== undefined) return { kind: 'interval', everyMs: options.every };
  return { kind: 'once', at: options.at! };
}

function gateOf(options: AddTaskOptions): TaskGate | undefined {
  const given = [
    options.gateScript !== undefined && '--gate-script',
    options.gateNewMessages !== undefined && '--gate-new-messages',
    options.gateHeartbeat === true && '--gate-heartbeat',
  ].filter((flag): flag is string => flag !== false);
  if (given.length > 1) throw new UsageError(`a task has one wake gate: ${given.join(' and ')} cannot go together`);
  if (options.gateTimeout !== undefined && options.gateScript === undefined) throw new UsageError('--gate-timeout goes with --gate-script: it limits how long the script runs');
  if (options.gateScript !== undefined) return { kind: 'script', command: options.gateScript, timeoutMs: options.gateTimeout ?? DEFAULT_GATE_TIMEOUT_MS };
  if (options.gateNewMessages !== undefined) return { kind: 'new_messages', groupId: options.gateNewMessages };
  if (options.gateHeartbeat === true) return { kind: 'heartbeat' };
  return undefined;
}

/** The `schedule` command `tasks add` sends; a combination of flags that makes no sense is a UsageError. */
export function scheduleCommandOf(options: AddTaskOptions): ScheduleCommand {
  const schedule = scheduleOf(options);
  const gate = gateOf(options);
  return {
    type: 'schedule',
    groupId: options.group,
    prompt: options.prompt,
    schedule,
    contextMode: options.context ?? 'group',
    ...(options.catchUp !== undefined ? { catchUp: options.catchUp } : {}),
    ...(options.deliver !== undefined ? { deliver: options.deliver } : {}),
    ...(gate !== undefined ? { gate } : {}),
    ...(options.maxFailures !== undefined ? { maxConsecutiveFailures: options.maxFailures } : {}),
  };
}

/** The command fields the actor's reasons name, and the flag each came from. */
const FLAG_OF_FIELD: readonly (readonly [RegExp, string])[] = [
  [/\bschedule\.expression\b/g, '--cron'],
  [/\bschedule\.timezone\b/g, '--tz'],
  [/\bschedule\.everyMs\b/g, '--every'],
  [/\bschedule\.at\b/g, '--at'],
  [/\bgate\.timeoutMs\b/g, '--gate-timeout'],
  [/\bgate\.command\b/g, '--gate-script'],
  [/\bgate\.groupId\b/g, '--gate-new-messages'],
  [/\bmaxConsecutiveFailures\b/g, '--max-failures'],
  [/\bcontextMode\b/g, '--context'],
  [/\bcatchUp\b/g, '--catch-up'],
  [/\bdeliver\b/g, '--deliver'],
  [/\bgroupId\b/g, '--group'],
];

/** The actor's reason with the command's field names replaced by the flags they came from; null when it names none. */
export function flagsInReason(reason: string): string | null {
  let named = false;
  let text = reason;
  for (const [field, flag] of FLAG_OF_FIELD) {
    text = text.replace(field, () => {
      named = true;
      return flag;
    });
  }
  return named ? text : null;
}
