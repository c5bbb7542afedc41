/**
 * Every host tool the gateway offers, in the order the model sees them.
 */
import type { HostTool } from './host-tool.js';
import { httpRequestTool } from './http-request.js';
import { listTasksTool } from './list-tasks.js';
import { memorySearchTool } from './memory-search.js';
import { memoryWriteTool } from './memory-write.js';
import { postMessageTool } from './post-message.js';
import { scheduleTaskTool } from './schedule-task.js';
import { searchKnowledgeTool } from './search-knowledge.js';
import { sendMessageTool } from './send-message.js';
import { taskControlTools } from './task-controls.js';
import { webFetchTool } from './web-fetch.js';

export const hostTools: readonly HostTool[] = [
  sendMessageTool,
  memorySearchTool,
  memoryWriteTool,
  searchKnowledgeTool,
  scheduleTaskTool,
  listTasksTool,
  ...taskControlTools,
  postMessageTool,
  httpRequestTool,
  webFetchTool,
];
