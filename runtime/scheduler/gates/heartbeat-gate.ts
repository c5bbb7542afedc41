/**
 * The `heartbeat` gate: wake only when the group's HEARTBEAT.md (in its workspace, where
 * the agent and people keep it) holds actionable items (heartbeat-items.ts). Read on the
 * host: a file read costs far less than a container, and the gate runs often.
 *
 * The agent owns the workspace, so the file is read through readWorkspaceFile: a
 * HEARTBEAT.md that is a symlink leaving the workspace, a FIFO or a device is not read, and
 * the refusal is the verdict's detail (a wake, failing open, as for any gate that cannot
 * decide).
 */
import { join } from 'node:path';
import { groupWorkspaceDir } from '../../runs/run-executor.js';
import { readWorkspaceFile, type WorkspaceRoot } from '../../sandbox/workspace-file.js';
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

function workspaceOf(dataDir: string, groupId: string): WorkspaceRoot {
  return { dir: groupWorkspaceDir(dataDir, groupId), label: `the workspace of group ${groupId}` };
}

export function describeItems(items: readonly string[]): string {
  const named = items.slice(0, ITEMS_IN_DETAIL).map((item) => (item.length > ITEM_CHARS_IN_DETAIL ? `${item.slice(0, ITEM_CHARS_IN_DETAIL - 1)}…` : item));
  const more = items.length > ITEMS_IN_DETAIL ? `; and ${items.length - ITEMS_IN_DETAIL} more` : '';
  return `${HEARTBEAT_FILE} has ${items.length} actionable item${items.length === 1 ? '' : 's'}: ${named.join('; ')}${more}`;
}

export const evaluateHeartbeatGate: GateAdapter<'heartbeat'> = async (_gate, task, deps) => {
  const read = await readWorkspaceFile(workspaceOf(deps.dataDir, task.groupId), HEARTBEAT_FILE, { maxBytes: MAX_HEARTBEAT_BYTES });
  if (read.kind === 'missing') return verdict(false, `no ${HEARTBEAT_FILE} in the workspace of group ${task.groupId}`);
  if (read.kind === 'refused') {
    deps.logger.warn({ taskId: task.taskId, groupId: task.groupId, gate: 'heartbeat', refused: read.reason }, `wake gate of task ${task.taskId} failed open: ${read.message}`);
    return verdict(true, `${read.message}, so it was not read and the agent is woken (fail open)`);
  }
  const items = actionableHeartbeatItems(read.text);
  if (items.length === 0) return verdict(false, `${HEARTBEAT_FILE} of group ${task.groupId} has no actionable items`);
  return verdict(true, describeItems(items));
};
