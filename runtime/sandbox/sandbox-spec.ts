/**
 * The check every sandbox runs on a spec before starting anything: well-formed paths and
 * limits, and an environment with no secrets in it. Secrets never enter a sandbox (model
 * calls go through the host's gateway, which holds the key), so a name or value that looks
 * like one is a bug in the caller, refused loudly rather than passed on quietly.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { credentialShapeOf } from '../redaction.js';
import { WORKSPACE_ENV, type SandboxSpec } from './sandbox.js';

/** Names that hold credentials by convention: ANTHROPIC_API_KEY, SLACK_BOT_TOKEN, DB_PASSWORD… */
export const SECRET_NAME_PATTERN = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i;

/** Host secrets shorter than this are too likely to equal an ordinary value ("1", "true"). */
const MIN_HOST_SECRET_LENGTH = 8;

const absolutePath = z.string().refine(isAbsolute, 'must be an absolute path');

const sandboxSpecSchema = z.object({
  runId: z.string().min(1).max(200),
  groupId: z.string().min(1).max(200),
  workspaceDir: absolutePath,
  workspaceReadOnly: z.boolean().optional(),
  sharedDir: absolutePath.nullable(),
  env: z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain environment variable name'),
    z.string().refine((value) => !value.includes('\0'), 'must not contain a NUL byte'),
  ),
  limits: z.object({
    // Docker refuses less than 6 MiB; no node process runs in less anyway.
    memoryBytes: z.number().int().min(6 * 1024 * 1024),
    cpus: z.number().positive(),
    pids: z.number().int().positive(),
    tmpBytes: z.number().int().positive(),
    fileBytes: z.number().int().positive().optional(),
  }),
  command: z.array(z.string()).min(1).optional(),
});

export class SandboxSpecError extends Error {
  override readonly name = 'SandboxSpecError';
}

/**
 * Why this entry is refused, or null when it may go in. The message names the variable but
 * never repeats the value: it would put the secret in the log this was meant to keep it out of.
 */
export function secretEnvProblem(
  name: string,
  value: string,
  hostEnv: Readonly<Record<string, string | undefined>> = process.env,
): string | null {
  if (SECRET_NAME_PATTERN.test(name)) return `its name looks like a secret's (matches ${SECRET_NAME_PATTERN.source})`;
  // The shapes every message is redacted of (runtime/redaction.ts).
  const shape = credentialShapeOf(value);
  if (shape !== undefined) return `its value looks like ${shape.what}`;
  if (value.length >= MIN_HOST_SECRET_LENGTH) {
    const copied = Object.entries(hostEnv).find(
      ([hostName, hostValue]) => hostValue === value && SECRET_NAME_PATTERN.test(hostName),
    );
    if (copied !== undefined) return `its value is the host's ${copied[0]}`;
  }
  return null;
}

/** The spec, checked; throws SandboxSpecError saying what is wrong. */
export function validateSandboxSpec(spec: SandboxSpec): SandboxSpec {
  const parsed = sandboxSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'spec'}: ${issue.message}`);
    throw new SandboxSpecError(`sandbox spec for run ${String(spec.runId)} is invalid: ${problems.join('; ')}`);
  }
  for (const [name, value] of Object.entries(parsed.data.env)) {
    if (name === WORKSPACE_ENV) {
      throw new SandboxSpecError(`sandbox env ${name} is set by the sandbox itself, not by the caller`);
    }
    const problem = secretEnvProblem(name, value);
    if (problem !== null) {
      throw new SandboxSpecError(
        `sandbox env ${name} refused: ${problem}. Secrets never enter a sandbox: model and tool calls go through the host's gateways`,
      );
    }
  }
  return parsed.data;
}
