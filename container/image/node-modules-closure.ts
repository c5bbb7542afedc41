/**
 * The packages the runner needs at run time: the named roots and everything their
 * package.json `dependencies` reach, resolved the way Node resolves them (a package's own
 * node_modules first, then each parent's), so nested copies land where Node will look.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { z } from 'zod';

export interface ResolvedPackage {
  readonly name: string;
  readonly version: string;
  /** Absolute directory on the host. */
  readonly dir: string;
  /** The directory relative to the repository root, e.g. `node_modules/zod`; also its place under /app. */
  readonly relativeDir: string;
}

const packageJsonSchema = z.object({
  name: z.string(),
  version: z.string(),
  dependencies: z.record(z.string(), z.string()).optional(),
  optionalDependencies: z.record(z.string(), z.string()).optional(),
  peerDependencies: z.record(z.string(), z.string()).optional(),
});

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Node's lookup: `<from>/node_modules/<name>`, then the same from each parent up to the root. */
async function resolvePackageDir(name: string, fromDir: string, repoRoot: string): Promise<string | null> {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (await isDirectory(candidate)) return candidate;
    if (dir === repoRoot || !dir.startsWith(repoRoot + sep)) return null;
    dir = dirname(dir);
  }
}

async function readPackageJson(dir: string): Promise<z.infer<typeof packageJsonSchema>> {
  const text = await readFile(join(dir, 'package.json'), 'utf8');
  const parsed = packageJsonSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${dir}/package.json: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Walks from `roots` through `dependencies` (which must be installed) and through optional
 * and peer dependencies (taken when installed, skipped when absent). Sorted by directory, so
 * the result, and any hash over it, does not depend on the walk's order.
 */
export async function nodeModulesClosure(repoRoot: string, roots: readonly string[]): Promise<ResolvedPackage[]> {
  const found = new Map<string, ResolvedPackage>();
  const pending: Array<{ name: string; fromDir: string; required: boolean; wantedBy: string }> = roots.map((name) => ({
    name,
    fromDir: repoRoot,
    required: true,
    wantedBy: 'the agent image',
  }));
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const dir = await resolvePackageDir(next.name, next.fromDir, repoRoot);
    if (dir === null) {
      if (next.required) {
        throw new Error(`${next.name} (needed by ${next.wantedBy}) is not installed under ${repoRoot}: run npm ci`);
      }
      continue;
    }
    if (found.has(dir)) continue;
    const manifest = await readPackageJson(dir);
    found.set(dir, { name: manifest.name, version: manifest.version, dir, relativeDir: relative(repoRoot, dir) });
    const wantedBy = `${manifest.name}@${manifest.version}`;
    for (const name of Object.keys(manifest.dependencies ?? {})) pending.push({ name, fromDir: dir, required: true, wantedBy });
    for (const name of [...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]) {
      pending.push({ name, fromDir: dir, required: false, wantedBy });
    }
  }
  return [...found.values()].sort((a, b) => (a.relativeDir < b.relativeDir ? -1 : a.relativeDir > b.relativeDir ? 1 : 0));
}
