/**
 * One agent turn: the Anthropic tool-use loop. The model is called with streaming; each
 * tool it uses is run (a workspace tool here in the sandbox, a host tool through the
 * host's tool gateway) and its result sent back, until the model ends its turn or the
 * iteration cap is reached.
 *
 * Prompt caching: the stable part of the prompt (tools, then the cached system sections)
 * carries one breakpoint each, and the newest message carries a moving breakpoint, so
 * each iteration reads the previous one's prefix from the cache. That is three of the
 * API's four breakpoints.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { StartMessage, ToolDefinitionMessage } from '../protocol/messages.js';

/** The turns the loop sends: the user's and the assistant's (the SDK's union also allows system turns). */
type MessageParam = Anthropic.UserMessageParam | Anthropic.AssistantMessageParam;
type ContentBlockParam = Anthropic.ContentBlockParam;
type ToolResultBlockParam = Anthropic.ToolResultBlockParam;

const EPHEMERAL = { type: 'ephemeral' } as const;

export interface ToolOutcome {
  readonly content: string;
  readonly isError: boolean;
}

/** What the loop needs from its surroundings: the model client and where tools run. */
export interface AgentLoopPorts {
  readonly client: Anthropic;
  /** The workspace tools this sandbox offers (bash left out when high-risk tools are off). */
  readonly workspaceTools: readonly ToolDefinitionMessage[];
  readonly isWorkspaceTool: (name: string) => boolean;
  readonly runWorkspaceTool: (callId: string, name: string, input: unknown) => Promise<ToolOutcome>;
  readonly callHostTool: (callId: string, name: string, input: unknown) => Promise<ToolOutcome>;
  /** Set when the host asked the runner to stop; checked between steps. */
  readonly stopRequested: () => string | null;
}

export interface AgentAnswer {
  readonly answer: string;
  readonly iterations: number;
  readonly stopReason: string;
}

export class AgentStoppedError extends Error {
  override readonly name = 'AgentStoppedError';
}

/** The system prompt: one breakpoint after the last cached section, so the stable prefix is cached. */
export function systemBlocks(sections: StartMessage['system']): Anthropic.TextBlockParam[] {
  const lastCached = sections.map((section) => section.cached).lastIndexOf(true);
  return sections
    .filter((section) => section.text.length > 0)
    .map((section) => ({
      type: 'text' as const,
      text: section.text,
      ...(sections.indexOf(section) === lastCached ? { cache_control: EPHEMERAL } : {}),
    }));
}

/** Tool definitions, the last carrying a breakpoint (tools come first in the cached prefix). */
export function toolParams(tools: readonly ToolDefinitionMessage[]): Anthropic.Tool[] {
  return tools.map((tool, index) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.input_schema as Anthropic.Tool.InputSchema,
    ...(index === tools.length - 1 ? { cache_control: EPHEMERAL } : {}),
  }));
}

/**
 * The conversation as the API wants it: starting with the user and alternating. Adjacent
 * messages of the same role are joined; a leading assistant message is dropped.
 */
export function conversationParams(messages: StartMessage['messages']): MessageParam[] {
  const result: { role: 'user' | 'assistant'; text: string }[] = [];
  for (const message of messages) {
    if (message.text.trim() === '') continue;
    const previous = result[result.length - 1];
    if (previous?.role === message.role) previous.text = `${previous.text}\n\n${message.text}`;
    else if (result.length > 0 || message.role === 'user') result.push({ role: message.role, text: message.text });
  }
  if (result.length === 0) throw new Error('the prompt has no user message to answer');
  return result.map((message): MessageParam => ({ role: message.role, content: [{ type: 'text', text: message.text }] }));
}

/** Moves the conversation's breakpoint to the newest message's last block. */
function withMovingBreakpoint(messages: readonly MessageParam[]): MessageParam[] {
  return messages.map((message, index): MessageParam => {
    const blocks = typeof message.content === 'string' ? [{ type: 'text' as const, text: message.content }] : message.content;
    const isLast = index === messages.length - 1;
    const content = blocks.map((block, blockIndex): ContentBlockParam => {
      const { cache_control: _dropped, ...rest } = block as ContentBlockParam & { cache_control?: unknown };
      return isLast && blockIndex === blocks.length - 1 ? ({ ...rest, cache_control: EPHEMERAL } as ContentBlockParam) : (rest as ContentBlockParam);
    });
    return message.role === 'user' ? { role: 'user', content } : { role: 'assistant', content };
  });
}

function textOf(content: readonly Anthropic.ContentBlock[]): string {
  return content
    .filter((block): block is Anthropic.TextBlock => block.type === 'text')
    .map((block) => block.text)
    .join('\n')
    .trim();
}

export async function runAgentLoop(start: StartMessage, ports: AgentLoopPorts): Promise<AgentAnswer> {
  const system = systemBlocks(start.system);
  const tools = toolParams([...ports.workspaceTools, ...start.hostTools]);
  const messages = conversationParams(start.messages);
  let lastText = '';

  for (let iteration = 1; iteration <= start.maxIterations; iteration += 1) {
    throwIfStopped(ports);
    const stream = ports.client.messages.stream({
      model: start.model,
      max_tokens: start.maxTokens,
      system,
      tools,
      messages: withMovingBreakpoint(messages),
    });
    const reply = await stream.finalMessage();
    messages.push({ role: 'assistant', content: reply.content as ContentBlockParam[] });
    lastText = textOf(reply.content) || lastText;

    const toolUses = reply.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
    if (reply.stop_reason !== 'tool_use' || toolUses.length === 0) {
      return { answer: lastText, iterations: iteration, stopReason: reply.stop_reason ?? 'end_turn' };
    }
    const results: ToolResultBlockParam[] = [];
    for (const use of toolUses) {
      throwIfStopped(ports);
      const outcome = ports.isWorkspaceTool(use.name)
        ? await ports.runWorkspaceTool(use.id, use.name, use.input)
        : await ports.callHostTool(use.id, use.name, use.input);
      results.push({ type: 'tool_result', tool_use_id: use.id, content: outcome.content, ...(outcome.isError ? { is_error: true } : {}) });
    }
    messages.push({ role: 'user', content: results });
  }
  const note = `(I stopped after ${start.maxIterations} steps, the most a turn may take.)`;
  return { answer: lastText ? `${lastText}\n\n${note}` : note, iterations: start.maxIterations, stopReason: 'max_iterations' };
}

function throwIfStopped(ports: AgentLoopPorts): void {
  const reason = ports.stopRequested();
  if (reason !== null) throw new AgentStoppedError(`the host stopped the run: ${reason}`);
}
