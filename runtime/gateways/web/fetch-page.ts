/**
 * Fetches one page from the host, within the operator's allowlist and limits
 * (`webFetch`: allowHosts, maxBytes, timeoutMs, maxRedirects).
 *
 * - Every URL, the first and each redirect's, is checked against the allowlist
 *   (allowed-hosts.ts) before it is requested. Redirects are followed here, by hand, so one
 *   that leaves the allowlist is refused before anything is sent to where it points.
 * - One time limit covers the whole fetch: every redirect and the body.
 * - The body is read as a stream and cut at maxBytes (counted after decompression, so a
 *   compressed bomb is cut too); the page says it was cut.
 * - Only readable text types are accepted (page-text.ts), others refused by name.
 * - No cookies, no credentials, no Referer: Node's fetch keeps no cookie jar, and a URL
 *   with userinfo is refused. The User-Agent says who is asking.
 *
 * It never throws: every failure is a refusal whose reason names the URL and what went wrong.
 */
import type { Config } from '../../config.js';
import { checkUrl } from './allowed-hosts.js';
import { isReadableMediaType, READABLE_MEDIA_TYPES, type ReadableMediaType } from './page-text.js';

export type WebFetchSettings = Config['webFetch'];

export const USER_AGENT = 'ledgerclaw-web-fetch';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface FetchedPage {
  /** The URL asked for, as parsed. */
  readonly requestedUrl: string;
  /** Where the page came from: requestedUrl unless redirected. */
  readonly finalUrl: string;
  readonly redirects: number;
  /** When the response was received. */
  readonly fetchedAt: Date;
  readonly mediaType: ReadableMediaType;
  /** The body decoded with the response's charset (UTF-8 when it names none or an unknown one). */
  readonly body: string;
  /** Bytes of body read: at most maxBytes. */
  readonly bytesRead: number;
  /** True when the body went on past maxBytes and was cut there. */
  readonly cut: boolean;
}

export type FetchOutcome = { readonly ok: true; readonly page: FetchedPage } | { readonly ok: false; readonly reason: string };

export async function fetchPage(target: string, settings: WebFetchSettings): Promise<FetchOutcome> {
  const first = checkUrl(target, settings.allowHosts);
  if (!first.allowed) return refusal(first.reason);
  const signal = AbortSignal.timeout(settings.timeoutMs);
  let current = first.url;
  try {
    for (let redirects = 0; ; redirects += 1) {
      const response = await fetch(current, {
        method: 'GET',
        redirect: 'manual',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
        signal,
        headers: { 'user-agent': USER_AGENT, accept: READABLE_MEDIA_TYPES.join(', ') },
      });
      if (REDIRECT_STATUSES.has(response.status)) {
        await discard(response);
        const next = nextHop(current, response, redirects, settings);
        if (!next.ok) return next;
        current = next.url;
        continue;
      }
      return await readPage(first.url, current, redirects, response, settings, signal);
    }
  } catch (error) {
    if (signal.aborted) return refusal(`${current.href} did not finish within webFetch.timeoutMs (${settings.timeoutMs} ms, redirects and body included)`);
    return refusal(`${current.href} could not be fetched: ${describeNetworkError(error)}`);
  }
}

type Hop = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string };

/** Where a redirect points, if it may be followed. */
function nextHop(current: URL, response: Response, redirectsSoFar: number, settings: WebFetchSettings): Hop {
  const location = response.headers.get('location');
  if (location === null) return refusal(`${current.href} answered ${response.status} (a redirect) without a Location`);
  if (redirectsSoFar >= settings.maxRedirects) {
    return refusal(`${current.href} redirected again, past webFetch.maxRedirects (${settings.maxRedirects} redirects); not followed`);
  }
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    return refusal(`${current.href} redirected to '${location}', which is not a URL`);
  }
  const check = checkUrl(next, settings.allowHosts);
  if (!check.allowed) return refusal(`${current.href} redirected to ${next.href}, which is refused and was not fetched: ${check.reason}`);
  return { ok: true, url: next };
}

async function readPage(
  requested: URL,
  final: URL,
  redirects: number,
  response: Response,
  settings: WebFetchSettings,
  signal: AbortSignal,
): Promise<FetchOutcome> {
  const fetchedAt = new Date();
  if (!response.ok) {
    await discard(response);
    return refusal(`${final.href} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  const contentType = response.headers.get('content-type');
  const mediaType = contentType?.split(';')[0]!.trim().toLowerCase() ?? '';
  if (!isReadableMediaType(mediaType)) {
    await discard(response);
    const named = mediaType === '' ? 'no content type' : `content type ${mediaType}`;
    return refusal(`${final.href} has ${named}; web_fetch reads only ${READABLE_MEDIA_TYPES.join(', ')}`);
  }
  const { bytes, cut } = await readCapped(response, settings.maxBytes, signal);
  return {
    ok: true,
    page: {
      requestedUrl: requested.href,
      finalUrl: final.href,
      redirects,
      fetchedAt,
      mediaType,
      body: decoded(bytes, contentType ?? ''),
      bytesRead: bytes.byteLength,
      cut,
    },
  };
}

/** The body's first `maxBytes` bytes; the rest is never read (the stream is cancelled). */
async function readCapped(response: Response, maxBytes: number, signal: AbortSignal): Promise<{ bytes: Uint8Array; cut: boolean }> {
  if (response.body === null) return { bytes: new Uint8Array(0), cut: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let cut = false;
  try {
    for (;;) {
      signal.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - total;
      if (value.byteLength > room) {
        chunks.push(value.subarray(0, room));
        total += room;
        cut = true;
        break;
      }
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    if (cut) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes, cut };
}

/** The body decoded with the charset the Content-Type names; UTF-8 when it names none, or one TextDecoder does not know. */
function decoded(bytes: Uint8Array, contentType: string): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(charset ?? 'utf-8');
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(bytes);
}

/** undici's `fetch failed` says nothing; its cause (ECONNREFUSED, ENOTFOUND, a TLS error) does. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return error.message;
}

/** Lets go of a body that will not be read, so its connection is freed; a body already broken has nothing left to free. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

function refusal(reason: string): { readonly ok: false; readonly reason: string } {
  return { ok: false, reason };
}
