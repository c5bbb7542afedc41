/**
 * Turns zod's issues about a tool call's input into one line the model can act on, naming the
 * field: `read_file: path: expected a string`.
 */
import type { z } from 'zod';

export function describeInputIssues(toolName: string, issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.map((issue) => {
    const field = issue.path.length === 0 ? 'input' : issue.path.map(String).join('.');
    return `${field}: ${describeIssue(issue)}`;
  });
  return `${toolName}: ${lines.join('; ')}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // zod's own message repeats the type it expected; this phrasing reads better in a sentence.
      return `expected ${withArticle(issue.expected)}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be at most ${issue.maximum}`;
    default:
      return issue.message;
  }
}

function withArticle(type: string): string {
  if (type === 'nonoptional') return 'a value';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
