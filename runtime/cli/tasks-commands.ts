/**
 * `ledgerclaw tasks list | add | pause | resume | cancel | deliver | runs`: scheduled tasks as an
 * operator manages them.
 *
 * - `list` and `runs` read the tasks read model (and a fired run's stream for its tokens
 *   and cost); they take no lock.
 * - `add`, `pause`, `resume`, `cancel` and `deliver` are commands to the task actor, which decides:
 *   through the running runtime's control socket when it runs, else through an actor host
 *   in this process that holds the data directory meanwhile (runtime/control/actor-commands.ts).
 *   A refusal is the actor's reason, exit 1; a refusal about a flag's value names the flag, exit 2.
 */
import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import type { Command as ActorCommand } from '../../actors/actor-kind.js';
import { taskDeliverSchema, taskNoteSchema, type TaskDeliver } from '../../events/catalogue/task.js';
import type { SqliteConnection } from '../../events/adapters/sqlite/connection.js';
import { openReadModel } from '../../projections/read-model-files.js';
import { getTask, listTasks, taskFires, type TaskFire, type TaskSummary } from '../../projections/tasks-queries.js';
import { TASKS_PROJECTION } from '../../projections/tasks.js';
import { RuntimeUnreachableError, type ActorCommands } from '../control/actor-commands.js';
import { withActorCommands as withActorCommandsSession } from './actor-commands-session.js';
import { ControlRequestError } from '../control/client.js';
import type { WireSendResult } from '../control/protocol.js';
import { budgetedTokens } from '../gateways/pricing.js';
import { DEFAULT_HEARTBEAT_EVERY_MS, heartbeatScheduleCommand, heartbeatTaskId, liveHeartbeats } from '../scheduler/heartbeat-task.js';
import { describeSchedule, promptExcerpt } from '../gateways/host-tools/tasks.js';
import { action, loadCommandConfig, type CommandContext } from './command-context.js';
import { formatDuration } from './durations.js';
import { CommandFailedError, ExitCode, UsageError } from './exit-codes.js';
import { formatTable, toJsonLine } from './format.js';
import { withReader } from './reader.js';
import {
  flagsInReason,
  flagValue,
  parseAt,
  parseCatchUp,
  parseContextMode,
  parseCron,
  parseDeliver,
  parseEvery,
  parseGateCommand,
  parseGateTimeout,
  parseGroupId,
  parseMaxFailures,
  parsePrompt,
  parseTimezone,
  scheduleCommandOf,
  type AddTaskOptions,
} from './task-options.js';

const TASK_KIND = 'task';
const DEFAULT_RUNS_LIMIT = 20;

/** A task id as given (with or without the stream's `task-` prefix). */
const taskIdArgument = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'expected a task id such as t-1a2b3c4d5e6f (printable, no spaces)')
  .transform((value) => (value.startsWith('task-') && value.length > 'task-'.length ? value.slice('task-'.length) : value));

