/**
 * What a gate script's run means. The script prints its verdict as the last non-empty line
 * of stdout, `{"wake": boolean, "reason"?: string}`; anything before it is free (progress,
 * debugging). It counts only when the script also exited 0 in time.
 *
 * Everything else wakes the agent: a timeout, a non-zero exit, or a last line that is not a
 * verdict. A broken watch must be noticed (the agent is woken and told exactly what went
 * wrong, in the fire's detail), never silently skip fire after fire.
 */
import { z } from 'zod';
import { verdict, type GateVerdict } from './gate.js';

/** Strict: a misspelled key (`"wakes"`) is a broken script, not a verdict with defaults. */
export const scriptVerdictSchema = z.object({ wake: z.boolean(), reason: z.string().optional() }).strict();
export type ScriptVerdict = z.infer<typeof scriptVerdictSchema>;

/** How much of a bad line or of stderr a detail quotes. */
const QUOTE_CHARS = 300;

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length <= QUOTE_CHARS ? flat : `${flat.slice(0, QUOTE_CHARS - 1)}…`);
}

/** The verdict on stdout's last non-empty line, or why there is none. */
export function parseScriptVerdict(stdout: string): { ok: true; verdict: ScriptVerdict } | { ok: false; problem: string } {
  const lastLine = stdout
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
  if (lastLine === undefined) return { ok: false, problem: 'printed nothing on stdout' };
  let json: unknown;
  try {
    json = JSON.parse(lastLine);
  } catch {
    return { ok: false, problem: `printed a last line that is not JSON: ${quote(lastLine)}` };
  }
  const parsed = scriptVerdictSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'verdict'}: ${issue.message}`).join('; ');
    return { ok: false, problem: `printed ${quote(lastLine)}, which is not {"wake": boolean, "reason"?: string} (${issues})` };
  }
  return { ok: true, verdict: parsed.data };
}

/** How the script's process ended. */
export type ScriptEnding =
  | { readonly kind: 'exited'; readonly exitCode: number | null; readonly signal: string | null; readonly oomKilled: boolean; readonly stdout: string; readonly stderrTail: string }
  | { readonly kind: 'timed_out'; readonly timeoutMs: number; readonly stderrTail: string };

function stderrNote(stderrTail: string): string {
  return stderrTail.trim() === '' ? '' : `; stderr: ${quote(stderrTail.slice(-QUOTE_CHARS))}`;
}

/**
 * The gate's verdict from how its script ended: the script's own only after a clean exit.
 * `problem` says what went wrong when the verdict is a fail-open wake (for the log), else null.
 */
export function scriptGateVerdict(ending: ScriptEnding): { verdict: GateVerdict; problem: string | null } {
  const failedOpen = (problem: string) => ({ verdict: verdict(true, `the gate script ${problem}, so the agent is woken (fail open)`), problem });
  if (ending.kind === 'timed_out') {
    return failedOpen(`did not finish within its ${ending.timeoutMs} ms timeout and was killed${stderrNote(ending.stderrTail)}`);
  }
  if (ending.oomKilled) return failedOpen(`ran out of memory and was killed${stderrNote(ending.stderrTail)}`);
  if (ending.exitCode !== 0) {
    const how = ending.exitCode === null ? `was ended by ${ending.signal ?? 'an unknown signal'}` : `exited with code ${ending.exitCode}${ending.signal !== null ? ` (${ending.signal})` : ''}`;
    return failedOpen(`${how}${stderrNote(ending.stderrTail)}`);
  }
  const parsed = parseScriptVerdict(ending.stdout);
  if (!parsed.ok) return failedOpen(`${parsed.problem}${stderrNote(ending.stderrTail)}`);
  const reason = parsed.verdict.reason?.trim();
  const said = reason !== undefined && reason !== '' ? reason : parsed.verdict.wake ? 'the gate script said to wake' : 'the gate script said nothing changed';
  return { verdict: verdict(parsed.verdict.wake, said), problem: null };
}
