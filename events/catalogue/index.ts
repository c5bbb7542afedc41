/**
 * The catalogue of every event ledgerclaw stores. A new event type is added here; a changed
 * one gets a new version with an upcaster (`.evolve`), never an edited schema.
 */
import { EventCatalogue } from '../catalogue.js';
import { approvalEvents } from './approval.js';
import { dailyLogEvents } from './daily-log.js';
import { groupEvents } from './group.js';
import { instructionsEvents } from './instructions.js';
import { knowledgeEvents } from './knowledge.js';
import { memoryEvents } from './memory.js';
import { runEvents } from './run.js';
import { runtimeStarted, runtimeStopped } from './runtime.js';
import { supervisorEvents } from './supervisor.js';
import { taskEvents } from './task.js';

export const catalogue = new EventCatalogue([
  runtimeStarted,
  runtimeStopped,
  ...groupEvents,
  ...taskEvents,
  ...memoryEvents,
  ...dailyLogEvents,
  ...knowledgeEvents,
  ...approvalEvents,
  ...runEvents,
  ...supervisorEvents,
  ...instructionsEvents,
]);
