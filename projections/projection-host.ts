/**
 * Runs every projection over `$all`, each at its own position and in its own read model
 * file. Events arrive through the store's catch-up-then-live subscription and are applied
 * in batches; each batch is one transaction that also moves the checkpoint, so a crash
 * never applies an event twice or skips one. A projection whose `apply` throws is marked
 * failed, with the event and the error, and stops; the others go on.
 *
 * A projection whose version differs from its active build, or one asked to rebuild, is
 * built beside the active build from the start of `$all` and swapped in once it has
 * caught up; until then readers keep the old build (blue/green). Nobody reads a build
 * until then, so it is written in build mode: larger transactions, no fsync, a rollback
 * journal instead of a WAL, and the projection's deferred schema (indexes for readers)
 * created once, just before the swap.
 */
import type { Subscription } from 'rxjs';
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import type { Delivery, EventStore } from '../events/port.js';
import type { Logger } from '../runtime/actor-host/actor-host.js';
import { corruptionDetail, isCorruptFile, moveCorruptFileAside } from '../runtime/cache-files.js';
import type { Projection } from './projection.js';
import { finishBuild, openReadModelForWriting, readCheckpoint, ReadModelCatalog, syncBuild, type CatalogEntry } from './read-model-files.js';

export interface ProjectionHostOptions {
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  readonly dataDir: string;
  /** Most events a live read model applies in one transaction. Default 500. */
  readonly batchSize?: number;
  /**
   * Most events a build beside the live read model applies in one transaction: nobody
   * reads it yet, and a larger transaction costs less per event. Default 4 × batchSize.
   */
  readonly buildBatchSize?: number;
  /**
   * How long a replaced build's file is kept after a swap, so readers that opened it
   * before can finish. Default 60 s; files left over are removed on the next start.
   */
  readonly retiredFileGraceMs?: number;
  readonly logger?: Logger;
}

export interface BuildProgress {
  readonly name: string;
  readonly position: bigint;
  readonly head: bigint;
}

/** One projection writing one build (the active one, or a rebuild beside it). */
interface Runner {
  readonly projection: Projection;
  readonly file: string;
  readonly connection: SqliteConnection;
  readonly role: 'active' | 'build';
  /** The projection's event types; other events only move the checkpoint. */
  readonly wanted: ReadonlySet<string>;
  position: bigint | null;
  subscription: Subscription | undefined;
  failed: boolean;
  /** Settles once the failure is in the catalog, so whoever learns of it can read it there. */
  failureRecorded: Promise<void>;
  /** Replaced by a rebuild, or the host is stopping: its batches no longer count. */
  retired: boolean;
  /** Deliveries that arrived while a batch was being applied: the next batch. */
  readonly queue: Delivery[];
  /** The next batch, taken from `queue` and planned while the current one is applied (see `enqueue`). */
  next: Batch | undefined;
  /** A build's next transaction was begun with the last commit (see `applyBatch`). */
  transactionOpen: boolean;
  /** Batches are being applied from `queue` (see `drain`). */
  draining: boolean;
  /** Settles when `queue` is drained, awaited before the file is closed. */
  applying: Promise<void>;
}

