/**
 * Knowledge: what a source (a Slack workspace's channels, a folder, a git working tree)
 * holds, as documents on the stream `knowledge-<source>`. A connector reads the source
 * incrementally; the runtime turns what it found into these events (runtime/knowledge/
 * connector.ts) and a knowledge cache (projections/knowledge-cache.ts) indexes them for
 * search. A document is added, changed (its whole new content) or removed; the connector's
 * position in the source is recorded as `knowledge.cursor_advanced`, in the same append as
 * the changes it covers, so a sync that stops half-way resumes where its last append ended.
 *
 * A document's content is stored whole, up to {@link MAX_DOCUMENT_BYTES}; the cache chunks
 * it. The bot token of a source, or any other credential, never appears in these events.
 */
import { z } from 'zod';
import { defineEvent } from '../catalogue.js';

/** Most UTF-8 bytes of one document's content: larger sources are cut or skipped by the connector. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

/**
 * Most UTF-8 bytes of a connector cursor. The Slack connector's grows with its channels
 * (about 2 KiB a channel with the default 50 watched threads); a folder's is a hash.
 */
export const MAX_CURSOR_BYTES = 1024 * 1024;

/**
 * A source id: lower-case words joined by dashes (`slack`, `canton-docs`, `ledgerclaw-repo`).
 * It names the stream (`knowledge-<source>`) and the cache's read model, so two different
 * ids never map to the same read model.
 */
export const knowledgeSourceSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, "expected lower-case words joined by dashes, such as 'slack' or 'canton-docs'");

/** A document's id within its source: a relative path (`docs/setup.md`), or `<channel>/<ts>` for Slack. */
export const knowledgeDocumentIdSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'contains a control character')
  .refine((value) => value.isWellFormed(), 'contains a lone surrogate');

/** A Slack channel id (`C024BE91L`, `G…` for old private channels, `D…` for a DM). */
const channelIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a channel id such as C024BE91L');

/** A group id as in `group-<id>`: `<team>.<channel>` or `<team>.<channel>.<thread_ts>`. */
const groupIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII with no spaces');

/**
 * Who may read a document: everyone (`public`), the groups allowed to see a private Slack
 * channel (`private_channel`), or one group only (`group`). Search enforces it
 * (projections/knowledge-search.ts): a group never sees a private channel it is not
 * allowed to see.
 */
export const knowledgeVisibilitySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('public') }).strict(),
  z.object({ kind: z.literal('private_channel'), channelId: channelIdSchema }).strict(),
  z.object({ kind: z.literal('group'), groupId: groupIdSchema }).strict(),
]);

export type KnowledgeVisibility = z.infer<typeof knowledgeVisibilitySchema>;

/** How the cache chunks a document: code on blank lines and line groups, prose on paragraphs. */
export const knowledgeFormatSchema = z.enum(['code', 'prose']);

export type KnowledgeFormat = z.infer<typeof knowledgeFormatSchema>;

/** A lower-case hex SHA-256. */
export const contentHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex SHA-256');

const documentContentSchema = z
  .string()
  .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_DOCUMENT_BYTES, `longer than ${MAX_DOCUMENT_BYTES} UTF-8 bytes`)
  .refine((value) => value.isWellFormed(), 'contains a lone surrogate');

/** A document as the source has it now; `added` and `changed` both carry the whole of it. */
const documentSchema = z
  .object({
    source: knowledgeSourceSchema,
    documentId: knowledgeDocumentIdSchema,
    title: z.string().min(1).max(500),
    content: documentContentSchema,
    /** SHA-256 of `content` (UTF-8): a sync skips a document whose hash and metadata did not change. */
    contentHash: contentHashSchema,
    /** Where a person opens it: a Slack permalink, a repository URL. */
    url: z.url().max(2000).optional(),
    /** When the source last changed it (a file's mtime, a message's or thread's latest ts). */
    updatedAt: z.iso.datetime({ offset: false }),
    visibility: knowledgeVisibilitySchema,
    /** `prose` when absent. */
    format: knowledgeFormatSchema.optional(),
    /**
     * The connector's own version tag for the document (a file's `mtimeNs:size`, a
     * thread's latest reply ts), so the next sync can tell it is unchanged without
     * reading it again. Opaque to everything else.
     */
    sourceVersion: z.string().min(1).max(200).optional(),
  })
  .strict();

export type KnowledgeDocumentData = z.infer<typeof documentSchema>;

export const knowledgeDocumentAdded = defineEvent('knowledge.document_added', 1, documentSchema);

export const knowledgeDocumentChanged = defineEvent('knowledge.document_changed', 1, documentSchema);

export const knowledgeDocumentRemoved = defineEvent(
  'knowledge.document_removed',
  1,
  z
    .object({
      source: knowledgeSourceSchema,
      documentId: knowledgeDocumentIdSchema,
    })
    .strict(),
);

export const knowledgeCursorAdvanced = defineEvent(
  'knowledge.cursor_advanced',
  1,
  z
    .object({
      source: knowledgeSourceSchema,
      /** The connector's position after the changes appended with it; opaque outside the connector. */
      cursor: z
        .string()
        .min(1)
        .refine((value) => Buffer.byteLength(value, 'utf8') <= MAX_CURSOR_BYTES, `longer than ${MAX_CURSOR_BYTES} UTF-8 bytes`),
    })
    .strict(),
);

/** `knowledge-<source>`. */
export function knowledgeStreamId(source: string): string {
  return `knowledge-${source}`;
}

export const KNOWLEDGE_DOCUMENT_EVENT_TYPES = [
  knowledgeDocumentAdded.type,
  knowledgeDocumentChanged.type,
  knowledgeDocumentRemoved.type,
] as const;

export const knowledgeEvents = [knowledgeDocumentAdded, knowledgeDocumentChanged, knowledgeDocumentRemoved, knowledgeCursorAdvanced];
