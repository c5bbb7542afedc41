/**
 * The environment a test gives the built CLI: the parent's, without any of the variables the
 * runtime reads (LEDGERCLAW_, ANTHROPIC_, SLACK_), so a developer's own settings or keys
 * cannot leak into what a test asserts, plus the test's own settings.
 */
const RUNTIME_PREFIXES = ['LEDGERCLAW_', 'ANTHROPIC_', 'SLACK_'] as const;

export function cliEnv(settings: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!RUNTIME_PREFIXES.some((prefix) => key.startsWith(prefix))) clean[key] = value;
  return { ...clean, ...settings };
}
