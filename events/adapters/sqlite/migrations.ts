/**
 * The event database's schema, as an append-only list of migrations. `PRAGMA user_version`
 * holds the number of the last one applied; each applies in its own transaction together
 * with that number, so a crash leaves the schema at one version or the next, never between.
 */
import { SchemaVersionError } from '../../errors.js';
import type { SqliteConnection } from './connection.js';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, streams and stream metadata',
    sql: `
      CREATE TABLE events (
        position    INTEGER PRIMARY KEY,
        stream_id   TEXT    NOT NULL,
        revision    INTEGER NOT NULL,
        event_id    TEXT    NOT NULL,
        type        TEXT    NOT NULL,
        version     INTEGER NOT NULL,
        data        TEXT    NOT NULL,
        metadata    TEXT    NOT NULL,
        recorded_at TEXT    NOT NULL,
        prev_hash   TEXT    NOT NULL,
        hash        TEXT    NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX events_by_stream ON events (stream_id, revision);
      CREATE UNIQUE INDEX events_by_id ON events (event_id);

      -- One row a stream: its head, so an append never has to look at the events table to
      -- find where a stream ends or what its last hash was.
      CREATE TABLE streams (
        stream_id     TEXT    PRIMARY KEY,
        revision      INTEGER NOT NULL,
        last_hash     TEXT    NOT NULL,
        last_position INTEGER NOT NULL,
        updated_at    TEXT    NOT NULL
      ) STRICT, WITHOUT ROWID;

      -- The database keeps the stream index itself, inside the INSERT that adds the events:
      -- it can never disagree with them, and an append costs one statement, not two.
      CREATE TRIGGER events_advance_stream AFTER INSERT ON events
      BEGIN
        INSERT INTO streams (stream_id, revision, last_hash, last_position, updated_at)
        VALUES (NEW.stream_id, NEW.revision, NEW.hash, NEW.position, NEW.recorded_at)
        ON CONFLICT (stream_id) DO UPDATE SET
          revision = excluded.revision,
          last_hash = excluded.last_hash,
          last_position = excluded.last_position,
          updated_at = excluded.updated_at;
      END;

      -- Apart from streams: metadata may be set before a stream's first event.
      CREATE TABLE stream_metadata (
        stream_id       TEXT PRIMARY KEY,
        truncate_before INTEGER,
        max_count       INTEGER,
        updated_at      TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'events by correlation id',
    sql: `
      -- \`ledgerclaw trace <correlationId>\`: one trigger followed through every stream.
      CREATE INDEX events_by_correlation ON events (json_extract(metadata, '$.correlationId'), position);
    `,
  },
  {
    version: 3,
    name: 'hash version of each event',
    sql: `
      -- The rule each event's hash was made with (events/hash-chain.ts). Rows stored before
      -- this migration keep their bytes and read as 1; the writer stores 2 from now on.
      ALTER TABLE events ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1;
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

function newerSchemaError(path: string, current: number): SchemaVersionError {
  return new SchemaVersionError(
    `the event store at ${path} has schema v${current}, newer than this ledgerclaw understands (v${LATEST_SCHEMA_VERSION}); upgrade ledgerclaw`,
  );
}

export async function readSchemaVersion(connection: SqliteConnection): Promise<number> {
  const row = await connection.get<{ user_version: number }>('PRAGMA user_version');
  return row?.user_version ?? 0;
}

export async function migrate(connection: SqliteConnection): Promise<void> {
  const current = await readSchemaVersion(connection);
  if (current > LATEST_SCHEMA_VERSION) {
    throw newerSchemaError(connection.path, current);
  }
  for (const migration of MIGRATIONS.filter((candidate) => candidate.version > current)) {
    await connection.exec('BEGIN IMMEDIATE');
    try {
      await connection.exec(migration.sql);
      await connection.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
      await connection.exec(`PRAGMA user_version = ${migration.version}`);
      await connection.exec('COMMIT');
    } catch (error) {
      await connection.exec('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

/** A read-only handle cannot migrate, so it insists on the schema it was built for. */
export async function requireCurrentSchema(connection: SqliteConnection): Promise<void> {
  const current = await readSchemaVersion(connection);
  if (current === LATEST_SCHEMA_VERSION) return;
  if (current > LATEST_SCHEMA_VERSION) throw newerSchemaError(connection.path, current);
  throw new SchemaVersionError(
    `the event store at ${connection.path} has schema v${current}; this ledgerclaw reads v${LATEST_SCHEMA_VERSION}. Start the runtime once to migrate it`,
  );
}
