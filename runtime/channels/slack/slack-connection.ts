/**
 * Slack as the runtime opens it: the tokens and the app's identity checked before anything
 * is written (a token Slack refuses stops the start), then the app itself, with its
 * approval and memory-conflict buttons and slash commands, once the actor host it feeds is open.
 */
import type { ActorHost } from '../../actor-host/actor-host.js';
import { SUPERVISOR_ID } from '../../../actors/supervisor.js';
import type { Config } from '../../config.js';
import { ReadModelReaders } from '../../gateways/host-tools/read-model-readers.js';
import type { Logger } from '../../logger.js';
import type { AgentRuns } from '../../runs/agent-runs.js';
import { sandboxLine } from '../../sandbox/sandbox-line.js';
import { ledgerclawVersion } from '../../version.js';
import { approvalButtons } from './approval-buttons.js';
import { conflictButtons } from './conflict-buttons.js';
import { InteractionRouter } from './interactions.js';
import { checkSlackAuth, openSlackApp, type RunningSlackApp, type SlackBot } from './slack-app.js';
import type { SlackTokens } from './slack-tokens.js';
import { statusText } from './status-text.js';

export interface OpenedSlack {
  readonly app: RunningSlackApp;
  close(): Promise<void>;
}

export interface SlackConnection {
  readonly tokens: SlackTokens;
  readonly bot: SlackBot;
}

export async function checkSlack(config: Config, tokens: SlackTokens, logger: Logger): Promise<SlackBot> {
  try {
    return await checkSlackAuth(config, tokens, logger);
  } catch (error) {
    throw new Error(`Slack did not connect: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The Slack app, for the tokens and identity checked before the start was recorded. */
export interface SlackAppSources {
  readonly config: Config;
  readonly host: ActorHost;
  readonly runs: AgentRuns;
  readonly logger: Logger;
  readonly startedAt: number;
  readonly schedulerOn: boolean;
}

export async function openSlack(slack: SlackConnection, options: SlackAppSources): Promise<OpenedSlack> {
  const { config, host, runs, logger } = options;
  const readModels = new ReadModelReaders(config.dataDir);
  const interactions = new InteractionRouter();
  interactions.register(approvalButtons(host));
  interactions.register(conflictButtons(host));
  try {
    const app = await openSlackApp({
      config,
      tokens: slack.tokens,
      bot: slack.bot,
      actors: host,
      readModels,
      interactions,
      logger,
      slash: {
        callTool: (name, input, context) => runs.tools.call(name, input, context),
        groupSettings: async (groupId) => ({ isAdmin: (await host.load('group', groupId)).snapshot.context.settings?.isAdmin ?? false }),
        status: async (groupId) =>
          statusText({
            version: ledgerclawVersion(),
            startedAt: options.startedAt,
            now: Date.now(),
            sandbox: sandboxLine(runs.sandbox),
            scheduler: options.schedulerOn ? 'on' : 'off (scheduler.enabled = false)',
            supervisor: (await host.load('supervisor', SUPERVISOR_ID)).snapshot.context,
            group: (await host.load('group', groupId)).snapshot.context,
          }),
      },
    });
    return {
      app,
      close: async () => {
        await app.stop();
        await readModels.close();
      },
    };
  } catch (error) {
    await readModels.close();
    throw new Error(`Slack did not connect: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
