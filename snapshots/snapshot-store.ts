/**
 * Where actor snapshots are kept. A snapshot is a cache of an actor's state at a stream
 * revision, made by one machine definition (its hash); it is never a source of truth, and
 * a snapshot made by another definition is never returned.
 */
export interface StoredSnapshot {
  readonly revision: bigint;
  /** xstate's persisted snapshot: `{ value, context, ... }`, plain JSON. */
  readonly state: unknown;
}

export interface SnapshotStore {
  load(streamId: string, machineHash: string): Promise<StoredSnapshot | undefined>;
  save(streamId: string, machineHash: string, snapshot: StoredSnapshot): Promise<void>;
  /** Removes every snapshot: state must come back identical from the events alone. */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export class MemorySnapshotStore implements SnapshotStore {
  private readonly snapshots = new Map<string, { revision: bigint; json: string }>();

  async load(streamId: string, machineHash: string): Promise<StoredSnapshot | undefined> {
    const found = this.snapshots.get(`${machineHash}:${streamId}`);
    return found && { revision: found.revision, state: JSON.parse(found.json) as unknown };
  }

  async save(streamId: string, machineHash: string, snapshot: StoredSnapshot): Promise<void> {
    // Stored as JSON so a test sees exactly what a durable store would give back.
    this.snapshots.set(`${machineHash}:${streamId}`, { revision: snapshot.revision, json: JSON.stringify(snapshot.state) });
  }

  async clear(): Promise<void> {
    this.snapshots.clear();
  }

  async close(): Promise<void> {}

  get size(): number {
    return this.snapshots.size;
  }
}
