/**
 * Group activity: when each group last received a message, and how many it has received,
 * who talks where (for Slack's App Home: a person's groups), and which groups owe something
 * (a turn not finished, a reply not posted), so a restart loads only those.
 * The scheduler's `new_messages` wake gate asks it whether anything was said in a group
 * since a task last decided (runtime/scheduler/gates/), so a task that only has work to do
 * when people talk costs no run, and no model token, when they do not.
 *
 * Derived from the group events alone (their own time and position), so a rebuild gives
 * the same rows. One small row per group: the gate reads it for thousands of
 * tasks per sweep. A message in a thread counts for the thread and for its channel (its
 * home group): a watch on "new messages in #sales" sees replies in threads too.
 */
import type { SqliteConnection } from '../events/adapters/sqlite/connection.js';
import type { StoredEvent } from '../events/envelope.js';
import { groupMessageReceived, groupReplyPosted, groupReplyRequested, groupRunFinished, groupTurnRequested } from '../events/catalogue/group.js';
import { defineProjection } from './projection.js';
import { homeGroupId } from '../actors/group.js';

export const GROUP_ACTIVITY_SCHEMA = `
CREATE TABLE group_activity (
  group_id TEXT PRIMARY KEY,
  -- the occurredAt of the newest message_received (ISO 8601, UTC)
  last_message_at TEXT NOT NULL,
  last_message_position INTEGER NOT NULL,
  message_count INTEGER NOT NULL
) STRICT;
CREATE TABLE group_members (
  -- the home group (a thread's channel)
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  last_message_at TEXT NOT NULL,
  message_count INTEGER NOT NULL,
  PRIMARY KEY (user_id, group_id)
) STRICT;
-- What each group still owes after a restart: turns requested and not finished, replies
-- requested and not posted. A restart loads only the groups with something open.
CREATE TABLE group_owing (
  group_id TEXT PRIMARY KEY,
  open_turns INTEGER NOT NULL,
  owed_replies INTEGER NOT NULL
) STRICT
`;

const GROUP_STREAM_PREFIX = 'group-';

function groupIdOf(event: StoredEvent): string {
  return event.streamId.slice(GROUP_STREAM_PREFIX.length);
}

const UPSERT_ACTIVITY = `INSERT INTO group_activity (group_id, last_message_at, last_message_position, message_count) VALUES (?, ?, ?, 1)
  ON CONFLICT (group_id) DO UPDATE SET last_message_at = excluded.last_message_at,
    last_message_position = excluded.last_message_position, message_count = message_count + 1`;

const UPSERT_MEMBER = `INSERT INTO group_members (group_id, user_id, last_message_at, message_count) VALUES (?, ?, ?, 1)
  ON CONFLICT (user_id, group_id) DO UPDATE SET last_message_at = excluded.last_message_at, message_count = message_count + 1`;

const OWING_DELTAS: Readonly<Record<string, readonly [turns: number, replies: number]>> = {
  [groupTurnRequested.type]: [1, 0],
  [groupRunFinished.type]: [-1, 0],
  [groupReplyRequested.type]: [0, 1],
  [groupReplyPosted.type]: [0, -1],
};

export const groupActivityProjection = defineProjection({
  name: 'group-activity',
  version: 2,
  eventTypes: [groupMessageReceived.type, ...Object.keys(OWING_DELTAS)],
  schema: GROUP_ACTIVITY_SCHEMA,
  async apply(db, event) {
    const owing = OWING_DELTAS[event.type];
    if (owing) {
      await db.run(
        `INSERT INTO group_owing (group_id, open_turns, owed_replies) VALUES (?, ?, ?)
         ON CONFLICT (group_id) DO UPDATE SET open_turns = open_turns + excluded.open_turns, owed_replies = owed_replies + excluded.owed_replies`,
        [groupIdOf(event), owing[0], owing[1]],
      );
      return;
    }
    // Events come in $all order, so the one applied last is the newest: no comparison needed.
    const groupId = groupIdOf(event);
    const home = homeGroupId(groupId);
    const at = event.metadata.occurredAt;
    await db.run(UPSERT_ACTIVITY, [groupId, at, Number(event.position)]);
    if (home !== groupId) await db.run(UPSERT_ACTIVITY, [home, at, Number(event.position)]);
    await db.run(UPSERT_MEMBER, [home, (event.data as { sender: string }).sender, at]);
  },
});

/** Groups with a turn not finished or a reply not posted: the only ones a restart must load. */
export async function groupsOwingEffects(db: SqliteConnection): Promise<string[]> {
  const rows = await db.all<{ group_id: string }>('SELECT group_id FROM group_owing WHERE open_turns > 0 OR owed_replies > 0 ORDER BY group_id');
  return rows.map((row) => row.group_id);
}

/** The groups (channels and DMs, not threads) a person has talked in, most recent first. */
export async function groupsOfMember(db: SqliteConnection, userId: string, limit: number): Promise<{ groupId: string; lastMessageAt: string }[]> {
  const rows = await db.all<{ group_id: string; last_message_at: string }>(
    'SELECT group_id, last_message_at FROM group_members WHERE user_id = ? ORDER BY last_message_at DESC, group_id LIMIT ?',
    [userId, limit],
  );
  return rows.map((row) => ({ groupId: row.group_id, lastMessageAt: row.last_message_at }));
}

export interface GroupActivity {
  readonly groupId: string;
  readonly lastMessageAt: string;
  readonly lastMessagePosition: bigint;
  readonly messageCount: number;
}

interface GroupActivityRow {
  group_id: string;
  last_message_at: string;
  last_message_position: number;
  message_count: number;
}

function toActivity(row: GroupActivityRow): GroupActivity {
  return {
    groupId: row.group_id,
    lastMessageAt: row.last_message_at,
    lastMessagePosition: BigInt(row.last_message_position),
    messageCount: row.message_count,
  };
}

/** When group `groupId` last received a message; null when it never has. */
export async function lastMessageAt(db: SqliteConnection, groupId: string): Promise<string | null> {
  const row = await db.get<{ at: string }>('SELECT last_message_at AS at FROM group_activity WHERE group_id = ?', [groupId]);
  return row?.at ?? null;
}

/** One group's row, or null when it never received a message. */
export async function groupActivity(db: SqliteConnection, groupId: string): Promise<GroupActivity | null> {
  const row = await db.get<GroupActivityRow>('SELECT * FROM group_activity WHERE group_id = ?', [groupId]);
  return row ? toActivity(row) : null;
}

/** SQLite's default limit on bound parameters is far above this; it keeps statements small. */
const GROUPS_PER_STATEMENT = 500;

/**
 * `lastMessageAt` for many groups in a few statements (one per 500 groups): a group that
 * never received a message is absent from the map.
 */
export async function lastMessageAtOfGroups(db: SqliteConnection, groupIds: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const unique = [...new Set(groupIds)];
  for (let start = 0; start < unique.length; start += GROUPS_PER_STATEMENT) {
    const chunk = unique.slice(start, start + GROUPS_PER_STATEMENT);
    const rows = await db.all<{ group_id: string; at: string }>(
      `SELECT group_id, last_message_at AS at FROM group_activity WHERE group_id IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const row of rows) found.set(row.group_id, row.at);
  }
  return found;
}
