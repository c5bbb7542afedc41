/**
 * The runtime from start to stop, for `ledgerclaw start` and `ledgerclaw chat`: it takes the
 * data directory as its writer, checks the hash chains written since its last check
 * (runtime/verify-on-start.ts), records on the `runtime` stream that it started (and whether
 * the run before it ended cleanly), assembles the running parts (runtime/assemble.ts), and
 * runs until a shutdown signal or until its session ends, when it stops the parts in order
 * (runtime/shutdown-order.ts) and records that it stopped.
 */
import type { AnyActorKind } from '../actors/actor-kind.js';
import type { EventCatalogue } from '../events/catalogue.js';
import type { Projection } from '../projections/projection.js';
import { assembleRuntime } from './assemble.js';
import { checkSlack } from './channels/slack/slack-connection.js';
import { slackTokensFromEnv, slackWanted } from './channels/slack/slack-tokens.js';
import type { Config } from './config.js';
import { startInspector } from './inspector.js';
import { createLogger } from './logger.js';
import { openEventStore } from './open-store.js';
import type { BannerFacts, RuntimeSession } from './runtime-session.js';
import { OrderedShutdown } from './shutdown-order.js';
import { recordStart, recordStop, type ShutdownSignal, type StopCause } from './start-stop-record.js';
import { verifyStoreOnStart } from './verify-on-start.js';

export interface RuntimeOptions {
  readonly config: Config;
  /** The config file read, if any: logged with the start. */
  readonly configFile: string | null;
  readonly kinds: readonly AnyActorKind[];
  /** The catalogue the store reads events with. */
  readonly catalogue: EventCatalogue;
  readonly readModels: readonly Projection[];
  /** The Stately inspector's port, or undefined for no inspector. */
  readonly inspectPort: number | undefined;
  /** Start without checking the hash chains: forensics on a store that fails the check. */
  readonly skipVerify: boolean;
  /** Run inside the runtime instead of waiting for a signal (the local chat). */
  readonly session: RuntimeSession | undefined;
  /** The first SIGINT or SIGTERM; listened for before this is called, so none is lost. */
  readonly shutdown: Promise<ShutdownSignal>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Shows what started (`start` prints its banner); a session shows its own instead. */
  announce(facts: BannerFacts): void;
  /** A warning for the operator's terminal (starting without verification). */
  warn(line: string): void;
}

/** Runs the runtime until a signal, or until the session ends: `start` has none; `chat` is one. */
export async function runRuntime(options: RuntimeOptions): Promise<void> {
  const { config } = options;
  const logger = createLogger({ level: config.log.level });
  // Before anything is written: a busy port, a missing Slack token or one Slack refuses
  // should stop the start, not half of it.
  const slackTokens = slackWanted(options.env) ? slackTokensFromEnv(options.env, config.slack.mode) : null;
  const slack = slackTokens ? { tokens: slackTokens, bot: await checkSlack(config, slackTokens, logger) } : null;
  const inspector = options.inspectPort === undefined ? undefined : await startInspector({ port: options.inspectPort, logger });
  try {
    const opened = await openEventStore(config, {
      mode: 'writer',
      actor: 'runtime',
      command: 'ledgerclaw start',
      catalogue: options.catalogue,
      // Says so when the data directory was open to other users (it is tightened).
      logger,
    });
    try {
      // Before anything is appended: a broken hash chain stops the start.
      await verifyStoreOnStart({ backend: opened.backend, dataDir: config.dataDir, skip: options.skipVerify, logger, warn: options.warn });
      const started = await recordStart(opened.store, config);
      const parts = new OrderedShutdown();
      let cause: StopCause;
      try {
        const { live, facts } = await assembleRuntime({ ...options, opened, started, slack, inspector, logger }, parts);
        if (options.session) options.session.banner(facts);
        else options.announce(facts);
        logger.info(
          {
            dataDir: config.dataDir,
            configFile: options.configFile,
            eventStore: { backend: config.eventStore.backend, path: opened.backend.location, durability: opened.backend.durability },
            previousShutdown: started.previousShutdown,
            actorKinds: live.host.kindNames,
            ...(inspector ? { inspector: inspector.url } : {}),
          },
          'runtime started',
        );
        const ended: Promise<StopCause> = options.session
          ? options.session.run(live).then(() => ({ reason: 'requested' as const }))
          : new Promise<StopCause>(() => undefined);
        cause = await Promise.race([options.shutdown.then((signal): StopCause => ({ reason: 'signal', signal })), ended]);
        logger.info(cause, 'shutting down');
      } finally {
        await parts.stop();
      }
      await recordStop(opened.store, started, cause);
    } finally {
      await opened.close();
    }
  } finally {
    inspector?.stop();
  }
  logger.info('runtime stopped');
}
