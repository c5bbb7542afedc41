/**
 * Where `start` remembers how far it has verified the hash chains: `chain-verified.json`
 * in the data directory, beside the database and not inside it. An edit of `events.db`
 * cannot move it, a store cut short or swapped for an older copy no longer holds the event
 * it names, and a file that is missing or unreadable only costs a full verification.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ChainCheckpoint } from '../events/verify.js';

export const CHAIN_CHECKPOINT_FILE = 'chain-verified.json';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits');

const fileSchema = z
  .object({
    format: z.literal(1),
    position: z.string().regex(/^\d{1,19}$/, 'expected a decimal position'),
    hash: sha256Hex,
    chainTip: sha256Hex,
    verifiedAt: z.iso.datetime({ offset: false }),
  })
  .strict();

export interface RememberedCheckpoint {
  readonly checkpoint: ChainCheckpoint;
  readonly verifiedAt: string;
}

export type CheckpointRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'found'; readonly remembered: RememberedCheckpoint }
  | { readonly kind: 'unreadable'; readonly reason: string };

export function chainCheckpointPath(dataDir: string): string {
  return join(dataDir, CHAIN_CHECKPOINT_FILE);
}

export async function readChainCheckpoint(dataDir: string): Promise<CheckpointRead> {
  let text: string;
  try {
    text = await readFile(chainCheckpointPath(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'unreadable', reason: error instanceof Error ? error.message : String(error) };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'unreadable', reason: 'it is not JSON' };
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { kind: 'unreadable', reason: `${issue.path.join('.') || 'its content'}: ${issue.message}` };
  }
  const { position, hash, chainTip, verifiedAt } = parsed.data;
  return { kind: 'found', remembered: { checkpoint: { position: BigInt(position), hash, chainTip }, verifiedAt } };
}

/** Replaces the file atomically and durably: a crash leaves the old checkpoint or the new one. */
export async function writeChainCheckpoint(dataDir: string, remembered: RememberedCheckpoint): Promise<void> {
  const path = chainCheckpointPath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  const { checkpoint, verifiedAt } = remembered;
  const body = `${JSON.stringify({ format: 1, position: checkpoint.position.toString(), hash: checkpoint.hash, chainTip: checkpoint.chainTip, verifiedAt }, null, 2)}\n`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(body, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
