/**
 * The export file (`ledgerclaw events export`, read back by `events import`): JSON Lines,
 * one object a line.
 *
 * - line 1, the header: format version, where the events came from, the source's head when
 *   the export began, and, for an export `--since` a position, the chain checkpoint there
 *   (the target must hold that event before this file can continue it);
 * - one line an event, in $all order, exactly as stored: data and metadata are the stored
 *   JSON *texts* (not re-serialized values), because the hashes cover those bytes;
 * - the last line, the end: how many events the file holds. A file without it was cut
 *   short and is refused whole.
 *
 * Positions and revisions are decimal strings: they are 64-bit, and JSON numbers lose
 * precision above 2^53.
 */
import { z } from 'zod';
import { eventIdSchema, eventMetadataSchema, eventTypeSchema, streamIdSchema, type RawStoredEvent } from '../envelope.js';
import type { ChainCheckpoint } from '../verify.js';

export const EXPORT_FORMAT = 1;
export const EXPORT_KIND = 'ledgerclaw.events';

const decimalSchema = z.string().regex(/^(0|[1-9][0-9]{0,18})$/, 'expected a non-negative integer as a decimal string');
const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits (a sha256)');
const isoUtcSchema = z.iso.datetime({ offset: false });

const checkpointSchema = z
  .object({ position: decimalSchema, hash: sha256Schema, chainTip: sha256Schema })
  .strict();

export const exportHeaderSchema = z
  .object({
    kind: z.literal(EXPORT_KIND),
    format: z.literal(EXPORT_FORMAT, { error: `expected export format ${EXPORT_FORMAT}, the one this ledgerclaw reads` }),
    exportedAt: isoUtcSchema,
    /** The source store, as its backend names it (never with credentials). */
    source: z.string().min(1).max(1_000),
    /** The source's newest position when the export began. */
    sourceHead: decimalSchema,
    /** For `--since`: the checkpoint the file continues (the last event before its first). */
    since: checkpointSchema.nullable(),
  })
  .strict();

export type ExportHeader = z.infer<typeof exportHeaderSchema>;

/** A JSON text that holds an object, kept as the text. */
const jsonObjectTextSchema = z.string().refine((text) => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}, 'expected the text of a JSON object');

/** Stored metadata must be what the catalogue reads back (events/catalogue.ts decodes it with this schema). */
const metadataTextSchema = z.string().superRefine((text, context) => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    context.addIssue({ code: 'custom', message: 'expected the text of a JSON object' });
    return;
  }
  const parsed = eventMetadataSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    context.addIssue({ code: 'custom', message: `metadata ${issue.path.join('.') || '(root)'}: ${issue.message}` });
  }
});

export const exportEventSchema = z
  .object({
    kind: z.literal('event'),
    position: decimalSchema,
    streamId: streamIdSchema,
    revision: decimalSchema,
    id: eventIdSchema,
    type: eventTypeSchema,
    version: z.number().int().min(1),
    recordedAt: isoUtcSchema,
    dataJson: jsonObjectTextSchema,
    metadataJson: metadataTextSchema,
    prevHash: sha256Schema,
    hashVersion: z.union([z.literal(1), z.literal(2)], { error: 'expected hash version 1 or 2, the ones this ledgerclaw knows' }),
    hash: sha256Schema,
  })
  .strict();

export const exportEndSchema = z
  .object({
    kind: z.literal('end'),
    /** Event lines in the file. */
    events: z.number().int().min(0),
    /** The last event's position ("0" for a file without events). */
    lastPosition: decimalSchema,
  })
  .strict();

export function headerLine(header: ExportHeader): string {
  return `${JSON.stringify(header)}\n`;
}

export function eventLine(event: RawStoredEvent): string {
  return `${JSON.stringify({
    kind: 'event',
    position: event.position.toString(),
    streamId: event.streamId,
    revision: event.revision.toString(),
    id: event.id,
    type: event.type,
    version: event.version,
    recordedAt: event.recordedAt,
    dataJson: event.dataJson,
    metadataJson: event.metadataJson,
    prevHash: event.prevHash,
    hashVersion: event.hashVersion,
    hash: event.hash,
  })}\n`;
}

export function endLine(events: number, lastPosition: bigint): string {
  return `${JSON.stringify({ kind: 'end', events, lastPosition: lastPosition.toString() })}\n`;
}

export function checkpointJson(checkpoint: ChainCheckpoint): NonNullable<ExportHeader['since']> {
  return { position: checkpoint.position.toString(), hash: checkpoint.hash, chainTip: checkpoint.chainTip };
}

export function checkpointOf(json: NonNullable<ExportHeader['since']>): ChainCheckpoint {
  return { position: BigInt(json.position), hash: json.hash, chainTip: json.chainTip };
}

/** A line of the file that is not what it must be; names the line (1-based). */
export class ExportLineError extends Error {
  readonly code = 'export_line_invalid';
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}, line ${line}: ${detail}; nothing was imported`);
    this.name = 'ExportLineError';
  }
}

export type ParsedLine =
  | { readonly kind: 'header'; readonly header: ExportHeader }
  | { readonly kind: 'event'; readonly event: RawStoredEvent }
  | { readonly kind: 'end'; readonly events: number; readonly lastPosition: bigint };

const anyLineSchema = z.discriminatedUnion('kind', [exportHeaderSchema, exportEventSchema, exportEndSchema], {
  error: `expected an object whose kind is '${EXPORT_KIND}' (the header), 'event' or 'end'`,
});

/** Parses and validates one line; throws ExportLineError naming the line and what was wrong. */
export function parseExportLine(text: string, file: string, line: number): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ExportLineError(file, line, `not JSON (${(error as Error).message})`);
  }
  const parsed = anyLineSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new ExportLineError(file, line, `${path}${issue.message}`);
  }
  const data = parsed.data;
  if (data.kind === EXPORT_KIND) return { kind: 'header', header: data };
  if (data.kind === 'end') return { kind: 'end', events: data.events, lastPosition: BigInt(data.lastPosition) };
  return {
    kind: 'event',
    event: {
      id: data.id,
      streamId: data.streamId,
      revision: BigInt(data.revision),
      position: BigInt(data.position),
      type: data.type,
      version: data.version,
      dataJson: data.dataJson,
      metadataJson: data.metadataJson,
      recordedAt: data.recordedAt,
      prevHash: data.prevHash,
      hashVersion: data.hashVersion,
      hash: data.hash,
    },
  };
}
