/**
 * `events export`: every stored event after a position, as JSON Lines (export-format.ts),
 * read from a snapshot of the head taken when the export begins, so a running runtime's
 * newer appends do not make the file end at an arbitrary place. Events are written as
 * stored (no upcasting, no checking): this is the backup of last resort, and `events
 * import` verifies the chains when it reads them back.
 */
import type { EventBackend } from '../backend.js';
import type { RawStoredEvent } from '../envelope.js';
import { verifyHashChains, type ChainCheckpoint } from '../verify.js';
import { checkpointJson, endLine, eventLine, EXPORT_FORMAT, EXPORT_KIND, headerLine } from './export-format.js';

export interface ExportOptions {
  /** Only events after this position; the header then names the checkpoint they continue. */
  readonly since?: bigint;
  /** Receives the file's text in order; awaited, so a slow consumer slows the export instead of filling memory. */
  readonly write: (text: string) => Promise<void>;
  readonly pageSize?: number;
  readonly now?: () => Date;
  /** After each page: the last position written and the head being exported to. */
  readonly onProgress?: (position: bigint, head: bigint) => void;
}

export interface ExportResult {
  readonly events: number;
  /** The last event's position (the checkpoint's when no event followed it). */
  readonly lastPosition: bigint;
  /** The head the export was taken up to. */
  readonly head: bigint;
  readonly since: ChainCheckpoint | null;
}

export class ExportError extends Error {
  readonly code = 'export_failed';
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}

export async function exportEvents(source: EventBackend, options: ExportOptions): Promise<ExportResult> {
  const pageSize = options.pageSize ?? 1_000;
  const head = await source.headPosition();
  const since = options.since !== undefined && options.since > 0n ? await checkpointAt(source, options.since) : null;
  await options.write(
    headerLine({
      kind: EXPORT_KIND,
      format: EXPORT_FORMAT,
      exportedAt: (options.now ?? (() => new Date()))().toISOString(),
      source: source.location,
      sourceHead: head.toString(),
      since: since ? checkpointJson(since) : null,
    }),
  );
  let events = 0;
  let lastPosition = since?.position ?? 0n;
  for (let from = lastPosition + 1n; from <= head; ) {
    const page: RawStoredEvent[] = await source.readAll({ from, until: head, direction: 'forwards', maxCount: pageSize });
    if (page.length === 0) break;
    await options.write(page.map(eventLine).join(''));
    events += page.length;
    lastPosition = page[page.length - 1]!.position;
    options.onProgress?.(lastPosition, head);
    if (page.length < pageSize) break;
    from = lastPosition + 1n;
  }
  await options.write(endLine(events, lastPosition));
  return { events, lastPosition, head, since };
}

/**
 * The chain checkpoint after the last event at or before `position`: what the first exported
 * event links to. One read for a v2 event; a v1 one has no stored $all link, so the walk up
 * to it folds one (and checks it).
 */
async function checkpointAt(source: EventBackend, position: bigint): Promise<ChainCheckpoint | null> {
  const [last] = await source.readAll({ from: position, direction: 'backwards', maxCount: 1 });
  if (!last) return null;
  if (last.hashVersion === 2) return { position: last.position, hash: last.hash, chainTip: last.hash };
  const walked = await verifyHashChains(source, { until: last.position });
  if (!walked.ok) {
    throw new ExportError(`cannot export --since ${position}: the chain up to it is broken at position ${walked.position} (${walked.detail})`);
  }
  return walked.checkpoint;
}
