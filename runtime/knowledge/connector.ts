/**
 * The connector contract, and `syncConnector`, which turns what a connector found into
 * events on `knowledge-<source>`.
 *
 * A connector knows one source (a folder, Slack channels, …) and reads it incrementally:
 * `sync` gets the cursor it left last time and what the stream already holds about each
 * document, and yields batches of changes, each with the cursor to resume from once the
 * batch is stored. It never writes; `syncConnector` decides, per document, whether it is
 * new (`knowledge.document_added`), different (`knowledge.document_changed`), unchanged
 * (nothing), or gone (`knowledge.document_removed`), and appends each batch together with
 * its `knowledge.cursor_advanced` in one append with `expectedRevision`, so a sync that
 * stops half-way loses nothing and repeats nothing, and two syncs of one source racing
 * each other cannot both write.
 *
 * Event ids are derived from natural keys (`eventIdFor`): the source, the document, how
 * many events the document had before, and its content hash. A retried append of the same
 * decision is therefore recognised as the same events, and a document that goes back to an
 * earlier content (A, B, A) still gets a fresh id.
 *
 * The state a sync starts from is the stream folded from its start. That reads every
 * stored document's content once per sync; a source with very many large documents would
 * want this state from the knowledge cache (documents table) plus the stream's tail.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { NewEvent, StoredEvent } from '../../events/envelope.js';
import { EventIdConflictError, WrongExpectedRevisionError } from '../../events/errors.js';
import { eventIdFor } from '../../events/ids.js';
import {
  knowledgeCursorAdvanced,
  knowledgeDocumentAdded,
  knowledgeDocumentChanged,
  knowledgeDocumentRemoved,
  knowledgeSourceSchema,
  knowledgeStreamId,
  MAX_DOCUMENT_BYTES,
  type KnowledgeDocumentData,
  type KnowledgeFormat,
  type KnowledgeVisibility,
} from '../../events/catalogue/knowledge.js';
import type { EventStore, ExpectedRevision } from '../../events/port.js';

/** A document as the connector sees it in the source now. The content hash is computed here, not by connectors. */
export interface SourceDocument {
  readonly documentId: string;
  readonly title: string;
  /** At most {@link MAX_DOCUMENT_BYTES} UTF-8 bytes (see `truncateUtf8`). */
  readonly content: string;
  readonly url?: string;
  /** ISO 8601 UTC with milliseconds, as `Date#toISOString` writes it. */
  readonly updatedAt: string;
  readonly visibility: KnowledgeVisibility;
  readonly format?: KnowledgeFormat;
  readonly sourceVersion?: string;
}

export type DocumentChange =
  /** The document exists with this content: added, changed or unchanged is decided by `syncConnector`. */
  | { readonly kind: 'upsert'; readonly document: SourceDocument }
  /** The document is gone from the source (deleted, now ignored, now binary). Unknown ids are ignored. */
  | { readonly kind: 'remove'; readonly documentId: string };

export interface SyncBatch {
  readonly changes: readonly DocumentChange[];
  /**
   * Where the connector resumes once these changes are stored; leave it out to keep the
   * current cursor (a batch in the middle of a walk that has no resumable position).
   */
  readonly cursor?: string;
}

/** What the stream holds about a document, for the connector's "did it change?" shortcuts. */
export interface KnownDocument {
  readonly contentHash: string;
  readonly updatedAt: string;
  readonly sourceVersion?: string;
}

export interface SyncContext {
  /** The cursor of the last stored batch, or null before the first sync. */
  readonly cursor: string | null;
  /** Every document the stream holds now (removed ones are absent), by id. */
  readonly documents: ReadonlyMap<string, KnownDocument>;
  readonly signal?: AbortSignal;
}

export interface Connector {
  /** The source id: `knowledge-<source>` is its stream. */
  readonly source: string;
  /** Reads what changed since `context.cursor`, in batches; each batch is stored before the next is asked for. */
  sync(context: SyncContext): AsyncIterable<SyncBatch>;
}

export interface SyncReport {
  readonly source: string;
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  /** Upserts whose content and metadata were already stored. */
  readonly unchanged: number;
  /** Appends made (one per batch that changed anything). */
  readonly appends: number;
  readonly cursor: string | null;
  /** The stream's revision after the sync, or null when it still has no events. */
  readonly revision: bigint | null;
  /** The correlation id every event of this sync carries. */
  readonly correlationId: string;
}

export interface SyncOptions {
  /** Correlation id for every event of this sync; a fresh uuid by default. */
  readonly correlationId?: string;
  /** `metadata.actor`; `connector:<source>` by default. */
  readonly actor?: string;
  /** Most bytes of document content in one append (a batch is split beyond it, the cursor goes with the last part). Default 8 MiB. */
  readonly maxAppendBytes?: number;
  readonly signal?: AbortSignal;
}

