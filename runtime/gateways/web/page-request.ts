/**
 * One GET, connected to addresses already checked (resolve-pinned.ts), and its body read
 * within a byte cap. node:http(s) rather than the global fetch because only they take a
 * `lookup` for the connection (fetch would need undici's Agent), and the `lookup` is what pins
 * the connection to the checked addresses. The URL's host name stays the Host header, the TLS
 * server name and the name the certificate is checked against.
 *
 * What fetch did for us is done here: a fresh connection per request (`agent: false`: no
 * pooled socket carries over between fetches, and nothing keeps cookies), the body decoded
 * from gzip, deflate or br, and the caller's signal aborting connect, headers and body alike.
 */
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { addAbortSignal, pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { pinnedLookup, type ResolvedAddress } from './resolve-pinned.js';

/** Sends a GET for `url` to `addresses` and resolves with the response once its headers are in. */
export function requestPinned(url: URL, addresses: readonly ResolvedAddress[], headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    request(url, { method: 'GET', headers: { ...headers }, lookup: pinnedLookup(addresses), agent: false, signal }, resolve).on('error', reject).end();
  });
}

/** The decompressors for the encodings we ask for in Accept-Encoding. */
const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

export const ACCEPT_ENCODING = 'gzip, deflate, br';

export type Body = { readonly ok: true; readonly bytes: Uint8Array; readonly cut: boolean } | { readonly ok: false; readonly encoding: string };

/**
 * The body's first `maxBytes` bytes, counted after decompression (so a compressed bomb is cut
 * too); the rest is never read. An encoding we did not ask for is not guessed at.
 */
export async function readCapped(response: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<Body> {
  const encoding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder = encoding === 'identity' ? undefined : DECODERS[encoding];
  if (encoding !== 'identity' && decoder === undefined) {
    response.destroy();
    return { ok: false, encoding };
  }
  // pipeline passes an error on either side to the other, and destroys both when one ends early.
  const body: Readable = decoder === undefined ? response : pipeline(response, decoder(), () => {});
  addAbortSignal(signal, body);
  const chunks: Buffer[] = [];
  let total = 0;
  let cut = false;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = maxBytes - total;
      if (chunk.byteLength > room) {
        chunks.push(chunk.subarray(0, room));
        total += room;
        cut = true;
        break;
      }
      chunks.push(chunk);
      total += chunk.byteLength;
    }
  } finally {
    // Leaving the loop early destroys `body`; the response under a decoder goes with it.
    response.destroy();
  }
  return { ok: true, bytes: Buffer.concat(chunks, total), cut };
}
