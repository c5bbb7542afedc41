/**
 * The runtime from start to stop, for `ledgerclaw start` and `ledgerclaw chat`: it takes the
 * data directory as its writer, checks the hash chains written since its last check
 * (runtime/verify-on-start.ts), records on the `runtime` stream that it started (and whether
 * the run before it ended cleanly), assembles the running parts (runtime/assemble.ts), and
 * runs until a shutdown signal or until its session ends, when it stops the parts in order
 * (runtime/shutdown-order.ts) and records that it stopped.
 *
 * On a shared store (EventStoreDB) "takes the data directory as its writer" means taking the
 * store's lease (runtime/lease/): the runtime stands by, writing nothing, while another one
 * holds it. Should the lease be lost while it runs, every append is refused at once and the
 * runtime stops without recording anything (LeaseLostError: `start` exits with its own code,
 * for a supervisor to restart it as a standby). A clean stop releases the lease, so a standby
 * takes over at once.
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
import { leaseAccessOf } from './lease/lease-access.js';
import type { LeaseLoss } from './lease/runtime-lease.js';
import { holdStoreLease, type LeaseNews } from './lease/store-lease.js';
import type { Logger } from './logger.js';
import { openEventStore, type OpenedEventStore } from './open-store.js';
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
  /** What the lease did, on a shared store: standing by, then taking it. */
  leaseNews?(news: LeaseNews): void;
}

/** How long the parts get to stop once the lease is lost: what they still try to append is refused anyway. */
const STOP_AFTER_LEASE_LOSS_MS = 5_000;

type Outcome = { readonly kind: 'stop'; readonly cause: StopCause } | { readonly kind: 'lease_lost'; readonly loss: LeaseLoss };


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
      // The EventStoreDB connection string is read from it.
      env: options.env,
      // On a shared store the runtime stands by for the lease itself (below).
      leaseByCaller: true,
      // Says so when the data directory was open to other users (it is tightened).
      logger,
    });
    try {
      const access = leaseAccessOf(opened);
      const standingBy = new AbortController();
      void options.shutdown.then(() => standingBy.abort());
      const lease = access
        ? await holdStoreLease(access, { config, logger, signal: standingBy.signal, onNews: (news) => options.leaseNews?.(news) })
        : undefined;
      if (lease === null) {
        logger.info({}, 'shut down while standing by');
        return;
      }
      try {
        await runHoldingTheStore(options, { opened, slack, inspector, logger, lost: lease?.lost });
      } catch (error) {
        // Whatever failed once the lease was gone failed for that reason: say so, not the symptom.
        throw lease?.lostError() ?? error;
      }
      const lost = lease?.lostError();
      if (lost) throw lost;
      await lease?.release();
    } finally {
      await opened.close();
    }
  } finally {
    inspector?.stop();
  }
  logger.info({}, 'runtime stopped');
}

interface HeldStore {
  readonly opened: OpenedEventStore;
  readonly slack: Parameters<typeof assembleRuntime>[0]['slack'];
  readonly inspector: Parameters<typeof assembleRuntime>[0]['inspector'];
  readonly logger: Logger;
  /** Resolves when the store's lease is lost; undefined without a lease. */
  readonly lost: Promise<LeaseLoss> | undefined;
}

/** From verifying the store to recording the stop, as the store's one writer. */
async function runHoldingTheStore(options: RuntimeOptions, held: HeldStore): Promise<void> {
  const { config } = options;
  const { opened, slack, inspector, logger } = held;
  // Before anything is appended: a broken hash chain stops the start.
  await verifyStoreOnStart({ backend: opened.backend, dataDir: config.dataDir, skip: options.skipVerify, logger, warn: options.warn });
  const started = await recordStart(opened.store, config);
  const parts = new OrderedShutdown();
  let outcome: Outcome | undefined;
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
    const ended: Promise<Outcome> = options.session
      ? options.session.run(live).then(() => ({ kind: 'stop', cause: { reason: 'requested' } }))
      : new Promise<Outcome>(() => undefined);
    const lost: Promise<Outcome> = held.lost ? held.lost.then((loss) => ({ kind: 'lease_lost', loss })) : new Promise<Outcome>(() => undefined);
    outcome = await Promise.race([options.shutdown.then((signal): Outcome => ({ kind: 'stop', cause: { reason: 'signal', signal } })), ended, lost]);
    if (outcome.kind === 'stop') logger.info(outcome.cause, 'shutting down');
    else logger.error({}, 'shutting down: this runtime lost the store lease and writes nothing more; restart it to stand by');
  } finally {
    if (outcome?.kind === 'lease_lost') await stopWithin(parts, STOP_AFTER_LEASE_LOSS_MS, logger);
    else await parts.stop();
  }
  // Recording the stop would be an append, refused: the store's new holder records its own start.
  if (outcome.kind === 'stop') await recordStop(opened.store, started, outcome.cause);
}

/**
 * Stops the parts, giving up after `ms`: once the lease is lost their last appends are
 * refused, and a part waiting on one must not keep the process from exiting.
 */
async function stopWithin(parts: OrderedShutdown, ms: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stopped = parts.stop().catch((error: unknown) => {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'a part failed to stop after the lease was lost');
  });
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logger.warn({ afterMs: ms }, 'parts still stopping after the lease was lost; exiting anyway');
      resolve();
    }, ms);
  });
  await Promise.race([stopped, late]);
  clearTimeout(timer);
}
