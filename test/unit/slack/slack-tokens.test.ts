import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../runtime/config.js';
import { slackTokensFromEnv, slackWanted } from '../../../runtime/channels/slack/slack-tokens.js';

describe('Slack tokens', () => {
  it('are wanted only with a bot token', () => {
    expect(slackWanted({})).toBe(false);
    expect(slackWanted({ SLACK_BOT_TOKEN: ' ' })).toBe(false);
    expect(slackWanted({ SLACK_BOT_TOKEN: 'xoxb-1' })).toBe(true);
  });

  it('need an app-level token for Socket Mode and a signing secret for HTTP, naming what is missing', () => {
    expect(slackTokensFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1-2', SLACK_APP_TOKEN: 'xapp-1-A-3' }, 'socket')).toEqual({ mode: 'socket', botToken: 'xoxb-1-2', appToken: 'xapp-1-A-3' });
    expect(() => slackTokensFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1-2' }, 'socket')).toThrow(/SLACK_APP_TOKEN is not set: Socket Mode/);
    expect(() => slackTokensFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1-2' }, 'http')).toThrow(/SLACK_SIGNING_SECRET is not set/);
    expect(() => slackTokensFromEnv({ SLACK_BOT_TOKEN: 'xoxb-1-2' }, 'http')).toThrow(ConfigError);
  });

  it('say which variable is malformed without repeating its value', () => {
    let message = '';
    try {
      slackTokensFromEnv({ SLACK_BOT_TOKEN: 'xoxp-user-token-123', SLACK_APP_TOKEN: 'xapp-1' }, 'socket');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/SLACK_BOT_TOKEN: expected a bot token starting with 'xoxb-'/);
    expect(message).not.toContain('xoxp-user-token-123');
  });
});