const parseTaskId = (value: string): string => {
  const parsed = taskIdArgument.safeParse(value);
  if (!parsed.success) throw new UsageError(`task id '${value}': ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
};
const parseReason = flagValue(z.string().pipe(taskNoteSchema));
const parseDeliverArgument = (value: string): TaskDeliver => {
  const parsed = taskDeliverSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`where '${value}': expected group or silent`);
  return parsed.data;
};
const parseLimit = flagValue(
  z
    .string()
    .regex(/^[0-9]+$/, 'expected a whole number from 1 to 1000')
    .transform(Number)
    .pipe(z.number().int().min(1).max(1_000)),
);

export function registerTasksCommands(program: Command, context: CommandContext): void {
  const tasks = program.command('tasks').description('scheduled tasks: list, add, pause, resume, cancel, and what each due time did');
  tasks
    .command('list')
    .description('every task: group, status, schedule, where its answer goes, next due time, last result')
    .addOption(new Option('--group <id>', "only this group's tasks").argParser(parseGroupId))
    .option('--json', 'one JSON object a task')
    .action(action(context, (options: { group?: string; json?: boolean }, command: Command) => list(context, command, options)));
  tasks
    .command('add')
    .description('schedule a task for a group (prints its id); through the running runtime, or with it stopped')
    .addOption(new Option('--group <id>', 'the group the task runs for, such as T1.C1').argParser(parseGroupId).makeOptionMandatory())
    .addOption(new Option('--prompt <text>', 'what each run asks the assistant to do').argParser(parsePrompt).makeOptionMandatory())
    .addOption(new Option('--cron <expr>', "a cron expression of five or six fields, such as '0 9 * * 1-5'").argParser(parseCron))
    .addOption(new Option('--tz <zone>', 'with --cron: the IANA zone it is read in (default UTC)').argParser(parseTimezone))
    .addOption(new Option('--every <duration>', 'an interval such as 90s, 15m, 2h or 1h30m').argParser(parseEvery))
    .addOption(new Option('--at <time>', 'once, at an ISO 8601 time with its zone, such as 2026-03-01T09:00:00Z').argParser(parseAt))
    .addOption(new Option('--context <mode>', "group (default): the run sees the group's conversation and memory; isolated: a fresh session").argParser(parseContextMode))
    .addOption(new Option('--catch-up <policy>', 'due times missed while the runtime was down: fire_once (default) or skip').argParser(parseCatchUp))
    .addOption(new Option('--deliver <where>', "each run's final answer: group (default, posted in the group once) or silent (kept on the run)").argParser(parseDeliver))
    .addOption(new Option('--max-failures <n>', 'failed runs in a row that suspend the task (default 3)').argParser(parseMaxFailures))
    .addOption(new Option('--gate-script <cmd>', "wake gate: a shell command run in the group's sandbox first; it prints {\"wake\": true|false}").argParser(parseGateCommand))
    .addOption(new Option('--gate-timeout <duration>', 'with --gate-script: how long it may run (default 30s)').argParser(parseGateTimeout))
    .addOption(new Option('--gate-new-messages <groupId>', 'wake gate: run only if this group received a message since the last fire').argParser(parseGroupId))
    .option('--gate-heartbeat', "wake gate: run only if the group's HEARTBEAT.md holds actionable items")
    .action(action(context, (options: AddTaskOptions, command: Command) => add(context, command, options)));
  tasks
    .command('pause')
    .description('pause a task: it does not fire until resumed (a run under way finishes)')
    .argument('<id>', 'the task id', parseTaskId)
    .addOption(new Option('--reason <text>', 'why, kept with the task').argParser(parseReason))
    .action(action(context, (taskId: string, options: { reason?: string }, command: Command) => control(context, command, taskId, pauseOrCancel('pause', options.reason))));
  tasks
    .command('resume')
    .description('resume a paused task, or one suspended after failed runs')
    .argument('<id>', 'the task id', parseTaskId)
    .action(action(context, (taskId: string, _options: object, command: Command) => control(context, command, taskId, { type: 'resume' })));
  tasks
    .command('cancel')
    .description('cancel a task for good')
    .argument('<id>', 'the task id', parseTaskId)
    .addOption(new Option('--reason <text>', 'why, kept with the task').argParser(parseReason))
    .action(action(context, (taskId: string, options: { reason?: string }, command: Command) => control(context, command, taskId, pauseOrCancel('cancel', options.reason))));
  tasks
    .command('deliver')
    .description("where the task's final answers go from now on: group (posted in the group) or silent (kept on the run)")
    .argument('<id>', 'the task id', parseTaskId)
    .argument('<where>', 'group or silent', parseDeliverArgument)
    .action(
      action(context, (taskId: string, deliver: 'group' | 'silent', _options: object, command: Command) =>
        control(context, command, taskId, { type: 'setDeliver', deliver }, `set to deliver ${deliver}`),
      ),
    );
  tasks
    .command('runs')
    .description("a task's due times, newest first: fired or skipped and why, the run, its outcome, duration, tokens and cost")
    .argument('<id>', 'the task id', parseTaskId)
    .addOption(new Option('--limit <n>', `most due times shown (default ${DEFAULT_RUNS_LIMIT})`).argParser(parseLimit))
    .option('--json', 'one JSON object a due time')
    .action(action(context, (taskId: string, options: { limit?: number; json?: boolean }, command: Command) => runs(context, command, taskId, options)));
  registerHeartbeatCommand(tasks, context);
}

function registerHeartbeatCommand(tasks: Command, context: CommandContext): void {
  tasks
    .command('heartbeat')
    .description("turn a group's heartbeat on or off: a task that wakes the agent only when the group's HEARTBEAT.md has open items")
    .argument('<group>', 'the group, such as T1.C1', parseGroupId)
    .addOption(new Option('--every <duration>', `how often HEARTBEAT.md is read (default ${formatDuration(DEFAULT_HEARTBEAT_EVERY_MS)})`).argParser(parseEvery))
    .option('--off', "turn the group's heartbeat off (its task is cancelled)")
    .action(
      action(context, (groupId: string, options: { every?: number; off?: boolean }, command: Command) =>
        heartbeat(context, command, groupId, { everyMs: options.every ?? DEFAULT_HEARTBEAT_EVERY_MS, off: options.off === true, everyGiven: options.every !== undefined }),
      ),
    );
}

async function heartbeat(context: CommandContext, command: Command, groupId: string, options: { everyMs: number; off: boolean; everyGiven: boolean }): Promise<ExitCode> {
  if (options.off && options.everyGiven) throw new UsageError('--every and --off: give one or the other');
  const { io } = context;
  // The group's heartbeat tasks, from the tasks read model (none yet in a data directory that never ran).
  const { config } = loadCommandConfig(command, io);
  const db = await openReadModel(config.dataDir, TASKS_PROJECTION);
  const groupTasks = db ? await listTasks(db, { groupId }).finally(() => db.close()) : [];
  const live = liveHeartbeats(groupTasks, groupId);
  const existing = await withActorCommands(context, command, async (commands) => {
    const same = live.find((task) => task.schedule.kind === 'interval' && task.schedule.everyMs === options.everyMs);
    if (!options.off && same && live.length === 1) return { kept: same.taskId, cancelled: [] as string[], scheduled: null };
    const cancelled: string[] = [];
    for (const task of live) {
      const result = await commands.send(TASK_KIND, task.taskId, { type: 'cancel', reason: options.off ? 'heartbeat turned off' : 'heartbeat replaced' });
      if (result.status === 'rejected') throw refusal(task.taskId, 'cancelled', result);
      cancelled.push(task.taskId);
    }
    if (options.off) return { kept: null, cancelled, scheduled: null };
    const taskId = heartbeatTaskId(groupId, Date.now());
    const result = await commands.send(TASK_KIND, taskId, heartbeatScheduleCommand(groupId, options.everyMs));
    if (result.status === 'rejected') throw new CommandFailedError(`heartbeat not scheduled: ${result.reason}`);
    return { kept: null, cancelled, scheduled: taskId };
  });
  if (existing.kept !== null) io.stdout.write(`the heartbeat of ${groupId} is already on, every ${formatDuration(options.everyMs)} (task ${existing.kept})\n`);
  else if (existing.scheduled !== null) io.stdout.write(`the heartbeat of ${groupId} is on, every ${formatDuration(options.everyMs)} (task ${existing.scheduled})\n`);
  else if (existing.cancelled.length > 0) io.stdout.write(`the heartbeat of ${groupId} is off (cancelled ${existing.cancelled.join(', ')})\n`);
  else io.stdout.write(`the heartbeat of ${groupId} was not on\n`);
  return ExitCode.ok;
}

function pauseOrCancel(type: 'pause' | 'cancel', reason: string | undefined): ActorCommand {
  return { type, ...(reason !== undefined ? { reason } : {}) };
}

// ---- writes: commands to the task actor -------------------------------------------------

const DONE: Record<string, string> = { pause: 'paused', resume: 'resumed', cancel: 'cancelled', schedule: 'scheduled' };

function withActorCommands<T>(context: CommandContext, command: Command, use: (commands: ActorCommands) => Promise<T>): Promise<T> {
  const readModels = context.readModels.filter((projection) => projection.name === TASKS_PROJECTION);
  return withActorCommandsSession(context, command, { group: 'tasks', readModels, explain: asCommandError }, use);
}

function asCommandError(error: unknown): unknown {
  if (error instanceof RuntimeUnreachableError) return new CommandFailedError(error.message);
  if (error instanceof ControlRequestError) return error.code === 'invalid_command' ? new UsageError(error.message) : new CommandFailedError(`the runtime refused the request: ${error.message}`);
  return error;
}

/** A task that was never scheduled is `unscheduled`: the actor's reason then says so in its words. */
function refusal(taskId: string, done: string, result: Extract<WireSendResult, { status: 'rejected' }>): CommandFailedError {
  if (result.state === 'unscheduled') return new CommandFailedError(`no task ${taskId}: \`ledgerclaw tasks list\` shows the tasks`);
  return new CommandFailedError(`task ${taskId} was not ${done}: ${result.reason}`);
}

