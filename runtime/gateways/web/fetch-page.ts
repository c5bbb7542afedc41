/**
 * Fetches one page from the host, within the operator's allowlist and limits
 * (`webFetch`: allowHosts, allowPrivateAddresses, maxBytes, timeoutMs, maxRedirects).
 *
 * - Every URL, the first and each redirect's, is checked against the allowlist
 *   (allowed-hosts.ts) before it is requested. Redirects are followed here, by hand, so one
 *   that leaves the allowlist is refused before anything is sent to where it points.
 * - Every URL's host is then resolved once and each address checked (resolve-pinned.ts): an
 *   allowed name that resolves into the host's own network (loopback, private, link-local,
 *   cloud metadata) is refused, and the connection goes to the addresses checked, never to a
 *   second DNS answer (page-request.ts).
 * - One time limit covers the whole fetch: every lookup, every redirect and the body.
 * - The body is cut at maxBytes (counted after decompression, so a compressed bomb is cut
 *   too); the page says it was cut.
 * - Only readable text types are accepted (page-text.ts), others refused by name.
 * - No cookies, no credentials, no Referer: nothing keeps a cookie jar, and a URL with
 *   userinfo is refused. The User-Agent says who is asking.
 *
 * It never throws: every failure is a refusal whose reason names the URL and what went wrong.
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config.js';
import { checkUrl, type UrlCheck } from './allowed-hosts.js';
import { ACCEPT_ENCODING, readCapped, requestPinned } from './page-request.js';
import { isReadableMediaType, READABLE_MEDIA_TYPES, type ReadableMediaType } from './page-text.js';
import { resolvePinned, systemResolver, type Resolver } from './resolve-pinned.js';

export type WebFetchSettings = Config['webFetch'];

export const USER_AGENT = 'ledgerclaw-web-fetch';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const HEADERS = { 'user-agent': USER_AGENT, accept: READABLE_MEDIA_TYPES.join(', '), 'accept-encoding': ACCEPT_ENCODING };

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

type AllowedUrl = Extract<UrlCheck, { allowed: true }>;

export interface FetchPageOptions {
  /** How host names are resolved; the system's resolver unless a test stands in for DNS. */
  readonly resolve?: Resolver;
}

export async function fetchPage(target: string, settings: WebFetchSettings, options: FetchPageOptions = {}): Promise<FetchOutcome> {
  const first = checkUrl(target, settings.allowHosts);
  if (!first.allowed) return refusal(first.reason);
  const resolve = options.resolve ?? systemResolver;
  const signal = AbortSignal.timeout(settings.timeoutMs);
  let current: AllowedUrl = first;
  let redirectedFrom: URL | null = null;
  try {
    for (let redirects = 0; ; redirects += 1) {
      const pinned = await untilAborted(
        resolvePinned(current.url, { resolve, namedByAddress: current.namedByAddress, allowPrivateAddresses: settings.allowPrivateAddresses }),
        signal,
      );
      if (!pinned.ok) {
        return refusal(
          redirectedFrom === null
            ? `${pinned.reason}; ${current.url.href} was not fetched`
            : `${redirectedFrom.href} redirected to ${current.url.href}, which is refused and was not fetched: ${pinned.reason}`,
        );
      }
      const response = await requestPinned(current.url, pinned.addresses, HEADERS, signal);
      if (REDIRECT_STATUSES.has(response.statusCode ?? 0)) {
        response.destroy();
        const next = nextHop(current.url, response, redirects, settings);
        if (!next.ok) return next;
        redirectedFrom = current.url;
        current = next.check;
        continue;
      }
      return await readPage(first.url, current.url, redirects, response, settings, signal);
    }
  } catch (error) {
    if (signal.aborted) return refusal(`${current.url.href} did not finish within webFetch.timeoutMs (${settings.timeoutMs} ms, redirects and body included)`);
    return refusal(`${current.url.href} could not be fetched: ${describeNetworkError(error)}`);
  }
}

type Hop = { readonly ok: true; readonly check: AllowedUrl } | { readonly ok: false; readonly reason: string };

/** Where a redirect points, if the allowlist lets it be followed (its address is checked next, as the first URL's was). */
function nextHop(current: URL, response: IncomingMessage, redirectsSoFar: number, settings: WebFetchSettings): Hop {
  const location = response.headers.location;
  if (location === undefined) return refusal(`${current.href} answered ${response.statusCode} (a redirect) without a Location`);
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
  return { ok: true, check };
}

async function readPage(
  requested: URL,
  final: URL,
  redirects: number,
  response: IncomingMessage,
  settings: WebFetchSettings,
  signal: AbortSignal,
): Promise<FetchOutcome> {
  const fetchedAt = new Date();
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) {
    response.destroy();
    return refusal(`${final.href} answered ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`);
  }
  const contentType = response.headers['content-type'];
  const mediaType = contentType?.split(';')[0]!.trim().toLowerCase() ?? '';
  if (!isReadableMediaType(mediaType)) {
    response.destroy();
    const named = mediaType === '' ? 'no content type' : `content type ${mediaType}`;
    return refusal(`${final.href} has ${named}; web_fetch reads only ${READABLE_MEDIA_TYPES.join(', ')}`);
  }
  const body = await readCapped(response, settings.maxBytes, signal);
  if (!body.ok) return refusal(`${final.href} has content encoding ${body.encoding}; web_fetch decodes only ${ACCEPT_ENCODING}`);
  return {
    ok: true,
    page: {
      requestedUrl: requested.href,
      finalUrl: final.href,
      redirects,
      fetchedAt,
      mediaType,
      body: decoded(body.bytes, contentType ?? ''),
      bytesRead: body.bytes.byteLength,
      cut: body.cut,
    },
  };
}

/** `work`, or a rejection as soon as `signal` aborts: a DNS lookup takes no signal of its own. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
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

/** A network error's message, with its code (ECONNREFUSED, ENOTFOUND, a TLS code) when the message does not already say it. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

function refusal(reason: string): { readonly ok: false; readonly reason: string } {
  return { ok: false, reason };
}
