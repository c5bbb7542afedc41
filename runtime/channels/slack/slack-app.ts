/**
 * The Slack channel, assembled: the real @slack/bolt app in Socket Mode (default; the
 * durable receiver acknowledges an event once it is recorded) or over the HTTP Events API
 * (Bolt's receiver verifies every request's signature and answers only after the event is
 * recorded, so a crash makes Slack retry), with:
 *
 * - messages, edits and deletions into group actors (slack-inbound.ts);
 * - replies, agent posts and the working-on-it reaction through the Web API (slack-channel.ts);
 * - `/ledgerclaw` (slash-command.ts), the App Home tab (app-home.ts) and buttons (interactions.ts).
 *
 * Who the bot is comes from `auth.test` at start, which also proves the token works.
 */
import { App, HTTPReceiver, LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { KnownBlock } from '@slack/types';
import { z } from 'zod';
import type { ActorHost, Logger } from '../../actor-host/actor-host.js';
import type { Config, SlackChannelSettings } from '../../config.js';
import type { ReadModelReaders } from '../../gateways/host-tools/read-model-readers.js';
import { homeView } from './app-home.js';
import { boltLogger } from './bolt-logger.js';
import { DurableSocketReceiver } from './durable-socket-receiver.js';
import type { GroupSettingsInput, InboundContext } from './inbound.js';
import type { InteractionRouter, InteractionResult } from './interactions.js';
import { appHomeOpenedEventSchema, blockActionsSchema, describeIssues, slashCommandSchema } from './payloads.js';
import { SlackChannel } from './slack-channel.js';
import { slackErrorCode } from './web-api-errors.js';
import { isDirectMessage } from './slack-ids.js';
import { SlackInbound } from './slack-inbound.js';
import type { SlackTokens } from './slack-tokens.js';
import { answerSlashCommand, SLASH_COMMAND, type SlashCommandServices } from './slash-command.js';

/** Slack wants an answer to a slash command within 3 s; past this, the answer follows through its response URL. */
const SLASH_ANSWER_WAIT_MS = 2_000;

const authTestSchema = z.looseObject({ team_id: z.string().min(1), user_id: z.string().min(1), bot_id: z.string().min(1).optional() });

/** Who the app is in its workspace, from `auth.test`. */
export interface SlackBot {
  readonly teamId: string;
  readonly userId: string;
  readonly botId: string | null;
}

export interface SlackAppOptions {
  readonly config: Config;
  readonly tokens: SlackTokens;
  /** Who the app is, when `checkSlackAuth` has asked already; asked at open otherwise. */
  readonly bot?: SlackBot;
  readonly actors: Pick<ActorHost, 'send' | 'load'>;
  readonly readModels: ReadModelReaders;
  readonly slash: SlashCommandServices;
  readonly interactions: InteractionRouter;
  readonly logger: Logger;
}

export interface RunningSlackApp {
  readonly channel: SlackChannel;
  readonly bot: SlackBot;
  /** The HTTP mode's events URL; null in Socket Mode. */
  readonly eventsUrl: string | null;
  stop(): Promise<void>;
}

/** The settings of a channel's groups: its configured ones over the defaults (a DM answers every message). */
export function channelSettings(channels: Readonly<Record<string, SlackChannelSettings>>, channel: string): GroupSettingsInput {
  const configured = channels[channel] ?? {};
  return {
    triggerMode: isDirectMessage(channel) ? 'dm' : (configured.triggerMode ?? 'mention'),
    allowedSenders: configured.allowedSenders ?? [],
    isAdmin: configured.isAdmin ?? false,
    rolesAddressingUsers: configured.rolesAddressingUsers ?? [],
  };
}

/**
 * Proves the bot token works and learns who the app is (`auth.test`), with a couple of quick
 * retries rather than the client's half-hour of them: a start with a wrong token or an
 * unreachable Slack should say so at once, before anything is written.
 */
export async function checkSlackAuth(config: Config, tokens: SlackTokens, logger: Logger): Promise<SlackBot> {
  const client = new WebClient(tokens.botToken, {
    slackApiUrl: config.slack.apiUrl,
    logger: boltLogger(logger, LogLevel.ERROR),
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000 },
  });
  let answer: unknown;
  try {
    answer = await client.auth.test();
  } catch (error) {
    const code = slackErrorCode(error);
    throw new Error(
      code === 'invalid_auth' || code === 'not_authed' || code === 'account_inactive' || code === 'token_revoked'
        ? `Slack refused SLACK_BOT_TOKEN (auth.test: ${code})`
        : `auth.test at ${config.slack.apiUrl} failed: ${code}`,
      { cause: error },
    );
  }
  const auth = authTestSchema.parse(answer);
  return { teamId: auth.team_id, userId: auth.user_id, botId: auth.bot_id ?? null };
}

