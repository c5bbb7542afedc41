/**
 * A group's memory past MEMORY.md's capacity → its lowest-ranked facts demoted
 * (memory.enforceCapacity → memory `demoteFacts`).
 *
 * The memory actor asks for it while folding a fact that may overflow the file (a recorded
 * or restored fact), and again at restart while the file is over capacity. The decision is
 * `factsToDemote` (actors/memory-capacity.ts), the same arithmetic the file's renderer
 * uses, on the actor's state read fresh, so nothing shown is demoted and nothing demoted is
 * shown. All of one decision's facts go in one command, keyed like every workflow command
 * by the causing event (the fact recorded) and the target: a repeated effect stores nothing
 * twice, and a later fact's effect demotes only what is over by then.
 */
import { factsToDemote, MEMORY_FILE_CAPACITY_LINES } from '../../actors/memory-capacity.js';
import type { RefusedCommand, Workflow, WorkflowCommand } from './workflow.js';

export const enforceMemoryCapacity: Workflow<'memory.enforceCapacity', { memory: 'memory' }> = {
  effect: 'memory.enforceCapacity',
  reads: ({ scope }) => ({ memory: { kind: 'memory', id: scope } }),
  decide: ({ scope }, { memory }): WorkflowCommand[] => {
    const factIds = factsToDemote(memory.context, MEMORY_FILE_CAPACITY_LINES);
    return factIds.length === 0 ? [] : [{ kind: 'memory', id: scope, command: { type: 'demoteFacts', factIds, capacityLines: MEMORY_FILE_CAPACITY_LINES } }];
  },
  // Every fact named is demoted by now (a repeated effect), or left the file another way.
  alreadyDone: (refused: RefusedCommand) =>
    refused.kind === 'memory' &&
    refused.command.type === 'demoteFacts' &&
    refused.command.factIds.every((id) => {
      const fact = refused.target.context.facts.find((candidate) => candidate.id === id);
      return fact === undefined || fact.status !== 'active' || fact.demoted;
    }),
};