/** Another writer appended to `knowledge-<source>` while this sync ran: run the sync again. */
export class KnowledgeSyncConflictError extends Error {
  readonly code = 'knowledge_sync_conflict';
  constructor(
    readonly source: string,
    cause: WrongExpectedRevisionError | EventIdConflictError,
  ) {
    super(`knowledge source ${source} was synced by someone else at the same time (${cause.message}); run the sync again`, { cause });
    this.name = 'KnowledgeSyncConflictError';
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `text` cut to at most `maxBytes` UTF-8 bytes, never inside a character. */
export function truncateUtf8(text: string, maxBytes: number = MAX_DOCUMENT_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8').subarray(0, maxBytes);
  // A cut inside a multi-byte character decodes to U+FFFD at the end: drop it.
  return bytes.toString('utf8').replace(/\uFFFD+$/u, '');
}

interface DocumentState extends KnownDocument {
  readonly title: string;
  readonly url: string | undefined;
  readonly visibility: KnowledgeVisibility;
  readonly format: KnowledgeFormat | undefined;
  /** How many document events the stream holds for this id (adds, changes, removals). */
  readonly events: number;
}

export interface KnowledgeStreamState {
  readonly cursor: string | null;
  readonly revision: bigint | null;
  readonly documents: Map<string, DocumentState>;
  /** Document events per id, including removed documents, for event ids. */
  readonly eventCounts: Map<string, number>;
}

/** Folds `knowledge-<source>` into what the next sync starts from. */
export function foldKnowledgeStream(events: readonly StoredEvent[]): KnowledgeStreamState {
  let cursor: string | null = null;
  let revision: bigint | null = null;
  const documents = new Map<string, DocumentState>();
  const eventCounts = new Map<string, number>();
  for (const event of events) {
    revision = event.revision;
    if (knowledgeDocumentAdded.is(event) || knowledgeDocumentChanged.is(event)) {
      const data = event.data;
      const count = (eventCounts.get(data.documentId) ?? 0) + 1;
      eventCounts.set(data.documentId, count);
      documents.set(data.documentId, stateOf(data, count));
    } else if (knowledgeDocumentRemoved.is(event)) {
      const count = (eventCounts.get(event.data.documentId) ?? 0) + 1;
      eventCounts.set(event.data.documentId, count);
      documents.delete(event.data.documentId);
    } else if (knowledgeCursorAdvanced.is(event)) {
      cursor = event.data.cursor;
    }
  }
  return { cursor, revision, documents, eventCounts };
}

function stateOf(data: KnowledgeDocumentData, events: number): DocumentState {
  return {
    contentHash: data.contentHash,
    updatedAt: data.updatedAt,
    title: data.title,
    url: data.url,
    visibility: data.visibility,
    format: data.format,
    events,
    ...(data.sourceVersion !== undefined ? { sourceVersion: data.sourceVersion } : {}),
  };
}

function sameVisibility(a: KnowledgeVisibility, b: KnowledgeVisibility): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'private_channel' && b.kind === 'private_channel') return a.channelId === b.channelId;
  if (a.kind === 'group' && b.kind === 'group') return a.groupId === b.groupId;
  return true;
}

/**
 * Whether a stored document needs a `changed` event: its content, or anything search shows
 * or filters on (title, url, visibility, format). A new mtime alone is not a change.
 */
function differs(known: DocumentState, data: KnowledgeDocumentData): boolean {
  return (
    known.contentHash !== data.contentHash ||
    known.title !== data.title ||
    known.url !== data.url ||
    known.format !== data.format ||
    !sameVisibility(known.visibility, data.visibility)
  );
}

interface Planned {
  readonly events: NewEvent[];
  readonly bytes: number[];
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
}

/**
 * Syncs one connector into its stream: reads the stream's state, runs the connector from
 * its cursor, and appends each batch's changes with the batch's cursor. Unchanged
 * documents append nothing, so syncing an unchanged source twice writes nothing.
 */
