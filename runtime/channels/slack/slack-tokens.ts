/**
 * Slack's secrets, read from the environment only (never configuration, events or logs)
 * and checked before anything connects: a bot token for the Web API, plus an app-level
 * token for Socket Mode or the signing secret for HTTP mode.
 */
import { z } from 'zod';
import { ConfigError } from '../../config.js';

const botToken = z.string().regex(/^xoxb-[A-Za-z0-9-]+$/, "expected a bot token starting with 'xoxb-'");
const appToken = z.string().regex(/^xapp-[A-Za-z0-9-]+$/, "expected an app-level token starting with 'xapp-'");
const signingSecret = z.string().min(16, 'expected the signing secret from the app\'s Basic Information page');

export type SlackTokens =
  | { readonly mode: 'socket'; readonly botToken: string; readonly appToken: string }
  | { readonly mode: 'http'; readonly botToken: string; readonly signingSecret: string };

/** A configuration error (exit 2), naming the variable and never its value. */
export class SlackTokenError extends ConfigError {
  override readonly name = 'SlackTokenError';
}

function read(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Whether Slack is meant to run at all: a bot token is set. */
export function slackWanted(env: Readonly<Record<string, string | undefined>>): boolean {
  return read(env, 'SLACK_BOT_TOKEN') !== undefined;
}

/** The tokens of the mode, or an error naming the variable that is missing or malformed (never its value). */
export function slackTokensFromEnv(env: Readonly<Record<string, string | undefined>>, mode: 'socket' | 'http'): SlackTokens {
  const check = (name: string, schema: z.ZodString, why: string): string => {
    const value = read(env, name);
    if (value === undefined) throw new SlackTokenError(`${name} is not set: ${why}`);
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new SlackTokenError(`${name}: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
    return value;
  };
  const bot = check('SLACK_BOT_TOKEN', botToken, 'the Web API needs the bot token');
  if (mode === 'socket') return { mode, botToken: bot, appToken: check('SLACK_APP_TOKEN', appToken, 'Socket Mode (slack.mode = socket) needs an app-level token with connections:write') };
  return { mode, botToken: bot, signingSecret: check('SLACK_SIGNING_SECRET', signingSecret, 'the HTTP mode (slack.mode = http) verifies every request with it') };
}
