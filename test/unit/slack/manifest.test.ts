/**
 * The Slack app manifest in the repository is what an operator pastes to create the app:
 * it must ask for every event the app listens to and every scope the Web API methods it
 * calls need, and nothing the code never uses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/built-dist.js';

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'runtime/channels/slack/slack-app-manifest.json'), 'utf8')) as {
  features: { slash_commands: { command: string }[]; app_home: { home_tab_enabled: boolean } };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[] }; interactivity: { is_enabled: boolean }; socket_mode_enabled: boolean };
};

describe('the Slack app manifest', () => {
  it('subscribes to the events the app handles, in every kind of conversation', () => {
    expect(manifest.settings.event_subscriptions.bot_events.sort()).toEqual(['app_home_opened', 'app_mention', 'message.channels', 'message.groups', 'message.im', 'message.mpim']);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.features.slash_commands.map((command) => command.command)).toEqual(['/ledgerclaw']);
  });

  it('asks for the scopes of the methods the channel calls (posting as a role, reactions, thread history, opening a DM to an approver)', () => {
    const scopes = new Set(manifest.oauth_config.scopes.bot);
    for (const needed of ['chat:write', 'chat:write.customize', 'reactions:write', 'channels:history', 'groups:history', 'im:history', 'im:write', 'mpim:history', 'commands']) {
      expect(scopes.has(needed), needed).toBe(true);
    }
  });
});