export async function syncConnector(store: EventStore, connector: Connector, options: SyncOptions = {}): Promise<SyncReport> {
  const source = knowledgeSourceSchema.parse(connector.source);
  const streamId = knowledgeStreamId(source);
  const correlationId = options.correlationId ?? randomUUID();
  const actor = options.actor ?? `connector:${source}`;
  const maxAppendBytes = options.maxAppendBytes ?? 8 * 1024 * 1024;
  const metadata = { correlationId, causationId: null, actor };

  const state = foldKnowledgeStream(await store.readStream(streamId));
  let cursor = state.cursor;
  let revision = state.revision;
  const totals = { added: 0, changed: 0, removed: 0, unchanged: 0, appends: 0 };

  const context: SyncContext = {
    cursor,
    documents: state.documents,
    ...(options.signal ? { signal: options.signal } : {}),
  };

  for await (const batch of connector.sync(context)) {
    options.signal?.throwIfAborted();
    const planned: Planned = { events: [], bytes: [], added: 0, changed: 0, removed: 0, unchanged: 0 };
    for (const change of batch.changes) planChange(planned, state, source, change, metadata);
    const cursorMoves = batch.cursor !== undefined && batch.cursor !== cursor;
    if (planned.events.length === 0 && !cursorMoves) {
      totals.unchanged += planned.unchanged;
      continue;
    }
    const parts = splitByBytes(planned, maxAppendBytes);
    if (cursorMoves) {
      const cursorEvent = knowledgeCursorAdvanced.create(
        { source, cursor: batch.cursor! },
        // The cursor and its place in the stream are its natural key: a retry lands in the same place.
        { id: eventIdFor('knowledge', source, 'cursor', String(nextRevision(revision) + BigInt(planned.events.length)), batch.cursor!), metadata },
      );
      if (parts.length === 0) parts.push([]);
      parts[parts.length - 1]!.push(cursorEvent);
    }
    for (const events of parts) {
      const expectedRevision: ExpectedRevision = revision === null ? 'no_stream' : revision;
      try {
        const result = await store.append(streamId, events, { expectedRevision });
        revision = result.nextExpectedRevision;
      } catch (error) {
        // Either the stream moved on, or another sync already stored some of these very events.
        if (error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError) {
          throw new KnowledgeSyncConflictError(source, error);
        }
        throw error;
      }
      totals.appends += 1;
    }
    if (cursorMoves) cursor = batch.cursor!;
    totals.added += planned.added;
    totals.changed += planned.changed;
    totals.removed += planned.removed;
    totals.unchanged += planned.unchanged;
  }
  return { source, ...totals, cursor, revision, correlationId };
}

function nextRevision(revision: bigint | null): bigint {
  return revision === null ? 0n : revision + 1n;
}

function planChange(
  planned: Planned,
  state: KnowledgeStreamState,
  source: string,
  change: DocumentChange,
  metadata: { correlationId: string; causationId: null; actor: string },
): void {
  if (change.kind === 'remove') {
    if (!state.documents.has(change.documentId)) return;
    const count = (state.eventCounts.get(change.documentId) ?? 0) + 1;
    planned.events.push(
      knowledgeDocumentRemoved.create(
        { source, documentId: change.documentId },
        { id: eventIdFor('knowledge', source, change.documentId, String(count), 'removed'), metadata },
      ),
    );
    planned.bytes.push(0);
    state.eventCounts.set(change.documentId, count);
    state.documents.delete(change.documentId);
    planned.removed += 1;
    return;
  }
  const document = change.document;
  const data: KnowledgeDocumentData = {
    source,
    documentId: document.documentId,
    title: document.title,
    content: document.content,
    contentHash: sha256Hex(document.content),
    updatedAt: document.updatedAt,
    visibility: document.visibility,
    ...(document.url !== undefined ? { url: document.url } : {}),
    ...(document.format !== undefined ? { format: document.format } : {}),
    ...(document.sourceVersion !== undefined ? { sourceVersion: document.sourceVersion } : {}),
  };
  const known = state.documents.get(document.documentId);
  if (known && !differs(known, data)) {
    planned.unchanged += 1;
    return;
  }
  const count = (state.eventCounts.get(document.documentId) ?? 0) + 1;
  const definition = known ? knowledgeDocumentChanged : knowledgeDocumentAdded;
  planned.events.push(
    definition.create(data, { id: eventIdFor('knowledge', source, document.documentId, String(count), data.contentHash), metadata }),
  );
  planned.bytes.push(Buffer.byteLength(data.content, 'utf8'));
  state.eventCounts.set(document.documentId, count);
  state.documents.set(document.documentId, stateOf(data, count));
  if (known) planned.changed += 1;
  else planned.added += 1;
}

/** The planned events in appends of at most `maxBytes` of content each (a single larger document goes alone). */
function splitByBytes(planned: Planned, maxBytes: number): NewEvent[][] {
  const parts: NewEvent[][] = [];
  let current: NewEvent[] = [];
  let bytes = 0;
  planned.events.forEach((event, index) => {
    const size = planned.bytes[index]!;
    if (current.length > 0 && bytes + size > maxBytes) {
      parts.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += size;
  });
  if (current.length > 0) parts.push(current);
  return parts;
}
