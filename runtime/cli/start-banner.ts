/** The banner `ledgerclaw start` prints once the runtime runs: where everything is, and how to reach it. */
import { basename, join, relative } from 'node:path';
import { SNAPSHOTS_DB_FILE } from '../actor-runtime.js';
import type { Config } from '../config.js';
import { redactCredentials } from '../redaction.js';
import type { BannerFacts } from '../runtime-session.js';
import { sandboxLine } from '../sandbox/sandbox-line.js';
import type { PreviousShutdown } from '../start-stop-record.js';
import { ledgerclawVersion } from '../version.js';
import type { CliIo } from './io.js';

const PREVIOUS_SHUTDOWN_TEXT: Record<PreviousShutdown, string> = {
  first_start: 'none: this is the first start in this data directory',
  clean: 'stopped cleanly',
  unclean: 'did not stop cleanly (crashed or was killed); picking up from the stored events',
};

/** How to run the CLI again, as this process was run: the bin, or `node dist/…/main.js`. */
function cliInvocation(io: CliIo): string {
  const script = process.argv[1];
  if (script && basename(script) === 'main.js') return `node ${relative(io.cwd, script) || script}`;
  return 'ledgerclaw';
}

function schedulerLine(scheduler: BannerFacts['scheduler']): string {
  if (scheduler === 'off') return 'OFF (scheduler.enabled = false): tasks are recorded but never fire';
  if ('failed' in scheduler) return `NOT RUNNING: ${scheduler.failed}; tasks do not fire until a restart (see \`ledgerclaw projections list\`)`;
  return `${scheduler.armedTasks} active task${scheduler.armedTasks === 1 ? '' : 's'} on the clock`;
}

/**
 * Where the events are and what an acknowledged append survives. On EventStoreDB the
 * location is the connection string as the backend shows it (credentials taken out), and
 * the snapshots and read models, caches rebuilt from the store, stay in the data directory.
 */
export function eventStoreLines(backend: Config['eventStore']['backend'], facts: Pick<BannerFacts, 'eventStoreLocation' | 'durability'>): string[] {
  switch (backend) {
    case 'sqlite':
      return [`  event store       ${facts.eventStoreLocation} (sqlite)`, `  durability        synchronous=${facts.durability}`];
    case 'eventstoredb':
      return [
        `  event store       ${facts.eventStoreLocation} (eventstoredb; this runtime holds its lease; snapshots and read models are local caches in the data directory)`,
        `  durability        ${facts.durability === 'quorum' ? "quorum: an append is acknowledged once a majority of the cluster's nodes wrote it" : facts.durability}`,
      ];
  }
}

/** The banner with any credential in it (a password in `model.baseUrl`) redacted. */
export function banner(io: CliIo, config: Config, facts: BannerFacts): string {
  return redactCredentials(bannerText(io, config, facts));
}

function bannerText(io: CliIo, config: Config, facts: BannerFacts): string {
  const cli = cliInvocation(io);
  const kinds = facts.kinds.length === 0 ? 'no actor kinds registered yet' : `${facts.kinds.length} kinds (${facts.kinds.join(', ')})`;
  return [
    `ledgerclaw ${ledgerclawVersion()} started`,
    `  data directory    ${config.dataDir}`,
    ...eventStoreLines(config.eventStore.backend, facts),
    `  snapshots         ${join(config.dataDir, SNAPSHOTS_DB_FILE)}`,
    `  actors            ${kinds}; ${facts.resumedEffects} pending effect${facts.resumedEffects === 1 ? '' : 's'} resumed`,
    `  pid               ${process.pid}`,
    `  previous run      ${PREVIOUS_SHUTDOWN_TEXT[facts.previous]}`,
    `  runs              ${sandboxLine(facts.sandbox)}`,
    `  scheduler         ${schedulerLine(facts.scheduler)}`,
    `  model             ${facts.modelUnavailable === null ? `${config.agent.model} via ${config.model.baseUrl}` : `NOT CONFIGURED: ${facts.modelUnavailable}`}`,
    ...(facts.slack
      ? [
          `  slack             connected to team ${facts.slack.bot.teamId} as <@${facts.slack.bot.userId}> (${facts.slackMode === 'socket' ? 'Socket Mode' : `HTTP Events API at ${facts.slack.eventsUrl ?? '?'}`})`,
        ]
      : ['  channels          no Slack tokens (SLACK_BOT_TOKEN, SLACK_APP_TOKEN): talk to the assistant locally with:', `                    ${cli} chat --data ${config.dataDir}`]),
    ...(facts.inspector
      ? [
          `  inspector         ${facts.inspector.url}`,
          '',
          `Inspect the actors: open ${facts.inspector.url} in a browser. The page embeds the Stately inspector`,
          'UI from https://stately.ai/inspect, so the browser needs internet access (the runtime does not).',
          `The port listens on every network interface: whoever reaches it can read actor state.`,
        ]
      : []),
    '',
    `Watch events from another terminal: ${cli} events tail --follow --data ${config.dataDir}`,
    'Stop with Ctrl-C or SIGTERM.',
    '',
  ].join('\n');
}