async function control(context: CommandContext, command: Command, taskId: string, taskCommand: ActorCommand, doneText?: string): Promise<ExitCode> {
  const done = doneText ?? DONE[taskCommand.type] ?? taskCommand.type;
  const result = await withActorCommands(context, command, (commands) => commands.send(TASK_KIND, taskId, taskCommand));
  if (result.status === 'rejected') throw refusal(taskId, done, result);
  context.io.stdout.write(`task ${taskId} ${done}${result.duplicate ? ' (earlier)' : ''}; it is now ${result.state}\n`);
  return ExitCode.ok;
}

/** `t-` and 12 hex digits, as schedule_task names an agent's tasks. */
function newTaskId(): string {
  return `t-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

async function add(context: CommandContext, command: Command, options: AddTaskOptions): Promise<ExitCode> {
  const schedule = scheduleCommandOf(options);
  const taskId = newTaskId();
  const result = await withActorCommands(context, command, (commands) => commands.send(TASK_KIND, taskId, schedule));
  if (result.status === 'rejected') {
    // A reason about a field is about the flag it came from: a usage error.
    const aboutFlags = flagsInReason(result.reason);
    if (aboutFlags !== null) throw new UsageError(`not scheduled: ${aboutFlags}`);
    throw new CommandFailedError(`not scheduled: ${result.reason}`);
  }
  context.io.stdout.write(`${taskId}\n`);
  return ExitCode.ok;
}

// ---- reads: the tasks read model ----------------------------------------------------------

async function withTasksReadModel<T>(context: CommandContext, command: Command, use: (db: SqliteConnection) => Promise<T>): Promise<T> {
  const { config } = loadCommandConfig(command, context.io);
  const db = await openReadModel(config.dataDir, TASKS_PROJECTION);
  if (!db) throw new CommandFailedError(`the tasks read model is not built yet in ${config.dataDir}; \`ledgerclaw start\` builds it`);
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

