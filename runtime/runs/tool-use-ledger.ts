/**
 * The tool uses a run's model asked for, and which of them the runner has answered. The
 * runner's frames are not evidence of anything: the agent's own processes can write to
 * the runner's stdout. So the host runs a host tool, and records a tool call, only as the
 * answer to a `tool_use` block the model gateway itself returned: same id, same tool, same
 * input, and each block answered once. Anything else is a protocol violation, described
 * here so the run's failure records the attempt.
 *
 * A model may reuse a tool_use id (the API does not, a replayed or scripted response
 * might): each use is its own call, keyed `<id>` the first time and `<id>#<n>` after, so
 * what one use records never passes for another's ("already recorded" when nothing was).
 */
import { MAX_TOOL_INPUT_DEPTH } from '../../container/protocol/messages.js';
import { nestingDepth, type JsonValue } from '../../container/protocol/json-depth.js';
import { canonicalJson } from '../../events/canonical-json.js';
import type { ModelOutputBlock } from '../gateways/model-gateway.js';

/** One tool_use block the model returned. */
export interface ToolUse {
  /** The model's tool_use id. */
  readonly id: string;
  /** Unique in the run: the id, or `<id>#<n>` for the n-th use of a reused id. Keys what the call records. */
  readonly key: string;
  readonly name: string;
  /** The model's input; null when it nests deeper than MAX_TOOL_INPUT_DEPTH (see `tooDeep`). */
  readonly input: JsonValue | null;
  /** Set when the input nests deeper than MAX_TOOL_INPUT_DEPTH: the call is refused as a tool error. */
  readonly tooDeep: boolean;
}

/** How a runner's report of a tool use is judged. */
export type ToolUseClaim = { readonly ok: true; readonly use: ToolUse } | { readonly ok: false; readonly violation: string };

/** What a too-deep input is recorded as: its own shape, never the value. */
export function tooDeepInput(): JsonValue {
  return { refused: `nested deeper than ${MAX_TOOL_INPUT_DEPTH} levels` };
}

/** The tool error the model reads for a too-deep input. */
export function tooDeepMessage(name: string): string {
  return `${name}: refused: the input nests deeper than ${MAX_TOOL_INPUT_DEPTH} levels of arrays and objects, the most a tool input may; send a flatter input`;
}

export class ToolUseLedger {
  /** Uses the model asked for and the runner has not answered yet, oldest first. */
  private readonly owed: ToolUse[] = [];
  /** How many uses of each id the model asked for. */
  private readonly usesOfId = new Map<string, number>();

  /**
   * `workspaceTools`: the workspace tools the run's conversation may use (the start
   * message's `workspace.tools`). The runner reports a call of any other only as the error
   * it answered the model with; a report that one ran is a forgery.
   */
  constructor(
    private readonly hostTools: ReadonlySet<string>,
    private readonly workspaceTools: ReadonlySet<string>,
  ) {}

  /**
   * The tool_use blocks of a model response the gateway answered. Returns the output as it
   * may be recorded: a too-deep input replaced by a marker (nothing downstream recurses into it).
   */
  noteModelOutput(output: readonly ModelOutputBlock[]): ModelOutputBlock[] {
    return output.map((block) => {
      if (block.type !== 'tool_use') return block;
      const uses = (this.usesOfId.get(block.id) ?? 0) + 1;
      this.usesOfId.set(block.id, uses);
      const tooDeep = nestingDepth(block.input, MAX_TOOL_INPUT_DEPTH) > MAX_TOOL_INPUT_DEPTH;
      const key = uses === 1 ? block.id : `${block.id}#${uses}`;
      this.owed.push({ id: block.id, key, name: block.name, input: tooDeep ? null : block.input, tooDeep });
      return tooDeep ? { ...block, input: tooDeepInput() } : block;
    });
  }

  /**
   * The runner says it is calling a host tool (`host`) or ran a workspace tool
   * (`workspace`) for tool_use `id`; `isError` is what a `tool_executed` frame says of its
   * outcome. Accepted, the use is answered and cannot be claimed again.
   */
  claim(where: 'host' | 'workspace', id: string, name: string, input: unknown, isError = false): ToolUseClaim {
    const frame = where === 'host' ? 'tool_call' : 'tool_executed';
    const attempt = `a ${frame} frame for tool_use id ${JSON.stringify(id)} (${name}, input ${describeInput(input)})`;
    const index = this.owed.findIndex((use) => use.id === id);
    if (index < 0) {
      const reason = this.usesOfId.has(id) ? 'whose every use was answered already' : 'that no model response returned';
      return { ok: false, violation: `the runner sent ${attempt} ${reason}` };
    }
    const use = this.owed[index]!;
    if (use.name !== name) return { ok: false, violation: `the runner sent ${attempt}, but the model asked for ${use.name} under that id` };
    // A tool the model made up goes to the host, whose gateway tells the model there is no
    // such tool; but a host tool is never run in the sandbox.
    if (where === 'workspace' && this.hostTools.has(name)) {
      return { ok: false, violation: `the runner sent ${attempt}, but ${name} is a host tool, which only the host runs` };
    }
    if (where === 'workspace' && !isError && !this.workspaceTools.has(name)) {
      const allowed = [...this.workspaceTools].join(', ') || 'none';
      return { ok: false, violation: `the runner sent ${attempt} saying it ran, but ${name} is not a workspace tool this conversation may use (${allowed})` };
    }
    if (!use.tooDeep && !sameJson(use.input, input)) {
      return { ok: false, violation: `the runner sent ${attempt}, but the model's input was ${describeInput(use.input)}` };
    }
    this.owed.splice(index, 1);
    return { ok: true, use };
  }
}

/** Whether the runner's claimed input is the model's (which is within the depth bound). */
function sameJson(model: JsonValue | null, claimed: unknown): boolean {
  // The claim may be deep; canonicalJson recurses, so a deeper claim is simply not the model's.
  if (nestingDepth(claimed, MAX_TOOL_INPUT_DEPTH) > MAX_TOOL_INPUT_DEPTH) return false;
  return canonicalJson(model ?? null) === canonicalJson(claimed ?? null);
}

/** An input, for a violation's detail: short, and never deep enough to recurse on. */
function describeInput(input: unknown): string {
  if (nestingDepth(input, MAX_TOOL_INPUT_DEPTH) > MAX_TOOL_INPUT_DEPTH) return `nested deeper than ${MAX_TOOL_INPUT_DEPTH} levels`;
  const text = canonicalJson(input ?? null);
  return text.length <= 300 ? text : `${text.slice(0, 300)}… (${text.length} characters)`;
}
