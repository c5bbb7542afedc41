/**
 * The workspace tools the agent runner offers the model besides host tools: read, write and edit
 * files, list, grep, and (where the sandbox contains it) a shell. Every path is confined to the
 * workspace; see paths.ts.
 *
 * `runWorkspaceTool` never throws: a refusal, a bad input or an unexpected failure all come back
 * as an error outcome the model can read and act on.
 */
import { bashTool } from './bash.js';
import type { ToolDefinition, ToolOutcome, WorkspaceToolContext } from './context.js';
import { editFileTool } from './edit-file.js';
import { describeFsError } from './fs-errors.js';
import { grepTool } from './grep.js';
import { listFilesTool } from './list-files.js';
import { truncateEnd } from './output.js';
import { readFileTool } from './read-file.js';
import { ToolFailure } from './tool-failure.js';
import type { WorkspaceTool } from './workspace-tool.js';
import { writeFileTool } from './write-file.js';

export type { ToolDefinition, ToolOutcome, WorkspaceToolContext } from './context.js';

const workspaceTools: readonly WorkspaceTool[] = [readFileTool, writeFileTool, editFileTool, listFilesTool, grepTool, bashTool];
const toolsByName = new Map(workspaceTools.map((tool) => [tool.name, tool]));

/** The tools to offer the model: those the policy allows, and high-risk ones (bash) only when bash is enabled. */
export function workspaceToolDefinitions(context: WorkspaceToolContext): ToolDefinition[] {
  return workspaceTools.filter((tool) => isOffered(tool, context)).map((tool) => tool.definition(context));
}

/** Whether `name` is one of these tools (even if disabled here), so the runner knows not to send it to the host. */
export function isWorkspaceTool(name: string): boolean {
  return toolsByName.has(name);
}

export async function runWorkspaceTool(name: string, input: unknown, context: WorkspaceToolContext): Promise<ToolOutcome> {
  const tool = toolsByName.get(name);
  if (tool === undefined) return { content: `${name}: not a workspace tool`, isError: true };
  if (!isAllowed(tool, context)) {
    return {
      content: `${name}: not allowed in this conversation: the permission policy lets it use only ${context.allowedTools?.join(', ') || 'no workspace tools'}; nothing ran. Tell the user if the task needs it.`,
      isError: true,
    };
  }
  if (!isOffered(tool, context)) {
    return { content: `${name}: disabled in this sandbox, which cannot contain it; use the other tools`, isError: true };
  }
  let outcome: ToolOutcome;
  try {
    outcome = await tool.invoke(input, context);
  } catch (error) {
    outcome = { content: `${name}: ${describeFailure(error, input)}`, isError: true };
  }
  // Each tool keeps within the cap by itself, more gracefully; this is the guarantee.
  return { content: truncateEnd(outcome.content, context.maxOutputChars), isError: outcome.isError };
}

function isOffered(tool: WorkspaceTool, context: WorkspaceToolContext): boolean {
  return isAllowed(tool, context) && (!tool.highRisk || context.bashEnabled);
}

function isAllowed(tool: WorkspaceTool, context: WorkspaceToolContext): boolean {
  return context.allowedTools === undefined || context.allowedTools.includes(tool.name);
}

function describeFailure(error: unknown, input: unknown): string {
  if (error instanceof ToolFailure) return error.message;
  const described = describeFsError(error, requestedPath(input));
  if (described !== undefined) return described;
  return `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
}

/** The path the call asked about, to name in a file-system error (the real path would mean little to the model). */
function requestedPath(input: unknown): string {
  if (typeof input === 'object' && input !== null && 'path' in input && typeof input.path === 'string') return input.path;
  return '.';
}
