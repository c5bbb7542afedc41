/**
 * Walking a directory inside the workspace for list_files and grep: depth first, each
 * directory's entries sorted so the whole walk comes out in sorted order (and a capped walk is
 * a sorted prefix), never following a symlink, so a link can never lead a walk out of the
 * workspace.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export type WalkEntryKind = 'directory' | 'file' | 'symlink' | 'other' | 'unreadable';

export interface WalkEntry {
  /** Relative to the directory the walk started from, `/`-separated. */
  readonly relative: string;
  readonly absolute: string;
  readonly kind: WalkEntryKind;
  readonly name: string;
}

export interface WalkOptions {
  readonly recursive: boolean;
  /** A directory that is listed but not entered (its name). */
  readonly skipDescending?: (name: string) => boolean;
}

export async function* walkDirectory(start: string, options: WalkOptions): AsyncGenerator<WalkEntry> {
  yield* walkBelow(start, '', options);
}

async function* walkBelow(directory: string, relativeDirectory: string, options: WalkOptions): AsyncGenerator<WalkEntry> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    // The starting directory's own failure is the caller's to report; below it, one unreadable
    // directory should not end the walk.
    if (relativeDirectory === '') throw error;
    yield { relative: relativeDirectory, absolute: directory, kind: 'unreadable', name: path.basename(directory) };
    return;
  }
  const entries = dirents
    .map((dirent) => ({ name: dirent.name, kind: kindOf(dirent) }))
    .sort((a, b) => compareCodeUnits(sortKey(a.name, a.kind), sortKey(b.name, b.kind)));
  for (const { name, kind } of entries) {
    const relative = relativeDirectory === '' ? name : `${relativeDirectory}/${name}`;
    const absolute = path.join(directory, name);
    yield { relative, absolute, kind, name };
    if (kind === 'directory' && options.recursive && !(options.skipDescending?.(name) ?? false)) {
      yield* walkBelow(absolute, relative, options);
    }
  }
}

function kindOf(dirent: Dirent): WalkEntryKind {
  if (dirent.isSymbolicLink()) return 'symlink';
  if (dirent.isDirectory()) return 'directory';
  if (dirent.isFile()) return 'file';
  return 'other';
}

/** Directories sort as `name/`, which keeps each directory's contents right after it. */
function sortKey(name: string, kind: WalkEntryKind): string {
  return kind === 'directory' ? `${name}/` : name;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `base` (a display path, `.` for the root) joined with a walk-relative path. */
export function joinDisplay(base: string, relative: string): string {
  if (relative === '') return base;
  return base === '.' ? relative : `${base}/${relative}`;
}
