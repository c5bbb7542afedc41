/**
 * Every read model the runtime maintains. A new projection is added here; raising one's
 * version rebuilds it (beside the live one) on the next start.
 */
import { auditLogProjection } from './audit-log.js';
import { dailyLogFilesProjection } from './daily-log-files.js';
import { groupActivityProjection } from './group-activity.js';
import { memoryFilesProjection } from './memory-files.js';
import { memoryIndexProjection } from './memory-index.js';
import type { Projection } from './projection.js';
import { runUsageProjection } from './run-usage.js';
import { tasksProjection } from './tasks.js';
import { workContextProjection } from './work-context.js';

export const readModelProjections: readonly Projection[] = [
  memoryIndexProjection,
  memoryFilesProjection,
  dailyLogFilesProjection,
  workContextProjection,
  runUsageProjection,
  tasksProjection,
  groupActivityProjection,
  auditLogProjection,
];
