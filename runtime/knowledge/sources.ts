/**
 * The knowledge sources of a configuration, made real: a connector for each, and the
 * cache projection that indexes what it syncs. Secrets come from the environment at sync
 * time and go no further than the connector that needs them.
 */
import { resolve } from 'node:path';
import type { EventStore } from '../../events/port.js';
import { knowledgeCacheProjection } from '../../projections/knowledge-cache.js';
import type { Projection } from '../../projections/projection.js';
import type { Config, KnowledgeSourceConfig } from '../config.js';
import { syncConnector, type Connector, type SyncReport } from './connector.js';
import { FolderConnector } from './folder-connector.js';
import { SlackHistoryConnector, slackWebApi } from './slack-history-connector.js';

export const SLACK_TOKEN_ENV = 'SLACK_BOT_TOKEN';

export class KnowledgeSourceError extends Error {
  override readonly name = 'KnowledgeSourceError';
}

/** One cache read model per configured source. */
export function knowledgeProjections(config: Config): Projection[] {
  return config.knowledge.sources.map((source) => knowledgeCacheProjection(source.name));
}

export interface ConnectorContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** The Web API a Slack source reads when it names none: the Slack channel's (`slack.apiUrl`). */
  readonly slackApiUrl?: string;
}

export function connectorFor(source: KnowledgeSourceConfig, context: ConnectorContext): Connector {
  switch (source.kind) {
    case 'folder':
      return new FolderConnector({
        source: source.name,
        root: resolve(context.cwd, source.path),
        ...(source.group ? { visibility: { kind: 'group', groupId: source.group } } : {}),
        ...(source.urlBase ? { urlBase: source.urlBase } : {}),
      });
    case 'slack': {
      const token = context.env[SLACK_TOKEN_ENV];
      if (!token) throw new KnowledgeSourceError(`knowledge source ${source.name} reads Slack and needs the bot token in ${SLACK_TOKEN_ENV}`);
      const slackApiUrl = source.apiBaseUrl ?? context.slackApiUrl;
      return new SlackHistoryConnector({
        source: source.name,
        api: slackWebApi({ token, ...(slackApiUrl ? { slackApiUrl } : {}) }),
        ...(source.channels ? { channels: source.channels } : {}),
      });
    }
  }
}

/** Syncs the configured sources (or the one named), one after another. */
export async function syncKnowledgeSources(
  store: EventStore,
  config: Config,
  context: { env: Readonly<Record<string, string | undefined>>; cwd: string; only?: string },
): Promise<SyncReport[]> {
  const sources = config.knowledge.sources.filter((source) => context.only === undefined || source.name === context.only);
  if (context.only !== undefined && sources.length === 0) {
    throw new KnowledgeSourceError(
      `no knowledge source named ${context.only} (configured: ${config.knowledge.sources.map((source) => source.name).join(', ') || 'none'})`,
    );
  }
  const reports: SyncReport[] = [];
  for (const source of sources) reports.push(await syncConnector(store, connectorFor(source, { ...context, slackApiUrl: config.slack.apiUrl })));
  return reports;
}

export interface KnowledgeSyncLoop {
  /** Stops the timer and waits for a sync in progress. */
  stop(): Promise<void>;
}

/**
 * Syncs every configured source once now and then every `syncEveryMs`, one pass at a time,
 * logging each pass. A source that fails (a missing token, Slack unreachable) is logged
 * and tried again next time; the others go on.
 */
export function startKnowledgeSyncLoop(
  store: EventStore,
  config: Config,
  context: { env: Readonly<Record<string, string | undefined>>; cwd: string; logger: { info(o: object, m: string): void; error(o: object, m: string): void } },
): KnowledgeSyncLoop {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const pass = async () => {
    for (const source of config.knowledge.sources) {
      if (stopped) return;
      try {
        const report = await syncConnector(store, connectorFor(source, { ...context, slackApiUrl: config.slack.apiUrl }));
        context.logger.info({ source: source.name, added: report.added, changed: report.changed, removed: report.removed }, 'knowledge source synced');
      } catch (error) {
        context.logger.error({ source: source.name, err: error }, 'knowledge source could not be synced; trying again at the next pass');
      }
    }
  };
  const schedule = () => {
    running = running.then(pass);
  };
  const timer = setInterval(schedule, config.knowledge.syncEveryMs);
  timer.unref();
  if (config.knowledge.sources.length > 0) schedule();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