/** `2026-01-05T10:00:00Z`: stored times without the milliseconds nobody schedules by. */
function timeText(time: string | null): string {
  return time === null ? '-' : time.replace(/\.000Z$/, 'Z');
}

function lastResult(task: TaskSummary): string {
  const fire = task.lastFire;
  if (fire === null) return '-';
  if (fire.decision === 'skipped') return `skipped ${timeText(fire.dueAt)} (${skipText(fire)})`;
  if (fire.outcome === null) return `fired ${timeText(fire.dueAt)}, running`;
  return `${fire.outcome} ${timeText(fire.dueAt)}`;
}

function skipText(fire: TaskFire): string {
  const missed = fire.missedCount !== null && fire.missedCount > 1 ? `, ${fire.missedCount} due times` : '';
  return `${fire.reason ?? 'skipped'}${missed}${fire.detail !== null ? `: ${fire.detail}` : ''}`;
}

async function list(context: CommandContext, command: Command, options: { group?: string; json?: boolean }): Promise<ExitCode> {
  const { io } = context;
  const tasks = await withTasksReadModel(context, command, (db) => listTasks(db, options.group !== undefined ? { groupId: options.group } : {}));
  if (options.json) {
    for (const task of tasks) io.stdout.write(toJsonLine(task));
    return ExitCode.ok;
  }
  if (tasks.length === 0) {
    io.stdout.write(options.group !== undefined ? `no tasks for group ${options.group}\n` : 'no tasks\n');
    return ExitCode.ok;
  }
  io.stdout.write(
    formatTable(
      ['ID', 'GROUP', 'STATUS', 'SCHEDULE', 'DELIVER', 'NEXT DUE', 'LAST RESULT', 'PROMPT'],
      tasks.map((task) => [
        task.taskId,
        task.groupId,
        task.status,
        describeSchedule(task.schedule),
        task.deliver,
        timeText(task.nextDueAt),
        lastResult(task),
        JSON.stringify(promptExcerpt(task.prompt, 40)),
      ]),
    ),
  );
  return ExitCode.ok;
}

