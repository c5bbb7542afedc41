/**
 * `events import FILE`: reads an export (export-format.ts) onto a store. The whole file is
 * read and checked first, every line against its schema and every new event against the
 * chain it continues, writing nothing; only then is it read again and written in batches.
 * So a bad line (named by its number), a file cut short, or a tampered event anywhere in
 * it leaves the target as it was. What the target holds already is skipped (same event at
 * the same position), so an import that was interrupted is simply run again.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ChainCheckpoint } from '../verify.js';
import { copyVerbatim, type CopyProgress, type CopyResult, type SourcedEvent, type TransferTarget } from './copy-verbatim.js';
import { checkpointOf, ExportLineError, parseExportLine, type ExportHeader } from './export-format.js';

export interface ImportOptions {
  readonly batchEvents?: number;
  /** Called once the file is checked, with its last position, before anything is written. */
  readonly onChecked?: (checked: CopyResult, header: ExportHeader) => void;
  readonly onProgress?: (progress: CopyProgress) => void;
}

export interface ImportResult extends CopyResult {
  readonly header: ExportHeader;
}

export async function importExportFile(path: string, target: TransferTarget, options: ImportOptions = {}): Promise<ImportResult> {
  const header = await readHeader(path);
  const continues: ChainCheckpoint | undefined = header.since ? checkpointOf(header.since) : undefined;
  const common = { ...(continues ? { continues } : {}), ...(options.batchEvents ? { batchEvents: options.batchEvents } : {}) };
  const checked = await copyVerbatim(readExportEvents(path), target, { ...common, dryRun: true });
  options.onChecked?.(checked, header);
  const result = await copyVerbatim(readExportEvents(path), target, { ...common, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  return { ...result, header };
}

async function readHeader(path: string): Promise<ExportHeader> {
  for await (const { line, text } of lines(path)) {
    const parsed = parseExportLine(text, path, line);
    if (parsed.kind !== 'header') throw new ExportLineError(path, line, 'expected the header line first (is this a `ledgerclaw events export` file?)');
    return parsed.header;
  }
  throw new ExportLineError(path, 1, 'the file is empty');
}

/** The file's events in order, checked line by line; the end line must come last and agree with them. */
export async function* readExportEvents(path: string): AsyncGenerator<SourcedEvent> {
  let count = 0;
  let lastPosition = 0n;
  let lastLine = 0;
  let ended = false;
  for await (const { line, text } of lines(path)) {
    lastLine = line;
    if (ended) throw new ExportLineError(path, line, 'a line after the end line');
    if (text === '') throw new ExportLineError(path, line, 'an empty line');
    const parsed = parseExportLine(text, path, line);
    if (line === 1) {
      if (parsed.kind !== 'header') throw new ExportLineError(path, line, 'expected the header line first (is this a `ledgerclaw events export` file?)');
      lastPosition = parsed.header.since ? BigInt(parsed.header.since.position) : 0n;
      continue;
    }
    if (parsed.kind === 'header') throw new ExportLineError(path, line, 'a second header line');
    if (parsed.kind === 'end') {
      if (parsed.events !== count || parsed.lastPosition !== lastPosition) {
        throw new ExportLineError(
          path,
          line,
          `the end line counts ${parsed.events} events up to position ${parsed.lastPosition}, but the file holds ${count} up to ${lastPosition}: lines were removed or added`,
        );
      }
      ended = true;
      continue;
    }
    count += 1;
    lastPosition = parsed.event.position;
    yield { event: parsed.event, origin: `${path}, line ${line}` };
  }
  if (lastLine === 0) throw new ExportLineError(path, 1, 'the file is empty');
  if (!ended) throw new ExportLineError(path, lastLine, 'the file ends here without its end line: the export was cut short');
}

async function* lines(path: string): AsyncGenerator<{ line: number; text: string }> {
  const reader = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of reader) {
      line += 1;
      yield { line, text };
    }
  } finally {
    reader.close();
  }
}
