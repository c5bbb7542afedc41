/** How isolated runs are, in one line for the start banner, the chat and Slack's status. */
import type { Sandbox } from './sandbox.js';

/** Weaker isolation is said, not hidden. */
export function sandboxLine(sandbox: Sandbox): string {
  return sandbox.kind === 'docker'
    ? 'Docker containers (no network, read-only root, no capabilities, non-root, limits)'
    : 'PROCESS SANDBOX: weaker isolation than Docker (no daemon answered); bash and other high-risk tools are off';
}
