/**
 * The shapes the workspace tools share with the agent runner: what a tool call may rely on,
 * what it hands back, and how a tool is described to the model.
 */

export interface WorkspaceToolContext {
  /** Absolute path of the workspace: /workspace in Docker, a host directory in the process sandbox. */
  readonly root: string;
  /** False in the process sandbox, where a shell would not be contained: high-risk tools are off. */
  readonly bashEnabled: boolean;
  /**
   * The workspace tools the permission policy lets this conversation use (a read-only group
   * gets no write_file, edit_file or bash); every tool when absent.
   */
  readonly allowedTools?: readonly string[];
  /** Default timeout for bash; a call may ask for less, never more. */
  readonly bashTimeoutMs: number;
  /** Cap on any tool's output text. */
  readonly maxOutputChars: number;
  /**
   * True when every process in the runner's pid namespace, other than the runner and its
   * ancestors, was started by a tool call (the Docker sandbox's init says so): bash then ends
   * them all after each call, whatever session they moved to. Default false (a shared host).
   */
  readonly ownsPidNamespace?: boolean;
}

export interface ToolOutcome {
  readonly content: string;
  readonly isError: boolean;
}

/** The Anthropic tool definition shape. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly input_schema: { type: 'object'; properties: Record<string, unknown>; required?: string[] };
}
