/**
 * When groups last received a message, as the `new_messages` gate asks it: through the
 * group-activity read model, once it has caught up with everything stored when the question
 * was asked (as the usage ledger reads run usage), so a message recorded just before a task
 * falls due is seen.
 *
 * It is asked for thousands of tasks in one sweep, so questions asked together are answered
 * together: one head read, one wait for the projection, one catalog lookup and one query per
 * 500 groups, on connections kept open between sweeps (reopened when a rebuild swaps a new
 * read model in). A question asked while a batch is being answered goes into the next batch,
 * which reads the head again: no answer is older than its question.
 */
import { SqliteConnection } from '../../../events/adapters/sqlite/connection.js';
import type { EventStore } from '../../../events/port.js';
import { groupActivityProjection, lastMessageAtOfGroups } from '../../../projections/group-activity.js';
import { ReadModelCatalog } from '../../../projections/read-model-files.js';

export interface GroupActivityReader {
  /** When group `groupId` last received a message, counting everything stored so far; null if it never has. */
  lastMessageAt(groupId: string): Promise<string | null>;
}

export interface ReadModelGroupActivityDeps {
  readonly store: Pick<EventStore, 'headPosition'>;
  readonly dataDir: string;
  /** Resolves once the named projection has applied everything up to `position` (ProjectionHost.waitFor). */
  readonly caughtUp: (projection: string, position: bigint) => Promise<void>;
}

interface Waiting {
  resolve(at: string | null): void;
  reject(error: unknown): void;
}

export class ReadModelGroupActivity implements GroupActivityReader {
  private pending = new Map<string, Waiting[]>();
  private answering: Promise<void> | null = null;
  private catalog: ReadModelCatalog | undefined;
  private model: { readonly file: string; readonly connection: SqliteConnection } | undefined;
  private closed = false;

  constructor(private readonly deps: ReadModelGroupActivityDeps) {}

  lastMessageAt(groupId: string): Promise<string | null> {
    if (this.closed) return Promise.reject(new Error('the group-activity reader is closed'));
    return new Promise((resolve, reject) => {
      const waiting = this.pending.get(groupId) ?? [];
      waiting.push({ resolve, reject });
      this.pending.set(groupId, waiting);
      this.answering ??= this.answerAll();
    });
  }

  /** Answers what is pending, batch after batch, until nothing is. */
  private async answerAll(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = this.pending;
      this.pending = new Map();
      try {
        const found = await this.lookUp([...batch.keys()]);
        for (const [groupId, waiting] of batch) for (const one of waiting) one.resolve(found.get(groupId) ?? null);
      } catch (error) {
        for (const waiting of batch.values()) for (const one of waiting) one.reject(error);
      }
    }
    // In the same synchronous step as the last check: a question asked after it starts a new round.
    this.answering = null;
  }

  private async lookUp(groupIds: readonly string[]): Promise<Map<string, string>> {
    const head = await this.deps.store.headPosition();
    if (head === 0n) return new Map(); // nothing stored: no group has a message
    await this.deps.caughtUp(groupActivityProjection.name, head);
    const db = await this.activeModel();
    return db === undefined ? new Map() : lastMessageAtOfGroups(db, groupIds);
  }

  /** The read model readers use now: the catalog names it, and a rebuild swaps it for another. */
  private async activeModel(): Promise<SqliteConnection | undefined> {
    this.catalog ??= await ReadModelCatalog.openForReading(this.deps.dataDir);
    if (this.catalog === undefined) return undefined;
    const entry = await this.catalog.entry(groupActivityProjection.name);
    if (entry === undefined) return undefined;
    if (this.model?.file !== entry.activeFile) {
      await this.model?.connection.close();
      this.model = undefined;
      const connection = await SqliteConnection.open(this.catalog.path(entry.activeFile), { create: false });
      await connection.exec('PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;');
      this.model = { file: entry.activeFile, connection };
    }
    return this.model.connection;
  }

  /** Waits for questions being answered, then closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    await this.answering;
    await this.model?.connection.close();
    await this.catalog?.close();
    this.model = undefined;
    this.catalog = undefined;
  }
}
