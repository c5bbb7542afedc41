/**
 * The `heartbeat` gate: wake only when the group's HEARTBEAT.md (in its workspace, where
 * the agent and people keep it) holds actionable items (heartbeat-items.ts). Read on the
 * host: a file read costs far less than a container, and the gate runs often.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { groupWorkspaceDir } from '../../runs/run-executor.js';
import { verdict, type GateAdapter } from './gate.js';
import { actionableHeartbeatItems } from './heartbeat-items.js';

export const HEARTBEAT_FILE = 'HEARTBEAT.md';

/** A checklist is small; past this much, the rest is not read (a runaway file costs nothing). */
const MAX_HEARTBEAT_BYTES = 256 * 1024;

/** How many items the detail names before saying how many more there are. */
const ITEMS_IN_DETAIL = 3;
const ITEM_CHARS_IN_DETAIL = 200;

export function heartbeatPath(dataDir: string, groupId: string): string {
  return join(groupWorkspaceDir(dataDir, groupId), HEARTBEAT_FILE);
}

/** The file's first MAX_HEARTBEAT_BYTES as text, or null when there is no file. */
async function readHeartbeat(path: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const length = Math.min((await handle.stat()).size, MAX_HEARTBEAT_BYTES);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

export function describeItems(items: readonly string[]): string {
  const named = items.slice(0, ITEMS_IN_DETAIL).map((item) => (item.length > ITEM_CHARS_IN_DETAIL ? `${item.slice(0, ITEM_CHARS_IN_DETAIL - 1)}…` : item));
  const more = items.length > ITEMS_IN_DETAIL ? `; and ${items.length - ITEMS_IN_DETAIL} more` : '';
  return `${HEARTBEAT_FILE} has ${items.length} actionable item${items.length === 1 ? '' : 's'}: ${named.join('; ')}${more}`;
}

export const evaluateHeartbeatGate: GateAdapter<'heartbeat'> = async (_gate, task, deps) => {
  const markdown = await readHeartbeat(heartbeatPath(deps.dataDir, task.groupId));
  if (markdown === null) return verdict(false, `no ${HEARTBEAT_FILE} in the workspace of group ${task.groupId}`);
  const items = actionableHeartbeatItems(markdown);
  if (items.length === 0) return verdict(false, `${HEARTBEAT_FILE} of group ${task.groupId} has no actionable items`);
  return verdict(true, describeItems(items));
};