/** What a fired run spent, from its stream's model calls; cost null when a model had no known price. */
interface RunUsage {
  readonly tokens: number;
  readonly costUsd: number | null;
}

const modelCalled = z.object({
  tokens: z.object({ input: z.number(), output: z.number(), cacheRead: z.number(), cacheWrite: z.number() }),
  costUsd: z.number().nullable(),
});

async function usageOf(context: CommandContext, command: Command, runIds: readonly string[]): Promise<Map<string, RunUsage>> {
  const { config } = loadCommandConfig(command, context.io);
  return withReader(
    config,
    async (opened) => {
      const usage = new Map<string, RunUsage>();
      if (!opened) return usage;
      for (const runId of runIds) {
        let tokens = 0;
        let costUsd: number | null = 0;
        for (const event of await opened.store.readStream(`run-${runId}`)) {
          if (event.type !== 'run.model_called') continue;
          const call = modelCalled.parse(event.data);
          tokens += budgetedTokens(call.tokens);
          costUsd = call.costUsd === null || costUsd === null ? null : costUsd + call.costUsd;
        }
        usage.set(runId, { tokens, costUsd });
      }
      return usage;
    },
    { catalogue: context.actors.catalogue },
  );
}

async function runs(context: CommandContext, command: Command, taskId: string, options: { limit?: number; json?: boolean }): Promise<ExitCode> {
  const { io } = context;
  const { task, fires } = await withTasksReadModel(context, command, async (db) => ({
    task: await getTask(db, taskId),
    fires: await taskFires(db, taskId, { limit: options.limit ?? DEFAULT_RUNS_LIMIT }),
  }));
  if (!task) throw new CommandFailedError(`no task ${taskId} in the tasks read model: \`ledgerclaw tasks list\` shows the tasks`);
  const usage = await usageOf(context, command, fires.flatMap((fire) => (fire.runId !== null ? [fire.runId] : [])));
  const rows = fires.map((fire) => {
    const spent = fire.runId !== null ? usage.get(fire.runId) : undefined;
    const durationMs = fire.finishedAt !== null ? Date.parse(fire.finishedAt) - Date.parse(fire.decidedAt) : null;
    return { ...fire, durationMs, tokens: spent?.tokens ?? null, costUsd: spent === undefined ? null : spent.costUsd };
  });
  if (options.json) {
    for (const row of rows) io.stdout.write(toJsonLine({ taskId, ...row }));
    return ExitCode.ok;
  }
  io.stdout.write(`task ${taskId} (${task.status}, ${describeSchedule(task.schedule)}, group ${task.groupId}, deliver ${task.deliver})\n`);
  if (rows.length === 0) {
    io.stdout.write('no due time decided yet\n');
    return ExitCode.ok;
  }
  io.stdout.write(
    formatTable(
      ['DUE', 'DECISION', 'RUN', 'OUTCOME', 'DURATION', 'TOKENS', 'COST'],
      rows.map((row) => [
        timeText(row.dueAt),
        row.decision === 'skipped' ? `skipped (${skipText(row)})` : `fired${row.missedCount !== null ? ' late' : ''}${row.detail !== null ? ` (${row.detail})` : ''}`,
        row.runId ?? '-',
        row.decision === 'skipped' ? '-' : (row.outcome ?? 'running') + (row.runDetail !== null ? `: ${row.runDetail}` : ''),
        row.durationMs === null ? '-' : formatDuration(row.durationMs),
        row.tokens === null ? '-' : String(row.tokens),
        row.decision === 'skipped' ? '-' : row.costUsd === null ? 'unknown' : `$${row.costUsd.toFixed(4)}`,
      ]),
    ),
  );
  return ExitCode.ok;
}
