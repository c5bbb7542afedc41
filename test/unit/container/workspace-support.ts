/**
 * Real temporary workspaces for the workspace-tool tests, each with a sibling directory
 * outside it to aim symlinks at, so a confinement bug shows up as a file appearing there
 * rather than as a write into /etc.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { runWorkspaceTool, type ToolOutcome, type WorkspaceToolContext } from '../../../container/runner/workspace-tools/index.js';

export interface Testbed {
  readonly root: string;
  /** A directory beside the workspace, outside it. */
  readonly outside: string;
  readonly context: WorkspaceToolContext;
  run(name: string, input: unknown, overrides?: Partial<WorkspaceToolContext>): Promise<ToolOutcome>;
  write(relative: string, content: string | Uint8Array): Promise<void>;
  read(relative: string): Promise<string>;
  exists(relative: string): boolean;
  link(relative: string, target: string): Promise<void>;
}

const created: string[] = [];

afterEach(async () => {
  for (const directory of created.splice(0)) await rm(directory, { recursive: true, force: true });
});

export async function makeTestbed(overrides: Partial<WorkspaceToolContext> = {}): Promise<Testbed> {
  const base = await mkdtemp(path.join(tmpdir(), 'workspace-tools-'));
  created.push(base);
  const root = path.join(base, 'workspace');
  const outside = path.join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
  const context: WorkspaceToolContext = { root, bashEnabled: true, bashTimeoutMs: 10_000, maxOutputChars: 50_000, ...overrides };
  return {
    root,
    outside,
    context,
    run: (name, input, more = {}) => runWorkspaceTool(name, input, { ...context, ...more }),
    async write(relative, content) {
      await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
      await writeFile(path.join(root, relative), content);
    },
    read: (relative) => readFile(path.join(root, relative), 'utf8'),
    exists: (relative) => existsSync(path.join(root, relative)),
    async link(relative, target) {
      await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
      await symlink(target, path.join(root, relative));
    },
  };
}

/** Alive and not a zombie (an orphan nobody has reaped yet is as good as gone). */
export function isProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}