/** Deliveries applied in one transaction: the projection's events among them, and its plan for them if it made one. */
interface Batch {
  readonly deliveries: readonly Delivery[];
  readonly events: readonly StoredEvent[];
  readonly plan?: unknown;
}

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export class ProjectionHost {
  private readonly runners = new Map<string, Runner>();
  private readonly progressListeners = new Set<(progress: BuildProgress) => void>();
  private readonly caughtUp = new Map<string, Array<() => void>>();
  /** Settles when a projection's build in progress is swapped in, or fails. */
  private readonly builds = new Map<string, { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void }>();
  private catalog: ReadModelCatalog | undefined;
  private readonly logger: Logger;

  constructor(private readonly options: ProjectionHostOptions) {
    this.logger = options.logger ?? silent;
    const names = new Set<string>();
    for (const projection of options.projections) {
      if (names.has(projection.name)) throw new Error(`projection ${projection.name} is registered twice`);
      names.add(projection.name);
    }
  }

  /** Opens every read model, starts rebuilds where versions changed, and follows `$all`. */
  async start(): Promise<void> {
    this.catalog = await ReadModelCatalog.open(this.options.dataDir, { logger: this.logger });
    await this.catalog.removeUnreferencedFiles();
    for (const projection of this.options.projections) {
      let entry = await this.catalog.entry(projection.name);
      if (!entry) entry = await this.catalog.create(projection.name, projection.version);
      if (entry.buildingFile && entry.buildingVersion === projection.version) {
        await this.resumeBuild(projection, entry.buildingFile);
      } else if (entry.activeVersion !== projection.version) {
        this.logger.info({ projection: projection.name, from: entry.activeVersion, to: projection.version }, 'projection version changed; rebuilding beside the live read model');
        await this.startBuild(projection);
      } else if (entry.status !== 'failed') {
        await this.run(projection, entry.activeFile, 'active');
      } else {
        this.logger.warn({ projection: projection.name, failure: entry.failure }, 'projection failed earlier; rebuild it to start it again');
      }
    }
  }

  /**
   * Builds a projection again from the start, beside the live read model; resolves once
   * the new build is swapped in. Progress comes through `onBuildProgress`.
   */
  async rebuild(name: string): Promise<void> {
    const projection = this.options.projections.find((candidate) => candidate.name === name);
    if (!projection) throw new Error(`unknown projection '${name}' (known: ${this.options.projections.map((p) => p.name).join(', ')})`);
    await this.startBuild(projection);
    await this.whenBuilt(name);
  }

  /** Resolves when the build in progress (if any) has been swapped in. */
  async whenBuilt(name: string): Promise<void> {
    await this.builds.get(name)?.promise;
  }

  /** Resolves when the projection's active build has applied everything up to `position`. */
  async waitFor(name: string, position: bigint): Promise<void> {
    for (;;) {
      const runner = this.runners.get(name);
      // Positions start at 1: a read model that has applied nothing has applied everything up to 0.
      if (runner?.role === 'active' && (runner.position ?? 0n) >= position) return;
      if (runner?.failed) {
        await runner.failureRecorded;
        throw new Error(`projection ${name} failed`);
      }
      await new Promise<void>((resolve) => {
        const waiting = this.caughtUp.get(name) ?? [];
        waiting.push(resolve);
        this.caughtUp.set(name, waiting);
      });
    }
  }

  /** Every committed batch of a build reports its progress here (for progress bars). */
  onBuildProgress(listener: (progress: BuildProgress) => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  async entries(): Promise<CatalogEntry[]> {
    return this.catalog ? this.catalog.entries() : [];
  }

  async stop(): Promise<void> {
    for (const runner of this.runners.values()) await this.retire(runner, { resumable: true });
    this.runners.clear();
    await this.catalog?.close();
    this.catalog = undefined;
  }

  // ---- builds and runners -------------------------------------------------------------------

  private async startBuild(projection: Projection): Promise<void> {
    const catalog = this.requireCatalog();
    const previous = await catalog.entry(projection.name);
    if (previous?.buildingFile) {
      const abandoned = this.runners.get(`${projection.name}#build`);
      if (abandoned) await this.retire(abandoned);
      await catalog.removeFile(previous.buildingFile);
    }
    const entry = await catalog.startBuild(projection.name, projection.version);
    this.trackBuild(projection.name);
    await this.run(projection, entry.buildingFile!, 'build');
  }

  /** A rebuild was under way when the last process stopped: go on from its checkpoint if the file can be trusted. */
  private async resumeBuild(projection: Projection, file: string): Promise<void> {
    if (!(await this.requireCatalog().trustsBuild(file))) {
      this.logger.warn({ projection: projection.name, file }, 'the machine restarted while a build was written without fsync; building again from the start');
      await this.startBuild(projection);
      return;
    }
    this.trackBuild(projection.name);
    try {
      await this.run(projection, file, 'build');
    } catch (error) {
      this.logger.warn({ projection: projection.name, file, err: error }, 'the build under way cannot be opened; building again from the start');
      await this.startBuild(projection);
    }
  }

  private trackBuild(name: string): void {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((done, failed) => {
      resolve = done;
      reject = failed;
    });
    promise.catch(() => undefined); // a failure is reported to whoever awaits it, and logged
    this.builds.set(name, { promise, resolve, reject });
  }

  private async run(projection: Projection, file: string, role: Runner['role']): Promise<void> {
    const catalog = this.requireCatalog();
    // Marked before a byte is written without fsync (see ReadModelCatalog.trustsBuild).
    if (role === 'build') await catalog.markUnsynced(file);
    const { connection, position } = await this.openFile(projection, file, role);
    const runner: Runner = {
      projection,
      file,
      connection,
      role,
      wanted: new Set(projection.eventTypes),
      position,
      subscription: undefined,
      failed: false,
      failureRecorded: Promise.resolve(),
      retired: false,
      queue: [],
      next: undefined,
      transactionOpen: false,
      draining: false,
      applying: Promise.resolve(),
    };
    const key = role === 'active' ? projection.name : `${projection.name}#build`;
    this.runners.set(key, runner);
    // A crash between a commit and its file writes leaves the files behind the tables.
    if (role === 'active') await this.regenerateFiles(runner);
    // Two batches' worth in flight: the store reads the next batch while this one is applied.
    runner.subscription = this.options.store.subscribe({ fromPosition: runner.position ?? 'start', maxInFlight: 2 * this.batchLimit(role) }).subscribe({
      next: (delivery) => this.enqueue(runner, delivery),
      // The store could not deliver (an event it cannot read): the projection stops
      // there, marked failed, like a failing apply.
      error: (error: unknown) => void this.fail(runner, undefined, error),
    });
    // Nothing to catch up on (an empty store, or a checkpoint at the head): no batch will
    // come to say so.
    if ((runner.position ?? 0n) >= (await this.options.store.headPosition())) await this.afterProgress(runner);
  }

  /**
   * A read model file and its checkpoint. A corrupt live one (the catalog names it, but it is
   * no database any more) is moved aside and started again empty: the projection catches up
   * from the start of `$all`, as a read model that was deleted does.
   */
  private async openFile(projection: Projection, file: string, role: Runner['role']): Promise<{ connection: SqliteConnection; position: bigint | null }> {
    const path = this.requireCatalog().path(file);
    const open = async () => {
      const connection = await openReadModelForWriting(path, projection.schema, {
        ...(projection.deferredSchema !== undefined ? { deferredSchema: projection.deferredSchema } : {}),
        build: role === 'build',
      });
      try {
        return { connection, position: await readCheckpoint(connection) };
      } catch (error) {
        await connection.close().catch(() => undefined);
        throw error;
      }
    };
    try {
      return await open();
    } catch (error) {
      // A build has its own way back (a new generation, built from the start: see resumeBuild).
      if (!isCorruptFile(error) || role === 'build') throw error;
      const movedTo = await moveCorruptFileAside(path);
      this.logger.warn({ projection: projection.name, path, movedTo, reason: corruptionDetail(error) }, 'a read model file was corrupt: moved aside; building it again from the events');
      if (role === 'active') await this.requireCatalog().setStatus(projection.name, 'catching_up');
      return open();
    }
  }

  private batchLimit(role: Runner['role']): number {
    const batchSize = this.options.batchSize ?? 500;
    return role === 'build' ? (this.options.buildBatchSize ?? 4 * batchSize) : batchSize;
  }

  /**
   * Batches form on their own: what arrives while a batch is applied is the next batch (up
   * to the limit), so a read model catching up applies full batches and a live one applies
   * each commit's events as soon as they come, without waiting on a timer.
   */
  private enqueue(runner: Runner, delivery: Delivery): void {
    runner.queue.push(delivery);
    if (runner.draining) {
      // A whole batch arrived while one is applied (a build catching up): plan it now, while
      // SQLite works, rather than after the commit, while SQLite waits.
      const limit = this.batchLimit(runner.role);
      if (runner.next === undefined && runner.queue.length >= limit && runner.projection.planMany && !runner.failed && !runner.retired) {
        runner.next = this.takeBatch(runner, { plan: true });
      }
      return;
    }
    runner.draining = true;
    runner.applying = this.drain(runner);
  }

  /** The next batch from the queue: up to the limit, with the projection's plan for it if asked for. */
  private takeBatch(runner: Runner, options: { plan: boolean }): Batch {
    const { projection, wanted } = runner;
    const deliveries = runner.queue.splice(0, this.batchLimit(runner.role));
    const events = deliveries.map((delivery) => delivery.event).filter((event) => wanted.has(event.type));
    if (!options.plan || !projection.planMany || !projection.applyMany || events.length <= 1) return { deliveries, events };
    try {
      return { deliveries, events, plan: projection.planMany(events) };
    } catch {
      // applyMany plans for itself, and fails there; the host then names the event.
      return { deliveries, events };
    }
  }

  private async drain(runner: Runner): Promise<void> {
    // The store hands over a page at a time, synchronously: let the rest of it arrive.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      for (;;) {
        const batch = runner.next ?? (runner.queue.length > 0 ? this.takeBatch(runner, { plan: false }) : undefined);
        runner.next = undefined;
        if (!batch) break;
        try {
          await this.applyBatch(runner, batch);
        } catch (error) {
          // After the commit (files, the swap): the projection stops there, like a failing apply.
          await this.fail(runner, undefined, error);
        }
      }
    } finally {
      runner.draining = false;
    }
  }

  private async applyBatch(runner: Runner, batch: Batch): Promise<void> {
    const { deliveries, events, plan } = batch;
    if (runner.failed || runner.retired) {
      await this.endOpenTransaction(runner);
      for (const delivery of deliveries) delivery.ack();
      return;
    }
    const { projection, connection } = runner;
    const applied = events.length;
    let current: StoredEvent | undefined;
    try {
      if (!runner.transactionOpen) await connection.exec('BEGIN IMMEDIATE');
      runner.transactionOpen = false;
      if (projection.applyMany && events.length > 1) {
        try {
          await projection.applyMany(connection, events, plan);
        } catch {
          // Start the batch again one event at a time, so the failure names its event.
          await connection.exec('ROLLBACK');
          await connection.exec('BEGIN IMMEDIATE');
          for (const event of events) await projection.apply(connection, (current = event));
        }
      } else {
        for (const event of events) await projection.apply(connection, (current = event));
      }
      const last = deliveries[deliveries.length - 1]!.event.position;
      // A build with its next batch already here begins that batch's transaction in the same
      // round trip (a live read model regenerates its files between batches, outside any).
      const more = runner.role === 'build' && (runner.next !== undefined || runner.queue.length > 0);
      // The checkpoint and the commit in one round trip (a position is a bigint: digits only).
      await connection.exec(
        `INSERT INTO projection_checkpoint (singleton, position) VALUES (1, '${last.toString()}')
           ON CONFLICT (singleton) DO UPDATE SET position = excluded.position; COMMIT;${more ? ' BEGIN IMMEDIATE;' : ''}`,
      );
      runner.position = last;
      runner.transactionOpen = more;
    } catch (error) {
      await connection.exec('ROLLBACK').catch(() => undefined);
      await this.fail(runner, current, error);
      return;
    } finally {
      for (const delivery of deliveries) delivery.ack();
    }
    // A build beside the live read model must not overwrite the live files with a
    // half-built state; it regenerates them once, when it is swapped in.
    if (applied > 0 && runner.role === 'active') await this.regenerateFiles(runner);
    await this.afterProgress(runner);
  }

  private async regenerateFiles(runner: Runner): Promise<void> {
    const { projection, connection } = runner;
    if (!projection.afterCommit) return;
    await projection.afterCommit(connection, { dataDir: this.options.dataDir }).catch((error: unknown) =>
      this.logger.error({ projection: projection.name, err: error }, 'regenerating the files of a projection failed'),
    );
  }

  private async afterProgress(runner: Runner): Promise<void> {
    const position = runner.position ?? 0n;
    // Events still queued are in the store past the position, so it has not caught up: no
    // need to ask the store how far it goes (a round trip between two batches of a build).
    const queued = (runner.queue.at(-1) ?? runner.next?.deliveries.at(-1))?.event.position;
    const head = queued !== undefined && queued > position ? queued : await this.options.store.headPosition();
    if (runner.role === 'build') {
      for (const listener of this.progressListeners) listener({ name: runner.projection.name, position, head });
      if (position >= head) await this.swapIn(runner);
      return;
    }
    if (position >= head) {
      const catalog = this.requireCatalog();
      const entry = await catalog.entry(runner.projection.name);
      if (entry?.status === 'catching_up') await catalog.setStatus(runner.projection.name, 'live');
    }
    const waiting = this.caughtUp.get(runner.projection.name);
    this.caughtUp.delete(runner.projection.name);
    for (const resolve of waiting ?? []) resolve();
  }

  /** The build caught up: it becomes the active read model, and the old file goes. */
  private async swapIn(build: Runner): Promise<void> {
    const name = build.projection.name;
    const catalog = this.requireCatalog();
    await finishBuild(build.connection);
    const { retiredFile } = await catalog.swapIn(name);
    const retired = this.runners.get(name);
    if (retired) await this.retire(retired);
    this.runners.delete(`${name}#build`);
    this.runners.set(name, Object.assign(build, { role: 'active' as const }));
    if (retiredFile !== build.file) this.removeLater(retiredFile);
    await this.regenerateFiles(build);
    this.logger.info({ projection: name, version: build.projection.version, position: String(build.position) }, 'rebuilt read model swapped in');
    this.builds.get(name)?.resolve();
    this.builds.delete(name);
    await this.afterProgress(build);
  }

  /**
   * Stops a runner: no new batch starts, the one in flight finishes, then its file closes.
   * A build the next start goes on with (`resumable`) is synced first, so that a restart of
   * the machine in between does not cost it (see ReadModelCatalog.trustsBuild).
   */
  private async retire(runner: Runner, options: { resumable?: boolean } = {}): Promise<void> {
    runner.retired = true;
    runner.subscription?.unsubscribe();
    await runner.applying;
    await this.endOpenTransaction(runner);
    if (options.resumable && runner.role === 'build' && !runner.failed) {
      await syncBuild(runner.connection)
        .then(() => this.catalog?.markSynced(runner.file))
        .catch((error: unknown) => this.logger.warn({ projection: runner.projection.name, err: error }, 'syncing a stopped build failed; it starts again after a reboot'));
    }
    await runner.connection.close().catch(() => undefined);
  }

  /** Ends a transaction begun with the last commit that no batch will use now (the runner stopped or failed). */
  private async endOpenTransaction(runner: Runner): Promise<void> {
    if (!runner.transactionOpen) return;
    runner.transactionOpen = false;
    await runner.connection.exec('ROLLBACK').catch(() => undefined);
  }

  private async fail(runner: Runner, event: StoredEvent | undefined, error: unknown): Promise<void> {
    if (runner.retired) return; // closing under it is not a failure of the projection
    runner.failed = true;
    runner.subscription?.unsubscribe();
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error({ projection: runner.projection.name, position: String(event?.position), eventType: event?.type, err: error }, 'projection failed; the others go on');
    runner.failureRecorded = this.requireCatalog()
      .markFailed(runner.projection.name, { position: event?.position ?? -1n, eventType: event?.type ?? '', error: message })
      .catch(() => undefined);
    await runner.failureRecorded;
    const waiting = this.caughtUp.get(runner.projection.name);
    this.caughtUp.delete(runner.projection.name);
    for (const resolve of waiting ?? []) resolve();
    if (runner.role === 'build') {
      this.builds.get(runner.projection.name)?.reject(new Error(`rebuilding ${runner.projection.name} failed at ${event?.type ?? 'an event'}: ${message}`));
      this.builds.delete(runner.projection.name);
    }
  }

  private removeLater(file: string): void {
    const timer = setTimeout(() => {
      void this.catalog?.removeFile(file).catch(() => undefined);
    }, this.options.retiredFileGraceMs ?? 60_000);
    timer.unref();
  }

  private requireCatalog(): ReadModelCatalog {
    if (!this.catalog) throw new Error('the projection host is not started');
    return this.catalog;
  }
}