export async function openSlackApp(options: SlackAppOptions): Promise<RunningSlackApp> {
  const { config, tokens, logger } = options;
  const slackLogger: SlackLogger = boltLogger(logger, LogLevel.WARN);
  const client = new WebClient(tokens.botToken, { slackApiUrl: config.slack.apiUrl, logger: slackLogger });
  const bot = options.bot ?? (await checkSlackAuth(config, tokens, logger));
  const channel = new SlackChannel({ client, ackReaction: config.slack.ackReaction, maxMessageChars: config.slack.maxMessageChars, logger });
  const inboundContext = (team: string): InboundContext => ({ team, bot, settingsFor: (id) => channelSettings(config.slack.channels, id) });
  const inbound = new SlackInbound({ actors: options.actors, client, context: inboundContext, logger });

  const common = {
    token: tokens.botToken,
    botId: bot.botId ?? undefined,
    botUserId: bot.userId,
    clientOptions: { slackApiUrl: config.slack.apiUrl },
    logger: slackLogger,
  };
  let httpReceiver: HTTPReceiver | undefined;
  const app =
    tokens.mode === 'socket'
      ? new App({ ...common, receiver: new DurableSocketReceiver({ appToken: tokens.appToken, slackApiUrl: config.slack.apiUrl, logger: slackLogger, log: logger }) })
      : new App({
          ...common,
          receiver: (httpReceiver = new HTTPReceiver({ signingSecret: tokens.signingSecret, processBeforeResponse: true, logger: slackLogger })),
        });

  app.event('message', async ({ body }) => inbound.handleEventCallback(body));
  app.event('app_mention', async ({ body }) => inbound.handleEventCallback(body));
  app.event('app_home_opened', async ({ event }) => {
    const opened = appHomeOpenedEventSchema.safeParse(event);
    if (!opened.success || (opened.data.tab !== undefined && opened.data.tab !== 'home')) return;
    const view = await homeView(opened.data.user, { dataDir: config.dataDir, readModels: options.readModels, agentName: config.agent.name });
    await client.views.publish({ user_id: opened.data.user, view });
  });
  app.command(SLASH_COMMAND, async ({ command, ack, respond }) => {
    const parsed = slashCommandSchema.safeParse(command);
    if (!parsed.success) {
      await ack({ response_type: 'ephemeral', text: `That command did not come as Slack sends it (${describeIssues(parsed.error)}).` });
      return;
    }
    const answer = answerSlashCommand(parsed.data, options.slash).catch((error: unknown) => `Could not answer: ${error instanceof Error ? error.message : String(error)}`);
    const quick = await Promise.race([answer, new Promise<null>((resolve) => setTimeout(() => resolve(null), SLASH_ANSWER_WAIT_MS).unref())]);
    if (quick !== null) {
      await ack({ response_type: 'ephemeral', text: quick });
      return;
    }
    await ack({ response_type: 'ephemeral', text: 'Working on it…' });
    await respond({ response_type: 'ephemeral', replace_original: true, text: await answer });
  });
  app.action(/^lc\./, async ({ body, ack }) => {
    await ack();
    const payload = blockActionsSchema.safeParse(body);
    if (!payload.success) {
      logger.warn({ issues: describeIssues(payload.error) }, 'a Slack button click did not fit; dropped');
      return;
    }
    const result = await options.interactions.dispatch(payload.data);
    await showInteractionResult(client, payload.data, body as { message?: { blocks?: unknown[] } }, result, logger);
  });
  app.error(async (error) => {
    logger.error({ err: error }, 'the Slack app failed to handle a request');
    // Rethrown so a receiver that waits (HTTP with processBeforeResponse, the durable socket) does not acknowledge it.
    throw error;
  });

  await app.start(config.slack.port);
  const port = httpReceiver ? listeningPort(httpReceiver) : null;
  logger.info({ mode: tokens.mode, team: bot.teamId, botUser: bot.userId, ...(port !== null ? { port } : {}) }, 'Slack connected');
  return {
    channel,
    bot,
    eventsUrl: port !== null ? `http://127.0.0.1:${port}/slack/events` : null,
    stop: async () => {
      await app.stop();
    },
  };
}

/** The port the HTTP receiver listens on (the configured one, or the one chosen for port 0). */
function listeningPort(receiver: HTTPReceiver): number {
  // The receiver keeps its server private; its address is the one fact needed from it.
  const server = (receiver as unknown as { server?: { address(): { port: number } | string | null } }).server;
  const address = server?.address();
  if (!address || typeof address === 'string') throw new Error('the Slack HTTP receiver is not listening');
  return address.port;
}

/**
 * Done: the buttons give way to what was decided (or, when they are gone already, the
 * person who clicked is told). Refused: only the person who clicked is told why.
 */
async function showInteractionResult(
  client: WebClient,
  payload: z.infer<typeof blockActionsSchema>,
  raw: { message?: { blocks?: unknown[] } },
  result: InteractionResult,
  logger: Logger,
): Promise<void> {
  const channel = payload.channel?.id;
  const ts = payload.message?.ts;
  if (!channel || result.status === 'ignored') return;
  try {
    if (result.status === 'refused') {
      await client.chat.postEphemeral({ channel, user: payload.user.id, text: `Not done: ${result.reason}`, ...(payload.message?.thread_ts ? { thread_ts: payload.message.thread_ts } : {}) });
      return;
    }
    const clickedBlock = payload.actions[0]!.block_id;
    const shown = (raw.message?.blocks ?? []) as KnownBlock[];
    if (!ts || !shown.some((block) => block.type === 'actions' && block.block_id === clickedBlock)) {
      // The buttons are gone already (a click from a client that had not seen the update):
      // the outcome so far stays on the message, and this person is told what theirs did.
      await client.chat.postEphemeral({ channel, user: payload.user.id, text: result.text, ...(payload.message?.thread_ts ? { thread_ts: payload.message.thread_ts } : {}) });
      return;
    }
    const blocks = shown.map(
      (block): KnownBlock => (block.type === 'actions' && block.block_id === clickedBlock ? { type: 'context', elements: [{ type: 'mrkdwn', text: result.text }] } : block),
    );
    await client.chat.update({ channel, ts, text: payload.message?.text ?? result.text, blocks });
  } catch (error) {
    logger.warn({ channel, ts, err: error }, 'could not show the outcome of a button click');
  }
}
