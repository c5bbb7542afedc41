/**
 * Every kind of actor the runtime hosts. A new kind is added here (and its events in
 * events/catalogue/index.ts).
 */
import type { AnyActorKind } from './actor-kind.js';
import { approvalKind } from './approval.js';
import { groupKind } from './group.js';
import { instructionsKind } from './instructions.js';
import { memoryKind } from './memory.js';
import { runKind } from './run.js';
import { supervisorKind } from './supervisor.js';
import { taskKind } from './task.js';

/** Every kind the runtime hosts, as one union: the registry the runtime's host is typed by. */
export type RuntimeActorKind =
  | typeof groupKind
  | typeof taskKind
  | typeof memoryKind
  | typeof approvalKind
  | typeof runKind
  | typeof supervisorKind
  | typeof instructionsKind;

export const actorKinds: readonly RuntimeActorKind[] = [groupKind, taskKind, memoryKind, approvalKind, runKind, supervisorKind, instructionsKind];

/** The kind a stream belongs to: `task-42` → task, `supervisor` → supervisor. */
export function kindOfStream(streamId: string, kinds: readonly AnyActorKind[] = actorKinds): { kind: AnyActorKind; id: string } | undefined {
  for (const kind of kinds) {
    if (streamId === kind.kind) return { kind, id: '' };
    if (streamId.startsWith(`${kind.kind}-`)) return { kind, id: streamId.slice(kind.kind.length + 1) };
  }
  return undefined;
}
