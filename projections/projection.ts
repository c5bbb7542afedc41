/**
 * A projection: a read model built from events, that can always be thrown away and built
 * again from `$all`. Each projection version lives in its own SQLite file in the data
 * directory (`read-models/<name>.v<version>.db`) together with its checkpoint, and the
 * projection host applies events to it in transactions that also move the checkpoint, so
 * after a crash no event is applied twice and none is skipped.
 *
 * A projection is written as:
 * - `schema`: the DDL of a fresh read model (tables, FTS5 virtual tables, and the indexes
 *   `apply` needs);
 * - `deferredSchema` (optional): DDL that only serves readers (secondary indexes). A rebuild
 *   creates it once it has caught up, just before it is swapped in: one index built over
 *   every row costs less than keeping it up to date row by row;
 * - `apply(db, event)`: one stored event's effect, inside the host's transaction. It must
 *   be deterministic (no clock, no randomness: times come from the event), so that a
 *   rebuild gives byte-identical results. Events of other types are never passed to it.
 * - `applyMany` and `planMany` (optional): a run of events in a few statements, and the
 *   part of it that needs no database, which the host may work out ahead of time;
 * - `afterCommit(db, context)` (optional): runs outside the transaction after a committed
 *   batch that applied at least one of its events, once when the projection starts, and
 *   once when a rebuild is swapped in (never while a rebuild is building): regenerate files
 *   such as MEMORY.md or WORK_CONTEXT.md from the tables. It must write files atomically
 *   (temp + rename) and derive them from the tables alone, so a rebuild writes the same bytes.
 *
 * Raising `version` makes the host build the new version beside the live one and swap it
 * in once it has caught up (blue/green): readers never see a half-built read model.
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';

export interface AfterCommitContext {
  /** The runtime's data directory, for files the projection maintains. */
  readonly dataDir: string;
}

export interface Projection {
  /** Lower-case words with dashes: `memory-index`. Names the read model file. */
  readonly name: string;
  /** A positive integer; raise it whenever `schema` or `apply` changes meaning. */
  readonly version: number;
  /** The event types `apply` receives. */
  readonly eventTypes: readonly string[];
  readonly schema: string;
  /**
   * Optional DDL that only speeds up readers: indexes `apply` does not need (it must give
   * the same rows with or without them). A live read model has it from the start; a build
   * beside the live one gets it in one go once it has caught up, before it is swapped in.
   */
  readonly deferredSchema?: string;
  apply(db: SqliteConnection, event: StoredEvent): Promise<void>;
  /**
   * Optional: applies a run of its events, in order, with the same result as `apply` on
   * each in turn, in fewer statements (each statement is a round trip to SQLite's thread).
   * If it throws, the host rolls back and applies the batch event by event, so a failure
   * is still pinned on one event. `plan` is what `planMany` gave for these very events,
   * when the host had them early; without it, applyMany plans for itself.
   */
  applyMany?(db: SqliteConnection, events: readonly StoredEvent[], plan?: unknown): Promise<void>;
  /**
   * Optional, with applyMany: the part of applying a run that needs no database (turning
   * the events into the statements' parameters), as a value only applyMany reads. A build
   * catching up has the next batch whole while SQLite is still applying the current one;
   * the host plans it then, on a thread that would otherwise wait, so that SQLite's does
   * not wait for it after the commit. It must be pure: no database, no clock, no I/O.
   */
  planMany?(events: readonly StoredEvent[]): unknown;
  afterCommit?(db: SqliteConnection, context: AfterCommitContext): Promise<void>;
}

/** `defineProjection({...})`: a typed identity, so a projection reads as one declaration. */
export function defineProjection(projection: Projection): Projection {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(projection.name)) {
    throw new Error(`projection name '${projection.name}' must be lower-case words joined by dashes`);
  }
  if (!Number.isInteger(projection.version) || projection.version < 1) {
    throw new Error(`projection ${projection.name}: version must be a positive integer`);
  }
  return projection;
}
