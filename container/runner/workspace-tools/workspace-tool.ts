/**
 * One workspace tool: its zod input schema (the single source of truth, from which the JSON
 * schema the model sees is derived, so the two cannot drift), and how it runs. `defineWorkspaceTool`
 * hides each tool's input type behind a uniform `invoke(unknown)`, so the registry can hold them
 * side by side.
 */
import { z } from 'zod';
import type { ToolDefinition, ToolOutcome, WorkspaceToolContext } from './context.js';
import { describeInputIssues } from './input-errors.js';

export interface WorkspaceToolSpec<Schema extends z.ZodObject> {
  readonly name: string;
  readonly description: string | ((context: WorkspaceToolContext) => string);
  readonly inputSchema: Schema;
  /** A tool that runs arbitrary code: offered only where the sandbox can contain it. */
  readonly highRisk?: boolean;
  run(input: z.output<Schema>, context: WorkspaceToolContext): Promise<ToolOutcome>;
}

export interface WorkspaceTool {
  readonly name: string;
  readonly highRisk: boolean;
  definition(context: WorkspaceToolContext): ToolDefinition;
  /** Validates `input`, then runs. May throw; the registry turns throws into error outcomes. */
  invoke(input: unknown, context: WorkspaceToolContext): Promise<ToolOutcome>;
}

export function defineWorkspaceTool<Schema extends z.ZodObject>(spec: WorkspaceToolSpec<Schema>): WorkspaceTool {
  const inputSchema = deriveInputSchema(spec.name, spec.inputSchema);
  return {
    name: spec.name,
    highRisk: spec.highRisk ?? false,
    definition: (context) => ({
      name: spec.name,
      description: typeof spec.description === 'string' ? spec.description : spec.description(context),
      input_schema: inputSchema,
    }),
    invoke: async (input, context) => {
      const parsed = spec.inputSchema.safeParse(input);
      if (!parsed.success) return { content: describeInputIssues(spec.name, parsed.error.issues), isError: true };
      return spec.run(parsed.data, context);
    },
  };
}

/**
 * The JSON schema of what the model may send (`io: 'input'`, so fields with defaults are optional),
 * without the `$schema` marker the Anthropic API has no use for. Checked once at definition time:
 * a schema that does not come out as a plain object is a programming error.
 */
function deriveInputSchema(toolName: string, schema: z.ZodObject): ToolDefinition['input_schema'] {
  const { $schema: _dialect, ...jsonSchema } = z.toJSONSchema(schema, { io: 'input' });
  const { type, properties, required } = jsonSchema;
  if (type !== 'object' || typeof properties !== 'object' || properties === null) {
    throw new Error(`${toolName}: input schema is not a JSON object schema`);
  }
  if (required !== undefined && !(Array.isArray(required) && required.every((field) => typeof field === 'string'))) {
    throw new Error(`${toolName}: input schema has a malformed "required" list`);
  }
  // Keeps the rest (additionalProperties: false above all) for the model; the declared type names
  // only the fields the runner relies on.
  const derived: ToolDefinition['input_schema'] = { ...jsonSchema, type: 'object', properties };
  return derived;
}
