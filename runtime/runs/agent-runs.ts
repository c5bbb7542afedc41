/**
 * Everything agent runs need on the host, assembled once per runtime process: the sandbox
 * (Docker, or the weaker process sandbox where no daemon answers), the model gateway (the
 * only holder of the API key), the tool gateway, token budgets, and the run executor whose
 * effects take runs through their sandboxes. `start` and `chat` both use it.
 */
import { join } from 'node:path';
import { Subject } from 'rxjs';
import type { EventStore } from '../../events/port.js';
import type { ActorHost, Logger } from '../actor-host/actor-host.js';
import type { EffectExecutorsFor } from '../actor-host/effects.js';
import type { Config } from '../config.js';
import { ModelGateway } from '../gateways/model-gateway.js';
import { DEFAULT_PRICES } from '../gateways/pricing.js';
import { ToolGateway, type OutboundChannel } from '../gateways/tool-gateway.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { selectSandbox } from '../sandbox/select-sandbox.js';
import { ProcessSandbox } from '../sandbox/process-sandbox.js';
import { RunExecutor, type RunContainerEffect } from './run-executor.js';
import type { RunProgress } from './run-session.js';
import { UsageLedger } from './usage-ledger.js';

export interface RunProgressUpdate {
  readonly runId: string;
  readonly progress: RunProgress;
}

export interface AgentRuns {
  readonly executor: RunExecutor;
  /** The executors of run effects. */
  readonly effects: EffectExecutorsFor<RunContainerEffect>;
  readonly sandbox: Sandbox;
  readonly model: ModelGateway;
  /** The host tools, for channels that answer people directly (Slack's slash command) under the same rules. */
  readonly tools: ToolGateway;
  /** What live runs are doing, for a terminal or an inspector. */
  readonly progress: Subject<RunProgressUpdate>;
  close(): Promise<void>;
}

export interface AgentRunsOptions {
  readonly config: Config;
  readonly store: EventStore;
  /** Bound late: the actor host is built with this assembly's effects. */
  readonly actors: () => ActorHost;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly channel: OutboundChannel;
  readonly caughtUp: (projection: string, position: bigint) => Promise<void>;
  readonly logger: Logger;
  /** A sandbox chosen by the caller (the benchmark wraps one to time it); chosen from config otherwise. */
  readonly sandbox?: Sandbox;
}

async function chooseSandbox(config: Config, logger: Logger): Promise<Sandbox> {
  const runsDir = join(config.dataDir, 'runs');
  if (config.runs.sandbox === 'process') {
    logger.warn({ sandbox: 'process' }, 'runs use the process sandbox (runs.sandbox=process): weaker isolation, bash and other high-risk tools off');
    return new ProcessSandbox({ runsDir, log: logger });
  }
  const sandbox = await selectSandbox({ runsDir, log: logger });
  if (config.runs.sandbox === 'docker' && sandbox.kind !== 'docker') {
    throw new Error('runs.sandbox is docker, but no Docker daemon answers; start dockerd or set runs.sandbox to auto');
  }
  return sandbox;
}

export async function openAgentRuns(options: AgentRunsOptions): Promise<AgentRuns> {
  const { config, logger } = options;
  const sandbox = options.sandbox ?? (await chooseSandbox(config, logger));
  const apiKey = options.env.ANTHROPIC_API_KEY?.trim() || null;
  const model = new ModelGateway({
    apiKey,
    baseURL: config.model.baseUrl,
    maxRetries: config.model.maxRetries,
    timeoutMs: config.model.timeoutMs,
    prices: { ...DEFAULT_PRICES, ...config.model.prices },
    logger,
  });
  if (apiKey === null) logger.warn({}, 'ANTHROPIC_API_KEY is not set: every run fails at once, saying what to set');
  const tools = new ToolGateway({
    actors: {
      send: (...args: Parameters<ActorHost['send']>) => options.actors().send(...args),
      load: (...args: Parameters<ActorHost['load']>) => options.actors().load(...args),
    },
    store: options.store,
    dataDir: config.dataDir,
    channel: options.channel,
    logger,
    settings: { actions: config.actions, webFetch: config.webFetch },
    env: options.env,
    permissions: config.permissions,
  });
  const usage = new UsageLedger({ store: options.store, dataDir: config.dataDir, budgets: config.budgets, caughtUp: options.caughtUp });
  const progress = new Subject<RunProgressUpdate>();
  const executor = new RunExecutor({
    config,
    store: options.store,
    sandbox,
    model,
    tools,
    usage,
    logger,
    onProgress: (runId, update) => progress.next({ runId, progress: update }),
  });
  return {
    executor,
    effects: executor.effects,
    sandbox,
    model,
    tools,
    progress,
    close: async () => {
      await executor.stop();
      progress.complete();
      await tools.close();
    },
  };
}
